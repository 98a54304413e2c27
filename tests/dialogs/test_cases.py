"""Case suggestions during the intake and the FAQ."""

from __future__ import annotations

import pytest

from dialogs.effects import CancelTimers, CaseFeedback, FileTicket, SearchCases

from .chat import PROBLEM, Chat

CASES = [
    {
        "id": "c1",
        "title": "残疾证申领需先鉴定",
        "solution": "带身份证、户口本到指定医院鉴定，"
        "再到社区提交申请。行动不便的可以申请上门鉴定。",
        "department": "区残联",
    },
    {"id": "c2", "title": "残疾证换领", "solution": "到社区服务中心换领。", "department": "社区"},
    {"id": "c3", "title": "护理补贴申请", "solution": "向街道民政办申请。", "department": "民政"},
]


def answering(decision: str, cases=CASES):
    def respond(effect: SearchCases):
        return {"type": "cases", "decision": decision, "cases": cases}

    return {SearchCases: respond}


def started(decision: str) -> Chat:
    chat = Chat(responders=answering(decision))
    chat.send("1")
    chat.send(PROBLEM)
    return chat


def test_answer_shows_case_briefly_and_asks():
    chat = started("answer")
    reply = chat.replies[-1]
    assert "残疾证申领需先鉴定" in reply and "区残联" in reply and "详情" in reply
    assert "这能解决您的问题吗？1 能 2 不能，继续登记" in reply
    assert chat.intake["stage"] == "case"


def test_answer_yes_ends_kindly_without_ticket():
    chat = started("answer")
    reply = chat.send("1")
    assert chat.effect(CaseFeedback) == CaseFeedback("c1", True)
    assert chat.has(CancelTimers) and not chat.has(FileTicket)
    assert "太好了" in reply and chat.intake is None


def test_answer_no_continues_and_case_travels_to_ticket():
    chat = started("answer")
    reply = chat.send("不能")
    assert chat.effect(CaseFeedback) == CaseFeedback("c1", False)
    assert "部门或窗口" in reply and chat.current == "visited"
    reach_and_file(chat)
    assert chat.effect(FileTicket).case_suggestions == ["c1"]


def reach_and_file(chat: Chat) -> None:
    from .chat import ANSWERS

    while chat.intake["stage"] != "confirm":
        chat.send(ANSWERS[chat.current])
    chat.send("确认")


def test_answer_details_then_question_again():
    chat = started("answer")
    reply = chat.send("查看详情")
    assert "上门鉴定" in reply and "1 能" in reply
    assert chat.intake["stage"] == "case"
    assert "1" in chat.send("嗯？")


def test_suggest_lists_titles_number_shows_case():
    chat = started("suggest")
    reply = chat.replies[-1]
    assert "1 残疾证申领需先鉴定" in reply and "3 护理补贴申请" in reply and "0" in reply
    reply = chat.send("2")
    assert "残疾证换领" in reply and "1 能" in reply
    chat.send("2")
    assert chat.effect(CaseFeedback) == CaseFeedback("c2", False)
    assert chat.current == "visited"
    reach_and_file(chat)
    assert chat.effect(FileTicket).case_suggestions == ["c1", "c2", "c3"]


def test_suggest_zero_continues_intake():
    chat = started("suggest")
    reply = chat.send("0")
    assert "部门或窗口" in reply and not chat.has(CaseFeedback)
    assert chat.current == "visited"


def test_suggest_bad_choice_asks_again():
    chat = started("suggest")
    assert "序号" in chat.send("9")
    assert chat.intake["stage"] == "suggest"


def test_none_goes_straight_on():
    chat = started("none")
    assert "部门或窗口" in chat.replies[-1]


def test_search_only_once_per_intake():
    chat = started("none")
    chat.send("上一步")
    chat.send(PROBLEM + "，很着急")
    assert not chat.has(SearchCases) and chat.current == "visited"


@pytest.mark.parametrize("stage", ["answer", "suggest"])
def test_back_from_case_returns_to_request(stage):
    chat = started(stage)
    chat.send("上一步")
    assert chat.current == "request" and "request" not in chat.values


@pytest.mark.parametrize("stage", ["answer", "suggest"])
@pytest.mark.parametrize("command", ["取消", "帮助", "查询", "人工", "重新开始"])
def test_commands_while_a_case_is_shown(stage, command):
    chat = started(stage)
    chat.send(command)
    if command == "取消":
        assert chat.intake is None
    elif command == "重新开始":
        assert chat.values == {}
    elif command == "人工":
        assert chat.current == "consent"
    else:
        assert chat.intake["stage"] == ("case" if stage == "answer" else "suggest")


def test_handoff_skips_case_search():
    chat = Chat(responders=answering("answer"))
    chat.send("人工")
    chat.send(PROBLEM)
    assert not chat.has(SearchCases) and chat.current == "consent"


# ------------------------------------------------------------------ FAQ


def test_faq_answer_helpful():
    chat = Chat(responders=answering("answer"))
    assert "想了解" in chat.send("3")
    reply = chat.send("残疾证怎么办")
    assert chat.effect(SearchCases) == SearchCases("残疾证怎么办", "faq")
    assert "残疾证申领需先鉴定" in reply and "1 能 2 不能" in reply
    assert "太好了" in chat.send("能")
    assert chat.effect(CaseFeedback) == CaseFeedback("c1", True)


def test_faq_not_helpful_starts_intake_with_question():
    chat = Chat(responders=answering("answer"))
    chat.send("3")
    chat.send("给老人办残疾证一直办不下来怎么办")
    reply = chat.send("不能")
    assert chat.effect(CaseFeedback) == CaseFeedback("c1", False)
    assert chat.values["request"] == "给老人办残疾证一直办不下来怎么办"
    assert not chat.has(SearchCases) and "部门或窗口" in reply
    reach_and_file(chat)
    assert chat.effect(FileTicket).case_suggestions == ["c1"]


def test_faq_suggest_then_none_then_register():
    chat = Chat(responders=answering("suggest"))
    chat.send("3")
    chat.send("残疾证")
    assert "1 残疾证申领需先鉴定" in chat.replies[-1]
    assert "残疾证换领" in chat.send("2")
    chat = Chat(responders=answering("none"))
    chat.send("3")
    assert "没有找到现成的答案" in chat.send("营业执照地址变更怎么办理")
    chat.send("1")
    assert chat.intake is not None and chat.values["request"] == "营业执照地址变更怎么办理"


def test_faq_none_zero_back_to_menu():
    chat = Chat(responders=answering("none"))
    chat.send("3")
    chat.send("营业执照地址变更")
    assert "1 反映" in chat.send("0") and chat.state["mode"] == "idle"


def test_faq_new_question_while_case_shown_searches_again():
    chat = Chat(responders=answering("answer"))
    chat.send("3")
    chat.send("残疾证")
    chat.send("护理补贴怎么申请")
    assert chat.effect(SearchCases) == SearchCases("护理补贴怎么申请", "faq")
