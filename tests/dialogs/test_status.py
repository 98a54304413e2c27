"""Status lookups: list, by number, check digit, last-4 ownership check, nothing leaks."""

from __future__ import annotations

import pytest

from dialogs.effects import ListTickets, LookupTicket

from .chat import Chat

VALID = "261128709721"


def items(effect):
    return {
        "type": "tickets",
        "items": [
            {
                "number": VALID,
                "title": "残疾证鉴定和社区证明互相推诿",
                "status": "in_progress",
                "updated": "2026-11-29T10:00:00+08:00",
            },
            {
                "number": "261120000004",
                "title": "低保",
                "status": "resolved",
                "updated": "2026-11-21T10:00:00+08:00",
            },
        ],
    }


def test_list_renders_number_title_status_update():
    chat = Chat(responders={ListTickets: items})
    reply = chat.send("查询")
    assert chat.effect(ListTickets) == ListTickets()
    assert "2611 2870 9721 办理中，11月29日更新" in reply
    assert "残疾证鉴定和社区证明" in reply and "已办结" in reply


def test_list_empty():
    assert "还没有登记过" in Chat().send("2")


@pytest.mark.parametrize(
    "text",
    [
        "查询 2611 2870 9721",
        "查询261128709721",
        "查询 2611-2870-9721",
        "查询 ２６１１２８７０９７２１",
        "进度 261128709721",
        "261128709721",
        "查询受理号：2611 2870 9721",
    ],
)
def test_lookup_accepts_many_spellings(text):
    chat = Chat()
    chat.send(text)
    assert chat.effects[0] == LookupTicket(VALID, None)


def test_bad_check_digit_has_no_effect():
    chat = Chat()
    reply = chat.send("查询 2611 2870 9712")
    assert reply.startswith("号码可能输错了") and chat.effects == []


def test_wrong_length_number():
    chat = Chat()
    reply = chat.send("查询 2611 2870")
    assert "12位" in reply and chat.effects == []


def test_need_phone_then_shown_without_contact_or_description():
    chat = Chat()
    assert "后4位" in chat.send("查询 2611 2870 9721")
    reply = chat.send("5678")
    assert chat.effects[0] == LookupTicket(VALID, "5678")
    assert "状态：办理中" in reply and "鼓楼区" in reply
    assert "已转民政局办理" in reply and "已联系社区" in reply
    assert "13912345678" not in reply and "SECRET" not in reply


def test_denied_and_not_found_read_the_same():
    chat = Chat()
    chat.send("查询 2611 2870 9721")
    denied = chat.send("1111")

    def not_found(effect):
        return {"type": "ticket_status", "outcome": "not_found", "ticket": None}

    other = Chat(responders={LookupTicket: not_found})
    assert other.send("查询 2611 2870 9721") == denied


def test_locked_is_rendered_kindly():
    def locked(effect):
        return {"type": "ticket_status", "outcome": "locked", "ticket": None}

    reply = Chat(responders={LookupTicket: locked}).send("查询 261128709721")
    assert "一小时后" in reply


def test_last4_prompt_abandoned_by_other_text():
    chat = Chat()
    chat.send("查询 261128709721")
    chat.send("你好")
    assert chat.state["side"] is None and not chat.has(LookupTicket)


def test_owner_sees_status_without_phone():
    def owner(effect):
        return {
            "type": "ticket_status",
            "outcome": "shown",
            "ticket": {
                "number": effect.number,
                "status": "accepted",
                "updated": "2026-11-28T10:00:00",
            },
        }

    reply = Chat(responders={LookupTicket: owner}).send("查询 261128709721")
    assert "已受理" in reply and "11月28日" in reply


def test_handler_error_is_kind():
    def broken(effect):
        return {"type": "error", "effect": "ListTickets"}

    assert "稍后再试" in Chat(responders={ListTickets: broken}).send("查询")


def test_no_result_from_handler_then_next_message_is_handled():
    chat = Chat(responders={ListTickets: lambda e: None})
    assert chat.send("查询") == ""  # the handler never answered
    assert "1 反映" in chat.send("你好")
