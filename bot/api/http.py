"""HTTP plumbing of the API: JSON errors (never an HTML page, never a bare 500), request body
and query parsing with Chinese messages, the bearer token."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from typing import Any

from aiohttp import web

from handlers.staff.errors import Invalid, StaffError, Unauthorized
from handlers.staff.workdays import BEIJING

log = logging.getLogger(__name__)
PREFIX = "/api/"
MAX_JSON_BYTES = 64 * 1024


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def ok(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=_dumps)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except StaffError as error:
        response = error_response(error.status, error.code, error.message)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="doudi"'
        return response
    except web.HTTPException as error:
        if error.status < 400:
            raise
        messages = {404: "没有这个接口", 405: "接口不支持这种请求方法", 413: "请求体太大"}
        response = error_response(
            error.status, "http_error", messages.get(error.status, error.reason or "请求错误")
        )
        if "Allow" in error.headers:  # a 405 must say which methods are allowed (RFC 9110)
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except Exception:
        log.exception("API request failed: %s %s", request.method, request.path)
        return error_response(500, "internal", "服务器内部错误，请稍后再试")


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; Invalid (400) for anything else."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise Invalid("请求体太大")
    raw = await request.read()
    if len(raw) > MAX_JSON_BYTES:
        raise Invalid("请求体太大")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Invalid("请求体不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise Invalid("请求体应为 JSON 对象")
    return body


def text_field(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise Invalid(f"字段 {key} 应为非空文本")
    return value


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("请先登录（Authorization: Bearer 令牌）")
    return token.strip()


# Paging further than this is never useful, and larger integers overflow the database's.
MAX_OFFSET = 1_000_000


def query_bool(request: web.Request, key: str) -> bool | None:
    value = request.query.get(key)
    if value is None:
        return None
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise Invalid(f"参数 {key} 应为 true 或 false")


def query_int(
    request: web.Request, key: str, default: int, minimum: int = 0, maximum: int = MAX_OFFSET
) -> int:
    value = request.query.get(key)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise Invalid(f"参数 {key} 应为整数") from None
    if not minimum <= number <= maximum:
        raise Invalid(f"参数 {key} 应在 {minimum} 到 {maximum} 之间")
    return number


def query_day(request: web.Request, key: str, default: date) -> date:
    value = request.query.get(key)
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"参数 {key} 应为日期，如 2026-10-01") from None


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BEIJING)


def client_address(request: web.Request) -> str:
    return request.remote or ""
