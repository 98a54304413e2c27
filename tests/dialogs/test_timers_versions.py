"""Timers (reminder, draft), drafts, and an intake surviving a flow change mid-way."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from dialogs import validators as v
from dialogs.config import DialogConfig
from dialogs.effects import CancelTimers, FileTicket, Push, SetTimer
from dialogs.flows import INTAKE_FLOW, Field, Flow

from .chat import ANSWERS, PROBLEM, Chat, reach

CONFIG = DialogConfig()


def test_reminder_pushes_once_after_30_minutes():
    chat = reach(Chat(), "reason")
    reply = chat.timer("intake_reminder", timedelta(minutes=30))
    assert reply == "" and "还差几步" in chat.effect(Push).text
    assert not chat.has(SetTimer)
    assert chat.current == "reason"  # the form is untouched
    chat.send("不清楚")
    assert chat.values["reason"] == "不清楚"


def test_stale_reminder_is_ignored():
    chat = reach(Chat(), "reason")
    chat.timer("intake_reminder", timedelta(minutes=5))
    assert chat.effects == []


def test_timer_without_intake_is_ignored():
    chat = Chat()
    chat.timer("intake_reminder", timedelta(hours=1))
    assert chat.effects == [] and chat.replies == []


def test_draft_then_continue():
    chat = reach(Chat(), "phone")
    chat.timer("intake_reminder", timedelta(minutes=30))
    chat.timer("intake_draft", timedelta(hours=24))
    assert chat.intake is None and chat.state["draft"]["values"]["centre"] == "鼓楼区"
    reply = chat.send("你好")
    assert "还没登记完" in reply and "1 继续" in reply
    reply = chat.send("1")
    assert "接着上次" in reply and "电话" in reply and chat.current == "phone"
    assert chat.has(SetTimer)
    chat.send("13912345678")
    chat.send("1")
    chat.send("确认")
    assert chat.effect(FileTicket).fields["centre"] == "鼓楼区"


def test_draft_then_restart_reuses_the_new_description():
    chat = reach(Chat(), "phone")
    chat.timer("intake_draft", timedelta(hours=24))
    reply = chat.send("我要反映的是另一件事，公积金提取被拒绝了好几次")
    assert "还没登记完" in reply
    chat.send("2")
    assert chat.values["request"].startswith("我要反映的是另一件事")
    assert chat.state["draft"] is None


def test_draft_offer_repeats_on_unclear_answer_and_status_still_works():
    chat = reach(Chat(), "centre")
    chat.timer("intake_draft", timedelta(hours=24))
    chat.send("在吗")
    first = chat.replies[-1]
    second = chat.send("啥")
    assert "1" in second and second != first
    chat.send("查询")
    assert chat.state["draft"] is not None


def test_filed_or_cancelled_cancels_timers():
    chat = reach(Chat(), "confirm")
    chat.send("1")
    assert chat.has(CancelTimers)
    chat = reach(Chat(), "name")
    chat.send("取消")
    assert chat.has(CancelTimers) and not chat.has(SetTimer)


# ------------------------------------------------------------------ flow versions


def _flow_v2() -> Flow:
    """v2 renames `visited` to `tried`, removes `reason`, adds `deadline` before the phone."""
    fields = []
    for f in INTAKE_FLOW.fields:
        if f.name == "visited":
            f = dataclasses.replace(f, name="tried", renamed_from=("visited",))
        if f.name == "reason":
            continue
        if f.name == "phone":
            fields.append(
                Field(
                    name="deadline",
                    label="最晚什么时候要办成",
                    prompts=(
                        "这件事最晚什么时候要办成？没有期限回复“不急”。",
                        "有没有截止时间？没有就回复“不急”。",
                    ),
                    parse=v.free_text(2, "请说一下时间，比如“月底前”。"),
                    skip_words=("不急", "没有"),
                    skip_value="不急",
                )
            )
        fields.append(f)
    return Flow(name="intake", version=2, fields=tuple(fields))


def deploy(chat: Chat, flow: Flow) -> None:
    chat.config = dataclasses.replace(chat.config, intake_flow=flow)


def test_intake_survives_a_deploy_that_renames_removes_and_adds():
    chat = reach(Chat(), "name")
    assert chat.values["visited"] == "去过社区和区残联"
    deploy(chat, _flow_v2())
    reply = chat.send("王阿姨")  # the pending question did not change: answer it
    intake = chat.intake
    assert intake["flow_version"] == 2
    assert chat.values["tried"] == "去过社区和区残联" and "visited" not in chat.values
    assert intake["retired"] == {"reason": "不清楚"}
    assert chat.values["name"] == "王阿姨"
    assert "期限" in reply or "截止" in reply or "最晚" in reply  # only the new field is asked
    chat.send("月底前")
    assert chat.current == "phone"
    chat.send("13912345678")
    chat.send("1")
    readback = chat.replies[-1]
    assert "2 去过的部门或窗口：去过社区和区残联" in readback and "最晚什么时候要办成" in readback
    chat.send("1")
    ticket = chat.effect(FileTicket)
    assert ticket.flow_version == 2 and ticket.fields["tried"] == "去过社区和区残联"
    assert ticket.retired == {"reason": "不清楚"} and "reason" not in ticket.fields


def test_deploy_while_the_removed_field_is_pending_asks_the_next_one():
    chat = reach(Chat(), "reason")
    deploy(chat, _flow_v2())
    reply = chat.send("不清楚")  # meant for a question that no longer exists
    assert "登记表有更新" in reply and chat.current == "centre"
    assert "reason" not in chat.values


def test_deploy_at_the_readback_asks_only_the_new_field():
    chat = reach(Chat(), "confirm")
    deploy(chat, _flow_v2())
    reply = chat.send("1")
    assert not chat.has(FileTicket)
    assert "登记表有更新" in reply and chat.current == "deadline"
    reply = chat.send("不急")
    assert reply.startswith("请核对") and "不急" in reply
    chat.send("1")
    assert chat.effect(FileTicket).fields["deadline"] == "不急"


def test_deploy_while_a_draft_is_kept():
    chat = reach(Chat(), "phone")
    chat.timer("intake_draft", timedelta(hours=24))
    deploy(chat, _flow_v2())
    chat.send("你好")
    chat.send("继续")
    assert chat.values["tried"] == "去过社区和区残联"
    assert chat.current == "deadline"


def test_answers_reference_is_complete():
    assert set(ANSWERS) == {f.name for f in INTAKE_FLOW.fields}
    assert PROBLEM
