"""The barometer page (charts as inline SVG drawn here) and its CSV and .xlsx exports."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from aiohttp import web
from markupsafe import Markup, escape
from openpyxl import Workbook
from openpyxl.styles import Font

from bot.api.http import day_start
from bot.console.web import render, require, services_of
from handlers import centres
from handlers.staff.barometer import Table, barometer
from handlers.staff.errors import Invalid
from handlers.staff.workdays import local_date
from storage.columns import utcnow

BAR_COLOURS = ("#2f6fb3", "#d9822b", "#3a9a5b", "#b8434e", "#7b5ea7", "#5b8c99")


def _period(request: web.Request) -> tuple[date, date, str | None]:
    today = local_date(utcnow())

    def day(key: str, default: date) -> date:
        value = request.query.get(key)
        if not value:
            return default
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise Invalid(f"日期格式应为 2026-10-01（{key}）") from None

    first, last = day("from", today - timedelta(days=29)), day("to", today)
    if last < first:
        raise Invalid("结束日期不能早于开始日期")
    return first, last, request.query.get("centre") or None


async def _tables(request: web.Request):  # type: ignore[no-untyped-def]
    console_session = await require(request)
    first, last, centre = _period(request)
    result = await barometer(
        services_of(request),
        console_session.actor,
        day_start(first),
        day_start(last + timedelta(days=1)),
        centre,
    )
    return console_session, first, last, centre, result


def bar_chart(table: Table, width: int = 460) -> Markup:
    """A horizontal bar chart of a (label, count) table, as inline SVG; labels escaped."""
    rows = table.rows[:12]
    if not rows:
        return Markup('<p class="muted">本期没有数据</p>')
    top = max(int(r[1]) for r in rows) or 1
    label_w, bar_h, gap = 150, 22, 8
    height = len(rows) * (bar_h + gap) + gap
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" aria-label="{escape(table.title)}">'
    ]
    for i, (label, count) in enumerate((r[0], int(r[1])) for r in rows):
        y = gap + i * (bar_h + gap)
        w = max(2, round((width - label_w - 50) * count / top))
        text = str(label)
        short = text if len(text) <= 10 else text[:9] + "…"
        colour = BAR_COLOURS[i % len(BAR_COLOURS)]
        parts.append(
            f"<g><title>{escape(text)}：{count}</title>"
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="13">'
            f"{escape(short)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" rx="3" fill="{colour}"/>'
            f'<text x="{label_w + w + 6}" y="{y + 16}" font-size="13">{count}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


async def dashboard_page(request: web.Request) -> web.Response:
    console_session, first, last, centre, result = await _tables(request)
    query = {"from": first.isoformat(), "to": last.isoformat(), "centre": centre or ""}
    return render(
        request,
        "dashboard.html",
        {
            "first": first,
            "last": last,
            "centre": centre or "",
            "centres": centres.CENTRES,
            "fixed_centre": console_session.actor.role == "clerk",
            "stats": result["stats"],
            "tables": result["tables"],
            "chart": bar_chart,
            "query": query,
        },
        console_session,
    )


def _cell(value: object) -> object:
    """Spreadsheet-safe: text that a spreadsheet would run as a formula is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _filename(first: date, last: date, ext: str) -> str:
    return f"barometer-{first:%Y%m%d}-{last:%Y%m%d}.{ext}"


async def export_csv(request: web.Request) -> web.Response:
    _, first, last, _centre, result = await _tables(request)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["办不成事窗口晴雨表", f"{first} 至 {last}", result["stats"]["centre"] or "全部中心"]
    )
    for table in result["tables"]:
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.headers)
        writer.writerows([[_cell(v) for v in row] for row in table.rows])
    body = "\ufeff" + out.getvalue()  # the BOM makes Excel read the file as UTF-8
    return web.Response(
        body=body.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(first, last, "csv")}"'},
    )


async def export_xlsx(request: web.Request) -> web.Response:
    _, first, last, _centre, result = await _tables(request)
    book = Workbook()
    book.remove(book.active)
    for table in result["tables"]:
        sheet = book.create_sheet(table.title[:31])
        sheet.append(
            [f"{table.title}（{first} 至 {last}，{result['stats']['centre'] or '全部中心'}）"]
        )
        sheet.append(table.headers)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_cell(v) for v in row])
        sheet.column_dimensions["A"].width = 36
        sheet.column_dimensions["B"].width = 14
    buffer = io.BytesIO()
    book.save(buffer)
    return web.Response(
        body=buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_filename(first, last, "xlsx")}"'},
    )


ROUTES = [
    ("GET", "/dashboard", dashboard_page),
    ("GET", "/dashboard.csv", export_csv),
    ("GET", "/dashboard.xlsx", export_xlsx),
]
