"""The 14 government service centres of Fuzhou that have a 办不成事 window.

One list for everyone: the citizen dialog offers the Chinese names (and Ticket.centre stores the
name as the dialog gives it); staff accounts and the API use the short codes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Centre:
    code: str
    name: str


CENTRES: tuple[Centre, ...] = (
    Centre("shi", "市本级"),
    Centre("gulou", "鼓楼区"),
    Centre("taijiang", "台江区"),
    Centre("cangshan", "仓山区"),
    Centre("jinan", "晋安区"),
    Centre("mawei", "马尾区"),
    Centre("changle", "长乐区"),
    Centre("fuqing", "福清市"),
    Centre("minhou", "闽侯县"),
    Centre("lianjiang", "连江县"),
    Centre("luoyuan", "罗源县"),
    Centre("minqing", "闽清县"),
    Centre("yongtai", "永泰县"),
    Centre("pingtan", "平潭县"),
)

_BY_CODE = {c.code: c for c in CENTRES}
_BY_NAME = {c.name: c for c in CENTRES}


def by_code(code: str) -> Centre | None:
    return _BY_CODE.get(code.strip().lower())


def by_name(name: str) -> Centre | None:
    return _BY_NAME.get(name.strip())


def lookup(code_or_name: str) -> Centre | None:
    """A centre by its code or by its Chinese name."""
    return by_code(code_or_name) or by_name(code_or_name)


def name_of(code: str) -> str:
    centre = by_code(code)
    return centre.name if centre else ""


def code_of(name: str) -> str:
    centre = by_name(name)
    return centre.code if centre else ""


def names() -> list[str]:
    return [c.name for c in CENTRES]


def codes() -> list[str]:
    return [c.code for c in CENTRES]
