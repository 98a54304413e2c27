"""The case-library part of the OpenAPI document (merged by openapi.document())."""

from __future__ import annotations

from typing import Any

from bot.api.http import MAX_OFFSET
from bot.api.openapi_parts import json_content as _json
from bot.api.openapi_parts import ref as _ref
from handlers.caselib.drafts import CLASSIFICATIONS, HANDLINGS, MAX_TEXT


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {
        400: "请求体或参数无效",
        401: "未登录或令牌无效、已过期",
        403: "角色或服务中心不允许",
        404: "没有这个案例或工单",
        409: "案例或工单当前状态不允许这个操作",
    }
    return {str(s): _json(_ref("Error"), texts[s]) for s in statuses}


CASE_ID = {"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}
NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
CASE_STATUS = {"type": "string", "enum": ["draft", "published", "retired", "rejected"]}
TEXT = {"type": "string"}


def _filled(max_length: int) -> dict[str, Any]:
    """Text that must say something (blank or only spaces is refused)."""
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": r"\S"}


SCHEMAS: dict[str, Any] = {
    "Case": {
        "type": "object",
        "required": ["id", "title", "category", "handling", "status", "keywords"],
        "properties": {
            "id": TEXT,
            "title": TEXT,
            "category": {"type": "string", "description": "政务类 | 非政务类"},
            "handling": {"type": "string", "description": "转办 | 协调 | 引导 | 协办"},
            "department": TEXT,
            "problem": TEXT,
            "solution": TEXT,
            "keywords": {"type": "array", "items": TEXT},
            "status": CASE_STATUS,
            "status_label": TEXT,
            "source_ticket": {"type": ["string", "null"], "description": "ticket number"},
            "shown_count": {"type": "integer"},
            "helpful_count": {"type": "integer"},
            "rejected_count": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "CaseDetail": {
        "allOf": [
            _ref("Case"),
            {
                "type": "object",
                "required": ["duplicates", "privacy_warnings"],
                "properties": {
                    "duplicates": {
                        "type": "array",
                        "description": "published cases a draft may duplicate, closest first",
                        "items": {
                            "type": "object",
                            "required": ["id", "title", "score"],
                            "properties": {
                                "id": TEXT,
                                "title": TEXT,
                                "score": {"type": "number"},
                            },
                        },
                    },
                    "privacy_warnings": {
                        "type": "array",
                        "items": TEXT,
                        "description": "fields where personal data may remain",
                    },
                },
            },
        ]
    },
    "CaseList": {
        "type": "object",
        "required": ["cases", "total", "counts"],
        "properties": {
            "cases": {"type": "array", "items": _ref("Case")},
            "total": {"type": "integer"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    },
    "CasePatch": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "title": _filled(120),
            "category": {"type": "string", "enum": list(CLASSIFICATIONS)},
            "handling": {"type": "string", "enum": list(HANDLINGS)},
            "department": {"type": "string", "maxLength": 400},
            "problem": _filled(MAX_TEXT),
            "solution": _filled(MAX_TEXT),
            "keywords": {
                "oneOf": [
                    {
                        "type": "array",
                        "maxItems": 20,
                        "items": {"type": "string", "maxLength": 30},
                    },
                    {"type": "string", "description": "separated by commas, 、 or spaces"},
                ]
            },
        },
    },
    "Reason": {
        "type": "object",
        "properties": {"reason": {"type": "string", "maxLength": 500}},
    },
    "RequiredReason": {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": {**_filled(500), "description": "why the draft goes back"}},
    },
}


def _status_change(summary: str, reason_required: bool = False) -> dict[str, Any]:
    body = "RequiredReason" if reason_required else "Reason"
    return {
        "post": {
            "summary": summary,
            "parameters": [CASE_ID],
            "requestBody": {
                "required": reason_required,
                "content": {"application/json": {"schema": _ref(body)}},
            },
            "responses": {"200": _json(_ref("Case")), **_errors(400, 401, 403, 404, 409)},
        }
    }


PATHS: dict[str, Any] = {
    "/api/v1/cases": {
        "get": {
            "summary": "The case library: by status and text, newest change first",
            "parameters": [
                {"name": "status", "in": "query", "required": False, "schema": CASE_STATUS},
                {"name": "q", "in": "query", "required": False, "schema": TEXT},
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                },
                {
                    "name": "offset",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
                },
            ],
            "responses": {"200": _json(_ref("CaseList")), **_errors(400, 401, 403)},
        }
    },
    "/api/v1/cases/{case_id}": {
        "get": {
            "summary": "One case; a draft lists published cases it may duplicate",
            "parameters": [CASE_ID],
            "responses": {"200": _json(_ref("CaseDetail")), **_errors(401, 403, 404)},
        },
        "patch": {
            "summary": "Edit a case (supervisor, admin); a published case changes at once",
            "parameters": [CASE_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("CasePatch")}},
            },
            "responses": {"200": _json(_ref("Case")), **_errors(400, 401, 403, 404, 409)},
        },
    },
    "/api/v1/cases/{case_id}/publish": _status_change(
        "Publish a draft or retired case (supervisor, admin): the bot uses it at once"
    ),
    "/api/v1/cases/{case_id}/reject": _status_change(
        "Reject a draft (supervisor, admin); reason required", reason_required=True
    ),
    "/api/v1/cases/{case_id}/retire": _status_change(
        "Retire a published case (supervisor, admin): the bot stops using it at once"
    ),
    "/api/v1/tickets/{number}/draft": {
        "post": {
            "summary": "Turn a resolved ticket into a case draft (personal data removed); "
            "201 when created, 200 when the ticket's draft already exists",
            "parameters": [NUMBER],
            "responses": {
                "200": _json(_ref("Case")),
                "201": _json(_ref("Case"), "Created"),
                **_errors(401, 403, 404, 409),
            },
        }
    },
}
