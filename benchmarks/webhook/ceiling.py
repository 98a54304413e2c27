"""The stack's ceiling: aiohttp + wechatpy doing only the protocol, no database, no dialog.

It checks the signature, decrypts, parses, replies with a fixed text and encrypts the reply:
the work every webhook request costs before Doudi does anything of its own. Run it as
`python -m benchmarks.webhook.ceiling --port 8090` with the same DOUDI_WECHAT_* variables
as the server under test; the benchmark compares Doudi's throughput to this one's.
"""

from __future__ import annotations

import argparse
import os
import time

from aiohttp import web
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

from bot.loop import new_event_loop as loop

REPLY = "您好，这里是办不成事窗口。"


def build(token: str, aes_key: str, appid: str) -> web.Application:
    crypto = WeChatCrypto(token, aes_key, appid)

    async def post(request: web.Request) -> web.Response:
        q = request.query
        check_signature(token, q["signature"], q["timestamp"], q["nonce"])
        body = await request.read()
        xml = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
        message = parse_message(xml)
        reply = create_reply(REPLY, message)
        sealed = crypto.encrypt_message(reply, q["nonce"], str(int(time.time())))
        return web.Response(text=sealed, content_type="application/xml")

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/wechat", post)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    app = build(
        os.environ["DOUDI_WECHAT_TOKEN"],
        os.environ["DOUDI_WECHAT_AES_KEY"],
        os.environ.get("DOUDI_WECHAT_APPID", ""),
    )
    # The loop `doudi serve` runs on (uvloop when installed), so the ratio compares like with like.
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None, loop=loop())


if __name__ == "__main__":
    main()
