"""`doudi chat`: play WeChat against a running server from the terminal.

Every line typed is sent as a real signed (and, with an AES key, encrypted) WeChat message.
"""

from __future__ import annotations

import secrets
import sys

import click
import requests

from bot.config import Settings
from bot.simulator import WeChatSide, message_xml

HELP = """输入文字即发送。特殊命令：
  /voice 文字        模拟语音（带语音识别结果）
  /image             模拟发送一张图片
  /location 纬度 经度  模拟发送位置
  /menu KEY          模拟点击菜单
  /quit              退出"""


def _message(line: str, openid: str) -> str:
    command, _, rest = line.partition(" ")
    if command == "/voice":
        return message_xml(openid, "voice", MediaId="media-voice", Format="amr", Recognition=rest)
    if command == "/image":
        return message_xml(
            openid, "image", MediaId="media-image", PicUrl="http://example.invalid/p.jpg"
        )
    if command == "/location":
        lat, _, lon = rest.partition(" ")
        return message_xml(
            openid,
            "location",
            Location_X=lat or "26.08",
            Location_Y=lon or "119.30",
            Scale="15",
            Label="",
        )
    if command == "/menu":
        return message_xml(openid, "event", Event="CLICK", EventKey=rest)
    return message_xml(openid, "text", Content=line)


def _send(url: str, side: WeChatSide, xml: str) -> str | None:
    query, body = side.seal(xml)
    response = requests.post(
        url, params=query, data=body, timeout=10, headers={"Content-Type": "text/xml"}
    )
    if response.status_code != 200:
        return f"[HTTP {response.status_code}] {response.text}"
    return side.open_reply(response.text, query)


def _lines():  # type: ignore[no-untyped-def]
    if not sys.stdin.isatty():
        yield from sys.stdin
        return
    while True:
        try:
            yield input("我> ")
        except EOFError:
            return


@click.command("chat")
@click.option("--url", default="http://127.0.0.1:8080/wechat", show_default=True)
@click.option("--openid", default=None, help="Who you are to the bot (default: a new citizen).")
def command(url: str, openid: str | None) -> None:
    """Chat with a running Doudi as a WeChat user would."""
    settings = Settings.from_env()
    side = WeChatSide(
        settings.wechat_token,
        settings.wechat_aes_key,
        settings.wechat_appid or "wx0000000000000000",
    )
    openid = openid or "o_chat_" + secrets.token_hex(6)
    click.echo(f"以 {openid} 的身份连接 {url}。输入 /help 查看命令。")
    try:
        reply = _send(url, side, message_xml(openid, "event", Event="subscribe", EventKey=""))
    except requests.RequestException as error:
        raise click.ClickException(f"cannot reach {url}: {error}") from None
    if reply:
        click.echo(f"兜底> {reply}")
    for raw in _lines():
        line = raw.strip()
        if not line:
            continue
        if line == "/quit":
            break
        if line == "/help":
            click.echo(HELP)
            continue
        try:
            reply = _send(url, side, _message(line, openid))
        except requests.RequestException as error:
            click.echo(f"[连接失败] {error}")
            continue
        click.echo(f"兜底> {reply}" if reply else "兜底> （无回复）")
