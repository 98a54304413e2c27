"""Routing: one Router per feature, gathered by a Dispatcher (like aiogram's).

A handler gets the TurnContext of one incoming message, inside that citizen's serialised
transaction, and returns the reply texts to send back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.context import TurnContext

Handler = Callable[[TurnContext], Awaitable[list[str]]]


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: dict[str, Handler] = {}

    def on(self, *kinds: str) -> Callable[[Handler], Handler]:
        """Register a handler for these incoming kinds ("*" for any kind not claimed elsewhere)."""

        def register(handler: Handler) -> Handler:
            for kind in kinds:
                if kind in self._handlers:
                    raise ValueError(f"router {self.name}: {kind!r} registered twice")
                self._handlers[kind] = handler
            return handler

        return register

    def handler_for(self, kind: str) -> Handler | None:
        return self._handlers.get(kind)


class Dispatcher:
    def __init__(self, *routers: Router) -> None:
        self.routers = routers

    def resolve(self, kind: str) -> Handler | None:
        for wanted in (kind, "*"):
            for router in self.routers:
                handler = router.handler_for(wanted)
                if handler is not None:
                    return handler
        return None

    async def dispatch(self, ctx: TurnContext) -> list[str]:
        handler = self.resolve(ctx.incoming.kind)
        return [] if handler is None else await handler(ctx)
