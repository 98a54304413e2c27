"""Print a sample conversation played through the real engine (used for docs/dialogs.md).

PYTHONPATH=. python -m tests.dialogs.transcript
"""

from __future__ import annotations

from dialogs.effects import SearchCases

from .chat import Chat

CASE = {
    "id": "case-017",
    "title": "残疾证鉴定需先到社区申请",
    "solution": "先到户籍所在社区领取申请表，再到指定医院鉴定，行动不便可申请上门鉴定。",
    "department": "区残联",
}

SCRIPT = [
    ("text", "你好", 0),
    ("text", "我在鼓楼区，想给我妈办残疾证，社区说要先去医院鉴定", 20),
    ("text", "医院又说要社区先开证明，来回跑了三趟", 1),
    ("text", "2", 30),
    ("text", "去过社区和区残联", 30),
    ("voice", "他们说材料不全。", 30),
    ("text", "1", 30),
    ("text", "王阿姨", 30),
    ("text", "139 1234 567", 30),
    ("text", "13912340000", 30),
    ("text", "1", 30),
    ("text", "电话写错了，是13912345678", 30),
    ("text", "确认", 30),
    ("text", "查询 2611 2870 9721", 60),
    ("text", "5678", 30),
]


def play() -> Chat:
    def cases(effect: SearchCases):
        return {"type": "cases", "decision": "answer", "cases": [CASE]}

    chat = Chat(responders={SearchCases: cases})
    for kind, text, gap in SCRIPT:
        if kind == "voice":
            chat.voice(text, gap=gap)
        else:
            chat.send(text, gap=gap)
        effects = [e for e in chat.effects if type(e).__name__ != "SetTimer"]
        if effects:
            chat.transcript.append(("effects", ", ".join(repr(e) for e in effects)))
    return chat


def markdown(chat: Chat) -> str:
    out = []
    for who, text in chat.transcript:
        if who == "effects":
            out.append(f"> *effects:* `{text}`\n")
            continue
        body = text.replace("\n", "  \n")
        out.append(f"**{who}**：{body}\n")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(play()))
