from __future__ import annotations

import pytest

from handlers.caselib.matcher import CaseDoc, CaseMatcher
from handlers.caselib.normalize import normalize
from handlers.caselib.synonyms import (
    SynonymFileError,
    SynonymRewriter,
    load_synonyms,
    parse_synonym_lines,
)


def test_full_width_and_punctuation_are_folded():
    assert normalize("ＡＢＣ　１２３，公积金！") == "abc123公积金"


def test_traditional_becomes_simplified():
    assert normalize("戶口簿遺失補辦") == "户口簿遗失补办"


def test_shipped_synonym_file_loads_and_rewrites_aliases():
    groups = load_synonyms()
    assert any("房产证" in g for g in groups)
    rw = SynonymRewriter.from_groups(groups)
    assert rw.rewrite(normalize("住房公积金")) == rw.rewrite(normalize("公积金"))
    assert rw.rewrite("驾照") == rw.rewrite("驾驶证")


def test_bad_synonym_line_is_reported_with_line_number():
    with pytest.raises(SynonymFileError, match="line 2"):
        parse_synonym_lines(["# c", "孤零零"])
    with pytest.raises(SynonymFileError, match="line 3"):
        parse_synonym_lines(["甲乙 丙丁", "", "甲乙 戊己"])


def _case(cid, title, problem, kws):
    return CaseDoc(cid, title, problem, "到相关部门办理。", tuple(kws))


def test_synonym_lets_citizen_wording_find_the_official_term():
    cases = [
        _case(
            "A", "不动产权证书遗失补发", "市民的不动产权证书遗失需要补发。", ["不动产权证书补发"]
        ),
        _case("B", "营业执照遗失补办", "个体户营业执照遗失需要补办。", ["营业执照补办"]),
    ]
    m = CaseMatcher(cases)
    assert m.rank("房本丢了要补发")[0][0] == "A"
    # Without the group, the citizen word shares nothing specific with case A.
    from handlers.caselib.index import Analyzer

    bare = CaseMatcher(cases, analyzer=Analyzer(rewriter=SynonymRewriter.from_groups([])))
    ranked = bare.rank("房本丢了要补发")
    assert not ranked or ranked[0][1] < m.rank("房本丢了要补发")[0][1]


def test_family_words_of_everyday_speech_reach_the_case(demo_matcher):
    # 娃 is how many citizens say 孩子; 老爸 and 老太太 are 父亲 and 老人 in the cases' words.
    assert demo_matcher.rank("娃在国外生的回来上不了户口")[0][0] == "D095"
    rw = SynonymRewriter.default()
    assert rw.rewrite(normalize("老爸走了")) == rw.rewrite(normalize("父亲走了"))
    assert rw.rewrite(normalize("老太太九十了")) == rw.rewrite(normalize("老人九十了"))
    # 老家父母 must not turn into 老 + 父亲 + 母: no alias may straddle everyday words.
    assert "父亲" not in rw.rewrite(normalize("弟弟在老家父母户口上"))
