"""Growing the case library from solved tickets ("solving one case solves a class of cases").

- draft_from_ticket: a resolved ticket becomes a draft case, prefilled from the ticket and its
  events (the resolve outcome, the handling events), personal data scrubbed, linked back to
  the ticket (Case.source_ticket_id). One draft per ticket: asking again returns the same one.
- the review queue: a supervisor or admin edits, publishes or rejects drafts; publishing sets
  updated_at, so every worker's matcher applies it before its next search (library.py).
- a draft that closely duplicates a published case says which (the matcher's ranking).

What the API and the console call; every change is recorded in staff_audit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rjieba
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.caselib.jsonl import case_to_dict
from handlers.caselib.scrub import scrub
from handlers.services import Services
from handlers.staff.access import Actor, check_ticket, require_role
from handlers.staff.config import CLASSIFICATIONS
from handlers.staff.errors import Conflict, Invalid, NotFound
from storage.columns import utcnow
from storage.models import Case, Ticket
from storage.repositories import staff as staff_repo
from storage.repositories import tickets as ticket_repo

STATUS_LABELS = {
    "draft": "待审核",
    "published": "已发布",
    "retired": "已下架",
    "rejected": "已退回",
}
HANDLINGS = ("转办", "协调", "引导", "协办")
# Which handling a ticket's events make the case, the weightiest first.
HANDLING_OF_EVENT = (
    ("coordinate", "协调"),
    ("assist", "协办"),
    ("transfer", "转办"),
    ("guide", "引导"),
)
REVIEWERS = ("supervisor", "admin")
MAX_PAGE = 200
MAX_TEXT = 4000
STOPWORDS = frozenset(
    "一直 一下 一个 我们 你们 他们 这个 那个 什么 怎么 为什么 没有 不能 可以 需要 已经 还是 但是 "
    "因为 所以 如果 就是 还要 要求 说要 问题 办理 情况 现在 时候 这样 那样 不了 不到 好几次 几次 "
    "通不过 办不成 办不下来 卡住 窗口".split()
)


def _actor_reads(actor: Actor) -> None:
    require_role(actor, "clerk", "supervisor", "admin")


def case_view(case: Case, source_number: str | None = None) -> dict[str, Any]:
    return {
        **case_to_dict(case),
        "status": case.status,
        "status_label": STATUS_LABELS.get(case.status, case.status),
        "source_ticket": source_number,
        "shown_count": case.shown_count,
        "helpful_count": case.helpful_count,
        "rejected_count": case.rejected_count,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
    }


# --- reading ---------------------------------------------------------------------------------


@dataclass
class CaseQuery:
    status: str | None = None
    q: str | None = None
    limit: int = 50
    offset: int = 0


def _text_match(q: str) -> Any:
    escaped = json.dumps(q)[1:-1]  # keywords are JSON: non-ASCII may be stored as \uXXXX
    keywords = cast(Case.keywords, String)
    return or_(
        Case.id.contains(q, autoescape=True),
        Case.title.contains(q, autoescape=True),
        Case.problem.contains(q, autoescape=True),
        Case.solution.contains(q, autoescape=True),
        Case.department.contains(q, autoescape=True),
        keywords.contains(q, autoescape=True),
        keywords.contains(escaped, autoescape=True),
    )


async def list_cases(services: Services, actor: Actor, query: CaseQuery) -> dict[str, Any]:
    """{"cases", "total", "counts"}: cases by status and text, newest change first."""
    _actor_reads(actor)
    if query.status and query.status not in STATUS_LABELS:
        raise Invalid(f"状态应为以下之一：{'、'.join(STATUS_LABELS)}")
    if not 1 <= query.limit <= MAX_PAGE or query.offset < 0:
        raise Invalid(f"limit 应在 1 到 {MAX_PAGE} 之间，offset 不能为负")
    conditions: list[Any] = []
    if query.q:
        conditions.append(_text_match(query.q))
    filtered = [*conditions, Case.status == query.status] if query.status else conditions
    async with services.db.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(Case).where(*filtered))
        rows = list(
            await session.scalars(
                select(Case)
                .where(*filtered)
                .order_by(Case.updated_at.desc(), Case.id)
                .limit(query.limit)
                .offset(query.offset)
            )
        )
        numbers = await _source_numbers(session, rows)
        counted = await session.execute(
            select(Case.status, func.count()).where(*conditions).group_by(Case.status)
        )
        counts = {status: int(n) for status, n in counted.all()}
    return {
        "cases": [case_view(c, numbers.get(c.source_ticket_id)) for c in rows],
        "total": int(total or 0),
        "counts": {status: counts.get(status, 0) for status in STATUS_LABELS},
    }


async def _source_numbers(session: AsyncSession, rows: list[Case]) -> dict[int | None, str]:
    ids = {c.source_ticket_id for c in rows if c.source_ticket_id is not None}
    if not ids:
        return {}
    found = await session.execute(select(Ticket.id, Ticket.number).where(Ticket.id.in_(ids)))
    return {ticket_id: number for ticket_id, number in found.all()}


async def _case(session: AsyncSession, case_id: str) -> Case:
    case = await session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise NotFound(f"没有编号为 {case_id} 的案例")
    return case


async def get_case(services: Services, actor: Actor, case_id: str) -> dict[str, Any]:
    """One case; a draft also lists the published cases it may duplicate, and any personal
    data the scrubber would still remove."""
    _actor_reads(actor)
    async with services.db.sessions() as session:
        case = await _case(session, case_id)
        numbers = await _source_numbers(session, [case])
        view = case_view(case, numbers.get(case.source_ticket_id))
        view["duplicates"] = (
            await duplicates(services, session, case) if case.status == "draft" else []
        )
    view["privacy_warnings"] = privacy_warnings(case)
    return view


# The bot suggests generously (a citizen loses little by reading a close title), so "would be
# suggested" is no sign of a duplicate; a reviewer is shown cases covering a real share of the
# draft's title. Measured on the demo library: a same-subject pair scores 0.4-1.0, unrelated
# titles under 0.05.
MIN_DUPLICATE_SCORE = 0.25


async def duplicates(
    services: Services, session: AsyncSession, case: Case, limit: int = 3
) -> list[dict[str, Any]]:
    """Published cases this one may duplicate: [{"id", "title", "score"}], closest first.

    The draft's title is put to the matcher as a citizen's message would be: a case the bot
    would answer it with (decision "answer") or offer (decision "suggest") covers the same
    class of problem.
    """
    library = services.library
    if library is None:
        return []
    await library.refresh(session)
    text = re.sub(r"【[^】]*】", " ", case.title).strip()
    if not text:
        return []
    result = library.matcher.search(text)
    if result.decision == "none":
        return []
    ranked = [
        (case_id, score)
        for i, (case_id, score) in enumerate(zip(result.ids, result.scores, strict=False))
        if case_id != case.id
        and ((result.decision == "answer" and i == 0) or score >= MIN_DUPLICATE_SCORE)
    ][:limit]
    if not ranked:
        return []
    rows = {
        c.id: c
        for c in await session.scalars(select(Case).where(Case.id.in_([i for i, _ in ranked])))
    }
    return [
        {"id": i, "title": rows[i].title, "score": round(s, 3)}
        for i, s in ranked
        if i in rows and rows[i].status == "published"
    ]


def privacy_warnings(case: Case) -> list[str]:
    """Names of the fields in which the scrubber still finds personal data."""
    labels = {"title": "标题", "problem": "问题描述", "solution": "解决办法", "department": "部门"}
    return [
        label for key, label in labels.items() if scrub(getattr(case, key)) != getattr(case, key)
    ]


# --- drafting from a ticket ------------------------------------------------------------------


def _sentence(text: str, limit: int = 60) -> str:
    text = re.sub(r"\s+", " ", text).strip().rstrip("…")
    first = re.split(r"[。！？!?；;\n]", text, maxsplit=1)[0].strip()
    if len(first) > limit:
        first = first[: limit - 1] + "…"
    return first


def _keywords(title: str, category: str) -> list[str]:
    words: list[str] = []
    if category:
        words.append(category)
    for word in rjieba.cut(re.sub(r"【[^】]*】", " ", title)):
        word = word.strip()
        if len(word) >= 2 and word not in STOPWORDS and not word.isdigit() and word not in words:
            words.append(word)
    return words[:8]


def prefill(ticket: Ticket, events: list[Any]) -> dict[str, Any]:
    """The draft's fields from the ticket and its events, personal data scrubbed."""
    fields = ticket.fields or {}
    names = [str(fields.get("name") or "")]
    companies = [str(fields.get("company") or "")]

    def clean(text: Any) -> str:
        return scrub(str(text or ""), names, companies).strip()

    request = clean(fields.get("request") or ticket.title)
    problem = [request]
    if fields.get("visited"):
        problem.append(f"已去过：{clean(fields['visited'])}")
    if fields.get("reason"):
        problem.append(f"办不成的原因：{clean(fields['reason'])}")
    resolves = [e for e in events if e.type == "resolve"]
    last = resolves[-1] if resolves else None
    steps: list[str] = []
    if last is not None:
        steps.append(clean(last.data.get("outcome")))
    for event in events:
        data = event.data or {}
        if event.type == "transfer" and data.get("department"):
            why = f"（{clean(data.get('reason'))}）" if data.get("reason") else ""
            steps.append(f"转办{clean(data['department'])}{why}")
        elif event.type == "coordinate":
            who = "、".join(clean(d) for d in data.get("departments", []))
            steps.append(f"协调{who}：{clean(data.get('decision'))}")
        elif event.type == "guide":
            steps.append(f"指导：{clean(data.get('guidance'))}")
        elif event.type == "assist":
            units = "、".join(clean(u.get("name")) for u in data.get("units", []))
            steps.append(f"协办单位：{units}")
    types = {e.type for e in events}
    handling = next((label for kind, label in HANDLING_OF_EVENT if kind in types), "引导")
    departments = list((last.data.get("departments") if last is not None else None) or [])
    category = ticket.classification if ticket.classification in CLASSIFICATIONS else "政务类"
    title = _sentence(request) or "未命名案例"
    return {
        "title": title[:120],
        "problem": "\n".join(p for p in problem if p)[:MAX_TEXT],
        "solution": "\n".join(s for s in steps if s)[:MAX_TEXT],
        "category": category,
        "handling": handling,
        "department": "、".join(clean(d) for d in departments)[:400],
        "keywords": _keywords(title, ticket.category),
    }


def draft_id(number: str) -> str:
    return f"T{number}"


async def draft_from_ticket(
    services: Services, actor: Actor, number: str, now: datetime | None = None
) -> tuple[dict[str, Any], bool]:
    """(the draft, created?) for a resolved (or closed) ticket the actor works."""
    now = now or utcnow()
    async with services.db.transaction(lock_key=f"ticket:{number}") as session:
        ticket = await ticket_repo.by_number(session, number)
        if ticket is None:
            raise NotFound(f"没有工单号为 {number} 的工单")
        check_ticket(actor, ticket)
        if ticket.status not in ("resolved", "closed"):
            raise Conflict("只有已办结的工单可以生成案例草稿")
        case = await session.get(Case, draft_id(number))
        if case is not None and case.status == "draft":
            return case_view(case, number), False
        if case is not None and case.status in ("published", "retired"):
            raise Conflict(f"这张工单已生成案例 {case.id}（{STATUS_LABELS[case.status]}）")
        values = prefill(ticket, await ticket_repo.events(session, ticket.id))
        if case is None:
            case = Case(id=draft_id(number), created_at=now, source_ticket_id=ticket.id)
            session.add(case)
        for key, value in values.items():
            setattr(case, key, value)
        case.status, case.updated_at = "draft", now
        await session.flush()
        await staff_repo.audit(
            session, actor.username, "case_draft", now, ticket.id, {"case": case.id}
        )
        return case_view(case, number), True


# --- review ----------------------------------------------------------------------------------


def _text(changes: dict[str, Any], key: str, label: str, limit: int) -> str:
    value = changes[key]
    if not isinstance(value, str):
        raise Invalid(f"{label}应为文本（{key}）")
    value = value.strip()
    if key != "department" and not value:
        raise Invalid(f"{label}不能为空（{key}）")
    if len(value) > limit:
        raise Invalid(f"{label}太长：不超过 {limit} 个字符（{key}）")
    return value


def validated(changes: dict[str, Any]) -> dict[str, Any]:
    """Checked edits of a case: title, problem, solution, category, handling, department,
    keywords (a list, or text separated by commas, 、 or spaces)."""
    allowed = {"title", "problem", "solution", "category", "handling", "department", "keywords"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise Invalid(f"不认识的字段：{'、'.join(unknown)}")
    out: dict[str, Any] = {}
    limits = {"title": ("标题", 120), "problem": ("问题描述", MAX_TEXT)}
    limits |= {"solution": ("解决办法", MAX_TEXT), "department": ("部门", 400)}
    for key, (label, limit) in limits.items():
        if key in changes:
            out[key] = _text(changes, key, label, limit)
    if "category" in changes:
        if changes["category"] not in CLASSIFICATIONS:
            raise Invalid(f"分类应为{'或'.join(CLASSIFICATIONS)}（category）")
        out["category"] = changes["category"]
    if "handling" in changes:
        if changes["handling"] not in HANDLINGS:
            raise Invalid(f"办理方式应为{'、'.join(HANDLINGS)}之一（handling）")
        out["handling"] = changes["handling"]
    if "keywords" in changes:
        value = changes["keywords"]
        if isinstance(value, str):
            value = [w for w in re.split(r"[,，、\s]+", value) if w]
        if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
            raise Invalid("关键词应为文本列表（keywords）")
        words = list(dict.fromkeys(w.strip() for w in value if w.strip()))
        if len(words) > 20 or any(len(w) > 30 for w in words):
            raise Invalid("关键词最多 20 个，每个不超过 30 个字符（keywords）")
        out["keywords"] = words
    return out


async def update_case(
    services: Services, actor: Actor, case_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    require_role(actor, *REVIEWERS)
    values = validated(changes)
    now = utcnow()
    async with services.db.transaction() as session:
        case = await _case(session, case_id)
        if case.status == "rejected":
            raise Conflict("已退回的草稿不能再编辑；请从工单重新生成")
        for key, value in values.items():
            setattr(case, key, value)
        case.updated_at = now
        await session.flush()
        await staff_repo.audit(
            session, actor.username, "case_edit", now, case.source_ticket_id,
            {"case": case.id, "changed": sorted(values)},
        )  # fmt: skip
        numbers = await _source_numbers(session, [case])
        return case_view(case, numbers.get(case.source_ticket_id))


TRANSITIONS = {
    "publish": (("draft", "retired"), "published", "发布"),
    "reject": (("draft",), "rejected", "退回"),
    "retire": (("published",), "retired", "下架"),
}


async def change_status(
    services: Services, actor: Actor, case_id: str, action: str, reason: str = ""
) -> dict[str, Any]:
    """publish (draft or retired -> published), reject (draft -> rejected), retire
    (published -> retired). Takes effect in every worker's matcher before its next search."""
    require_role(actor, *REVIEWERS)
    allowed, status, label = TRANSITIONS[action]
    reason = (reason or "").strip()
    if action == "reject" and not reason:
        raise Invalid("请填写退回原因（reason）")
    if len(reason) > 500:
        raise Invalid("原因太长：不超过 500 个字符（reason）")
    now = utcnow()
    async with services.db.transaction() as session:
        case = await _case(session, case_id)
        if case.status not in allowed:
            current = STATUS_LABELS.get(case.status, case.status)
            raise Conflict(f"案例当前状态为「{current}」，不能{label}")
        if action == "publish":
            missing = [n for n, v in (("标题", case.title), ("解决办法", case.solution)) if not v]
            if missing:
                raise Invalid(f"发布前请填写{'、'.join(missing)}")
        case.status, case.updated_at = status, now
        await session.flush()
        await staff_repo.audit(
            session, actor.username, f"case_{action}", now, case.source_ticket_id,
            {"case": case.id, "reason": reason},
        )  # fmt: skip
        numbers = await _source_numbers(session, [case])
        return case_view(case, numbers.get(case.source_ticket_id))


async def usage_totals(session: AsyncSession) -> dict[str, int]:
    """Across the published library: how often the bot showed a case, and how often the
    citizen said it solved their problem (no ticket needed)."""
    row = (
        await session.execute(
            select(func.coalesce(func.sum(Case.shown_count), 0),
                   func.coalesce(func.sum(Case.helpful_count), 0),
                   func.coalesce(func.sum(Case.rejected_count), 0))
        )
    ).one()  # fmt: skip
    return {"shown": int(row[0]), "helpful": int(row[1]), "rejected": int(row[2])}
