"""Carrying out the effects that pure dialogs ask for. One registered runner per effect type."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from dialogs.types import Effect

if TYPE_CHECKING:
    from handlers.context import TurnContext

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Effect)
Result = Mapping[str, Any] | None
Runner = Callable[["TurnContext", Any], Awaitable[Result]]
BatchRunner = Callable[["TurnContext", list[Any]], Awaitable[None]]


class EffectRegistry:
    def __init__(self) -> None:
        self._runners: dict[type[Effect], Runner] = {}
        # For effect types whose consecutive runs can be carried out together (no results).
        self._batch_runners: dict[type[Effect], BatchRunner] = {}

    def register(
        self, effect_type: type[E]
    ) -> Callable[[Callable[[TurnContext, E], Awaitable[Result]]], Runner]:
        def decorate(runner: Callable[[TurnContext, E], Awaitable[Result]]) -> Runner:
            if effect_type in self._runners:
                raise ValueError(f"{effect_type.__name__} has a runner already")
            self._runners[effect_type] = runner
            return runner

        return decorate

    def register_batch(
        self, effect_type: type[E]
    ) -> Callable[[Callable[[TurnContext, list[E]], Awaitable[None]]], BatchRunner]:
        """A runner for two or more consecutive effects of one type, e.g. the two SetTimer
        the dialog emits on every message: one statement instead of two. The type needs a
        single runner too, and neither may return a result."""

        def decorate(runner: Callable[[TurnContext, list[E]], Awaitable[None]]) -> BatchRunner:
            if effect_type in self._batch_runners:
                raise ValueError(f"{effect_type.__name__} has a batch runner already")
            self._batch_runners[effect_type] = runner
            return runner

        return decorate

    def include(self, other: EffectRegistry) -> None:
        for effect_type, runner in other._runners.items():
            self.register(effect_type)(runner)
        for effect_type, batch_runner in other._batch_runners.items():
            self.register_batch(effect_type)(batch_runner)

    def wrap(self, effect_type: type[Effect], wrapper: Callable[[Runner], Runner]) -> None:
        """Replace an effect's runner by wrapper(runner), e.g. to count what it does."""
        self._runners[effect_type] = wrapper(self._runners[effect_type])
        # The wrapper sees every effect of the type: no batches around it.
        self._batch_runners.pop(effect_type, None)

    async def run(self, ctx: TurnContext, effect: Effect) -> Result:
        runner = self._runners.get(type(effect))
        if runner is None:
            log.error("no runner for effect %s; ignored", effect.name)
            return None
        return await runner(ctx, effect)

    async def run_all(self, ctx: TurnContext, effects: Sequence[Effect]) -> list[Result]:
        """Run effects in order; returns their results. A run of consecutive effects of a
        type with a batch runner is carried out by that runner in one go."""
        results: list[Result] = []
        i = 0
        while i < len(effects):
            effect, end = effects[i], i + 1
            batch_runner = self._batch_runners.get(type(effect))
            if batch_runner is not None:
                while end < len(effects) and type(effects[end]) is type(effect):
                    end += 1
            if batch_runner is not None and end - i > 1:
                await batch_runner(ctx, list(effects[i:end]))
                results.extend([None] * (end - i))
            else:
                results.append(await self.run(ctx, effect))
            i = end
        return results
