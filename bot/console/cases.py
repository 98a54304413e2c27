"""Case library pages: list and search, one case (edit), the review queue of drafts."""

from __future__ import annotations

from aiohttp import web

from bot.console.web import form_text, redirect, render, require, require_post, services_of
from handlers.caselib import drafts
from handlers.staff.access import require_role
from handlers.staff.config import CLASSIFICATIONS
from handlers.staff.errors import Invalid, StaffError

PAGE = 50
DONE = {
    "draft": "已生成案例草稿，等待督办人员或管理员审核",
    "saved": "已保存",
    "publish": "已发布：机器人从现在起就会用这个案例答复群众",
    "reject": "已退回",
    "retire": "已下架：机器人不再使用这个案例",
}


async def case_list(request: web.Request, *, review: bool = False) -> web.Response:
    console_session = await require(request)
    if review:
        require_role(console_session.actor, *drafts.REVIEWERS)
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    status = "draft" if review else (request.query.get("status") or None)
    query = drafts.CaseQuery(
        status=status,
        q=(request.query.get("q") or "").strip()[:100] or None,
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )
    result = await drafts.list_cases(services_of(request), console_session.actor, query)
    return render(
        request,
        "cases.html",
        {
            "result": result,
            "query": query,
            "review": review,
            "page": page,
            "pages": max(1, -(-result["total"] // PAGE)),
            "status_labels": drafts.STATUS_LABELS,
        },
        console_session,
    )


async def review_queue(request: web.Request) -> web.Response:
    return await case_list(request, review=True)


async def case_page(
    request: web.Request, error: str = "", status: int = 200, form=None
) -> web.Response:
    console_session = await require(request)
    case = await drafts.get_case(
        services_of(request), console_session.actor, request.match_info["case_id"]
    )
    actor = console_session.actor
    return render(
        request,
        "case.html",
        {
            "case": case,
            "may_review": actor.role in drafts.REVIEWERS,
            "classifications": CLASSIFICATIONS,
            "handlings": drafts.HANDLINGS,
            "done": DONE.get(request.query.get("done", ""), ""),
            "error": error,
            "form": form,
        },
        console_session,
        status,
    )


async def case_save(request: web.Request) -> web.Response:
    console_session, form = await require_post(request)
    case_id = request.match_info["case_id"]
    changes = {
        key: form_text(form, key)
        for key in ("title", "problem", "solution", "category", "handling", "department")
    }
    changes["keywords"] = form_text(form, "keywords")
    try:
        await drafts.update_case(services_of(request), console_session.actor, case_id, changes)
        if form_text(form, "then") == "publish":
            await drafts.change_status(
                services_of(request), console_session.actor, case_id, "publish"
            )
            return redirect(f"/console/cases/{case_id}?done=publish")
    except StaffError as error:
        if error.status in (400, 409):
            return await case_page(request, error.message, error.status, changes)
        raise
    return redirect(f"/console/cases/{case_id}?done=saved")


async def case_status(request: web.Request) -> web.Response:
    console_session, form = await require_post(request)
    case_id = request.match_info["case_id"]
    action = request.match_info["action"]
    if action not in drafts.TRANSITIONS:
        raise Invalid("不认识的操作")
    try:
        await drafts.change_status(
            services_of(request), console_session.actor, case_id, action, form_text(form, "reason")
        )
    except StaffError as error:
        if error.status in (400, 409):
            return await case_page(request, error.message, error.status)
        raise
    return redirect(f"/console/cases/{case_id}?done={action}")


ROUTES = [
    ("GET", "/cases", case_list),
    ("GET", "/cases/review", review_queue),
    ("GET", "/cases/{case_id}", case_page),
    ("POST", "/cases/{case_id}", case_save),
    ("POST", "/cases/{case_id}/{action}", case_status),
]
