"""Questions typed in a hurry are read as meant, and real words are never "corrected"."""

from __future__ import annotations

from rag.answer.informal import correct_spelling, expand_contractions, tidy, vocabulary

DOC = ["Microsoft retains Azure API exclusivity until AGI.", "The country signed the deal."]


def test_glued_wh_contractions_are_split():
    assert expand_contractions("whens the deal end") == "when is the deal end"
    assert expand_contractions("Whats the stake") == "What is the stake"
    assert expand_contractions("whose stake is it") == "whose stake is it"  # a real word


def test_a_misspelt_word_becomes_the_one_document_word_it_is_one_edit_from():
    assert tidy("whens msft's azure api exclusivty end", DOC) \
        == "when is msft's azure api exclusivity end"
    assert correct_spelling("what did the investmant cost", vocabulary(["the investment"])) \
        == "what did the investment cost"


def test_real_words_short_words_and_capitalised_names_are_left_alone():
    vocab = vocabulary(DOC)
    assert correct_spelling("which county signed", vocab) == "which county signed"  # English
    assert correct_spelling("did Microsofy sign", vocab) == "did Microsofy sign"  # a name
    assert correct_spelling("is it untl agi", vocab) == "is it untl agi"  # too short to guess


def test_an_ambiguous_misspelling_is_left_alone():
    vocab = vocabulary(["the trials", "the trails"])
    assert correct_spelling("which trals", vocab) == "which trals"  # trials or trails?
    assert correct_spelling("which trals", vocabulary(["the trials"])) == "which trials"
