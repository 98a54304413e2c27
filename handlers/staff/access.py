"""Who may do what.

- clerk: sees and works only the tickets of their own centre;
- supervisor: sees every centre; besides a clerk's work reassigns, extends deadlines, 督办;
- admin: manages accounts, configuration and the case library; does not work tickets.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers import centres
from handlers.staff.errors import Forbidden
from storage.models import StaffAccount, Ticket

ROLES = ("clerk", "supervisor", "admin")
ROLE_LABELS = {"clerk": "窗口人员", "supervisor": "督办人员", "admin": "管理员"}


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    display_name: str
    role: str
    centre: str  # centre code; "" for supervisors and admins without one

    @property
    def centre_name(self) -> str:
        return centres.name_of(self.centre)

    @classmethod
    def of(cls, account: StaffAccount) -> Actor:
        return cls(account.id, account.username, account.display_name, account.role, account.centre)


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        allowed = "、".join(ROLE_LABELS[r] for r in roles)
        raise Forbidden(f"只有{allowed}可以这样做")


def works_tickets(actor: Actor) -> None:
    require_role(actor, "clerk", "supervisor")


def may_see(actor: Actor, ticket: Ticket) -> bool:
    if actor.role == "supervisor":
        return True
    if actor.role == "clerk":
        return bool(actor.centre) and ticket.centre == actor.centre_name
    return False


def check_ticket(actor: Actor, ticket: Ticket) -> None:
    works_tickets(actor)
    if not may_see(actor, ticket):
        raise Forbidden("这张工单不属于您所在的服务中心")


def centre_scope(actor: Actor) -> str | None:
    """The centre name a query is limited to, or None for every centre."""
    works_tickets(actor)
    return actor.centre_name if actor.role == "clerk" else None


def stats_scope(actor: Actor) -> str | None:
    """Statistics: a clerk sees their centre's, supervisors and admins every centre's."""
    return actor.centre_name if actor.role == "clerk" else None
