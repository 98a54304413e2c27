"""Account events: following, unfollowing, and the ones that need no answer."""

from __future__ import annotations

from handlers.context import TurnContext
from handlers.conversation import converse
from handlers.dispatcher import Router

router = Router("events")


@router.on("subscribe")
async def subscribed(ctx: TurnContext) -> list[str]:
    ctx.citizen.subscribed = True
    scene = str(ctx.incoming.payload.get("scene", ""))
    if scene:
        ctx.citizen.scene = scene[:64]  # which QR code (which service hall) brought them
    return await converse(ctx)


@router.on("unsubscribe")
async def unsubscribed(ctx: TurnContext) -> list[str]:
    ctx.citizen.subscribed = False
    return []  # WeChat shows nothing to someone who has left


@router.on("location_report", "event")
async def silent(ctx: TurnContext) -> list[str]:
    return []  # periodic location reports and job notices: recorded, not answered
