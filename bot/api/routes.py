"""The /api/v1 routes. Each handler: parse the request, call one staff service, answer JSON."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bot.api.http import (
    bearer_token,
    client_address,
    day_start,
    json_body,
    ok,
    query_bool,
    query_day,
    query_int,
    text_field,
)
from bot.api.openapi import document
from handlers import centres
from handlers.services import Services
from handlers.staff import accounts, lifecycle, notify, queue, stats
from handlers.staff.access import ROLE_LABELS, Actor, require_role, works_tickets
from handlers.staff.config import load_config, save_config
from handlers.staff.errors import Invalid, Unauthorized
from handlers.staff.workdays import local_date
from storage.columns import utcnow
from storage.repositories import staff as staff_repo

API_SERVICES_KEY = web.AppKey("staff_api_services", Services)
ACCOUNT_FIELDS = {"display_name", "role", "centre", "wework_userid", "disabled", "password"}


def _services(request: web.Request) -> Services:
    return request.app[API_SERVICES_KEY]


async def _actor(request: web.Request) -> Actor:
    token = bearer_token(request)
    async with _services(request).db.sessions() as session:
        actor = await accounts.actor_for_token(session, token)
    if actor is None:
        raise Unauthorized("登录已失效，请重新登录")
    return actor


def _actor_view(actor: Actor) -> dict:
    return {
        "username": actor.username,
        "display_name": actor.display_name,
        "role": actor.role,
        "role_label": ROLE_LABELS[actor.role],
        "centre": actor.centre,
        "centre_name": actor.centre_name,
    }


async def login(request: web.Request) -> web.Response:
    body = await json_body(request)
    username, password = text_field(body, "username"), text_field(body, "password")
    issued = await accounts.login(
        _services(request).db, username, password, client_address(request)
    )
    return ok(
        {
            "token": issued.token,
            "expires_at": issued.expires_at.isoformat(),
            "user": _actor_view(issued.actor),
        }
    )


async def logout(request: web.Request) -> web.Response:
    token = bearer_token(request)
    async with _services(request).db.transaction() as session:
        await accounts.logout(session, token)
    return ok({"ok": True})


async def me(request: web.Request) -> web.Response:
    return ok(_actor_view(await _actor(request)))


async def list_tickets(request: web.Request) -> web.Response:
    actor = await _actor(request)
    query = queue.QueueQuery(
        status=request.query.get("status") or None,
        centre=request.query.get("centre") or None,
        category=request.query.get("category") or None,
        overdue=query_bool(request, "overdue"),
        q=(request.query.get("q") or "").strip()[:100] or None,
        limit=query_int(request, "limit", 50),
        offset=query_int(request, "offset", 0),
    )
    return ok(await queue.list_tickets(_services(request), actor, query))


async def ticket_detail(request: web.Request) -> web.Response:
    actor = await _actor(request)
    detail = await queue.ticket_detail(
        _services(request), actor, request.match_info["number"], client_address(request)
    )
    return ok(detail)


async def ticket_action(request: web.Request) -> web.Response:
    actor = await _actor(request)
    body = await json_body(request)
    outcome = await lifecycle.perform(_services(request), actor, request.match_info["number"], body)
    async with _services(request).db.sessions() as session:
        config = await load_config(session)
    event = outcome.event
    return ok(
        {
            "ticket": queue.summary(outcome.ticket, utcnow(), config),
            "event": {
                "id": event.id,
                "type": event.type,
                "actor": event.actor,
                "public": event.public,
                "data": event.data,
                "at": event.at.isoformat(),
            },
        }
    )


async def list_staff(request: web.Request) -> web.Response:
    actor = await _actor(request)
    require_role(actor, "admin")
    async with _services(request).db.sessions() as session:
        rows = await staff_repo.accounts(session)
    return ok({"accounts": [accounts.account_view(a) for a in rows]})


async def create_staff(request: web.Request) -> web.Response:
    actor = await _actor(request)
    require_role(actor, "admin")
    body = await json_body(request)
    unknown = set(body) - ACCOUNT_FIELDS - {"username"} - {"disabled"}
    if unknown:
        raise Invalid(f"不认识的字段：{'、'.join(sorted(unknown))}")
    now = utcnow()
    async with _services(request).db.transaction() as session:
        account = await accounts.create_account(
            session,
            username=text_field(body, "username"),
            display_name=text_field(body, "display_name"),
            role=text_field(body, "role"),
            password=text_field(body, "password"),
            centre=text_field(body, "centre", required=False),
            wework_userid=text_field(body, "wework_userid", required=False),
            now=now,
        )
        await staff_repo.audit(
            session, actor.username, "create_account", now, detail={"username": account.username}
        )
        view = accounts.account_view(account)
    return ok(view, status=201)


async def update_staff(request: web.Request) -> web.Response:
    actor = await _actor(request)
    require_role(actor, "admin")
    body = await json_body(request)
    unknown = set(body) - ACCOUNT_FIELDS
    if unknown:
        raise Invalid(f"不认识的字段：{'、'.join(sorted(unknown))}")
    for key, value in body.items():
        wanted = bool if key == "disabled" else str
        if not isinstance(value, wanted):
            raise Invalid(f"字段 {key} 类型不对")
    username = request.match_info["username"]
    now = utcnow()
    async with _services(request).db.transaction() as session:
        account = await accounts.update_account(session, username, body, now)
        changed = sorted(k for k in body if k != "password") + (
            ["password"] if "password" in body else []
        )
        await staff_repo.audit(
            session,
            actor.username,
            "update_account",
            now,
            detail={"username": username, "changed": changed},
        )
        view = accounts.account_view(account)
    return ok(view)


async def get_stats(request: web.Request) -> web.Response:
    actor = await _actor(request)
    today = local_date(utcnow())
    first = query_day(request, "from", today - timedelta(days=29))
    last = query_day(request, "to", today)
    result = await stats.statistics(
        _services(request),
        actor,
        day_start(first),
        day_start(last + timedelta(days=1)),
        request.query.get("centre") or None,
    )
    return ok(result)


async def get_config(request: web.Request) -> web.Response:
    await _actor(request)
    async with _services(request).db.sessions() as session:
        config = await load_config(session)
    return ok(config.as_dict())


async def put_config(request: web.Request) -> web.Response:
    actor = await _actor(request)
    require_role(actor, "admin")
    body = await json_body(request)
    now = utcnow()
    async with _services(request).db.transaction() as session:
        config = await save_config(session, body, actor.username, now)
        await staff_repo.audit(
            session, actor.username, "update_config", now, detail={"keys": sorted(body)}
        )
    return ok(config.as_dict())


async def pending_notifications(request: web.Request) -> web.Response:
    actor = await _actor(request)
    works_tickets(actor)
    scope = actor.centre_name if actor.role == "clerk" else None
    async with _services(request).db.sessions() as session:
        rows = await notify.pending(session, scope)
    return ok(
        {
            "notifications": [
                {
                    "number": t.number,
                    "kind": n.kind,
                    "text": n.text,
                    "error_code": n.error_code,
                    "created_at": n.created_at.isoformat(),
                }
                for n, t in rows
            ]
        }
    )


async def list_centres(request: web.Request) -> web.Response:
    await _actor(request)
    return ok({"centres": [{"code": c.code, "name": c.name} for c in centres.CENTRES]})


async def openapi(request: web.Request) -> web.Response:
    return ok(document())


ROUTES = [
    ("POST", "/api/v1/auth/login", login),
    ("POST", "/api/v1/auth/logout", logout),
    ("GET", "/api/v1/me", me),
    ("GET", "/api/v1/centres", list_centres),
    ("GET", "/api/v1/tickets", list_tickets),
    ("GET", "/api/v1/tickets/{number}", ticket_detail),
    ("POST", "/api/v1/tickets/{number}/actions", ticket_action),
    ("GET", "/api/v1/staff", list_staff),
    ("POST", "/api/v1/staff", create_staff),
    ("PATCH", "/api/v1/staff/{username}", update_staff),
    ("GET", "/api/v1/stats", get_stats),
    ("GET", "/api/v1/config", get_config),
    ("PUT", "/api/v1/config", put_config),
    ("GET", "/api/v1/notifications/pending", pending_notifications),
    ("GET", "/api/v1/openapi.json", openapi),
]
