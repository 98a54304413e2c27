"""A ticket's statuses and how citizens and staff read them (one source for every screen)."""

from __future__ import annotations

# new -> accepted -> in_progress -> resolved -> closed, and back to in_progress on reopen.
STATUS_LABELS = {
    "new": "待受理",
    "accepted": "已受理",
    "in_progress": "办理中",
    "resolved": "已办结",
    "closed": "已关闭",
}
