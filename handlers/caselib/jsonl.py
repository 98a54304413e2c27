"""Read and write case files (JSON Lines), all-or-nothing.

``load_cases`` validates every line before returning anything: the first bad line raises
``CaseFileError`` naming the line number and the problem, so a caller imports nothing of a bad
file. ``dump_cases`` writes cases back in the same format (UTF-8, one object per line).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from handlers.caselib.matcher import CaseDoc

CATEGORIES = ("政务类", "非政务类")
HANDLINGS = ("转办", "协调", "引导", "协办")
FIELDS = ("id", "title", "category", "handling", "department", "problem", "solution", "keywords")


class CaseFileError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def parse_case(obj: object, line: int) -> CaseDoc:
    if not isinstance(obj, dict):
        raise CaseFileError(line, "expected a JSON object")
    missing = [f for f in FIELDS if f not in obj]
    if missing:
        raise CaseFileError(line, f"missing field(s): {', '.join(missing)}")
    for f in FIELDS[:-1]:
        if not isinstance(obj[f], str):
            raise CaseFileError(line, f"field {f!r} must be a string")
    if not obj["id"].strip():
        raise CaseFileError(line, "field 'id' must not be empty")
    for f in ("title", "problem", "solution"):
        if not obj[f].strip():
            raise CaseFileError(line, f"field {f!r} must not be empty")
    if obj["category"] not in CATEGORIES:
        raise CaseFileError(line, f"category {obj['category']!r} is not one of {CATEGORIES}")
    if obj["handling"] not in HANDLINGS:
        raise CaseFileError(line, f"handling {obj['handling']!r} is not one of {HANDLINGS}")
    kws = obj["keywords"]
    if not isinstance(kws, list) or not all(isinstance(k, str) and k.strip() for k in kws):
        raise CaseFileError(line, "field 'keywords' must be a list of non-empty strings")
    return CaseDoc(
        id=obj["id"].strip(),
        title=obj["title"],
        problem=obj["problem"],
        solution=obj["solution"],
        keywords=tuple(kws),
        category=obj["category"],
        handling=obj["handling"],
        department=obj["department"],
    )


def read_cases(lines: Iterable[str]) -> list[CaseDoc]:
    cases: list[CaseDoc] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CaseFileError(lineno, f"invalid JSON: {exc.msg}") from None
        case = parse_case(obj, lineno)
        if case.id in seen:
            raise CaseFileError(lineno, f"duplicate id {case.id!r} (first on line {seen[case.id]})")
        seen[case.id] = lineno
        cases.append(case)
    return cases


def load_cases(path: str | Path) -> list[CaseDoc]:
    with open(path, encoding="utf-8") as fh:
        return read_cases(fh)


def case_to_dict(case: CaseDoc) -> dict:
    """The JSON Lines record of a case (the import/export format); CaseDoc or a Case row."""
    return {
        name: list(getattr(case, name) or []) if name == "keywords" else getattr(case, name)
        for name in FIELDS
    }


def dump_cases(cases: Iterable[CaseDoc], out: IO[str]) -> int:
    n = 0
    for case in cases:
        out.write(json.dumps(case_to_dict(case), ensure_ascii=False) + "\n")
        n += 1
    return n


def save_cases(cases: Iterable[CaseDoc], path: str | Path) -> int:
    with open(path, "w", encoding="utf-8") as fh:
        return dump_cases(cases, fh)


def read_queries(path: str | Path, *, with_expect: bool = False) -> list[dict]:
    """Labelled or unlabelled message files: ``{"query": ...}`` per line (``expect`` optional).

    Only ``query`` is kept unless ``with_expect`` is true (the match command never reads it).
    """
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise CaseFileError(lineno, f"invalid JSON: {exc.msg}") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("query"), str):
                raise CaseFileError(lineno, "expected an object with a string 'query'")
            row = {"query": obj["query"]}
            if with_expect:
                if "expect" not in obj:
                    raise CaseFileError(lineno, "labelled file needs 'expect' (id or null)")
                row["expect"] = obj["expect"]
            rows.append(row)
    return rows
