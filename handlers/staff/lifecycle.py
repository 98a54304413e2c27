"""The ticket lifecycle: staff actions, each one append-only TicketEvent in one transaction.

    new(待受理) -> accepted(已受理) -> in_progress(办理中) -> resolved(已办结) -> closed(已关闭)
    resolved/closed -> in_progress (reopen, 重办)

Handling actions (transfer, coordinate, guide, assist) move accepted -> in_progress. Each
event's data holds the action's own fields plus "before"/"after" of what it changed on the
ticket. An action that does not fit the status raises Conflict (409) saying why; a bad field
raises Invalid (400); a role or centre outside the actor's raises Forbidden (403).

Entry points:
- perform(services, actor, number, payload) -> Outcome: the whole action, notifications sent
  after commit (what the API and the console call);
- apply(session, actor, ticket, payload, now, config) -> Outcome: the action inside the
  caller's transaction (notifications only queued; run notify.dispatch after commit);
- close_stale_resolved(services) -> closed numbers: the periodic job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import centres
from handlers.services import Services
from handlers.staff import notify, workdays
from handlers.staff.access import Actor, check_ticket, require_role
from handlers.staff.config import CLASSIFICATIONS, StaffConfig, load_config
from handlers.staff.errors import Conflict, Invalid, NotFound
from handlers.staff.notify import STATUS_LABELS, group_number
from storage.columns import utcnow
from storage.models import Ticket, TicketEvent
from storage.repositories import tickets as ticket_repo

ACTION_LABELS = {
    "accept": "受理",
    "transfer": "转办",
    "coordinate": "协调",
    "guide": "指导",
    "assist": "协办",
    "note": "备注",
    "reply": "回复群众",
    "reclassify": "重新分类",
    "extend": "延期",
    "urge": "督办",
    "resolve": "办结",
    "close": "关闭",
    "reopen": "重办",
}
OPEN = ("new", "accepted", "in_progress")
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "accept": ("new",),
    "transfer": OPEN,
    "coordinate": ("accepted", "in_progress"),
    "guide": ("accepted", "in_progress"),
    "assist": ("accepted", "in_progress"),
    "note": (*OPEN, "resolved", "closed"),
    "reply": ("accepted", "in_progress", "resolved"),
    "reclassify": (*OPEN, "resolved"),
    "extend": ("accepted", "in_progress"),
    "urge": OPEN,
    "resolve": ("accepted", "in_progress"),
    "close": ("resolved",),
    "reopen": ("resolved", "closed"),
}
HINTS = {
    "new": "请先受理",
    "resolved": "工单已办结，如需继续办理请先重办",
    "closed": "工单已关闭，如需继续办理请先重办",
}
HANDLING = ("transfer", "coordinate", "guide", "assist")
SUPERVISOR_ONLY = ("extend", "urge")
MAX_TEXT = 2000


@dataclass
class Outcome:
    ticket: Ticket
    event: TicketEvent
    notification_ids: list[int] = field(default_factory=list)


# --- field validation ------------------------------------------------------------------------


class _Payload:
    def __init__(self, payload: Mapping[str, Any], allowed: set[str]) -> None:
        unknown = sorted(set(payload) - allowed - {"type"})
        if unknown:
            raise Invalid(f"不认识的字段：{'、'.join(unknown)}")
        self.payload = payload

    def text(self, key: str, label: str, *, required: bool = True, max_len: int = MAX_TEXT) -> str:
        value = self.payload.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str):
            raise Invalid(f"请填写{label}（{key}，文本）")
        value = value.strip()
        if required and not value:
            raise Invalid(f"{label}不能为空（{key}）")
        if len(value) > max_len:
            raise Invalid(f"{label}太长：不超过 {max_len} 个字符（{key}）")
        return value

    def texts(self, key: str, label: str) -> list[str]:
        value = self.payload.get(key)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise Invalid(f"请填写{label}（{key}，非空文本列表）")
        if len(value) > 50 or any(len(v) > 200 for v in value):
            raise Invalid(f"{label}太多或太长（{key}）")
        return [v.strip() for v in value]

    def boolean(self, key: str, label: str) -> bool:
        value = self.payload.get(key, False)
        if not isinstance(value, bool):
            raise Invalid(f"{label}应为 true 或 false（{key}）")
        return value

    def integer(self, key: str, label: str, low: int, high: int) -> int:
        value = self.payload.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Invalid(f"{label}应为 {low} 到 {high} 之间的整数（{key}）")
        return value


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


class _Changes:
    """Sets ticket attributes and remembers before/after for the event."""

    def __init__(self, ticket: Ticket) -> None:
        self.ticket = ticket
        self.before: dict[str, Any] = {}
        self.after: dict[str, Any] = {}

    def set(self, attribute: str, value: Any) -> None:
        old = getattr(self.ticket, attribute)
        if old == value:
            return
        self.before.setdefault(attribute, _iso(old))
        self.after[attribute] = _iso(value)
        setattr(self.ticket, attribute, value)


# --- the actions -----------------------------------------------------------------------------


@dataclass
class _Context:
    session: AsyncSession
    actor_name: str
    ticket: Ticket
    changes: _Changes
    now: datetime
    config: StaffConfig
    data: dict[str, Any] = field(default_factory=dict)
    public: bool = False
    citizen_notices: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    staff_notices: list[tuple[str, str]] = field(default_factory=list)

    def start_handling(self) -> None:
        if self.ticket.status == "accepted":
            self.changes.set("status", "in_progress")


def _accept(ctx: _Context, p: _Payload) -> None:
    ctx.data["note"] = p.text("note", "受理说明", required=False)
    ctx.changes.set("status", "accepted")
    due = ctx.ticket.resolve_due_at
    when = f"，我们会在{workdays.local_date(due):%m月%d日}前答复办理结果" if due else ""
    ctx.citizen_notices.append(
        ("accepted", f"您的诉求（工单号 {group_number(ctx.ticket.number)}）已受理{when}。")
    )


def _transfer(ctx: _Context, p: _Payload) -> None:
    department = p.text("department", "接收部门", required=False, max_len=100)
    centre_value = p.text("centre", "接收服务中心", required=False, max_len=32)
    reason = p.text("reason", "转办原因", required=False)
    if not department and not centre_value:
        raise Invalid("请指定接收部门（department）或接收服务中心（centre）")
    if department and ctx.ticket.status == "new":
        raise Conflict("工单当前状态为「待受理」，转交部门前请先受理；仅可转至其他服务中心")
    targets = []
    if centre_value:
        centre = centres.lookup(centre_value)
        if centre is None:
            raise Invalid(f"没有「{centre_value}」这个服务中心")
        if centre.name == ctx.ticket.centre:
            raise Invalid("工单已在该服务中心，无需转办")
        ctx.changes.set("centre", centre.name)
        ctx.data["centre"] = centre.name
        targets.append(centre.name + "政务服务中心")
        ctx.staff_notices.append(
            (
                "transfer",
                f"工单 {group_number(ctx.ticket.number)} 已转至本中心：{ctx.ticket.title}",
            )
        )
    if department:
        ctx.data["department"] = department
        targets.append(department)
    ctx.data["reason"] = reason
    # Moving a new ticket to another centre is routing: the receiving centre accepts it.
    ctx.start_handling()
    ctx.citizen_notices.append(
        (
            "transfer",
            f"您的诉求（工单号 {group_number(ctx.ticket.number)}）已转交{'、'.join(targets)}办理。",
        )
    )


def _coordinate(ctx: _Context, p: _Payload) -> None:
    ctx.data["departments"] = p.texts("departments", "参加协调的部门")
    ctx.data["decision"] = p.text("decision", "协调结论")
    ctx.start_handling()


def _guide(ctx: _Context, p: _Payload) -> None:
    ctx.data["guidance"] = p.text("guidance", "指导意见")
    ctx.start_handling()


def _assist(ctx: _Context, p: _Payload) -> None:
    units = p.payload.get("units")
    if not isinstance(units, list) or not units or len(units) > 20:
        raise Invalid("请填写协办单位（units：[{name, due}]，1 到 20 个）")
    parsed = []
    for unit in units:
        if not isinstance(unit, dict) or set(unit) - {"name", "due"}:
            raise Invalid("每个协办单位应为 {name, due}")
        name, due = unit.get("name"), unit.get("due")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise Invalid("协办单位名称不能为空（units[].name）")
        try:
            due_date = date.fromisoformat(due) if isinstance(due, str) else None
        except ValueError:
            due_date = None
        if due_date is None:
            raise Invalid(f"协办单位「{name.strip()}」的办理期限应为日期，如 2026-10-12（due）")
        parsed.append({"name": name.strip(), "due": due_date.isoformat()})
    ctx.data["units"] = parsed
    ctx.start_handling()


def _note(ctx: _Context, p: _Payload) -> None:
    ctx.data["text"] = p.text("text", "备注")


def _reply(ctx: _Context, p: _Payload) -> None:
    text = p.text("text", "回复内容", max_len=600)
    ctx.data["text"] = text
    ctx.public = True
    ctx.citizen_notices.append(
        ("reply", f"关于您的诉求（工单号 {group_number(ctx.ticket.number)}），工作人员回复：{text}")
    )


def _reclassify(ctx: _Context, p: _Payload) -> None:
    classification = p.text("classification", "分类")
    if classification not in CLASSIFICATIONS:
        raise Invalid(f"分类应为{'或'.join(CLASSIFICATIONS)}（classification）")
    category = p.text("category", "类别", max_len=64)
    ctx.data.update(classification=classification, category=category)
    ctx.changes.set("classification", classification)
    ctx.changes.set("category", category)


async def _extend(ctx: _Context, p: _Payload) -> None:
    limit = ctx.config.extend_max_days
    days = p.integer("days", "延期天数（工作日）", 1, max(1, limit))
    reason = p.text("reason", "延期原因")
    used = await _extended_days(ctx.session, ctx.ticket.id)
    if used + days > limit:
        raise Conflict(f"延期累计不能超过 {limit} 个工作日：已延期 {used} 个工作日")
    base = ctx.ticket.resolve_due_at or workdays.due_after(
        ctx.ticket.created_at, ctx.config.resolve_days
    )
    ctx.data.update(days=days, reason=reason, total_days=used + days)
    ctx.changes.set("resolve_due_at", workdays.extend(base, days))


async def _extended_days(session: AsyncSession, ticket_id: int) -> int:
    total = 0
    for event in await ticket_repo.events(session, ticket_id):
        if event.type == "extend":
            total += int(event.data.get("days", 0))
    return total


def _urge(ctx: _Context, p: _Payload) -> None:
    text = p.text("text", "督办意见")
    ctx.data["text"] = text
    ctx.staff_notices.append(
        ("urge", f"督办：工单 {group_number(ctx.ticket.number)}（{ctx.ticket.title}）{text}")
    )


async def _resolve(ctx: _Context, p: _Payload) -> None:
    outcome = p.text("outcome", "办理结果")
    reason = p.text("stuck_reason", "卡点原因", max_len=64)
    if reason not in ctx.config.stuck_reasons:
        options = "、".join(f"{k}（{v}）" for k, v in ctx.config.stuck_reasons.items())
        raise Invalid(f"卡点原因应为以下之一：{options}（stuck_reason）")
    barrier = p.boolean("market_barrier", "是否涉及市场准入壁垒")
    events = await ticket_repo.events(ctx.session, ctx.ticket.id)
    modes = sorted({e.type for e in events if e.type in HANDLING}) or ["direct"]
    departments = sorted(_departments(events))
    due = ctx.ticket.resolve_due_at
    ctx.data.update(
        outcome=outcome,
        stuck_reason=reason,
        stuck_reason_label=ctx.config.stuck_reasons[reason],
        market_barrier=barrier,
        handling_modes=modes,
        departments=departments,
        within_limit=due is None or ctx.now <= due,
        working_days=workdays.working_days_between(ctx.ticket.created_at, ctx.now),
    )
    ctx.changes.set("status", "resolved")
    ctx.citizen_notices.append(
        (
            "resolved",
            f"您的诉求（工单号 {group_number(ctx.ticket.number)}）已办结：{outcome}"
            "\n稍后我们会请您对办理情况进行评价。",
        )
    )


def _departments(events: list[TicketEvent]) -> set[str]:
    found: set[str] = set()
    for event in events:
        if event.type == "transfer" and event.data.get("department"):
            found.add(event.data["department"])
        elif event.type == "coordinate":
            found.update(event.data.get("departments", []))
        elif event.type == "assist":
            found.update(u["name"] for u in event.data.get("units", []))
    return found


def _close(ctx: _Context, p: _Payload) -> None:
    ctx.data["reason"] = p.text("reason", "关闭说明", required=False)
    ctx.changes.set("status", "closed")


def _reopen(ctx: _Context, p: _Payload) -> None:
    ctx.data["reason"] = p.text("reason", "重办原因")
    ctx.changes.set("status", "in_progress")
    ctx.changes.set("resolve_due_at", workdays.due_after(ctx.now, ctx.config.resolve_days))


Handler = Callable[[_Context, _Payload], Any]
ACTIONS: dict[str, tuple[Handler, set[str]]] = {
    "accept": (_accept, {"note"}),
    "transfer": (_transfer, {"department", "centre", "reason"}),
    "coordinate": (_coordinate, {"departments", "decision"}),
    "guide": (_guide, {"guidance"}),
    "assist": (_assist, {"units"}),
    "note": (_note, {"text"}),
    "reply": (_reply, {"text"}),
    "reclassify": (_reclassify, {"classification", "category"}),
    "extend": (_extend, {"days", "reason"}),
    "urge": (_urge, {"text"}),
    "resolve": (_resolve, {"outcome", "stuck_reason", "market_barrier"}),
    "close": (_close, {"reason"}),
    "reopen": (_reopen, {"reason"}),
}


def action_type(payload: Any) -> str:
    if not isinstance(payload, Mapping):
        raise Invalid("请求体应为 JSON 对象")
    kind = payload.get("type")
    if not isinstance(kind, str) or kind not in ACTIONS:
        raise Invalid(f"操作类型（type）应为以下之一：{'、'.join(ACTIONS)}")
    return kind


def check_transition(ticket: Ticket, kind: str) -> None:
    if ticket.status not in ALLOWED_FROM[kind]:
        label = STATUS_LABELS.get(ticket.status, ticket.status)
        hint = HINTS.get(ticket.status, "")
        if kind == "accept":
            hint = "工单已受理过"
        elif kind == "close":
            hint = "只有已办结的工单可以关闭"
        elif kind == "reopen":
            hint = "只有已办结或已关闭的工单可以重办"
        raise Conflict(
            f"工单当前状态为「{label}」，不能{ACTION_LABELS[kind]}" + (f"：{hint}" if hint else "")
        )


async def apply(
    session: AsyncSession,
    actor: Actor,
    ticket: Ticket,
    payload: Mapping[str, Any],
    now: datetime,
    config: StaffConfig,
) -> Outcome:
    """One staff action in the caller's transaction. Raises before changing anything."""
    kind = action_type(payload)
    check_ticket(actor, ticket)
    if kind in SUPERVISOR_ONLY:
        require_role(actor, "supervisor")
    check_transition(ticket, kind)
    handler, allowed = ACTIONS[kind]
    ctx = _Context(session, actor.username, ticket, _Changes(ticket), now, config)
    result = handler(ctx, _Payload(payload, allowed))
    if hasattr(result, "__await__"):
        await result
    return await _record(ctx, kind)


async def _record(ctx: _Context, kind: str) -> Outcome:
    ticket = ctx.ticket
    ticket.updated_at = ctx.now
    data = dict(ctx.data)
    if ctx.changes.before or ctx.changes.after:
        data["before"], data["after"] = ctx.changes.before, ctx.changes.after
    event = TicketEvent(
        ticket_id=ticket.id,
        type=kind,
        actor=ctx.actor_name,
        public=ctx.public,
        data=data,
        at=ctx.now,
    )
    ctx.session.add(event)
    await ctx.session.flush()
    ids = [
        await notify.queue_citizen(ctx.session, ticket, k, text, ctx.now)
        for k, text in ctx.citizen_notices
    ]
    ids += [
        await notify.queue_staff(ctx.session, ticket, k, text, ctx.now)
        for k, text in ctx.staff_notices
    ]
    return Outcome(ticket, event, ids)


async def perform(
    services: Services,
    actor: Actor,
    number: str,
    payload: Mapping[str, Any],
    now: datetime | None = None,
) -> Outcome:
    """A staff action on the ticket with this number, committed; then its notifications."""
    action_type(payload)  # a malformed request is refused before touching the database
    now = now or utcnow()
    async with services.db.transaction(lock_key=f"ticket:{number}") as session:
        config = await load_config(session)
        ticket = await _ticket(session, number)
        outcome = await apply(session, actor, ticket, payload, now, config)
    await notify.dispatch(services, outcome.notification_ids)
    return outcome


async def _ticket(session: AsyncSession, number: str) -> Ticket:
    ticket = await session.scalar(
        select(Ticket).where(Ticket.number == number).execution_options(populate_existing=True)
    )
    if ticket is None:
        raise NotFound(f"没有工单号为 {number} 的工单")
    return ticket


async def system_event(
    session: AsyncSession,
    ticket: Ticket,
    kind: str,
    actor_name: str,
    now: datetime,
    config: StaffConfig,
    *,
    status: str | None = None,
    data: dict[str, Any] | None = None,
    staff_notice: tuple[str, str] | None = None,
) -> Outcome:
    """An event not made by a staff member (the citizen's rating, the periodic job)."""
    ctx = _Context(session, actor_name, ticket, _Changes(ticket), now, config, data=data or {})
    if status is not None:
        ctx.changes.set("status", status)
        if status == "in_progress":
            ctx.changes.set("resolve_due_at", workdays.due_after(now, config.resolve_days))
    if staff_notice is not None:
        ctx.staff_notices.append(staff_notice)
    return await _record(ctx, kind)


async def close_stale_resolved(services: Services, now: datetime | None = None) -> list[str]:
    """Close tickets resolved config.close_after_days ago that got no 回访. Periodic job."""
    now = now or utcnow()
    async with services.db.sessions() as session:
        config = await load_config(session)
        cutoff = now - timedelta(days=config.close_after_days)
        last_resolved = (
            select(TicketEvent.ticket_id, func.max(TicketEvent.at).label("at"))
            .where(TicketEvent.type == "resolve")
            .group_by(TicketEvent.ticket_id)
            .subquery()
        )
        numbers = list(
            await session.scalars(
                select(Ticket.number)
                .join(last_resolved, last_resolved.c.ticket_id == Ticket.id)
                .where(Ticket.status == "resolved", last_resolved.c.at <= cutoff)
            )
        )
    closed = []
    for number in numbers:
        async with services.db.transaction(lock_key=f"ticket:{number}") as session:
            ticket = await _ticket(session, number)
            if ticket.status != "resolved":
                continue  # rated or reopened meanwhile
            await system_event(
                session,
                ticket,
                "close",
                "system",
                now,
                config,
                status="closed",
                data={"reason": f"办结后 {config.close_after_days} 天未回访，自动关闭"},
            )
            closed.append(number)
    return closed
