"""Log in and out of the console.

The login form has no session yet, so its CSRF token is a double-submit cookie (random, HttpOnly,
SameSite=Strict) matched by the form's field. Logging in always issues a new session id and ends
the one the browser presented (no session fixation); lockouts show their own message.
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web

from bot.console.web import current, form_text, landing, redirect, render, require, safe_next
from bot.console.web import services_of as _services
from handlers.staff import sessions
from handlers.staff.errors import Forbidden, TooMany, Unauthorized
from handlers.staff.sessions import CSRF_FIELD

LOGIN_CSRF_COOKIE = "doudi_login_csrf"


def _login_page(request: web.Request, error: str = "", status: int = 200, username: str = ""):
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "error": error,
            "login_csrf": token,
            "username": username,
            "next": safe_next(request.query.get("next")) or "",
        },
        None,
        status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/console/login",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        max_age=3600,
    )
    return response


async def root(request: web.Request) -> web.Response:
    found = await current(request)
    return redirect(landing(found.actor) if found else "/console/login")


async def login_form(request: web.Request) -> web.Response:
    """Always the form, even with a live session: logging in again switches accounts (and
    rotates the session id like any login)."""
    return _login_page(request)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    submitted = form_text(form, CSRF_FIELD)
    if not expected or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise Forbidden("页面已过期或来源不明，请刷新后重新登录")
    username, password = form_text(form, "username"), str(form.get("password") or "")
    if not username or not password:
        return _login_page(request, "请输入用户名和密码", 400, username)
    try:
        issued = await sessions.log_in(
            _services(request).db,
            username,
            password,
            request.remote or "",
            previous_session_id=sessions.cookie_value(request),
        )
    except TooMany as error:
        return _login_page(request, error.message, 429, username)
    except Unauthorized as error:
        return _login_page(request, error.message, 401, username)
    response = redirect(safe_next(form_text(form, "next")) or landing(issued.actor))
    sessions.set_cookie(response, issued, secure=request.secure)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


async def logout(request: web.Request) -> web.Response:
    console_session = await require(request)
    await sessions.check_form(request, console_session)
    async with _services(request).db.transaction() as session:
        await sessions.log_out(session, console_session.session_id)
    response = redirect("/console/login")
    sessions.clear_cookie(response)
    return response


ROUTES = [
    ("GET", "", root),
    ("GET", "/", root),
    ("GET", "/login", login_form),
    ("POST", "/login", login),
    ("POST", "/logout", logout),
]
