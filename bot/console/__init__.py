"""The staff console under /console/: server-rendered pages (aiohttp-jinja2, autoescape on).

Handlers parse forms and render; the work is done by the same services the JSON API calls
(handlers/staff, handlers/caselib/drafts). Sessions are cookies (handlers/staff/sessions.py);
every POST form carries the session's CSRF token.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.console import auth, cases, dashboard, tickets
from bot.console.web import (
    CONSOLE_SERVICES_KEY,
    POLL_MS_KEY,
    console_middleware,
    filters,
)
from handlers.services import Services

HERE = Path(__file__).parent
PREFIX = "/console"


def setup(app: web.Application, services: Services, *, poll_ms: int = 10000) -> None:
    app[CONSOLE_SERVICES_KEY] = services
    app[POLL_MS_KEY] = poll_ms
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,  # everything a citizen wrote is text, never markup
        undefined=jinja2.StrictUndefined,
        app_key=aiohttp_jinja2.APP_KEY,
    )
    env.filters.update(filters())
    app.middlewares.append(console_middleware)
    app.router.add_static(f"{PREFIX}/static/", HERE / "static", name="console_static")
    for method, path, handler in (
        *auth.ROUTES,
        *tickets.ROUTES,
        *cases.ROUTES,
        *dashboard.ROUTES,
    ):
        app.router.add_route(method, PREFIX + path, handler)
