"""Every command at every point of the intake."""

from __future__ import annotations

import pytest

from dialogs.effects import CancelTimers, FileTicket, ListTickets, LookupTicket

from .chat import ORDER, Chat, reach

FIELDS = ORDER  # includes company (reached as an enterprise)
POINTS = [*FIELDS, "confirm"]
VALID = "261128709721"  # a number whose Damm digit is right


def previous_of(chat: Chat, point: str) -> str | None:
    values = chat.values
    order = [f for f in ORDER if f in values]
    if point == "confirm":
        return order[-1]
    idx = ORDER.index(point)
    before = [f for f in ORDER[:idx] if f in values]
    return before[-1] if before else None


def test_valid_number_fixture():
    from handlers.tickets import number as tn

    assert tn.is_valid(VALID)


@pytest.mark.parametrize("point", POINTS)
def test_back_goes_to_previous_field(point):
    chat = reach(Chat(), point)
    prev = previous_of(chat, point)
    reply = chat.send("上一步")
    if prev is None:
        assert "第一个问题" in reply and chat.current == point
        return
    assert chat.current == prev and prev not in chat.values
    chat.send("返回")  # twice in a row works too
    assert chat.intake is not None


@pytest.mark.parametrize("point", POINTS)
def test_cancel_ends_without_filing(point):
    chat = reach(Chat(), point)
    reply = chat.send("取消")
    assert "取消" in reply and "1 反映办不成的事" in reply
    assert chat.intake is None and chat.has(CancelTimers) and not chat.has(FileTicket)


@pytest.mark.parametrize("point", POINTS)
def test_restart_starts_over(point):
    chat = reach(Chat(), point)
    reply = chat.send("重新开始")
    assert "从头开始" in reply
    assert chat.values == {} and chat.current == "request"


@pytest.mark.parametrize("point", POINTS)
def test_help_explains_and_asks_again(point):
    chat = reach(Chat(), point)
    before = dict(chat.values)
    reply = chat.send("帮助")
    assert "上一步" in reply and "人工" in reply
    assert chat.values == before
    if point == "confirm":
        assert "请核对" in reply
    else:
        assert chat.current == point


@pytest.mark.parametrize("point", POINTS)
def test_human_hands_over_with_what_is_filled(point):
    chat = reach(Chat(), point)
    before = dict(chat.values)
    chat.send("人工")
    if chat.current == "request":  # nothing to hand over yet: one sentence first
        assert "您要办的事" in chat.replies[-1]
        chat.send("低保的事情街道一直不给答复")
        before["request"] = "低保的事情街道一直不给答复"
    if not chat.has(FileTicket):
        # Consent is still needed before contact details go to staff.
        assert chat.current == "consent" and "同意" in chat.replies[-1]
        chat.send("1")
    ticket = chat.effect(FileTicket)
    assert ticket.incomplete is (point not in ("confirm",))
    for name, value in before.items():
        if name != "consent":
            assert ticket.fields[name] == value
    assert chat.intake is None


@pytest.mark.parametrize("point", POINTS)
def test_status_list_is_a_side_question(point):
    chat = reach(Chat(), point)
    before, stage = dict(chat.values), chat.intake["stage"]
    reply = chat.send("查询")
    assert chat.has(ListTickets)
    assert "还没有登记过" in reply and "接着刚才" in reply
    assert chat.values == before and chat.intake["stage"] == stage
    if point != "confirm":
        assert chat.current == point


@pytest.mark.parametrize("point", POINTS)
def test_status_lookup_with_number_is_a_side_question(point):
    chat = reach(Chat(), point)
    before = dict(chat.values)
    reply = chat.send("进度 2611 2870 9721")
    assert chat.effect(LookupTicket) == LookupTicket(VALID, None)
    assert "后4位" in reply
    reply = chat.send("5678")
    assert "办理中" in reply and "接着刚才" in reply
    assert chat.values == before
    if point != "confirm":
        assert chat.current == point


@pytest.mark.parametrize("point", POINTS)
def test_status_lookup_bad_check_digit_in_intake(point):
    chat = reach(Chat(), point)
    reply = chat.send("查询 261128709722")
    assert "号码可能输错了" in reply and not chat.has(LookupTicket)
    assert chat.intake is not None


def test_commands_outside_intake():
    chat = Chat()
    assert "没有正在填写" in chat.send("上一步")
    assert "1 反映" in chat.send("取消")
    assert "上一步" in chat.send("帮助")
    chat.send("重新开始")
    assert chat.current == "request"


def test_human_from_idle_asks_what_it_is_about_then_consent():
    chat = Chat()
    reply = chat.send("人工")
    assert "转人工" in reply and "您要办的事" in reply
    chat.send("低保的事情街道一直不给答复，我想找人问问")
    assert chat.current == "consent"
    chat.send("1")
    ticket = chat.effect(FileTicket)
    assert ticket.incomplete and ticket.fields["request"].startswith("低保")


@pytest.mark.parametrize("command", ["上一步", "取消", "重新开始", "帮助", "人工", "查询"])
def test_commands_with_voice_punctuation(command):
    chat = reach(Chat(), "reason")
    chat.voice(command + "。")
    assert chat.values.get("reason") != command + "。"
