"""Forms declared once, as data. A field is one entry: adding a question is adding an entry.

The intake flow is versioned. An intake in flight stores its values by field name together
with the flow version; when it is loaded under a newer flow, `Flow.migrate` moves values of
renamed fields (`renamed_from`), sets aside values of removed fields, and the conversation
then asks only what is newly missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dialogs import validators as v
from dialogs.config import DialogConfig
from dialogs.validators import Parsed

Parser = Callable[[str, DialogConfig], Parsed]
Sniffer = Callable[[str, DialogConfig], Any]


@dataclass(frozen=True)
class Field:
    name: str  # stable key in state and in FileTicket.fields
    label: str  # shown in read-backs
    prompts: tuple[str, ...]  # phrasings, rotated so a re-prompt never repeats word for word
    parse: Parser
    skip_words: tuple[str, ...] = ()  # answers that fill the field with `skip_value`
    skip_value: str = ""
    free_text: bool = False  # a burst of messages is merged into one answer
    renamed_from: tuple[str, ...] = ()  # older names of this field (migrated on load)
    when: Callable[[Mapping[str, Any]], bool] | None = None  # asked only if true
    parent: str | None = None  # read back on the parent's line, asked again with it
    sniff: Sniffer | None = None  # spots this field in any message (prefill)
    implies: Mapping[str, Any] | None = None  # other values a sniffed value settles
    keywords: tuple[str, ...] = ()  # words that name this field in a free correction
    accepts_location: bool = False  # a location message answers it
    searches_cases: bool = False  # once filled, search the case library
    consent: bool = False  # the consent gate: "no" keeps a draft and files nothing
    handoff: bool = False  # needed even when handing over to 人工 early

    def applies(self, values: Mapping[str, Any]) -> bool:
        return self.when is None or bool(self.when(values))

    def prompt(self, n: int, config: DialogConfig) -> str:
        text = self.prompts[n % len(self.prompts)]
        if "{centres}" in text:
            centres = " ".join(f"{i}.{c.name}" for i, c in enumerate(config.centres, 1))
            text = text.replace("{centres}", centres)
        return text

    def show(self, value: Any) -> str:
        if value is True:
            return "同意"
        if value in ("", None):
            return "未填"
        return str(value)


@dataclass(frozen=True)
class Flow:
    name: str
    version: int
    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate field names in flow {self.name}")

    def get(self, name: str | None) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def applicable(self, values: Mapping[str, Any]) -> list[Field]:
        return [f for f in self.fields if f.applies(values)]

    def missing(self, values: Mapping[str, Any], handoff: bool = False) -> Field | None:
        for f in self.applicable(values):
            if handoff and not f.handoff:
                continue
            if f.name not in values:
                return f
        return None

    def numbered(self, values: Mapping[str, Any]) -> list[tuple[int, Field, list[Field]]]:
        """Read-back lines: (number, field, its sub-fields)."""
        lines: list[tuple[int, Field, list[Field]]] = []
        for f in self.applicable(values):
            if f.parent is None:
                lines.append((len(lines) + 1, f, []))
            elif lines:
                lines[-1][2].append(f)
        return lines

    def children(self, name: str) -> list[Field]:
        return [f for f in self.fields if f.parent == name]

    def migrate(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(values under this flow, values of fields this flow no longer has)."""
        out: dict[str, Any] = {}
        known = {f.name for f in self.fields}
        for f in self.fields:
            if f.name in values:
                out[f.name] = values[f.name]
                continue
            for old in f.renamed_from:
                if old in values and old not in known:
                    out[f.name] = values[old]
                    break
        used = set(out) | {o for f in self.fields for o in f.renamed_from if o in values}
        retired = {k: val for k, val in values.items() if k not in used}
        return out, retired

    def rename(self, name: str | None) -> str | None:
        """The current name of a field that may have been renamed since."""
        if name is None or self.get(name):
            return name
        return next((f.name for f in self.fields if name in f.renamed_from), None)


def _is_enterprise(values: Mapping[str, Any]) -> bool:
    return values.get("applicant_type") == "企业"


INTAKE_FLOW = Flow(
    name="intake",
    version=1,
    fields=(
        Field(
            name="request",
            label="诉求内容",
            prompts=(
                "请说说您想办成什么事，卡在哪里了？打字或语音都可以。",
                "麻烦您说一说要办的是什么事，遇到了什么难处。",
                "您想办的事是什么？简单说几句就行。",
            ),
            parse=v.parse_request,
            free_text=True,
            searches_cases=True,
            handoff=True,
            keywords=("诉求", "事情", "内容"),
        ),
        Field(
            name="visited",
            label="去过的部门或窗口",
            prompts=(
                "您之前去过哪个部门或窗口？没去过就回复“没去过”。",
                "这件事您找过哪些部门或窗口了？还没找过请回复“没去过”。",
                "之前办的时候去的是哪里？没去过可以直接说“没去过”。",
            ),
            parse=v.free_text(2, "请说一下去过的部门或窗口名称，没去过就回复“没去过”。"),
            skip_words=("没去过", "没有去过", "没去", "没有", "无", "还没去", "都没去过"),
            skip_value="没去过",
            free_text=True,
            keywords=("部门", "窗口"),
        ),
        Field(
            name="reason",
            label="办不成的原因",
            prompts=(
                "他们说为什么办不了？不清楚就回复“不清楚”。",
                "办不成的原因是什么呢？不知道的话回复“不清楚”就行。",
                "对方给过什么说法吗？没有说法可以回复“不清楚”。",
            ),
            parse=v.free_text(2, "请说一下办不成的原因，不知道就回复“不清楚”。"),
            skip_words=("不清楚", "不知道", "不晓得", "没说", "没有说", "不明白"),
            skip_value="不清楚",
            free_text=True,
            keywords=("原因",),
        ),
        Field(
            name="centre",
            label="所在区县",
            prompts=(
                "您在哪个区县？回复序号或名称，也可以发送位置：\n{centres}",
                "请告诉我您所在的区县（回复序号或名称，或发送位置）：\n{centres}",
            ),
            parse=v.parse_centre,
            sniff=v.sniff_centre,
            accepts_location=True,
            keywords=("区县", "区", "县", "地址", "地区"),
        ),
        Field(
            name="applicant_type",
            label="个人或企业",
            prompts=(
                "您是以个人还是企业的身份办这件事？1 个人 2 企业",
                "这件事是个人的还是企业的？回复1 个人，2 企业。",
            ),
            parse=v.parse_applicant,
            keywords=("个人", "企业身份"),
        ),
        Field(
            name="company",
            label="企业名称",
            prompts=(
                "请告诉我企业的全称。",
                "麻烦发一下企业的名称（营业执照上的全称）。",
            ),
            parse=v.parse_company,
            when=_is_enterprise,
            parent="applicant_type",
            sniff=v.sniff_company,
            implies={"applicant_type": "企业"},
            keywords=("公司", "企业名"),
        ),
        Field(
            name="name",
            label="称呼",
            prompts=(
                "怎么称呼您？比如“王阿姨”。不想填请回复“跳过”。",
                "请问您贵姓，怎么称呼？也可以回复“跳过”。",
            ),
            parse=v.parse_name,
            skip_words=("跳过", "不填", "不用", "不想说", "算了", "无", "不说"),
            skip_value="",
            keywords=("称呼", "名字", "姓名"),
        ),
        Field(
            name="phone",
            label="联系电话",
            prompts=(
                "请留一个联系电话，手机或座机都可以（座机请带区号）。",
                "工作人员打哪个电话能找到您？请发一下号码。",
                "麻烦再发一次联系电话，手机11位，座机请带区号。",
            ),
            parse=v.parse_phone,
            sniff=v.sniff_phone,
            keywords=("电话", "手机", "号码", "座机"),
        ),
        Field(
            name="consent",
            label="同意使用联系方式",
            prompts=(
                "您填的联系方式只用于办理这件事，交给窗口工作人员联系您。您同意吗？1 同意 2 不同意",
                "为了办这件事，工作人员需要用到您的联系方式。同意吗？回复1 同意，2 不同意。",
            ),
            parse=v.parse_consent,
            consent=True,
            handoff=True,
            keywords=("同意",),
        ),
    ),
)
