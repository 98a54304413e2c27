"""Plumbing of the console: who is logged in, CSRF on POST, rendering, errors as pages,
security headers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from handlers.centres import CENTRES
from handlers.services import Services
from handlers.staff import sessions
from handlers.staff.access import ROLE_LABELS, Actor
from handlers.staff.errors import StaffError, Unauthorized
from handlers.staff.notify import group_number
from handlers.staff.sessions import CSRF_FIELD, ConsoleSession
from handlers.staff.workdays import BEIJING

log = logging.getLogger(__name__)
CONSOLE_SERVICES_KEY = web.AppKey("console_services", Services)
POLL_MS_KEY = web.AppKey("console_poll_ms", int)
SESSION_KEY = web.RequestKey("console_session", object)
PREFIX = "/console"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def services_of(request: web.Request) -> Services:
    return request.app[CONSOLE_SERVICES_KEY]


async def current(request: web.Request) -> ConsoleSession | None:
    """The live console session behind the request's cookie (cached per request)."""
    if SESSION_KEY not in request:
        async with services_of(request).db.sessions() as session:
            request[SESSION_KEY] = await sessions.load(session, sessions.cookie_value(request))
    found = request[SESSION_KEY]
    return found if isinstance(found, ConsoleSession) else None


async def require(request: web.Request) -> ConsoleSession:
    found = await current(request)
    if found is None:
        raise Unauthorized("请先登录")
    return found


async def require_post(request: web.Request) -> tuple[ConsoleSession, Any]:
    """A logged-in POST whose form carries this session's CSRF token; returns the form."""
    console_session = await require(request)
    await sessions.check_form(request, console_session)
    return console_session, await request.post()


def form_text(form: Any, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def render(
    request: web.Request,
    template: str,
    context: dict[str, Any],
    console_session: ConsoleSession | None,
    status: int = 200,
) -> web.Response:
    actor = console_session.actor if console_session else None
    base = {
        "me": actor,
        "role_label": ROLE_LABELS.get(actor.role, "") if actor else "",
        "csrf_field": CSRF_FIELD,
        "csrf_token": console_session.csrf_token if console_session else "",
        "path": request.path,
        "nav": nav(actor),
    }
    return aiohttp_jinja2.render_template(template, request, {**base, **context}, status=status)


def nav(actor: Actor | None) -> list[tuple[str, str]]:
    if actor is None:
        return []
    items = []
    if actor.role in ("clerk", "supervisor"):
        items += [("/console/queue", "工单队列"), ("/console/notifications", "待发送通知")]
    items.append(("/console/cases", "案例库"))
    if actor.role in ("supervisor", "admin"):
        items.append(("/console/cases/review", "草稿审核"))
    items.append(("/console/dashboard", "晴雨表"))
    return items


def landing(actor: Actor) -> str:
    return "/console/cases/review" if actor.role == "admin" else "/console/queue"


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def safe_next(value: str | None) -> str | None:
    """Only a path inside the console: never another site (open redirect)."""
    if (
        value
        and value.startswith(PREFIX + "/")
        and not value.startswith("//")
        and "\\" not in value
    ):
        return value
    return None


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not (request.path == PREFIX or request.path.startswith(PREFIX + "/")):
        return await handler(request)
    try:
        response = await handler(request)
    except Unauthorized as error:
        if request.path.endswith(".json"):
            response = web.json_response(
                {"error": "unauthorized", "message": error.message}, status=401
            )
        else:
            target = request.path_qs if request.method == "GET" else ""
            response = redirect("/console/login" + (f"?next={_quote(target)}" if target else ""))
    except StaffError as error:
        response = await _error_page(request, error.status, error.message)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        messages = {404: "没有这个页面", 405: "不支持这种请求方法", 413: "提交的内容太大"}
        response = await _error_page(
            request, error.status, messages.get(error.status, error.reason or "请求错误")
        )
    except Exception:
        log.exception("console request failed: %s %s", request.method, request.path)
        response = await _error_page(request, 500, "服务器内部错误，请稍后再试")
    _harden(response)
    return response


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")


async def _error_page(request: web.Request, status: int, message: str) -> web.Response:
    if request.path.endswith(".json"):
        return web.json_response({"error": "error", "message": message}, status=status)
    try:
        console_session = await current(request)
    except Exception:
        console_session = None
    return render(
        request, "error.html", {"status": status, "message": message}, console_session, status
    )


def _harden(response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if "/static/" not in (response.headers.get("Content-Location") or ""):
        response.headers.setdefault("Cache-Control", "no-store")


# --- template filters ------------------------------------------------------------------------


def _local(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(BEIJING).strftime(fmt)


def filters() -> dict[str, Callable[..., Any]]:
    return {
        "local": _local,
        "day": lambda v: _local(v, "%Y-%m-%d"),
        "grouped": group_number,
        "centre_options": lambda _=None: [(c.code, c.name) for c in CENTRES],
    }
