"""Rendering of outside data (cases, tickets) into short replies. Never shows contact details."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dialogs import messages as m
from dialogs.text import short
from handlers.tickets import number as tn
from handlers.tickets.statuses import STATUS_LABELS


def status_label(code: Any) -> str:
    return STATUS_LABELS.get(str(code), str(code or "办理中"))


def day_label(iso: Any) -> str:
    try:
        when = datetime.fromisoformat(str(iso))
    except ValueError:
        return ""
    return f"{when.month}月{when.day}日"


def case_brief(case: Mapping[str, Any]) -> str:
    return m.CASE_BRIEF.format(
        title=short(case.get("title", ""), 30),
        solution=short(case.get("solution", ""), 80),
        department=short(case.get("department", "") or "办不成事窗口", 30),
    )


def case_detail(case: Mapping[str, Any]) -> str:
    return m.CASE_DETAIL.format(
        title=short(case.get("title", ""), 40),
        solution=short(case.get("solution", ""), 600),
        department=short(case.get("department", "") or "办不成事窗口", 40),
    )


def case_list(cases: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(f"{i} {short(c.get('title', ''), 28)}" for i, c in enumerate(cases, 1))


def ticket_list(items: Sequence[Mapping[str, Any]]) -> str:
    if not items:
        return m.STATUS_NONE
    lines = [m.STATUS_LIST_HEAD]
    for it in list(items)[:5]:
        updated = day_label(it.get("updated"))
        when = f"，{updated}更新" if updated else ""
        lines.append(
            f"{tn.display(str(it.get('number', '')))} {status_label(it.get('status'))}{when}\n"
            f"  {short(it.get('title', ''), 20)}"
        )
    lines.append(m.STATUS_LIST_TAIL)
    return "\n".join(lines)


def ticket_status(ticket: Mapping[str, Any], number: str) -> str:
    """Status, centre, handling so far and staff public replies. Nothing else is read."""
    lines = [f"受理号 {tn.display(str(ticket.get('number') or number))}"]
    lines.append(f"状态：{status_label(ticket.get('status'))}")
    if ticket.get("centre"):
        lines.append(f"办理窗口：{short(ticket['centre'], 20)}")
    progress = list(ticket.get("progress") or [])[-3:]
    if progress:
        lines.append("办理经过：")
        lines += [f"{day_label(p.get('at'))} {short(p.get('text', ''), 40)}" for p in progress]
    replies = list(ticket.get("replies") or [])[-2:]
    if replies:
        lines.append("工作人员回复：")
        lines += [f"{day_label(r.get('at'))} {short(r.get('text', ''), 80)}" for r in replies]
    if not progress and not replies and ticket.get("updated"):
        lines.append(f"最近更新：{day_label(ticket.get('updated'))}")
    return "\n".join(lines)


def open_tickets(items: Sequence[Mapping[str, Any]]) -> str:
    """After 删除我的信息: the tickets still being handled, and how to withdraw one."""
    if not items:
        return ""
    lines = [m.FORGOTTEN_OPEN_HEAD]
    for it in list(items)[:5]:
        lines.append(
            f"{tn.display(str(it.get('number', '')))} {status_label(it.get('status'))}"
            f"  {short(it.get('title', ''), 16)}"
        )
    lines.append(m.FORGOTTEN_OPEN_TAIL)
    return "\n".join(lines)
