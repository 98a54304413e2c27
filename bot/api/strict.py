"""Query parameters are checked against the OpenAPI document: an unknown one is refused.

A mistyped filter (?stauts=new) silently ignored would return every ticket; refusing it,
with the names that are allowed, is the kinder answer. The document is the one source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.api.http import PREFIX, error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def query_names(document: dict[str, Any]) -> dict[tuple[str, str], frozenset[str]]:
    """(METHOD, path template) -> the query parameters the document declares."""
    names: dict[tuple[str, str], frozenset[str]] = {}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            params = [*item.get("parameters", []), *operation.get("parameters", [])]
            declared = {p["name"] for p in params if isinstance(p, dict) and p.get("in") == "query"}
            names[(method.upper(), path)] = frozenset(declared)
    return names


def query_check_middleware(document: dict[str, Any]) -> Any:
    allowed = query_names(document)

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PREFIX) and request.query:
            resource = request.match_info.route.resource
            template = resource.canonical if resource is not None else ""
            known = allowed.get((request.method, template))
            if known is not None:
                unknown = sorted(set(request.query) - known)
                if unknown:
                    listed = "、".join(sorted(known)) or "无"
                    return error_response(
                        400, "invalid", f"不认识的参数：{'、'.join(unknown)}（可用：{listed}）"
                    )
        return await handler(request)

    return check
