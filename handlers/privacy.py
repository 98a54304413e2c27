"""删除我的信息 (the ForgetMe effect): a citizen's drafts are deleted at once."""

from __future__ import annotations

import logging
from typing import Any

from dialogs.effects import ForgetMe
from handlers.context import TurnContext
from handlers.effects import EffectRegistry
from storage.repositories import citizens, privacy

log = logging.getLogger(__name__)
effects = EffectRegistry()


@effects.register(ForgetMe)
async def forget_me(ctx: TurnContext, effect: ForgetMe) -> dict[str, Any]:
    # The dialog state was reset by the dialog itself (and is saved by the turn).
    open_tickets = await privacy.forget_drafts(ctx.session, ctx.citizen.openid)
    await citizens.close_conversation(ctx.session, ctx.citizen, ctx.now)
    log.info("drafts deleted on request; %d open tickets kept", len(open_tickets))
    return {"type": "forgotten", "open_tickets": open_tickets}
