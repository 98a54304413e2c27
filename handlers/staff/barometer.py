"""The barometer (晴雨表): where requests get stuck, as tables for a period and centre.

Built on stats.statistics (the API's /stats) plus the case library's usage counters; the
console draws the tables as charts and exports them as CSV and .xlsx.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handlers.caselib.drafts import usage_totals
from handlers.services import Services
from handlers.staff import stats
from handlers.staff.access import Actor

MODE_LABELS = {
    "transfer": "转办",
    "coordinate": "协调",
    "guide": "指导",
    "assist": "协办",
    "direct": "直接办结",
}


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Any]]
    chart: bool = True  # a breakdown worth a bar chart (label, count)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "—"


def _or_dash(value: Any) -> Any:
    return "—" if value is None else value


def _breakdown(key: str, title: str, label: str, counts: dict[str, int], names=None) -> Table:
    names = names or {}
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return Table(key, title, [label, "件数"], [[names.get(k, k) or "未填写", n] for k, n in rows])


async def barometer(
    services: Services, actor: Actor, start: datetime, end: datetime, centre: str | None = None
) -> dict[str, Any]:
    """{"stats": the API's statistics, "bot": case usage, "tables": [Table]}."""
    result = await stats.statistics(services, actor, start, end, centre)
    async with services.db.sessions() as session:
        usage = await usage_totals(session)
    received, resolved = result["received"], result["resolved"]
    helpful = usage["helpful"]
    satisfaction = result["satisfaction"]
    summary = Table(
        "summary",
        "总体情况",
        ["指标", "数值", "占比"],
        [
            ["收到诉求（工单）", received, ""],
            ["已受理", result["accepted"], _share(result["accepted"], received)],
            [
                "按时受理",
                result["accepted_within_limit"],
                _share(result["accepted_within_limit"], result["accepted"]),
            ],
            ["已办结", resolved, _share(resolved, received)],
            [
                "按时办结",
                result["resolved_within_limit"],
                _share(result["resolved_within_limit"], resolved),
            ],
            ["平均办结用时（工作日）", _or_dash(result["average_working_days_to_resolve"]), ""],
            ["重办", result["reopened"], _share(result["reopened"], resolved)],
            [
                "涉及市场准入壁垒",
                result["market_barrier"],
                _share(result["market_barrier"], resolved),
            ],
            [
                "机器人答复即解决（累计，不计工单）",
                helpful,
                _share(helpful, helpful + received),
            ],
            ["评价次数", satisfaction["ratings"], ""],
            ["平均满意度（1–5）", _or_dash(satisfaction["average_score"]), ""],
        ],
        chart=False,
    )
    tables = [
        summary,
        _breakdown("classification", "按类别", "类别", result["by_classification"]),
        _breakdown("mode", "按办理方式", "办理方式", result["by_handling_mode"], MODE_LABELS),
        _breakdown("department", "按部门", "部门", result["by_department"]),
        _breakdown("stuck", "按卡点原因", "卡点原因", result["by_stuck_reason"]),
        _breakdown("satisfaction", "满意度", "评价", satisfaction["by_level"]),
    ]
    return {"stats": result, "bot": usage, "tables": tables}
