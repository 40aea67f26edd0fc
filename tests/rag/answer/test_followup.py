"""Follow-up questions become one standalone, well-formed question before retrieval."""

from __future__ import annotations

import pytest

from rag.answer.answer_types import AnswerType, question_type
from rag.answer.followup import is_followup, resolve_followup
from rag.records import Turn


def turns(*questions: str) -> list[Turn]:
    return [Turn(question=q, answer="...") for q in questions]


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        # "what about X?": X takes the slot it fills
        ("what about Amazon?", ["Can OpenAI work with Google?"], "Can OpenAI work with Amazon?"),
        ("And Amazon?", ["Can OpenAI work with Google?"], "Can OpenAI work with Amazon?"),
        ("what about Amazon?", ["How much is Microsoft's stake in OpenAI worth?"],
         "How much is Amazon's stake in OpenAI worth?"),  # the holder, not the issuer
        ("what about Amazon?", ["What stake does Microsoft hold in OpenAI Group PBC?"],
         "What stake does Amazon hold in OpenAI Group PBC?"),
        ("And what about the OpenAI Foundation?",
         ["How much is Microsoft's investment in OpenAI Group PBC valued at?"],
         "How much is the OpenAI Foundation's investment in OpenAI Group PBC valued at?"),
        ("what about Microsoft's?", ["What is Amazon's stake in OpenAI?"],
         "What is Microsoft's stake in OpenAI?"),
        ("What about 2030?", ["Does Microsoft keep IP rights until 2032?"],
         "Does Microsoft keep IP rights until 2030?"),
        # a preposition and a name (or a month) replace the phrase of the same kind
        ("and in New York?", ["What is the hotel limit per night in London?"],
         "What is the hotel limit per night in New York?"),
        ("what about at Harvard?", ["How many students were suspended at Columbia?"],
         "How many students were suspended at Harvard?"),
        ("and in the UK?", ["What is the hotel limit in the US?"],
         "What is the hotel limit in the UK?"),
        ("And in March?", ["What did Acme report in January?"], "What did Acme report in March?"),
        # time only
        ("And now?", ["What stake did Microsoft hold before OpenAI's funding rounds?"],
         "What stake does Microsoft hold now?"),
        ("And what was it before the funding rounds?",
         ["What stake does Microsoft hold in OpenAI Group PBC?"],
         "What stake did Microsoft hold in OpenAI Group PBC before the funding rounds?"),
        # references
        ("and until when do its IP rights last?", ["What stake does Microsoft hold in OpenAI?"],
         "Until when do Microsoft's IP rights last?"),
        ("How big was the company's stake before the funding rounds?",
         ["What stake does Microsoft hold in OpenAI Group PBC?"],
         "How big was Microsoft's stake before the funding rounds?"),
        ("What happens to Microsoft's research IP rights once the panel verifies it?",
         ["Who verifies OpenAI's declaration of AGI?"],
         "What happens to Microsoft's research IP rights once the panel verifies OpenAI's "
         "declaration of AGI?"),
        ("Does that also cover models developed after AGI is achieved?",
         ["Through which year are Microsoft's IP rights for models and products extended?"],
         "Does Microsoft's IP rights for models and products also cover models developed after "
         "AGI is achieved?"),
        ("What does that deal support?", ["When did the partnership begin?"],
         "What does the deal support?"),
        ("When did it lose that right?",
         ["Does Microsoft still have a right of first refusal to be OpenAI's compute provider?"],
         "When did Microsoft lose the right?"),
        # a new question word on the old topic
        ("and until when?", ["What rights does Microsoft keep?"],
         "Until when does Microsoft keep the rights?"),
        # a chain: the base question carries over
        ("and until when?", ["Can OpenAI work with Google?", "what about Amazon?"],
         "Until when can OpenAI work with Amazon?"),
        ("and why?", ["Did Microsoft give up its right of first refusal?"],
         "Why did Microsoft give up its right of first refusal?"),
    ],
)
def test_resolves_followups(question, history, expected):
    assert resolve_followup(question, turns(*history)) == expected


def test_a_name_already_asked_about_is_not_the_antecedent():
    q = resolve_followup("How much is the company spending on Microsoft cloud services?",
                         turns("When did the Microsoft and OpenAI partnership begin?",
                               "What does the deal support?"))
    assert q == "How much is OpenAI spending on Microsoft cloud services?"


@pytest.mark.parametrize(
    "question",
    [
        "Who founded Tesla?",
        "How much is Microsoft's stake in OpenAI worth?",
        "Does it say that OpenAI can release open weight models?",
        "Is it true that Microsoft holds 27 per cent?",
        "What products that OpenAI builds stay exclusive to Azure?",
        "Until when does Microsoft keep its IP rights to research?",  # "its" is Microsoft
    ],
)
def test_standalone_questions_are_unchanged(question):
    assert not is_followup(question)
    assert resolve_followup(question, turns("Can OpenAI work with Google?")) == question


def test_no_history_means_no_change():
    assert resolve_followup("what about Amazon?", []) == "what about Amazon?"
    assert resolve_followup("and until when?", turns("", "  ")) == "and until when?"


def test_the_followups_wh_word_decides_the_answer_type():
    q = resolve_followup("and until when?", turns("What rights does Microsoft keep?"))
    assert question_type(q) is AnswerType.DATE
    q = resolve_followup("how much did it pay?", turns("Who buys Azure services?"))
    assert question_type(q) is AnswerType.NUMBER


def test_whitespace_is_normalised():
    assert resolve_followup("  what   about\nAmazon ? ", turns("Can OpenAI work with Google?")) \
        == "Can OpenAI work with Amazon?"


def test_and_if_x_does_it_puts_x_in_the_possessors_slot():
    prev = [Turn(question="Who verifies OpenAI's AGI declaration?")]
    assert resolve_followup("and if microsoft declares it?", prev) \
        == "Who verifies Microsoft's AGI declaration?"
    holder = [Turn(question="What stake does Microsoft hold in OpenAI?")]
    assert resolve_followup("and if Amazon does it?", holder) == "What stake does Amazon hold in OpenAI?"
    # a pronoun is no new slot filler
    assert "It's" not in resolve_followup("what if it fails?", prev)


@pytest.mark.parametrize(("question", "standalone", "shown"), [
    ("Who did he succeed?", "Who did he succeed?", None),  # nothing resolved
    ("who did he succeed", "Who did he succeed?", None),  # case and punctuation only
    ("and until when?", "Until when can OpenAI work with Amazon?",
     "Until when can OpenAI work with Amazon?"),  # a well-formed rewrite is shown
    ("and the pricing?", "What is the deal, and what about the pricing?", None),  # joined
    ("and Amazon?", "Can OpenAI work with Amazon?", "Can OpenAI work with Amazon?"),
])
def test_understood_as_shows_only_a_well_formed_rewrite_that_differs(question, standalone, shown):
    from rag.answer.followup import understood_as

    assert understood_as(question, standalone) == shown
