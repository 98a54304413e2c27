"""/api/v1 routes of the case library: list and search, one case, drafts from tickets, review.

Each handler calls handlers/caselib/drafts.py, as the console does."""

from __future__ import annotations

from aiohttp import web

from bot.api.http import json_body, ok, query_int
from bot.api.routes import _actor, _services
from handlers.caselib import drafts
from handlers.staff.errors import Invalid


async def list_cases(request: web.Request) -> web.Response:
    actor = await _actor(request)
    query = drafts.CaseQuery(
        status=request.query.get("status") or None,
        q=(request.query.get("q") or "").strip()[:100] or None,
        limit=query_int(request, "limit", 50),
        offset=query_int(request, "offset", 0),
    )
    return ok(await drafts.list_cases(_services(request), actor, query))


async def get_case(request: web.Request) -> web.Response:
    actor = await _actor(request)
    return ok(await drafts.get_case(_services(request), actor, request.match_info["case_id"]))


async def draft_from_ticket(request: web.Request) -> web.Response:
    actor = await _actor(request)
    case, created = await drafts.draft_from_ticket(
        _services(request), actor, request.match_info["number"]
    )
    return ok(case, status=201 if created else 200)


async def update_case(request: web.Request) -> web.Response:
    actor = await _actor(request)
    body = await json_body(request)
    return ok(
        await drafts.update_case(_services(request), actor, request.match_info["case_id"], body)
    )


def _status_change(action: str):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        actor = await _actor(request)
        reason = ""
        if request.can_read_body:
            body = await json_body(request)
            reason = body.get("reason") or ""
            if not isinstance(reason, str):
                raise Invalid("原因应为文本（reason）")
        case = await drafts.change_status(
            _services(request), actor, request.match_info["case_id"], action, reason
        )
        return ok(case)

    return handler


CASE_ROUTES = [
    ("GET", "/api/v1/cases", list_cases),
    ("GET", "/api/v1/cases/{case_id}", get_case),
    ("PATCH", "/api/v1/cases/{case_id}", update_case),
    ("POST", "/api/v1/cases/{case_id}/publish", _status_change("publish")),
    ("POST", "/api/v1/cases/{case_id}/reject", _status_change("reject")),
    ("POST", "/api/v1/cases/{case_id}/retire", _status_change("retire")),
    ("POST", "/api/v1/tickets/{number}/draft", draft_from_ticket),
]
