"""The staff JSON API under /api/v1. Handlers parse and answer; handlers/staff does the work."""

from __future__ import annotations

from aiohttp import web

from bot.api.cases import CASE_ROUTES
from bot.api.http import error_middleware
from bot.api.openapi import document
from bot.api.routes import API_SERVICES_KEY, ROUTES
from bot.api.strict import query_check_middleware
from handlers.services import Services


def setup(app: web.Application, services: Services) -> None:
    app[API_SERVICES_KEY] = services
    app.middlewares.append(error_middleware)
    app.middlewares.append(query_check_middleware(document()))
    for method, path, handler in (*ROUTES, *CASE_ROUTES):
        app.router.add_route(method, path, handler)
