from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from handlers.caselib.jsonl import CaseFileError, dump_cases, read_cases

from .conftest import DATA, ROOT


def _load_command():
    # bot/cli/__init__.py imports sibling command modules owned by other features; load the
    # cases module on its own so this test does not depend on them.
    import importlib.util

    spec = importlib.util.spec_from_file_location("doudi_cli_cases", ROOT / "bot/cli/cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.command


command = _load_command()

GOOD = {
    "id": "X1",
    "title": "标题够长的一个案例",
    "category": "政务类",
    "handling": "引导",
    "department": "某局",
    "problem": "问题。",
    "solution": "办法。",
    "keywords": ["甲", "乙"],
}


def _line(**kw):
    return json.dumps({**GOOD, **kw}, ensure_ascii=False)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "invalid JSON"),
        (_line(category="其他"), "category"),
        (_line(handling="办理"), "handling"),
        (_line(keywords="甲,乙"), "keywords"),
        (_line(keywords=["甲", 3]), "keywords"),
        (_line(id=""), "id"),
        (_line(id="X1"), "duplicate id"),
        (json.dumps({"id": "X2"}), "missing field"),
    ],
)
def test_bad_line_is_named_and_nothing_imported(bad, message):
    lines = [_line(), "", bad]
    with pytest.raises(CaseFileError, match=rf"line 3: .*{message}") as info:
        read_cases(lines)
    assert info.value.line == 3


def test_export_round_trip():
    cases = read_cases([_line(), _line(id="X2", keywords=["丙"])])
    buf = io.StringIO()
    assert dump_cases(cases, buf) == 2
    assert read_cases(buf.getvalue().splitlines()) == cases


def test_demo_library_is_valid():
    cases = read_cases((DATA / "demo_cases.jsonl").read_text(encoding="utf-8").splitlines())
    assert len(cases) >= 30
    assert {c.category for c in cases} == {"政务类", "非政务类"}
    assert {c.handling for c in cases} == {"转办", "协调", "引导", "协办"}


def test_cli_match_writes_one_line_per_query_and_ignores_expect(tmp_path):
    q = tmp_path / "q.jsonl"
    q.write_text(
        "\n".join(
            [
                json.dumps({"query": "房东不退押金", "expect": "D001"}, ensure_ascii=False),
                json.dumps({"query": "你好"}, ensure_ascii=False),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(
        command, ["match", "--library", str(DATA / "demo_cases.jsonl"), "--queries", str(q)]
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in res.output.splitlines()]
    assert [r["query"] for r in rows] == ["房东不退押金", "你好"]
    assert set(rows[0]) == {"query", "decision", "ids", "scores"}
    assert rows[0]["ids"][0] == "D028"  # not the "expect" we planted
    assert rows[1]["decision"] == "none"
    assert "房东" in res.output  # ensure_ascii=False


def test_cli_match_reports_bad_library_line(tmp_path):
    lib = tmp_path / "lib.jsonl"
    lib.write_text(_line() + "\n" + _line(handling="x") + "\n", encoding="utf-8")
    q = tmp_path / "q.jsonl"
    q.write_text('{"query": "x"}\n', encoding="utf-8")
    res = CliRunner().invoke(command, ["match", "--library", str(lib), "--queries", str(q)])
    assert res.exit_code != 0
    assert "line 2" in res.output


def test_cli_calibrate_writes_thresholds(tmp_path):
    out = tmp_path / "th.json"
    res = CliRunner().invoke(
        command,
        [
            "calibrate",
            "--library",
            str(DATA / "demo_cases.jsonl"),
            "--queries",
            str(DATA / "demo_queries.jsonl"),
            "--out",
            str(out),
            "--no-perturb",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert 0 < data["suggest_score"] <= data["answer_score"]
    assert data["meta"]["calibration_rates"]["answered_wrong"] <= 0.01
