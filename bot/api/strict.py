"""Query parameters are checked against the OpenAPI document: an unknown one is refused, and so
is an empty value where the document allows none.

A mistyped filter (?stauts=new) silently ignored would return every ticket; refusing it,
with the names that are allowed, is the kinder answer. The document is the one source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.api.http import PREFIX, error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def empty_allowed(schema: dict[str, Any]) -> bool:
    """Whether "" is a value of this parameter (plain text yes; numbers, enums, dates no)."""
    return (
        schema.get("type", "string") == "string"
        and not schema.get("enum")
        and not schema.get("format")
        and not schema.get("pattern")
        and not schema.get("minLength")
    )


def query_names(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, bool]]:
    """(METHOD, path template) -> {query parameter: may it be empty} as the document says."""
    names: dict[tuple[str, str], dict[str, bool]] = {}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            params = [*item.get("parameters", []), *operation.get("parameters", [])]
            names[(method.upper(), path)] = {
                p["name"]: empty_allowed(p.get("schema", {}))
                for p in params
                if isinstance(p, dict) and p.get("in") == "query"
            }
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
                unknown = sorted(set(request.query) - set(known))
                if unknown:
                    listed = "、".join(sorted(known)) or "无"
                    return error_response(
                        400, "invalid", f"不认识的参数：{'、'.join(unknown)}（可用：{listed}）"
                    )
                # "?centre=" is not "every centre": an empty filter is refused, not dropped.
                empty = sorted(k for k, v in request.query.items() if v == "" and not known[k])
                if empty:
                    return error_response(400, "invalid", f"参数不能为空：{'、'.join(empty)}")
        return await handler(request)

    return check
