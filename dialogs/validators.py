"""Validators/normalisers for intake fields, and sniffers that spot a field in any message.

A parser takes (text, config) and returns Parsed: a value, or a specific error to say.
A sniffer takes (text, config) and returns a value or None; it must be conservative.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from dialogs.config import Centre, DialogConfig
from dialogs.text import clean, content_len, nfkc, squash


@dataclass(frozen=True)
class Parsed:
    value: Any = None
    error: str | None = None
    declined: bool = False  # a consent field answered "no"

    @property
    def ok(self) -> bool:
        return self.error is None and not self.declined


def free_text(min_chars: int, too_short: str):
    def parse(text: str, config: DialogConfig) -> Parsed:
        value = " ".join(text.split())  # keep the citizen's own punctuation (no NFKC)
        if content_len(value) < min_chars:
            return Parsed(error=too_short)
        return Parsed(value)

    return parse


def letters(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch)[0] == "L")


def parse_request(text: str, config: DialogConfig) -> Parsed:
    """诉求内容: at least 8 characters of content, of which some are words (not just digits)."""
    value = " ".join(text.split())
    if content_len(value) < 8 or letters(value) < 4:
        return Parsed(error="请再多说几句，比如要办什么事、现在卡在哪一步。")
    return Parsed(value)


# ---------------------------------------------------------------- phone numbers

_MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_LANDLINE_RE = re.compile(r"(?<!\d)0\d{9,11}(?!\d)")
_OWN_PHONE_CUES = (
    "我的电话",
    "我电话",
    "联系我",
    "我的座机",
    "家里电话",
    "家里座机",
    "联系电话",
    "我座机",
    "打我",
    "找我",
)
_GLUE_RE = re.compile(r"(?<=\d)[\s\-‐‑–—]+(?=\d)")


def _phone_digits(text: str) -> tuple[str, str]:
    """(digits, the rest) of a phone answer: separators and a +86 prefix removed."""
    t = _GLUE_RE.sub("", nfkc(text)).strip()
    t = re.sub(r"^\+?86[\s\-]*(?=1)", "", t)
    t = re.sub(r"[()\s\-]", "", t)
    for word in ("手机号码", "电话号码", "手机号", "手机", "电话", "号码", "座机", "是", "为", ":"):
        t = t.replace(word, "")
    digits = "".join(ch for ch in t if ch.isdigit())
    rest = "".join(ch for ch in t if not ch.isdigit() and content_len(ch))
    return digits, rest


def _format_landline(d: str) -> str:
    area = 3 if d[:2] in ("01", "02") else 4
    return f"{d[:area]}-{d[area:]}"


def parse_phone(text: str, config: DialogConfig) -> Parsed:
    d, rest = _phone_digits(text)
    if not d:
        return Parsed(error="没有看到号码。请发手机号（11位）或带区号的座机号。")
    if rest:
        return Parsed(error="号码里只能有数字，请只发号码。")
    if d.startswith("1"):
        if len(d) < 11:
            return Parsed(error=f"手机号是11位，您发的是{len(d)}位，少了{11 - len(d)}位。")
        if len(d) > 11:
            return Parsed(error=f"手机号是11位，您发的是{len(d)}位，多了{len(d) - 11}位。")
        if d[1] not in "3456789":
            return Parsed(error="手机号的第二位应该是3到9，请再核对一下。")
        return Parsed(d)
    if d.startswith("0"):
        area = 3 if d[:2] in ("01", "02") else 4
        local = len(d) - area
        if local < 7:
            return Parsed(error="座机号好像少了几位。请发区号加号码，比如0591-87654321。")
        if local > 8:
            return Parsed(error="座机号好像多了几位。请发区号加号码，比如0591-87654321。")
        return Parsed(_format_landline(d))
    if len(d) in (7, 8):
        return Parsed(error="座机号请加上区号，比如0591-87654321。")
    return Parsed(error="手机号应该以1开头，座机号应该以区号0开头，请再核对一下。")


def sniff_phone(text: str, config: DialogConfig) -> str | None:
    t = _GLUE_RE.sub("", nfkc(text))
    m = _MOBILE_RE.search(t)
    if m:
        return m.group(0)
    # A landline in passing is as likely an office's number as the citizen's own: only take it
    # when the message says it is theirs.
    m = _LANDLINE_RE.search(t)
    if m and any(cue in t for cue in _OWN_PHONE_CUES):
        return _format_landline(m.group(0))
    return None


# ---------------------------------------------------------------- centres


def _short_names(c: Centre) -> tuple[str, ...]:
    names = [c.name, *c.aliases]
    if c.name[-1] in "区县市" and len(c.name) >= 3:
        names.append(c.name[:-1])
    return tuple(names)


# id(centres) -> (centres, each centre with its names): a tuple of centres is hashed by hashing
# every centre in it, which would cost more than the lookup saves.
_NAMED: dict[int, tuple[tuple[Centre, ...], tuple[tuple[Centre, tuple[str, ...]], ...]]] = {}
_NAMED_MAX = 32


def _named(centres: tuple[Centre, ...]) -> tuple[tuple[Centre, tuple[str, ...]], ...]:
    """Each centre with its names, made once per list of centres: the sniffer runs on most
    intake messages, and building the names for every centre each time was most of its cost."""
    known = _NAMED.get(id(centres))
    if known is None or known[0] is not centres:
        if len(_NAMED) >= _NAMED_MAX:  # configurations made one after another (tests, reloads)
            _NAMED.clear()
        known = _NAMED[id(centres)] = (centres, tuple((c, _short_names(c)) for c in centres))
    return known[1]


def _mentioned(t: str, centres: tuple[Centre, ...]) -> list[Centre]:
    """The centres one of whose names is in `t`."""
    found = []
    for c, names in _named(centres):
        for n in names:
            if n in t:
                found.append(c)
                break
    return found


def centre_candidates(text: str, config: DialogConfig) -> list[Centre]:
    t = squash(text)
    if not t:
        return []
    if t.isdigit():
        i = int(t)
        return [config.centres[i - 1]] if 1 <= i <= len(config.centres) else []
    exact = [c for c, names in _named(config.centres) if t in names]
    if exact:
        return exact
    inside = _mentioned(t, config.centres)
    if inside:
        return inside
    return [c for c in config.centres if t in c.name]


def parse_centre(text: str, config: DialogConfig) -> Parsed:
    found = centre_candidates(text, config)
    if len(found) == 1:
        return Parsed(found[0].name)
    if len(found) > 1:
        names = "还是".join(c.name for c in found[:4])
        return Parsed(error=f"您说的是{names}？请回复完整名称或序号。")
    if squash(text).isdigit():
        return Parsed(error=f"请回复1到{len(config.centres)}之间的序号。")
    return Parsed(error="没有找到这个区县。请回复下面的序号，或发送您的位置。")


def sniff_centre(text: str, config: DialogConfig) -> str | None:
    t = squash(text)
    if t.isdigit():
        return None
    found = _mentioned(t, config.centres)
    return found[0].name if len(found) == 1 else None


def nearest_centre(lat: float, lon: float, config: DialogConfig) -> str:
    def km(c: Centre) -> float:
        p1, p2 = math.radians(lat), math.radians(c.lat)
        dp, dl = p2 - p1, math.radians(c.lon - lon)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 6371 * 2 * math.asin(math.sqrt(a))

    candidates = [c for c in config.centres if c.by_location] or list(config.centres)
    return min(candidates, key=km).name


# ---------------------------------------------------------------- choices


def choice(options: dict[str, tuple[str, ...]], error: str):
    """options: value -> words (incl. the number) that pick it."""

    def parse(text: str, config: DialogConfig) -> Parsed:
        t = squash(text)
        for value, words in options.items():
            if t in words:
                return Parsed(value)
        for value, words in options.items():
            if any(len(w) > 1 and w in t for w in words):
                return Parsed(value)
        return Parsed(error=error)

    return parse


APPLICANT_OPTIONS = {
    "个人": ("1", "个人", "个人的", "我个人", "自己", "我自己", "本人", "私人"),
    "企业": ("2", "企业", "公司", "单位", "企业的", "公司的", "个体户", "个体工商户", "商户"),
}
parse_applicant = choice(APPLICANT_OPTIONS, "请回复1（个人）或2（企业）。")

YES_WORDS = (
    *("1", "同意", "我同意", "好", "好的", "可以", "行", "是", "是的", "愿意", "嗯", "ok", "OK"),
)
NO_WORDS = ("2", "不同意", "不", "不行", "不可以", "不愿意", "拒绝", "不要", "否")


def parse_consent(text: str, config: DialogConfig) -> Parsed:
    t = squash(text)
    if t in NO_WORDS:
        return Parsed(declined=True)
    if t in YES_WORDS:
        return Parsed(True)
    return Parsed(error="请回复1（同意）或2（不同意）。")


# ---------------------------------------------------------------- names


_NAME_PREFIXES = ("我的名字是", "我的名字叫", "名字是", "我叫", "叫我", "我姓", "我是", "姓")


def parse_name(text: str, config: DialogConfig) -> Parsed:
    t = clean(text)
    for p in _NAME_PREFIXES:
        if t.startswith(p) and len(t) > len(p):
            t = t[len(p) :]
            break
    if not 1 <= content_len(t) <= 20:
        return Parsed(error="称呼请简短一些，比如“王阿姨”“李先生”。不想填可以回复“跳过”。")
    return Parsed(t)


_COMPANY_RE = re.compile(
    r"[\u4e00-\u9fffA-Za-z0-9()·]{2,40}?(?:有限责任公司|股份有限公司|有限公司|合作社|事务所)"
)
_COMPANY_FILLERS = (
    *("我们公司是", "我们公司", "我们是", "我是", "我们", "我在", "本公司", "公司叫", "是", "在"),
)


def _strip_fillers(name: str) -> str:
    changed = True
    while changed:
        changed = False
        for f in _COMPANY_FILLERS:
            if name.startswith(f) and len(name) > len(f) + 3:
                name, changed = name[len(f) :], True
    return name


def parse_company(text: str, config: DialogConfig) -> Parsed:
    m = _COMPANY_RE.search(nfkc(text))
    name = _strip_fillers(m.group(0)) if m else clean(text)
    if content_len(name) < 2:
        return Parsed(error="请发企业的全称，比如“福州某某科技有限公司”。")
    return Parsed(name)


def sniff_company(text: str, config: DialogConfig) -> str | None:
    m = _COMPANY_RE.search(nfkc(text))
    return _strip_fillers(m.group(0)) if m else None
