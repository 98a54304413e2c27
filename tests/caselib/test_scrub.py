"""The scrubber removes personal data from text bound for the shared case library."""

from __future__ import annotations

import pytest

from handlers.caselib.scrub import scrub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13912345678", "电话【电话】"),
        ("打 139 1234 5678 或 +86 13912345678", "打 【电话】 或 【电话】"),
        ("座机0591-87654321，或者87654321", "座机【电话】，或者【电话】"),
        ("身份证350102199001011234", "身份证【身份证号】"),
        ("证件号35010219900101123X。", "证件号【身份证号】。"),
        ("老身份证350102900101123", "老身份证【身份证号】"),
        ("卡号6222 0212 3456 7890 123", "卡号【卡号】"),
        ("邮箱wang.fang@example.com", "邮箱【邮箱】"),
        ("我父亲住在五一中路123号3栋2单元501室", "我父亲住在【地址】"),
        ("家在温泉小区5栋2单元", "家在【地址】"),
        ("林女士在鼓楼区政务服务中心办理", "【姓名】在鼓楼区政务服务中心办理"),
        ("我叫张三丰，来办营业执照", "我叫【姓名】，来办营业执照"),
        ("姓名：李四", "姓名【姓名】"),
        ("社保中心说要本人到场", "社保中心说要本人到场"),
        ("鼓楼区人社局和市场监管局", "鼓楼区人社局和市场监管局"),
        ("工单号 2611 2804 1739", "工单号 2611 2804 1739"),
        ("2026年10月12日前办结，需5个工作日", "2026年10月12日前办结，需5个工作日"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_names_and_companies_the_ticket_knows() -> None:
    text = "王阿姨说，王家的福州鑫源贸易有限公司变更办不了，王阿姨很着急"
    out = scrub(text, names=["王阿姨"], companies=["福州鑫源贸易有限公司"])
    assert out == "【姓名】说，王家的【企业名称】变更办不了，【姓名】很着急"
    assert scrub("陈建国先生的社保", names=["陈建国先生"]) == "【姓名】的社保"
    assert scrub("陈建国来电", names=["陈建国先生"]) == "【姓名】来电"
    assert scrub("跳过", names=["跳过"]) == "跳过"  # the answer that means "no name"


def test_repeated_placeholders_merge_and_empty_text() -> None:
    assert scrub("13912345678 13912345679") == "【电话】 【电话】"
    assert scrub("") == ""
