"""The OpenAPI 3.1 document of /api/v1, as data. tests/staff/test_api.py checks that every
registered route is described and that real responses validate against these schemas."""

from __future__ import annotations

from typing import Any

from bot.api import openapi_cases
from bot.api.http import MAX_OFFSET
from bot.api.openapi_parts import json_content as _json
from bot.api.openapi_parts import ref as _ref
from handlers.centres import CENTRES
from handlers.staff.config import EDITABLE_INTS
from handlers.staff.lifecycle import ACTIONS

NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
TIME = {"type": "string", "format": "date-time"}
COUNT_MAP = {"type": "object", "additionalProperties": {"type": "integer"}}
# A filter names one of the configured centres, by code or by name.
CENTRE = {"type": "string", "enum": sorted({c.code for c in CENTRES} | {c.name for c in CENTRES})}
# Every configuration key with the bounds handlers/staff/config.py enforces (one source).
CONFIG_PROPERTIES: dict[str, Any] = {
    **{
        key: {"type": "integer", "minimum": low, "maximum": high}
        for key, (low, high) in EDITABLE_INTS.items()
    },
    "stuck_reasons": {"type": "object", "additionalProperties": {"type": "string"}},
    "canned_replies": {"type": "array", "maxItems": 50, "items": {"type": "string"}},
}
DAY = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {
        400: "请求体或参数无效",
        401: "未登录或令牌无效、已过期",
        403: "角色或服务中心不允许",
        404: "没有这张工单或账号",
        409: "工单当前状态不允许这个操作",
        429: "登录失败次数过多",
    }
    return {str(s): _json(_ref("Error"), texts[s]) for s in statuses}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


SECURED = [{"bearer": []}]
STATUS = {"type": "string", "enum": ["new", "accepted", "in_progress", "resolved", "closed"]}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    },
    "LoginRequest": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {
            "username": {"type": "string", "minLength": 1},
            "password": {"type": "string", "minLength": 1},
        },
    },
    "Me": {
        "type": "object",
        "required": ["username", "display_name", "role", "centre", "centre_name"],
        "properties": {
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "role": {"type": "string", "enum": ["clerk", "supervisor", "admin"]},
            "role_label": {"type": "string"},
            "centre": {"type": "string"},
            "centre_name": {"type": "string"},
        },
    },
    "LoginResponse": {
        "type": "object",
        "required": ["token", "expires_at", "user"],
        "properties": {"token": {"type": "string"}, "expires_at": TIME, "user": _ref("Me")},
    },
    "Ok": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}},
    "Centres": {
        "type": "object",
        "required": ["centres"],
        "properties": {
            "centres": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "name"],
                    "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
                },
            }
        },
    },
    "TicketSummary": {
        "type": "object",
        "required": ["number", "title", "status", "status_label", "centre", "created_at", "flag"],
        "properties": {
            "number": {"type": "string"},
            "number_display": {"type": "string"},
            "title": {"type": "string"},
            "status": STATUS,
            "status_label": {"type": "string"},
            "centre": {"type": "string"},
            "centre_code": {"type": "string"},
            "classification": {"type": "string"},
            "category": {"type": "string"},
            "incomplete": {"type": "boolean"},
            "created_at": TIME,
            "accept_due_at": NULLABLE_TIME,
            "resolve_due_at": NULLABLE_TIME,
            "flag": {"type": "string", "enum": ["", "overdue", "nearly_due"]},
        },
    },
    "TicketList": {
        "type": "object",
        "required": ["tickets", "total", "counts"],
        "properties": {
            "tickets": {"type": "array", "items": _ref("TicketSummary")},
            "total": {"type": "integer"},
            "counts": {
                "type": "object",
                "required": ["new", "accepted", "in_progress", "resolved", "closed", "overdue"],
                "additionalProperties": {"type": "integer"},
            },
        },
    },
    "Event": {
        "type": "object",
        "required": ["id", "type", "actor", "public", "data", "at"],
        "properties": {
            "id": {"type": "integer"},
            "type": {"type": "string"},
            "actor": {"type": "string"},
            "public": {"type": "boolean"},
            "data": {"type": "object"},
            "at": TIME,
        },
    },
    "TicketDetail": {
        "allOf": [
            _ref("TicketSummary"),
            {
                "type": "object",
                "required": ["fields", "phone", "events", "transcript", "notifications"],
                "properties": {
                    "fields": {"type": "object"},
                    "phone": {"type": "string"},
                    "attachments": {"type": "array"},
                    "case_suggestions": {"type": "array"},
                    "classification_received": {"type": "string"},
                    "category_received": {"type": "string"},
                    "updated_at": TIME,
                    "events": {"type": "array", "items": _ref("Event")},
                    "transcript": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["direction", "kind", "text", "at"],
                            "properties": {
                                "direction": {"type": "string", "enum": ["in", "out"]},
                                "kind": {"type": "string"},
                                "text": {"type": "string"},
                                "at": TIME,
                            },
                        },
                    },
                    "notifications": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["audience", "kind", "text", "status", "channel"],
                            "properties": {
                                "audience": {"type": "string", "enum": ["citizen", "staff"]},
                                "kind": {"type": "string"},
                                "text": {"type": "string"},
                                "status": {"type": "string"},
                                "channel": {"type": "string"},
                                "created_at": TIME,
                            },
                        },
                    },
                },
            },
        ]
    },
    "ActionRequest": {
        "type": "object",
        "required": ["type"],
        "description": (
            "accept {note?}; transfer {department? | centre?, reason?}; coordinate "
            "{departments[], decision}; guide {guidance}; assist {units[{name, due}]}; note "
            "{text}; reply {text} (public, notifies the citizen); reclassify {classification: "
            "政务类|非政务类, category}; extend {days, reason} (supervisor); urge {text} "
            "(supervisor); resolve {outcome, stuck_reason, market_barrier?}; close {reason?}; "
            "reopen {reason}"
        ),
        "properties": {
            "type": {"type": "string", "enum": list(ACTIONS)},
            "note": {"type": "string"},
            "department": {"type": "string"},
            "centre": {"type": "string", "description": "centre code or Chinese name"},
            "reason": {"type": "string"},
            "departments": {"type": "array", "items": {"type": "string"}},
            "decision": {"type": "string"},
            "guidance": {"type": "string"},
            "units": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "due"],
                    "properties": {
                        "name": {"type": "string"},
                        "due": {"type": "string", "format": "date"},
                    },
                },
            },
            "text": {"type": "string"},
            "classification": {"type": "string", "enum": ["政务类", "非政务类"]},
            "category": {"type": "string"},
            "days": {"type": "integer", "minimum": 1},
            "outcome": {"type": "string"},
            "stuck_reason": {"type": "string"},
            "market_barrier": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "ActionResponse": {
        "type": "object",
        "required": ["ticket", "event"],
        "properties": {"ticket": _ref("TicketSummary"), "event": _ref("Event")},
    },
    "Account": {
        "type": "object",
        "required": ["username", "display_name", "role", "centre", "disabled"],
        "properties": {
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "role": {"type": "string", "enum": ["clerk", "supervisor", "admin"]},
            "centre": {"type": "string"},
            "centre_name": {"type": "string"},
            "wework_userid": {"type": "string"},
            "disabled": {"type": "boolean"},
            "locked_until": NULLABLE_TIME,
            "created_at": TIME,
        },
    },
    "AccountList": {
        "type": "object",
        "required": ["accounts"],
        "properties": {"accounts": {"type": "array", "items": _ref("Account")}},
    },
    "AccountCreate": {
        "type": "object",
        "required": ["username", "display_name", "role", "password"],
        "properties": {
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "role": {"type": "string", "enum": ["clerk", "supervisor", "admin"]},
            "centre": {"type": "string", "description": "centre code; required for a clerk"},
            "password": {"type": "string", "minLength": 10},
            "wework_userid": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "AccountPatch": {
        "type": "object",
        "properties": {
            "display_name": {"type": "string"},
            "role": {"type": "string", "enum": ["clerk", "supervisor", "admin"]},
            "centre": {"type": "string"},
            "password": {"type": "string", "minLength": 10},
            "wework_userid": {"type": "string"},
            "disabled": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "Stats": {
        "type": "object",
        "required": [
            "period",
            "centre",
            "received",
            "accepted_within_limit",
            "resolved",
            "resolved_within_limit",
            "average_working_days_to_resolve",
            "by_classification",
            "by_handling_mode",
            "by_department",
            "by_stuck_reason",
            "reopened",
            "satisfaction",
        ],
        "properties": {
            "period": {
                "type": "object",
                "required": ["from", "to"],
                "properties": {"from": TIME, "to": TIME},
            },
            "centre": {"type": ["string", "null"]},
            "received": {"type": "integer"},
            "accepted": {"type": "integer"},
            "accepted_within_limit": {"type": "integer"},
            "resolved": {"type": "integer"},
            "resolved_within_limit": {"type": "integer"},
            "average_working_days_to_resolve": {"type": ["number", "null"]},
            "market_barrier": {"type": "integer"},
            "by_classification": COUNT_MAP,
            "by_handling_mode": COUNT_MAP,
            "by_department": COUNT_MAP,
            "by_stuck_reason": COUNT_MAP,
            "reopened": {"type": "integer"},
            "satisfaction": {
                "type": "object",
                "required": ["ratings", "average_score", "by_level"],
                "properties": {
                    "ratings": {"type": "integer"},
                    "average_score": {"type": ["number", "null"]},
                    "by_level": COUNT_MAP,
                },
            },
        },
    },
    "Config": {
        "type": "object",
        "required": ["accept_days", "resolve_days", "extend_max_days", "stuck_reasons"],
        "properties": CONFIG_PROPERTIES,
    },
    "ConfigPatch": {
        "type": "object",
        "description": "any of Config's keys, each within its bounds",
        "properties": CONFIG_PROPERTIES,
        "additionalProperties": False,
    },
    "PendingNotifications": {
        "type": "object",
        "required": ["notifications"],
        "properties": {
            "notifications": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["number", "kind", "text", "created_at"],
                    "properties": {
                        "number": {"type": "string"},
                        "kind": {"type": "string"},
                        "text": {"type": "string"},
                        "error_code": {"type": ["integer", "null"]},
                        "created_at": TIME,
                    },
                },
            }
        },
    },
}

PATHS: dict[str, Any] = {
    "/api/v1/auth/login": {
        "post": {
            "summary": "Log in; answers a bearer token",
            "security": [],
            "requestBody": _body(_ref("LoginRequest")),
            "responses": {"200": _json(_ref("LoginResponse")), **_errors(400, 401, 429)},
        }
    },
    "/api/v1/auth/logout": {
        "post": {
            "summary": "End the token's session",
            "responses": {"200": _json(_ref("Ok")), **_errors(401)},
        }
    },
    "/api/v1/me": {
        "get": {
            "summary": "Who the token belongs to",
            "responses": {"200": _json(_ref("Me")), **_errors(401)},
        }
    },
    "/api/v1/centres": {
        "get": {
            "summary": "The service centres, code and Chinese name",
            "responses": {"200": _json(_ref("Centres")), **_errors(401)},
        }
    },
    "/api/v1/tickets": {
        "get": {
            "summary": "The queue: overdue first, then newest; counts per status",
            "parameters": [
                _query("status", STATUS, "only this status"),
                _query("centre", CENTRE, "centre code or name (clerks: own only)"),
                _query("category", {"type": "string"}, "only this category"),
                _query("overdue", {"type": "boolean"}, "only overdue (true) or not (false)"),
                _query("q", {"type": "string"}, "text in the title, number or fields"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "page size"),
                _query(
                    "offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}, "page start"
                ),
            ],
            "responses": {"200": _json(_ref("TicketList")), **_errors(400, 401, 403)},
        }
    },
    "/api/v1/tickets/{number}": {
        "get": {
            "summary": "One ticket with fields, transcript and events (the reading is audited)",
            "parameters": [_path("number")],
            "responses": {"200": _json(_ref("TicketDetail")), **_errors(401, 403, 404)},
        }
    },
    "/api/v1/tickets/{number}/actions": {
        "post": {
            "summary": "A lifecycle action on the ticket",
            "parameters": [_path("number")],
            "requestBody": _body(_ref("ActionRequest")),
            "responses": {
                "200": _json(_ref("ActionResponse")),
                **_errors(400, 401, 403, 404, 409),
            },
        }
    },
    "/api/v1/staff": {
        "get": {
            "summary": "Staff accounts (admin)",
            "responses": {"200": _json(_ref("AccountList")), **_errors(401, 403)},
        },
        "post": {
            "summary": "Create a staff account (admin)",
            "requestBody": _body(_ref("AccountCreate")),
            "responses": {"201": _json(_ref("Account"), "Created"), **_errors(400, 401, 403)},
        },
    },
    "/api/v1/staff/{username}": {
        "patch": {
            "summary": "Change a staff account: name, role, centre, password, disabled (admin)",
            "parameters": [_path("username")],
            "requestBody": _body(_ref("AccountPatch")),
            "responses": {"200": _json(_ref("Account")), **_errors(400, 401, 403, 404)},
        }
    },
    "/api/v1/stats": {
        "get": {
            "summary": "Statistics for a period (dates inclusive, Beijing time) and centre",
            "parameters": [
                _query("from", DAY, "first day; 30 days ago"),
                _query("to", DAY, "last day; today"),
                _query("centre", CENTRE, "centre code or name"),
            ],
            "responses": {"200": _json(_ref("Stats")), **_errors(400, 401, 403)},
        }
    },
    "/api/v1/config": {
        "get": {
            "summary": "The configuration in force",
            "responses": {"200": _json(_ref("Config")), **_errors(401)},
        },
        "put": {
            "summary": "Change configuration (admin); keys not given keep their value",
            "requestBody": _body(_ref("ConfigPatch")),
            "responses": {"200": _json(_ref("Config")), **_errors(400, 401, 403)},
        },
    },
    "/api/v1/notifications/pending": {
        "get": {
            "summary": "Citizen notifications that could not be delivered",
            "responses": {"200": _json(_ref("PendingNotifications")), **_errors(401, 403)},
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": _json({"type": "object"})},
        }
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Doudi staff API",
            "version": "1",
            "description": "The staff window of the 办不成事 counter. Errors carry a Chinese "
            "message for staff: {error, message}.",
        },
        "servers": [{"url": "/"}],
        "security": SECURED,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {**SCHEMAS, **openapi_cases.SCHEMAS},
        },
        "paths": {**PATHS, **openapi_cases.PATHS},
    }
