"""The text primitives every part of citewise reads words with (rag/language/textrules.py)."""

from __future__ import annotations

from rag.language.textrules import (
    ANAPHOR,
    DEFINITE_ORG,
    MARKER,
    PRONOUN,
    YEAR,
    content_terms,
    index_terms,
    is_year,
    markers_before_stop,
    names,
    numbers,
    strip_markers,
)


def test_content_terms_stem_and_drop_stop_and_question_words():
    assert content_terms("How much did Microsoft pay?") == ["microsoft", "pay"]
    assert content_terms("The partnership began") == content_terms("partnerships begin")


def test_index_terms_keep_what_persisted_bm25_indexes_were_built_with():
    assert index_terms("The companies are partnering") == ["compani", "partner"]
    # question words stay and irregular past forms are not folded (unlike content terms)
    assert index_terms("How much was paid") == ["much", "paid"]


def test_numbers_fold_thousands_separators():
    assert numbers("$1,000 and 1000, 32.5 per cent in 2019.") == {"1000", "32.5", "2019"}


def test_names():
    assert names("OpenAI said Microsoft’s deal with the U.S. government") >= {"microsoft", "openai"}
    assert "the" not in names("The deal") and "following" not in names("Following the deal")
    assert names("Google holds it") == set()  # a plain sentence-initial word is not a name
    assert names("IBM holds it") == {"ibm"}


def test_years():
    assert [m.group() for m in YEAR.finditer("In 2019 it paid $2019 for 2019.5 units, 1400")] == ["2019"]
    assert is_year("2032") and not is_year("1400") and not is_year("20321")


def test_markers():
    assert [m.group(1) for m in MARKER.finditer("A [1]. B [1, 2]. C [x]")] == ["1", "1, 2"]
    assert strip_markers("Microsoft holds 27 per cent [1, 2].") == "Microsoft holds 27 per cent."
    assert markers_before_stop("It ends in 2032. [1] Then [2].") == "It ends in 2032 [1]. Then [2]."
    assert markers_before_stop("Done. [Source 1]", model=True) == "Done [Source 1]."
    assert markers_before_stop("Done. [Source 1]") == "Done. [Source 1]"


def test_words_that_refer_back():
    assert PRONOUN.search("What about its rights?") and not PRONOUN.search("What about Amazon?")
    assert DEFINITE_ORG.search("Does the company keep them?")
    assert ANAPHOR.search("the deal gives microsoft rights")
    assert ANAPHOR.search("that year it grew") and not ANAPHOR.search("microsoft holds a stake")
