"""docs/dialogs.md carries a transcript generated from the engine: keep it current."""

from __future__ import annotations

from pathlib import Path

from .transcript import markdown, play

DOC = Path(__file__).resolve().parents[2] / "docs" / "dialogs.md"


def test_sample_transcript_in_docs_is_current():
    assert markdown(play()).strip() in DOC.read_text(encoding="utf-8"), (
        "regenerate: PYTHONPATH=. python -m tests.dialogs.transcript"
    )


def test_transcript_files_a_ticket_and_shows_its_status():
    chat = play()
    said = "\n".join(text for who, text in chat.transcript if who == "兜底")
    assert "2611 2870 9721" in said and "状态：办理中" in said
