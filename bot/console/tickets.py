"""The queue, a ticket's page with a form per action, undelivered notifications."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from aiohttp import web

from bot.console.web import (
    POLL_MS_KEY,
    form_text,
    redirect,
    render,
    require,
    require_post,
    services_of,
)
from dialogs.flows import INTAKE_FLOW
from handlers import centres
from handlers.caselib import drafts
from handlers.staff import lifecycle, notify, queue, watch
from handlers.staff.access import works_tickets
from handlers.staff.barometer import MODE_LABELS
from handlers.staff.config import CLASSIFICATIONS, load_config
from handlers.staff.errors import Invalid, StaffError
from handlers.staff.lifecycle import ACTION_LABELS, ALLOWED_FROM, SUPERVISOR_ONLY
from handlers.staff.notify import STATUS_LABELS
from storage.models import Case

PAGE = 50
FIELD_LABELS = {f.name: f.label for f in INTAKE_FLOW.fields}
EVENT_LABELS = {**ACTION_LABELS, "filed": "登记", "rate": "回访评价", "notify": "通知"}
DATA_LABELS = {
    "note": "说明",
    "centre": "服务中心",
    "department": "部门",
    "reason": "原因",
    "departments": "部门",
    "decision": "协调结论",
    "guidance": "指导意见",
    "units": "协办单位",
    "text": "内容",
    "classification": "分类",
    "category": "类别",
    "days": "延期（工作日）",
    "total_days": "累计延期",
    "outcome": "办理结果",
    "stuck_reason_label": "卡点原因",
    "market_barrier": "涉及市场准入壁垒",
    "handling_modes": "办理方式",
    "working_days": "用时（工作日）",
    "within_limit": "按时办结",
    "score": "评分",
    "level": "评价",
    "comment": "评价内容",
}
KIND_LABELS = {
    "text": "文字",
    "voice": "语音",
    "image": "图片",
    "video": "视频",
    "shortvideo": "小视频",
    "location": "位置",
    "link": "链接",
    "file": "文件",
    "event": "事件",
}
DONE = {**{k: f"已{v}" for k, v in ACTION_LABELS.items()}, "draft": "已生成案例草稿，等待审核"}
DONE["reply"] = "已回复群众"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(
            f"{v.get('name', '')}（{v.get('due', '')}前）" if isinstance(v, dict) else str(v)
            for v in value
        )
    return str(value)


def event_lines(data: dict[str, Any]) -> list[tuple[str, str]]:
    if data.get("handling_modes"):
        data = {**data, "handling_modes": [MODE_LABELS.get(m, m) for m in data["handling_modes"]]}
    return [
        (label, _value(data[key]))
        for key, label in DATA_LABELS.items()
        if key in data and data[key] not in ("", None, [])
    ]


# --- the queue -------------------------------------------------------------------------------


def _query(request: web.Request) -> queue.QueueQuery:
    q = request.query
    try:
        page = max(1, int(q.get("page", "1")))
    except ValueError:
        page = 1
    return queue.QueueQuery(
        status=q.get("status") or None,
        centre=q.get("centre") or None,
        category=(q.get("category") or "").strip()[:64] or None,
        overdue=True if q.get("overdue") == "1" else None,
        q=(q.get("q") or "").strip()[:100] or None,
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )


async def queue_page(request: web.Request) -> web.Response:
    console_session = await require(request)
    query = _query(request)
    result = await queue.list_tickets(services_of(request), console_session.actor, query)
    stamp = await watch.queue_stamp(services_of(request), console_session.actor, query.centre)
    page = query.offset // PAGE + 1
    base = {k: v for k, v in request.query.items() if k not in ("page", "status") and v}
    return render(
        request,
        "queue.html",
        {
            "result": result,
            "query": query,
            "page": page,
            "pages": max(1, -(-result["total"] // PAGE)),
            "base_query": base,
            "query_args": dict(request.query),
            "status_labels": STATUS_LABELS,
            "stamp": stamp["stamp"],
            "poll_ms": request.app[POLL_MS_KEY],
            "centres": centres.CENTRES,
        },
        console_session,
    )


async def queue_stamp(request: web.Request) -> web.Response:
    console_session = await require(request)
    stamp = await watch.queue_stamp(
        services_of(request), console_session.actor, request.query.get("centre") or None
    )
    return web.json_response(stamp)


# --- one ticket ------------------------------------------------------------------------------


def available_actions(role: str, status: str) -> list[str]:
    if role not in ("clerk", "supervisor"):
        return []
    return [
        kind
        for kind, allowed in ALLOWED_FROM.items()
        if status in allowed and (kind not in SUPERVISOR_ONLY or role == "supervisor")
    ]


async def ticket_page(
    request: web.Request, error: str = "", status: int = 200, form: Any = None
) -> web.Response:
    console_session = await require(request)
    services = services_of(request)
    number = request.match_info["number"]
    detail = await queue.ticket_detail(
        services, console_session.actor, number, request.remote or ""
    )
    async with services.db.sessions() as session:
        config = await load_config(session)
        case = await session.get(Case, drafts.draft_id(number))
    fields = [
        (FIELD_LABELS.get(k, k), _value(v))
        for k, v in detail["fields"].items()
        if not k.startswith("_") and v not in ("", None)
    ]
    done = DONE.get(request.query.get("done", ""), "")
    return render(
        request,
        "ticket.html",
        {
            "t": detail,
            "fields": fields,
            "actions": available_actions(console_session.actor.role, detail["status"]),
            "action_labels": ACTION_LABELS,
            "event_labels": EVENT_LABELS,
            "event_lines": event_lines,
            "kind_labels": KIND_LABELS,
            "config": config,
            "classifications": CLASSIFICATIONS,
            "centres": centres.CENTRES,
            "case": case,
            "done": done,
            "error": error,
            "form": form or {},
        },
        console_session,
        status,
    )


def _lines(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[\n,，、；;]+", text) if p.strip()]


def _units(text: str) -> list[dict[str, str]]:
    units = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        name, _, due = line.rpartition(" ")
        if not name:
            raise Invalid(f"协办单位「{line}」缺少办理期限：每行写「单位名称 2026-10-12」")
        try:
            date.fromisoformat(due)
        except ValueError:
            raise Invalid(f"协办单位「{name}」的办理期限应为日期，如 2026-10-12") from None
        units.append({"name": name.strip(), "due": due})
    return units


def payload_of(kind: str, form: Any, canned: list[str]) -> dict[str, Any]:
    """The lifecycle payload an action form stands for (same shape as the API's body)."""
    t = lambda key: form_text(form, key)  # noqa: E731
    if kind == "accept":
        return {"type": kind, "note": t("note")}
    if kind == "transfer":
        return {
            "type": kind,
            "department": t("department"),
            "centre": t("centre"),
            "reason": t("reason"),
        }
    if kind == "coordinate":
        return {"type": kind, "departments": _lines(t("departments")), "decision": t("decision")}
    if kind == "guide":
        return {"type": kind, "guidance": t("guidance")}
    if kind == "assist":
        return {"type": kind, "units": _units(t("units"))}
    if kind == "reply":
        text = t("text")
        if not text and t("canned").isdigit() and int(t("canned")) < len(canned):
            text = canned[int(t("canned"))]
        return {"type": kind, "text": text}
    if kind in ("note", "urge"):
        return {"type": kind, "text": t("text")}
    if kind == "reclassify":
        return {"type": kind, "classification": t("classification"), "category": t("category")}
    if kind == "extend":
        try:
            days = int(t("days"))
        except ValueError:
            raise Invalid("延期天数应为整数（工作日）") from None
        return {"type": kind, "days": days, "reason": t("reason")}
    if kind == "resolve":
        return {
            "type": kind,
            "outcome": t("outcome"),
            "stuck_reason": t("stuck_reason"),
            "market_barrier": form.get("market_barrier") == "1",
        }
    if kind in ("close", "reopen"):
        return {"type": kind, "reason": t("reason")}
    raise Invalid("不认识的操作")


async def ticket_action(request: web.Request) -> web.Response:
    console_session, form = await require_post(request)
    services = services_of(request)
    number = request.match_info["number"]
    kind = form_text(form, "type")
    if kind not in ACTION_LABELS:
        raise Invalid("不认识的操作")
    async with services.db.sessions() as session:
        config = await load_config(session)
    try:
        payload = payload_of(kind, form, config.canned_replies)
        await lifecycle.perform(services, console_session.actor, number, payload)
    except StaffError as error:
        if error.status in (400, 409):  # show the page again with the message and the input
            return await ticket_page(request, error.message, error.status, {"type": kind, **form})
        raise
    return redirect(f"/console/tickets/{number}?done={kind}#history")


async def ticket_draft(request: web.Request) -> web.Response:
    console_session, _ = await require_post(request)
    number = request.match_info["number"]
    case, _created = await drafts.draft_from_ticket(
        services_of(request), console_session.actor, number
    )
    return redirect(f"/console/cases/{case['id']}?done=draft")


async def notifications_page(request: web.Request) -> web.Response:
    console_session = await require(request)
    actor = console_session.actor
    works_tickets(actor)
    scope = actor.centre_name if actor.role == "clerk" else None
    async with services_of(request).db.sessions() as session:
        rows = await notify.pending(session, scope)
    return render(request, "notifications.html", {"rows": rows}, console_session)


ROUTES = [
    ("GET", "/queue", queue_page),
    ("GET", "/queue/stamp.json", queue_stamp),
    ("GET", "/tickets/{number}", ticket_page),
    ("POST", "/tickets/{number}/actions", ticket_action),
    ("POST", "/tickets/{number}/draft", ticket_draft),
    ("GET", "/notifications", notifications_page),
]
