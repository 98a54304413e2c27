"""The case library in the conversation: answer, suggestions, feedback, publish and retire."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from bot.app import DB_KEY
from bot.cli import main
from handlers.caselib.jsonl import case_to_dict, load_cases
from handlers.caselib.matcher import WARM_UP_QUERY, CaseMatcher
from storage.columns import utcnow
from storage.models import Case, Ticket
from storage.repositories import cases as case_repo
from tests.journey import ANSWERS, Citizen

DEMO = "handlers/caselib/data/demo_cases.jsonl"
DEMO_CASES = {c.id: c for c in load_cases(DEMO)}
LAND = DEMO_CASES["D001"]  # 老房子土地证房产证不一致无法过户


async def publish_demo(client, status: str = "published") -> None:
    async with client.server.app[DB_KEY].transaction() as session:
        rows = [case_to_dict(c) for c in DEMO_CASES.values()]
        await case_repo.upsert_many(session, rows, utcnow(), status=status)


async def case_row(client, case_id: str) -> Case:
    async with client.server.app[DB_KEY].sessions() as session:
        return await session.get(Case, case_id)


async def tickets_of(client, openid: str) -> list[Ticket]:
    async with client.server.app[DB_KEY].sessions() as session:
        return list(await session.scalars(select(Ticket).where(Ticket.openid == openid)))


async def test_confident_answer_then_it_helped(wechat, client) -> None:
    await publish_demo(client)  # published while the server runs: searchable at once
    citizen = Citizen(wechat)
    reply = await citizen.say(LAND.title)
    assert LAND.title in reply and "能解决" in reply
    assert LAND.department.split("、")[0] in reply
    ended = await citizen.say("1")
    assert "登记" not in ended or "不" in ended  # a kind goodbye, no intake question
    assert await tickets_of(client, citizen.openid) == []
    case = await case_row(client, "D001")
    assert (case.shown_count, case.helpful_count, case.rejected_count) == (1, 1, 0)


async def test_answer_did_not_help_so_intake_goes_on_and_staff_see_it(wechat, client) -> None:
    await publish_demo(client)
    citizen = Citizen(wechat)
    await citizen.say(LAND.title)
    assert "部门或窗口" in await citizen.say("2")
    for answer in ANSWERS:
        await citizen.say(answer)
    await citizen.say("确认")
    [ticket] = await tickets_of(client, citizen.openid)
    assert [s["id"] for s in ticket.case_suggestions] == ["D001"]
    assert ticket.case_suggestions[0]["title"] == LAND.title
    assert (await case_row(client, "D001")).rejected_count == 1


async def test_retired_case_is_never_answered_and_published_one_is(wechat, client) -> None:
    await publish_demo(client, status="draft")
    first = Citizen(wechat)
    assert LAND.title not in await first.say(LAND.title)  # drafts are not searchable
    async with client.server.app[DB_KEY].transaction() as session:
        await case_repo.set_status(session, "D001", "published", utcnow())
    second = Citizen(wechat)
    assert LAND.title in await second.say(LAND.title)
    async with client.server.app[DB_KEY].transaction() as session:
        await case_repo.set_status(session, "D001", "retired", utcnow())
    third = Citizen(wechat)
    assert LAND.title not in await third.say(LAND.title)


async def test_menu_faq_searches_the_library(wechat, client) -> None:
    await publish_demo(client)
    citizen = Citizen(wechat)
    await citizen.say("你好")
    asked = await citizen.say("3")
    assert asked
    reply = await citizen.say(LAND.title)
    assert LAND.title in reply


def test_import_is_all_or_nothing_with_the_line_number(tmp_path, monkeypatch) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("DOUDI_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    good = [json.dumps(case_to_dict(c), ensure_ascii=False) for c in DEMO_CASES.values()]
    bad = json.loads(good[2])
    bad["handling"] = "随便"
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([*good[:2], json.dumps(bad, ensure_ascii=False)]) + "\n")
    result = runner.invoke(main, ["cases", "import", str(broken)])
    assert result.exit_code != 0
    assert "line 3" in result.output and "nothing was imported" in result.output
    out = tmp_path / "out.jsonl"
    assert runner.invoke(main, ["cases", "export", str(out)]).exit_code == 0
    assert out.read_text() == ""  # the two good lines were not imported either

    assert runner.invoke(main, ["cases", "import", DEMO]).exit_code == 0
    again = runner.invoke(main, ["cases", "import", DEMO])  # idempotent by id
    assert f"0 added, {len(DEMO_CASES)} updated" in again.output
    assert runner.invoke(main, ["cases", "export", str(out)]).exit_code == 0
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert exported == [case_to_dict(c) for c in sorted(DEMO_CASES.values(), key=lambda c: c.id)]


async def test_the_library_is_warmed_up_before_the_first_search(database_url, monkeypatch) -> None:
    """Loading jieba's word frequencies on the first search took ~0.2 s on the event loop:
    the first 32 requests of run.py waited for it (p99 240-270 ms). It is loaded at startup."""
    from handlers.caselib import wordfreq
    from handlers.caselib.library import CaseLibrary
    from storage.db import Database

    monkeypatch.setattr(wordfreq, "_table", None)
    searched: list[str] = []
    real_search = CaseMatcher.search
    monkeypatch.setattr(
        CaseMatcher, "search", lambda self, q: searched.append(q) or real_search(self, q)
    )
    db = Database(database_url)
    try:
        library = await CaseLibrary.load(db)
    finally:
        await db.dispose()
    assert wordfreq._table is not None and len(wordfreq._table) > 10_000
    assert searched == [WARM_UP_QUERY]
    assert len(library.matcher) == 0  # nothing published: the warm-up changed nothing
