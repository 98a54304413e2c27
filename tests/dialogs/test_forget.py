"""删除我的信息: the dialog drops drafts from its state at once; the handler does the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialogs.effects import CancelTimers, ForgetMe
from dialogs.types import Attachment

from .chat import Chat, reach


def forgotten(open_tickets=None):
    return lambda effect: {"type": "forgotten", "open_tickets": open_tickets or []}


def test_forget_during_intake_drops_everything_and_confirms():
    chat = reach(Chat(responders={ForgetMe: forgotten()}), "phone")
    chat.image()
    assert chat.intake is not None
    reply = chat.send("删除我的信息")
    assert chat.has(ForgetMe) and chat.has(CancelTimers)
    assert chat.intake is None and chat.state["draft"] is None
    assert chat.state["attachments"] == [] and chat.state["mode"] == "idle"
    assert chat.state["awaiting"] is None
    assert "已经删除" in reply and "查询进度" in reply


def test_forget_drops_a_saved_draft_and_loose_attachments():
    chat = reach(Chat(responders={ForgetMe: forgotten()}), "name")
    chat.timer("intake_draft", timedelta(hours=25))
    assert chat.state["draft"] is not None
    chat.send(kind="image", attachment=Attachment("image", media_id="m9"))
    assert chat.state["attachments"]
    chat.send("删除我的信息")
    assert chat.state["draft"] is None and chat.state["attachments"] == []
    # Nothing is offered back afterwards.
    assert "上次" not in chat.send("你好")


def test_open_tickets_are_listed_with_how_to_withdraw():
    items = [{"number": "261128709721", "title": "残疾证办不下来", "status": "in_progress"}]
    chat = Chat(responders={ForgetMe: forgotten(items)})
    reply = chat.send("删除我的信息")
    assert "2611 2870 9721" in reply and "办理中" in reply
    assert "撤回" in reply and "人工" in reply


@pytest.mark.parametrize("words", ["删除我的资料", "删除个人信息", " 删除我的信息 "])
def test_other_ways_of_saying_it(words):
    chat = Chat(responders={ForgetMe: forgotten()})
    chat.send(words)
    assert chat.has(ForgetMe)


def test_an_unexpected_result_is_ignored_and_the_state_stays_valid():
    chat = Chat(responders={ForgetMe: lambda effect: {"type": "error", "effect": "ForgetMe"}})
    reply = chat.send("删除我的信息")
    assert "稍后" in reply
    assert chat.state["intake"] is None
