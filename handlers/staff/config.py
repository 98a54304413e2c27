"""Configuration of the staff window: deadlines, stuck reasons, login limits.

Defaults live here; an admin overrides some of them at run time (stored in staff_settings under
the key "config", see load_config/save_config). Everything else reads a StaffConfig.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.staff.errors import Invalid
from storage import core
from storage.models import StaffSetting

# Why a request got stuck (卡点原因), recorded when a ticket is resolved.
STUCK_REASONS: dict[str, str] = {
    "missing_materials": "材料缺失",
    "system_down": "系统不通",
    "policy_gap": "政策空白",
    "mutual_prerequisite": "审批互为前置",
    "unclear_duty": "职责不清",
    "legacy": "历史遗留",
    "non_government": "非政务",
}
CLASSIFICATIONS = ("政务类", "非政务类")
# Replies staff pick from on the ticket page (then edit before sending).
CANNED_REPLIES: tuple[str, ...] = (
    "您好，您的诉求已收到，我们正在协调相关部门办理，请耐心等待。",
    "您好，请您携带身份证原件及相关材料到服务中心“办不成事”窗口，我们当面为您协调办理。",
    "您好，经与相关部门沟通，需要您补充以下材料：",
    "您好，您的事项已办结，如仍有问题请直接回复本公众号。",
)
SETTINGS_KEY = "config"


@dataclass(frozen=True)
class StaffConfig:
    accept_days: int = 1  # accept within this many working days
    resolve_days: int = 5  # resolve within this many working days
    extend_max_days: int = 10  # all extensions of one ticket together, in working days
    nearly_due_days: int = 1  # flagged "nearly due" when due within this many working days
    close_after_days: int = 7  # resolved with no 回访 for this many days -> closed
    stuck_reasons: dict[str, str] = field(default_factory=lambda: dict(STUCK_REASONS))
    canned_replies: list[str] = field(default_factory=lambda: list(CANNED_REPLIES))
    token_ttl_hours: int = 12
    session_ttl_hours: int = 12
    lockout_failures: int = 5  # failed logins of one account within the window -> locked
    lockout_window_minutes: int = 15
    lockout_minutes: int = 15
    address_failures: int = 20  # failed logins from one address within the window -> refused

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT = StaffConfig()
# Which keys an admin may change, and their bounds.
EDITABLE_INTS = {
    "accept_days": (1, 30),
    "resolve_days": (1, 60),
    "extend_max_days": (0, 60),
    "nearly_due_days": (0, 10),
    "close_after_days": (1, 90),
    "token_ttl_hours": (1, 24 * 30),
    "session_ttl_hours": (1, 24 * 30),
    "lockout_failures": (3, 50),
    "lockout_window_minutes": (1, 24 * 60),
    "lockout_minutes": (1, 24 * 60),
    "address_failures": (5, 1000),
}
EDITABLE_OTHER = ("stuck_reasons", "canned_replies")


def merged(overrides: dict[str, Any]) -> StaffConfig:
    """The defaults with validated overrides; raises Invalid naming the bad key."""
    known = {f.name for f in fields(StaffConfig)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in known or (key not in EDITABLE_INTS and key not in EDITABLE_OTHER):
            raise Invalid(f"配置项「{key}」不存在或不可修改")
        if key == "stuck_reasons":
            if (
                not isinstance(value, dict)
                or not value
                or not all(
                    isinstance(k, str) and k and isinstance(v, str) and v.strip()
                    for k, v in value.items()
                )
            ):
                raise Invalid("卡点原因应为非空的「代码: 名称」对照表")
            changes[key] = {k: v.strip() for k, v in value.items()}
            continue
        if key == "canned_replies":
            if (
                not isinstance(value, list)
                or len(value) > 50
                or not all(isinstance(v, str) and 0 < len(v.strip()) <= 600 for v in value)
            ):
                raise Invalid("常用回复应为文本列表（最多 50 条，每条不超过 600 个字符）")
            changes[key] = [v.strip() for v in value]
            continue
        low, high = EDITABLE_INTS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Invalid(f"配置项「{key}」应为 {low} 到 {high} 之间的整数")
        changes[key] = value
    return replace(DEFAULT, **changes)


# Every filing reads it (its deadlines): a Hot SELECT, not an ORM load (storage.core.Hot).
_settings = StaffSetting.__table__
_VALUE = core.Hot(select(_settings.c.value).where(_settings.c.key == bindparam("key")))


async def load_config(session: AsyncSession) -> StaffConfig:
    rows = await _VALUE.run(session, {"key": SETTINGS_KEY})
    if not rows or not rows[0][0]:
        return DEFAULT
    try:
        return merged(rows[0][0])
    except Invalid:  # a key removed from the code since it was saved: keep the defaults
        return DEFAULT


async def save_config(
    session: AsyncSession, overrides: dict[str, Any], actor: str, now: datetime
) -> StaffConfig:
    """Merge overrides into the stored ones (validated) and return the new configuration."""
    row = await session.get(StaffSetting, SETTINGS_KEY)
    stored = dict(row.value) if row is not None else {}
    stored.update(overrides)
    config = merged(stored)
    if row is None:
        session.add(StaffSetting(key=SETTINGS_KEY, value=stored, updated_by=actor, updated_at=now))
    else:
        row.value, row.updated_by, row.updated_at = stored, actor, now
    await session.flush()
    return config
