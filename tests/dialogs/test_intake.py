"""The intake: happy path, prefill, validation, corrections, bursts, attachments."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest

from dialogs.config import DialogConfig
from dialogs.conversation import initial_state, step
from dialogs.effects import CancelTimers, FileTicket, SearchCases, SetTimer
from dialogs.types import Inbound
from dialogs.validators import parse_centre, parse_phone
from handlers.tickets import number as tn

from .chat import ANSWERS, PROBLEM, START, Chat, reach

CONFIG = DialogConfig()


def test_initial_state_is_json_and_new_citizen_gets_menu():
    assert initial_state()["mode"] == "idle"
    turn = step({}, Inbound(kind="text", at=START, text="你好"), CONFIG)
    assert "1 反映办不成的事" in turn.replies[0] and "2 查询进度" in turn.replies[0]
    assert turn.effects == ()


def test_subscribe_welcomes_with_what_the_bot_does_and_menu():
    chat = Chat()
    reply = chat.send(kind="subscribe")
    assert "办不成" in reply and "1 反映办不成的事" in reply and "3 常见问题" in reply


def test_happy_path_files_a_ticket_and_gives_grouped_number():
    chat = Chat()
    assert "办成什么事" in chat.send("1")
    assert "部门或窗口" in chat.send(PROBLEM)
    assert chat.effect(SearchCases) == SearchCases(PROBLEM, "intake")
    assert "办不了" in chat.send("去过社区和区残联")
    assert "区县" in chat.send("不清楚")
    assert "个人还是企业" in chat.send("鼓楼")
    assert "称呼" in chat.send("1")
    assert "电话" in chat.send("王阿姨")
    assert "同意吗" in chat.send("139 1234 5678")
    readback = chat.send("1")
    assert readback.startswith("请核对")
    for line in ("1 诉求内容", "4 所在区县：鼓楼区", "6 称呼：王阿姨", "7 联系电话：13912345678"):
        assert line in readback
    reply = chat.send("确认")
    ticket = chat.effect(FileTicket)
    assert ticket.fields == {
        "request": PROBLEM,
        "visited": "去过社区和区残联",
        "reason": "不清楚",
        "centre": "鼓楼区",
        "applicant_type": "个人",
        "name": "王阿姨",
        "phone": "13912345678",
        "consent": True,
    }
    assert ticket.incomplete is False and ticket.flow_version == CONFIG.flow_version
    number = tn.make_number(date(2026, 11, 28), 41, "k")
    assert tn.display(number) in reply and f"查询 {number}" in reply
    assert chat.has(CancelTimers)
    assert chat.intake is None and chat.state["mode"] == "idle"


def test_enterprise_asks_company_name_and_reads_it_back_on_line_5():
    chat = reach(Chat(), "company")
    assert "称呼" in chat.send("福州闽江科技有限公司")
    assert chat.values["company"] == "福州闽江科技有限公司"
    readback = reach_confirm(chat)
    assert "5 个人或企业：企业（福州闽江科技有限公司）" in readback
    assert "7 联系电话" in readback


def reach_confirm(chat: Chat) -> str:
    reply = ""
    while chat.intake["stage"] != "confirm":
        reply = chat.send(ANSWERS[chat.current])
    return reply


def test_skip_words_and_optional_name():
    chat = reach(Chat(), "visited")
    chat.send("没去过")
    assert chat.values["visited"] == "没去过"
    chat.send("不知道")
    assert chat.values["reason"] == "不清楚"
    chat.send("鼓楼区")
    chat.send("个人")
    chat.send("跳过")
    assert chat.values["name"] == ""
    chat.send("13912345678")
    assert "6 称呼：未填" in chat.send("同意")


def test_first_message_describing_a_problem_starts_intake_prefilled_with_pickups():
    chat = Chat()
    reply = chat.send("我在鼓楼区，给我妈办残疾证办不下来，社区和医院互相推，我电话13912345678")
    assert chat.values["request"].startswith("我在鼓楼区")
    assert chat.values["centre"] == "鼓楼区" and chat.values["phone"] == "13912345678"
    assert "我已记下：所在区县 鼓楼区，联系电话 13912345678" in reply
    assert chat.has(SearchCases)
    while chat.intake["stage"] != "confirm":
        assert chat.current not in ("centre", "phone", "request")
        chat.send(ANSWERS[chat.current])


def test_company_name_in_any_message_fills_enterprise_fields():
    chat = reach(Chat(), "reason")
    reply = chat.send("我们福州某某贸易有限公司的营业执照变更一直办不了")
    assert chat.values["applicant_type"] == "企业"
    assert chat.values["company"] == "福州某某贸易有限公司"
    assert "企业名称 福州某某贸易有限公司" in reply


def test_short_greetings_and_commands_do_not_start_an_intake():
    chat = Chat()
    for text in ("你好", "在吗", "谢谢", "嗯嗯"):
        chat.send(text)
        assert chat.intake is None


@pytest.mark.parametrize(
    "text, error",
    [
        ("1391234567", "少了1位"),
        ("139123456789", "多了1位"),
        ("12912345678", "第二位"),
        ("87654321", "区号"),
        ("23456789012", "以1开头"),
        ("我没有电话", "没有看到号码"),
        ("139abc45678", "只能有数字"),
        ("0591-876543", "少了几位"),
    ],
)
def test_phone_errors_are_specific(text, error):
    assert error in (parse_phone(text, CONFIG).error or "")


@pytest.mark.parametrize(
    "text, value",
    [
        ("13912345678", "13912345678"),
        ("１３９ １２３４ ５６７８", "13912345678"),
        ("139-1234-5678", "13912345678"),
        ("+86 139 1234 5678", "13912345678"),
        ("0591-87654321", "0591-87654321"),
        ("059187654321", "0591-87654321"),
        ("010 12345678", "010-12345678"),
        ("手机号是13912345678", "13912345678"),
    ],
)
def test_phone_normalised(text, value):
    assert parse_phone(text, CONFIG).value == value


@pytest.mark.parametrize(
    "text, value",
    [
        ("2", "鼓楼区"),
        ("鼓楼", "鼓楼区"),
        ("鼓楼区", "鼓楼区"),
        ("平潭", "平潭县"),
        ("我在仓山这边", "仓山区"),
        ("市本级", "市本级"),
        ("福清", "福清市"),
        ("14", "平潭县"),
    ],
)
def test_centre_by_number_name_or_part(text, value):
    assert parse_centre(text, CONFIG).value == value


@pytest.mark.parametrize("text", ["闽", "清", "市", "15", "北京"])
def test_centre_ambiguous_or_unknown_asks_again(text):
    parsed = parse_centre(text, CONFIG)
    assert parsed.error and parsed.value is None


def test_ambiguous_centre_names_the_candidates():
    chat = reach(Chat(), "centre")
    reply = chat.send("闽")
    assert "闽侯县" in reply and "闽清县" in reply and chat.current == "centre"


def test_location_picks_nearest_centre():
    chat = reach(Chat(), "centre")
    reply = chat.send(kind="location", location=(25.51, 119.78))
    assert chat.values["centre"] == "平潭县" and "平潭县" in reply
    assert chat.current == "applicant_type"


def test_location_before_centre_is_asked_is_picked_up():
    chat = reach(Chat(), "visited")
    reply = chat.send(kind="location", location=(26.05, 119.315))
    assert chat.values["centre"] == "台江区" and "台江区" in reply
    assert chat.current == "visited"


def test_three_failures_offer_human_and_reprompts_never_repeat():
    chat = reach(Chat(), "phone")
    replies = [chat.send("12345") for _ in range(3)]
    assert "人工" not in replies[0] and "人工" not in replies[1]
    assert "人工" in replies[2]
    prompts = [r.splitlines()[-1] for r in replies[:2]]
    assert prompts[0] != prompts[1]
    for a, b in pairwise(replies):
        assert a != b
    chat.send("人工")
    assert "同意" in chat.replies[0]
    chat.send("1")
    ticket = chat.effect(FileTicket)
    assert ticket.incomplete and "phone" not in ticket.fields
    assert "已经转给工作人员" in chat.replies[-1]


def test_request_too_short_then_burst_completes_it():
    chat = Chat()
    chat.send("1")
    assert "多说几句" in chat.send("办证难")
    chat.send("残疾证跑了三个地方都办不成", gap=1)
    assert chat.values["request"] == "办证难，残疾证跑了三个地方都办不成"


def test_burst_is_merged_into_the_field_it_continues():
    chat = Chat()
    chat.send("1")
    chat.send("我想给我妈办残疾证，社区让去医院鉴定")
    assert chat.current == "visited"
    reply = chat.send("医院又说要先有社区证明，来回跑了好几趟", gap=1.5)
    assert reply == "" and not chat.has(SearchCases)
    assert chat.values["request"].endswith("来回跑了好几趟")
    assert "visited" not in chat.values and chat.current == "visited"
    chat.send("还有一次去了区政府", gap=1)  # still within 2 s of the previous one
    assert chat.values["request"].endswith("还有一次去了区政府")
    chat.send("去过社区", gap=30)
    assert chat.values["visited"] == "去过社区"
    chat.send("工作人员说材料不齐", gap=20)
    chat.send("但没说缺什么", gap=1)
    assert chat.values["reason"] == "工作人员说材料不齐，但没说缺什么"
    assert chat.current == "centre"


def test_two_seconds_apart_is_an_answer_not_a_burst():
    # WeChat's CreateTime has whole seconds: a 2 s difference may be almost 3 s of real time,
    # which is enough to read the next question and answer it.
    chat = Chat()
    chat.send("1")
    chat.send("我想给我妈办残疾证，社区让去医院鉴定")
    chat.send("去过社区和医院", gap=2)
    assert chat.values["visited"] == "去过社区和医院"
    assert chat.current == "reason"


def test_a_message_delivered_out_of_order_is_not_a_burst():
    # Two messages processed in the opposite order of their CreateTime (concurrent delivery):
    # the earlier one arrives second with a negative gap and answers the next question.
    chat = Chat()
    chat.send("1")
    chat.send("我想给我妈办残疾证，社区让去医院鉴定")
    chat.send("说要先做鉴定", gap=40)
    chat.send("去过社区和医院", gap=-20)
    assert chat.values["visited"] == "说要先做鉴定"
    assert chat.values["reason"] == "去过社区和医院"


def test_burst_does_not_swallow_a_late_answer():
    chat = Chat()
    chat.send("1")
    chat.send(PROBLEM)
    chat.send("去过社区", gap=3)
    assert chat.values["visited"] == "去过社区"


def test_images_and_voice_in_intake_are_attached_and_filed():
    chat = reach(Chat(), "visited")
    reply = chat.image()
    assert "附在" in reply and "部门或窗口" in reply
    assert chat.image(gap=1) == ""  # a burst of pictures is acknowledged once
    chat.voice("去过社区和民政局")
    assert chat.values["visited"] == "去过社区和民政局"
    reach_confirm(chat)
    chat.send("1")
    kinds = [a["kind"] for a in chat.effect(FileTicket).attachments]
    assert kinds == ["image", "image", "voice"]


def test_media_outside_intake_kept_for_next_request():
    chat = Chat()
    assert "保存" in chat.image()
    assert chat.state["attachments"][0]["kind"] == "image"
    chat.send(PROBLEM)
    assert chat.intake["attachments"][0]["kind"] == "image"
    assert chat.state["attachments"] == []


def test_empty_voice_asks_to_repeat():
    chat = Chat()
    assert "没听清" in chat.voice("")
    chat = reach(Chat(), "reason")
    reply = chat.voice("")
    assert "没听清" in reply and chat.current == "reason"


def test_unknown_kind_and_unclear_text_get_kind_reply_and_menu():
    chat = Chat()
    assert "1 反映办不成的事" in chat.send(kind="unknown")
    assert "没太明白" in chat.send("啊")


def test_menu_click_keys_route_like_commands():
    chat = Chat()
    chat.send("intake", kind="menu")
    assert chat.current == "request"
    chat = Chat()
    assert "想了解什么" in chat.send("faq", kind="menu")
    chat = Chat()
    chat.send("status", kind="menu")
    assert "还没有登记过" in chat.replies[0]


def test_correction_by_number_asks_again_and_reads_back():
    chat = reach(Chat(), "confirm")
    reply = chat.send("改7")
    assert "原来填的是：13912345678" in reply and chat.current == "phone"
    reply = chat.send("13800001111")
    assert reply.startswith("请核对") and "7 联系电话：13800001111" in reply


def test_correction_by_number_back_keeps_old_value():
    chat = reach(Chat(), "confirm")
    chat.send("改4")
    reply = chat.send("上一步")
    assert "4 所在区县：鼓楼区" in reply and chat.intake["stage"] == "confirm"


@pytest.mark.parametrize(
    "text, field, value",
    [
        ("电话写错了,是13912340000", "phone", "13912340000"),
        ("区县不对，应该是台江区", "centre", "台江区"),
        ("称呼写错了，是张阿姨", "name", "张阿姨"),
        ("13700001111", "phone", "13700001111"),
    ],
)
def test_free_correction_changes_field_and_reads_back(text, field, value):
    chat = reach(Chat(), "confirm")
    reply = chat.send(text)
    assert chat.values[field] == value
    assert "改好" in reply and reply.count("请核对") == 1


def test_free_correction_naming_a_field_without_value_asks_it():
    chat = reach(Chat(), "confirm")
    chat.send("原因写得不对")
    assert chat.current == "reason"


def test_unclear_answer_at_readback_reprompts():
    chat = reach(Chat(), "confirm")
    reply = chat.send("嗯嗯嗯")
    assert "改" in reply and chat.intake["stage"] == "confirm"
    assert "没有第12项" in chat.send("改12")


def test_no_consent_keeps_a_draft_and_files_nothing():
    chat = reach(Chat(), "consent")
    reply = chat.send("不同意")
    assert "不提交" in reply and not chat.has(FileTicket) and chat.has(CancelTimers)
    assert chat.intake is None and chat.state["draft"]["values"]["phone"] == "13912345678"
    reply = chat.send("你好")
    assert "还没登记完" in reply
    chat.send("1")
    assert chat.current == "consent"
    chat.send("同意")
    chat.send("确认")
    assert chat.effect(FileTicket).fields["consent"] is True


def test_several_tickets_a_new_intake_after_filing():
    chat = reach(Chat(), "confirm")
    chat.send("1")
    assert chat.has(FileTicket)
    chat.send("我家老房子的不动产证也办不下来，已经跑了半年了")
    assert chat.intake is not None and chat.values["request"].startswith("我家老房子")


def test_timers_are_armed_every_intake_turn():
    chat = Chat()
    chat.send("1")
    timers = {e.timer: e.at for e in chat.effects if isinstance(e, SetTimer)}
    assert timers == {
        "intake_reminder": chat.now + CONFIG.reminder_after,
        "intake_draft": chat.now + CONFIG.draft_after,
    }
    chat.send("你好")  # an answer that fails validation still re-arms
    assert {e.timer for e in chat.effects if isinstance(e, SetTimer)} == set(timers)


def test_landline_in_passing_is_not_taken_as_the_citizens_phone():
    chat = Chat()
    chat.send("我打了区里电话0591-87654321一直没人接，低保的事没人管")
    assert "phone" not in chat.values
    chat = Chat()
    chat.send("低保的事一直没人管，我家里电话0591-87654321")
    assert chat.values["phone"] == "0591-87654321"


@pytest.mark.parametrize("text", ["查一下我的进度", "我的进度", "查询进度", "查进度怎么样了"])
def test_status_phrasings(text):
    chat = Chat()
    chat.send(text)
    assert chat.effects and type(chat.effects[0]).__name__ == "ListTickets"


def test_subscribe_during_intake_welcomes_and_asks_again():
    chat = reach(Chat(), "reason")
    reply = chat.send(kind="subscribe")
    assert "办不成" in reply and "接着刚才" in reply and chat.current == "reason"
