"""`doudi cases`: search and calibrate the solved-case library."""

from __future__ import annotations

import json
import sys

import click


@click.group(name="cases")
def cases() -> None:
    """Solved-case library: match messages, calibrate thresholds."""


@cases.command("match")
@click.option(
    "--library",
    "library",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Case library (JSONL).",
)
@click.option(
    "--queries",
    "queries",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help='Messages, one {"query": ...} JSON object per line; other fields ignored.',
)
@click.option(
    "--thresholds",
    "thresholds",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Thresholds JSON (default: the shipped calibrated file).",
)
def match(library: str, queries: str, thresholds: str | None) -> None:
    """Print one JSON line per message: query, decision, ids, scores."""
    from handlers.caselib.calibration import Thresholds
    from handlers.caselib.jsonl import CaseFileError, load_cases, read_queries
    from handlers.caselib.matcher import CaseMatcher

    try:
        lib = load_cases(library)
        rows = read_queries(queries)  # keeps only "query"; never reads "expect"
    except CaseFileError as exc:
        raise click.ClickException(str(exc)) from None
    th = Thresholds.load(thresholds) if thresholds else None
    matcher = CaseMatcher(lib, thresholds=th)
    out = sys.stdout
    for row in rows:
        res = matcher.search(row["query"])
        out.write(
            json.dumps(
                {
                    "query": row["query"],
                    "decision": res.decision,
                    "ids": res.ids,
                    "scores": res.scores,
                },
                ensure_ascii=False,
            )
            + "\n"
        )


@cases.command("calibrate")
@click.option(
    "--library",
    required=True,
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Case library (JSONL). Repeat together with --queries to pool libraries.",
)
@click.option(
    "--queries",
    required=True,
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help='Labelled messages: {"query": ..., "expect": case id or null} per line; '
    "the n-th --queries file belongs to the n-th --library.",
)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
@click.option("--no-perturb", is_flag=True, help="Calibrate on the messages as written only.")
def calibrate(
    library: tuple[str, ...], queries: tuple[str, ...], out: str, no_perturb: bool
) -> None:
    """Fit the answer model and decision thresholds on labelled messages; write them as JSON."""
    from handlers.caselib.calibration import calibrate_files
    from handlers.caselib.jsonl import CaseFileError

    if len(library) != len(queries):
        raise click.UsageError("give one --queries file per --library")
    try:
        th = calibrate_files(list(library), list(queries), perturbed=not no_perturb)
    except CaseFileError as exc:
        raise click.ClickException(str(exc)) from None
    th.save(out)
    ans = (
        f"answer P>={th.model['answer_prob']}"
        if th.model
        else f"answer>={th.answer_score} margin>={th.answer_margin}"
    )
    click.echo(f"wrote {out}: {ans}, suggest>={th.suggest_score}", err=True)


command = cases


@cases.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--only-new", is_flag=True, help="Add cases whose id is new; leave others as they are."
)
def import_cases(path: str, only_new: bool) -> None:
    """Import cases from JSON Lines into the database (idempotent by id; all or nothing)."""
    from bot.cli.database import run_in_transaction
    from handlers.caselib.jsonl import CaseFileError, case_to_dict, load_cases
    from storage.columns import utcnow
    from storage.repositories import cases as repo

    try:
        docs = load_cases(path)  # validates every line before anything is written
    except CaseFileError as error:
        raise click.ClickException(f"{path}: {error}; nothing was imported") from None

    async def store(session) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        rows = [case_to_dict(d) for d in docs]
        if only_new:
            rows = [r for r in rows if await repo.get(session, r["id"]) is None]
        return await repo.upsert_many(session, rows, utcnow())

    added, updated = run_in_transaction(store)
    click.echo(f"imported {path}: {added} added, {updated} updated")


@cases.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--status",
    default="published",
    show_default=True,
    type=click.Choice(["published", "draft", "retired", "all"]),
)
def export_cases(path: str, status: str) -> None:
    """Write the library's cases as JSON Lines (the import format)."""
    from bot.cli.database import run_in_transaction
    from storage.repositories import cases as repo

    wanted = ("published", "draft", "retired") if status == "all" else (status,)

    async def read(session) -> list[dict]:  # type: ignore[no-untyped-def]
        return [repo.as_record(c) for c in await repo.with_status(session, *wanted)]

    records = run_in_transaction(read)
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    click.echo(f"exported {len(records)} cases to {path}")
