"""Carrying out the effects that pure dialogs ask for. One registered runner per effect type."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dialogs.types import Effect

if TYPE_CHECKING:
    from handlers.context import TurnContext

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Effect)
Result = Mapping[str, Any] | None
Runner = Callable[["TurnContext", Any], Awaitable[Result]]


class EffectRegistry:
    def __init__(self) -> None:
        self._runners: dict[type[Effect], Runner] = {}

    def register(
        self, effect_type: type[E]
    ) -> Callable[[Callable[[TurnContext, E], Awaitable[Result]]], Runner]:
        def decorate(runner: Callable[[TurnContext, E], Awaitable[Result]]) -> Runner:
            if effect_type in self._runners:
                raise ValueError(f"{effect_type.__name__} has a runner already")
            self._runners[effect_type] = runner
            return runner

        return decorate

    def include(self, other: EffectRegistry) -> None:
        for effect_type, runner in other._runners.items():
            self.register(effect_type)(runner)

    def wrap(self, effect_type: type[Effect], wrapper: Callable[[Runner], Runner]) -> None:
        """Replace an effect's runner by wrapper(runner), e.g. to count what it does."""
        self._runners[effect_type] = wrapper(self._runners[effect_type])

    async def run(self, ctx: TurnContext, effect: Effect) -> Result:
        runner = self._runners.get(type(effect))
        if runner is None:
            log.error("no runner for effect %s; ignored", effect.name)
            return None
        return await runner(ctx, effect)
