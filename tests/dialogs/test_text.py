"""dialogs.text: normalising what people type."""

from __future__ import annotations

import threading
import unicodedata

from dialogs.text import clean, nfkc, squash


def test_nfkc_is_unicodedatas_also_when_a_text_comes_again() -> None:
    texts = [
        "１２３，好的",
        "１２３，好的",
        "",
        "ＡＢＣ",
        "１２３，好的",
        "abc",
        "ＡＢＣ",
        "ＡＢＣ",
    ]
    assert [nfkc(t) for t in texts] == [unicodedata.normalize("NFKC", t) for t in texts]
    assert nfkc(None) == ""  # type: ignore[arg-type]
    assert squash(" 查 询， ") == "查询" and clean("（鼓楼区）") == "鼓楼区"


def test_nfkc_from_several_threads_gives_each_its_own_text() -> None:
    wrong: list[str] = []

    def work(i: int) -> None:
        for n in range(2000):
            text = f"第{i}号，{n % 7}"
            if nfkc(text) != unicodedata.normalize("NFKC", text):
                wrong.append(text)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
