"""Whatever a citizen sends, in any order, the engine answers and its state stays JSON."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .chat import ANSWERS, PROBLEM, Chat

WORDS = [
    *ANSWERS.values(),
    PROBLEM,
    "1",
    "2",
    "3",
    "0",
    "能",
    "不能",
    "详情",
    "确认",
    "改7",
    "改3",
    "上一步",
    "返回",
    "取消",
    "重新开始",
    "帮助",
    "人工",
    "查询",
    "查询 2611 2870 9721",
    "查询 261128709722",
    "5678",
    "你好",
    "谢谢",
    "不同意",
    "跳过",
    "闽",
    "电话写错了,是13912340000",
    "",
    "   ",
    "啊",
]
KINDS = ["text"] * 8 + ["voice", "image", "location", "menu", "subscribe", "unknown", "timer"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(KINDS), st.sampled_from(WORDS), st.sampled_from([0.5, 5, 3600, 90000])
        ),
        max_size=25,
    )
)
def test_any_sequence_is_handled(messages):
    chat = Chat()
    chat.strict = True
    for kind, text, gap in messages:
        if kind == "location":
            chat.send(kind="location", gap=gap, location=(26.08, 119.30))
        elif kind == "menu":
            chat.send({"1": "intake", "2": "status"}.get(text, "faq"), kind="menu", gap=gap)
        elif kind == "timer":
            chat.timer(
                "intake_reminder" if len(text) % 2 else "intake_draft", timedelta(seconds=gap)
            )
        elif kind == "voice":
            chat.voice(text, gap=gap)
        elif kind == "image":
            chat.image(gap=gap)
        else:
            reply = chat.send(text, kind=kind, gap=gap)
            intake = chat.intake
            if not reply and gap > 2 and (intake is None or intake["stage"] != "filing"):
                raise AssertionError(f"silent reply to {text!r}")
