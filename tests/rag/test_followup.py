"""Follow-up questions become standalone questions before retrieval."""

from __future__ import annotations

import pytest

from rag.answer_types import AnswerType, question_type
from rag.followup import is_followup, resolve_followup
from rag.records import Turn


def turns(*questions: str) -> list[Turn]:
    return [Turn(question=q, answer="...") for q in questions]


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("what about Amazon?", ["Can OpenAI work with Google?"], "Can OpenAI work with Amazon?"),
        ("And Amazon?", ["Can OpenAI work with Google?"], "Can OpenAI work with Amazon?"),
        ("What about 2030?", ["Does Microsoft keep IP rights until 2032?"],
         "Does Microsoft keep IP rights until 2030?"),
        ("what about Microsoft's?", ["What is Amazon's stake in OpenAI?"],
         "What is Amazon's stake in Microsoft's?"),
        ("and until when?", ["What rights does Microsoft keep?"],
         "until when: What rights does Microsoft keep?"),
        ("who verifies it?", ["When does OpenAI declare AGI?"],
         "who verifies it: When does OpenAI declare AGI?"),
        ("how much did it pay?", ["Which company buys Azure services?"],
         "how much did it pay: Which company buys Azure services?"),
        ("What did Microsoft say about this deal?", ["Can OpenAI work with Google?"],
         "What did Microsoft say about this deal: Can OpenAI work with Google?"),
        ("what about the research IP?", ["What rights does Microsoft keep?"],
         "What rights does Microsoft keep, and what about the research IP?"),
        # a chain: the base question carries over
        ("and until when?", ["Can OpenAI work with Google?", "what about Amazon?"],
         "until when: Can OpenAI work with Amazon?"),
        ("who verifies it?", ["What rights does Microsoft keep?", "and until when?"],
         "who verifies it: What rights does Microsoft keep?"),
    ],
)
def test_resolves_followups(question, history, expected):
    assert resolve_followup(question, turns(*history)) == expected


@pytest.mark.parametrize(
    "question",
    [
        "Who founded Tesla?",
        "How much is Microsoft's stake in OpenAI worth?",
        "Does it say that OpenAI can release open weight models?",
        "Is it true that Microsoft holds 27 per cent?",
        "What products that OpenAI builds stay exclusive to Azure?",
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
