"""Logging setup. Personal data never reaches these lines unmasked (see handlers/turns.py).

The code logs no message text, phone or ID number at INFO and above; `PersonalDataFilter`
is the safety net on every handler: whatever slips through (an exception's message, a
library's log line) has its phone numbers, ID-card numbers and access tokens masked.
"""

from __future__ import annotations

import logging
import os
import re

# Mainland mobile numbers: 139****5678.
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
# Resident ID-card numbers (18 characters, the last may be X): 3501**********1234.
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{4})(\d{10})(\d{3}[\dXx])(?![0-9A-Za-z])")
_TOKEN = re.compile(r"(access_token=)[^&\s\"']+")


def mask(text: str) -> str:
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}{'*' * 10}{m.group(3)}", text)
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _TOKEN.sub(r"\1***", text)


class PersonalDataFilter(logging.Filter):
    """Masks phone numbers, ID-card numbers and access tokens in the formatted line."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        masked = mask(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_masking(handler: logging.Handler) -> None:
    if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
        handler.addFilter(PersonalDataFilter())


def configure_logging() -> None:
    level = os.environ.get("DOUDI_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        install_masking(handler)
    for noisy in ("aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
