"""The staff side's periodic housekeeping, called by the app's maintenance loop."""

from __future__ import annotations

from handlers.services import Services
from handlers.staff import lifecycle, notify
from storage.columns import utcnow
from storage.repositories import staff as staff_repo


async def run_periodic(services: Services) -> None:
    """Forget expired sessions, close resolved tickets nobody rated, send queued notifications."""
    async with services.db.transaction() as session:
        await staff_repo.purge_expired_sessions(session, utcnow())
    await lifecycle.close_stale_resolved(services)
    await notify.flush_queued(services)
