"""Case-library effects of the dialog: SearchCases and CaseFeedback."""

from __future__ import annotations

from typing import Any

from dialogs.effects import CaseFeedback, SearchCases
from handlers.context import TurnContext
from handlers.effects import EffectRegistry
from storage.repositories import cases

effects = EffectRegistry()


@effects.register(SearchCases)
async def search_cases(ctx: TurnContext, effect: SearchCases) -> dict[str, Any]:
    library = ctx.services.library
    if library is None:
        return {"type": "cases", "decision": "none", "cases": []}
    result = await library.search(ctx.session, effect.query)
    shown = result.ids[:1] if result.decision == "answer" else result.ids[:3]
    if result.decision == "none":
        shown = []
    described = await library.describe(ctx.session, shown)
    decision = result.decision if described else "none"
    await cases.count_use(ctx.session, [c["id"] for c in described], "shown")
    return {"type": "cases", "decision": decision, "cases": described}


@effects.register(CaseFeedback)
async def case_feedback(ctx: TurnContext, effect: CaseFeedback) -> None:
    await cases.count_use(
        ctx.session, [effect.case_id], "helpful" if effect.helpful else "rejected"
    )
