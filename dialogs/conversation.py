"""The citizen's conversation. First words: a welcome and the menu of what the bot does."""

from __future__ import annotations

from typing import Any

from dialogs.types import Inbound, Turn

MENU = "请回复数字：\n1 反映办不成的事\n2 查询进度\n3 常见问题"
WELCOME = (
    "您好，这里是“办不成事”反映窗口。在别的窗口办不成的事，可以在这里告诉我们，"
    "我们登记后交给工作人员协调办理，并给您一个编号查进度。\n" + MENU
)
VOICE_NOT_HEARD = "抱歉，这段语音没有听清。请再说一遍，或者直接打文字告诉我。"
MEDIA_KEPT = "收到了，我们会把它和您反映的事放在一起。\n" + MENU
UNKNOWN = "这类消息我还看不懂，请发文字或语音。\n" + MENU


def initial_state() -> dict[str, Any]:
    return {}


def step(state: dict[str, Any], inbound: Inbound, config: Any = None) -> Turn:
    if inbound.kind == "subscribe":
        return Turn(state, (WELCOME,))
    if inbound.kind == "voice" and not inbound.text:
        return Turn(state, (VOICE_NOT_HEARD,))
    if inbound.attachment is not None and inbound.kind != "voice":
        attachments = [*state.get("attachments", []), inbound.attachment.__dict__]
        return Turn({**state, "attachments": attachments}, (MEDIA_KEPT,))
    if inbound.kind == "unknown":
        return Turn(state, (UNKNOWN,))
    return Turn(state, (MENU,))
