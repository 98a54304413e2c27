"""Errors of staff services. Each carries a Chinese message for staff and the HTTP status
the API answers with; nothing else in the API decides a status."""

from __future__ import annotations

from typing import Any


class StaffError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(StaffError):
    """The request is malformed or a field has a wrong value."""


class Unauthorized(StaffError):
    status = 401
    code = "unauthorized"


class Forbidden(StaffError):
    status = 403
    code = "forbidden"


class NotFound(StaffError):
    status = 404
    code = "not_found"


class Conflict(StaffError):
    """The action does not fit the ticket's current status."""

    status = 409
    code = "conflict"


class TooMany(StaffError):
    status = 429
    code = "too_many_attempts"
