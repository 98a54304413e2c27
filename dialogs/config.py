"""DialogConfig: everything the pure dialogs need to know about the deployment (Fuzhou defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialogs.flows import Flow


@dataclass(frozen=True)
class Centre:
    """A 办不成事 window. `aliases` are other unambiguous ways people name the place."""

    name: str
    lat: float
    lon: float
    aliases: tuple[str, ...] = ()
    # False for the city-level window: it serves everybody, so it is never "the nearest".
    by_location: bool = True


DEFAULT_CENTRES: tuple[Centre, ...] = (
    Centre("市本级", 26.0745, 119.2965, ("市级", "市直"), by_location=False),
    Centre("鼓楼区", 26.0822, 119.2960),
    Centre("台江区", 26.0530, 119.3140),
    Centre("仓山区", 26.0468, 119.2733),
    Centre("晋安区", 26.0820, 119.3280),
    Centre("马尾区", 25.9890, 119.4550),
    Centre("长乐区", 25.9627, 119.5231),
    Centre("福清市", 25.7200, 119.3840),
    Centre("闽侯县", 26.1500, 119.1310),
    Centre("连江县", 26.1970, 119.5390),
    Centre("罗源县", 26.4900, 119.5500),
    Centre("闽清县", 26.2210, 118.8630),
    Centre("永泰县", 25.8660, 118.9390),
    Centre("平潭县", 25.5030, 119.7910, ("平潭综合实验区",)),
)


def _default_flow() -> Flow:
    from dialogs.flows import INTAKE_FLOW

    return INTAKE_FLOW


@dataclass(frozen=True)
class DialogConfig:
    centres: tuple[Centre, ...] = DEFAULT_CENTRES
    # Timers armed on every intake turn (re-arming replaces the previous one of that name).
    reminder_after: timedelta = timedelta(minutes=30)
    draft_after: timedelta = timedelta(hours=24)
    # Messages for the same free-text field arriving this close together are one answer.
    burst_window: timedelta = timedelta(seconds=2)
    # The intake form; its `version` is stored with every intake in flight.
    intake_flow: Flow = field(default_factory=_default_flow)
    # Failed answers to one field before the bot offers 人工.
    offer_human_after: int = 3
    # A first message with at least this many characters of content starts an intake.
    describe_min_chars: int = 12
    # Said after filing: what happens next.
    next_steps: str = "工作人员会尽快核实，并通过电话或本公众号联系您。"
    window_name: str = "办不成事窗口"

    @property
    def flow_version(self) -> int:
        return self.intake_flow.version

    def centre_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.centres)
