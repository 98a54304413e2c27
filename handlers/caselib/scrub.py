"""Remove personal data from text that goes into the shared case library.

A case drafted from a ticket must describe the *kind* of problem, never the person: names,
phone numbers, ID-card and bank-card numbers, e-mail addresses and street addresses are
replaced by a bracketed placeholder. Names the ticket itself knows (the citizen's 称呼, the
company) are removed wherever they appear; other names only when they stand next to a marker
(我叫…, 姓名…, …先生/女士/阿姨). Districts and departments stay: they make a case useful.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NAME = "【姓名】"
PHONE = "【电话】"
ID_CARD = "【身份证号】"
BANK_CARD = "【卡号】"
EMAIL = "【邮箱】"
ADDRESS = "【地址】"
COMPANY = "【企业名称】"

_CN_NUM = "0-9０-９一二三四五六七八九十百零〇两"
# A place-name run: CJK or digits, but not words that end a clause before an address starts.
_PLACE = r"[^\s，。、；：,.;:！？!?（）()【】“”\"'在住于到是的我他她你家从向往和与及或]"
_UNIT = (
    rf"(?:[{_CN_NUM}A-Za-z]+(?:栋|幢|座|号楼|楼))?"
    rf"(?:[{_CN_NUM}]+单元)?"
    rf"(?:[{_CN_NUM}]+(?:室|号房|户|层))?"
)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤翁施游柯詹卓庄饶连池邢"
)
_HONORIFICS = "先生|女士|小姐|阿姨|叔叔|大爷|大妈|大伯|奶奶|爷爷|师傅|老师|同志|老伯|阿婆|阿公"

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), EMAIL),
    # ID cards: 18 characters (last may be X) or the old 15 digits.
    (
        re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{2}[0-9]{7}[0-9Xx](?![0-9A-Za-z])"),
        ID_CARD,
    ),
    (re.compile(r"(?<![0-9])[1-9][0-9]{14}(?![0-9])"), ID_CARD),
    (re.compile(r"(?<![0-9])(?:[0-9][ -]?){15,18}[0-9](?![0-9])"), BANK_CARD),
    # Mobile numbers, optionally +86, in groups 3-4-4; landlines with an area code.
    (re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])"), PHONE),
    (re.compile(r"(?<![0-9])0[0-9]{2,3}[ -]?[0-9]{7,8}(?![0-9])"), PHONE),
    (re.compile(r"(?<![0-9])[0-9]{7,8}(?![0-9])"), PHONE),
    # Street addresses: road + number (+ building, unit, room); estates + building...
    (re.compile(rf"{_PLACE}{{0,10}}(?:路|街|巷|弄|大道|道)[{_CN_NUM}]+号(?:院)?{_UNIT}"), ADDRESS),
    (
        re.compile(rf"{_PLACE}{{1,6}}(?:小区|花园|公寓|新村|大厦|家园|苑|山庄){_UNIT}"),
        ADDRESS,
    ),
    (
        re.compile(rf"[{_CN_NUM}A-Za-z]+(?:栋|幢|座|号楼)[{_CN_NUM}]+单元(?:[{_CN_NUM}]+室)?"),
        ADDRESS,
    ),
    (re.compile(r"(?<![0-9])[0-9]{3,4}(?:室|号房)"), ADDRESS),
    # Names next to a marker.
    (re.compile(rf"[{_SURNAMES}][\u4e00-\u9fff]?(?:{_HONORIFICS})"), NAME),
    (re.compile(rf"[{_SURNAMES}](?:某某|某)"), NAME),
    (re.compile(r"(?<=我叫)[\u4e00-\u9fff]{2,3}"), NAME),
    (re.compile(r"(?<=名叫)[\u4e00-\u9fff]{2,3}"), NAME),
    (re.compile(r"(?<=姓名)[:：\s]*[\u4e00-\u9fff]{2,3}"), NAME),
    (re.compile(r"(?<![\u4e00-\u9fff])老?[" + _SURNAMES + r"](?=阿姨|大姐|大哥)"), NAME),
]
_MERGE = re.compile(r"(【[^】]+】)(?:\1)+")


def scrub(text: str, names: Iterable[str] = (), companies: Iterable[str] = ()) -> str:
    """The text with personal data replaced by placeholders such as 【电话】.

    names: names the ticket knows (its 称呼 field); companies: the applicant's company name.
    """
    if not text:
        return ""
    out = text
    for company in sorted({c.strip() for c in companies if c and len(c.strip()) >= 2}, key=len):
        out = out.replace(company, COMPANY)
    for name in _known_names(names):
        out = out.replace(name, NAME)
    for pattern, placeholder in _RULES:
        out = pattern.sub(placeholder, out)
    return _MERGE.sub(r"\1", out)


def _known_names(names: Iterable[str]) -> list[str]:
    """Each known name, and its bare surname+given part when it carries an honorific."""
    found: set[str] = set()
    for raw in names:
        name = (raw or "").strip()
        if not name or name in ("跳过", "无"):
            continue
        found.add(name)
        bare = re.sub(rf"(?:{_HONORIFICS})$", "", name)
        if len(bare) >= 2 and bare != name:
            found.add(bare)
    return sorted(found, key=len, reverse=True)  # longest first: 王阿姨 before 王
