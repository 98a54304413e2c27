"""Logging setup. Personal data never reaches these lines unmasked (see handlers/turns.py)."""

from __future__ import annotations

import logging
import os


def configure_logging() -> None:
    level = os.environ.get("DOUDI_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
