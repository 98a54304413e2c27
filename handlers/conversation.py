"""The conversation router: runs the citizen's pure dialog and carries out its effects."""

from __future__ import annotations

import logging
from collections import deque

from dialogs import conversation as dialog
from dialogs.types import Inbound
from handlers.context import TurnContext
from handlers.dispatcher import Router

log = logging.getLogger(__name__)
router = Router("conversation")

# Effects feed results back into the dialog, which may ask for more; a dialog bug must
# not spin a turn forever.
MAX_STEPS = 12


async def run_dialog(ctx: TurnContext, inbound: Inbound) -> list[str]:
    state = ctx.citizen.dialog_state or {}  # step copies only what it changes
    replies: list[str] = []
    pending: deque[Inbound] = deque([inbound])
    steps = 0
    while pending:
        steps += 1
        if steps > MAX_STEPS:
            log.error("dialog did not settle after %d steps; stopping the turn", MAX_STEPS)
            break
        turn = dialog.step(state, pending.popleft(), ctx.services.dialog_config)
        state = turn.state
        replies.extend(turn.replies)
        for result in await ctx.services.effects.run_all(ctx, turn.effects):
            if result is not None:
                pending.append(Inbound(kind="result", at=inbound.at, result=result))
    ctx.citizen.dialog_state = state
    return replies


@router.on("*")
async def converse(ctx: TurnContext) -> list[str]:
    if ctx.incoming.inbound is None:
        return []
    return await run_dialog(ctx, ctx.incoming.inbound)
