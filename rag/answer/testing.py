"""What every answer backend must do, as tests a backend's own test suite inherits.

The extractive answerer, the LLM answerer and any ``citewise.generators`` plugin promise the
same things to the rest of citewise (the API, the chat, eval): every quote is an exact span of a
passage it was given, an abstention cites nothing and an answer cites something, a question
about another subject or another year is not answered from this one's passages, and ``stream``
ends with the Answer ``generate`` gives. A plugin author checks theirs with::

    import pytest
    from rag.answer.testing import AnswerBackendTests

    class TestMyBackend(AnswerBackendTests):
        @pytest.fixture
        def backend(self):
            return MyBackend(...)

Needs pytest (a test dependency, not a runtime one); importing this module loads no model.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from rag.answer.generator import Generator
from rag.records import Answer, Chunk, Hit

SOURCE = "acme-annual-report-2024.md"
TITLE = "Acme Holdings annual report 2024"
#: a short report; each paragraph is one passage (document offsets kept)
DOCUMENT = (
    "# Acme Holdings annual report 2024\n\n"
    "Acme Holdings employed 1,480 people at the end of 2024, up from 1,310 a year earlier.\n\n"
    "Revenue rose 12 per cent to $84 million in 2024. The board proposed a dividend of 8 cents "
    "per share.\n\n"
    "The company opened a second factory in Leeds in March 2024, next to its first plant.\n\n"
    "Acme Holdings sells industrial valves to water utilities in Britain and Ireland.\n"
)
#: (question, a string the quotes must hold)
ANSWERABLE = [
    ("How many people did Acme Holdings employ at the end of 2024?", "1,480"),
    ("In which city did Acme open its second factory?", "Leeds"),
]
#: the passages name another subject, another year, or nothing of the kind
UNANSWERABLE = [
    "How many people did Globex Corporation employ at the end of 2024?",
    "How many people did Acme Holdings employ at the end of 2015?",
    "Who is the chief executive of Acme Holdings?",
]
_WORD = re.compile(r"\w+")


def passages(question: str) -> list[Hit]:
    """Every paragraph of DOCUMENT as a Hit, ranked by the words it shares with the question
    (the retriever is not under test)."""
    asked = set(_WORD.findall(question.lower()))
    hits: list[Hit] = []
    start = 0
    for block in DOCUMENT.split("\n\n"):
        begin = DOCUMENT.index(block, start)
        start = begin + len(block)
        text = block.rstrip("\n")
        chunk = Chunk(id=f"{SOURCE}:{begin}", source=SOURCE, ordinal=len(hits), start=begin,
                      end=begin + len(text), text=text)
        words = set(_WORD.findall(text.lower()))
        hits.append(Hit(chunk=chunk, score=len(asked & words) / max(len(words), 1), title=TITLE,
                        published="2025-03-01"))
    hits.sort(key=lambda h: -h.score)
    for rank, hit in enumerate(hits, 1):
        hit.dense_rank = hit.sparse_rank = rank
    return hits


def _all_questions() -> list[str]:
    return [q for q, _ in ANSWERABLE] + UNANSWERABLE


class AnswerBackendTests:
    """Inherit and override the ``backend`` fixture; every test below then runs on it."""

    @pytest.fixture
    def backend(self) -> Generator:
        raise NotImplementedError("override the `backend` fixture with the answer backend")

    @staticmethod
    def assert_well_formed(answer: Answer, hits: list[Hit]) -> None:
        """Exact spans inside the passages given, numbered 1..n, each marker backed."""
        given = {(h.chunk.source, h.chunk.start, h.chunk.end) for h in hits}
        for n, c in enumerate(answer.citations, 1):
            assert c.n == n, answer.citations
            assert c.source == SOURCE and DOCUMENT[c.start:c.end] == c.quote, c
            assert any(s == c.source and a <= c.start and c.end <= b for s, a, b in given), c
        markers = {int(m) for m in re.findall(r"\[(\d+)\]", answer.answer)}
        assert markers <= {c.n for c in answer.citations}, answer.answer
        if answer.abstained:
            assert not answer.citations and not markers, answer
        else:
            assert answer.citations and answer.answer.strip(), answer

    @pytest.mark.parametrize("question", _all_questions())
    def test_every_quote_is_an_exact_span_of_a_given_passage(
            self, backend: Generator, question: str) -> None:
        hits = passages(question)
        self.assert_well_formed(backend.generate(question, hits), hits)

    @pytest.mark.parametrize(("question", "expected"), ANSWERABLE)
    def test_a_question_the_passages_answer_is_answered(
            self, backend: Generator, question: str, expected: str) -> None:
        answer = backend.generate(question, passages(question))
        assert not answer.abstained, answer
        assert any(expected in c.quote for c in answer.citations), answer

    @pytest.mark.parametrize("question", UNANSWERABLE)
    def test_another_subject_or_year_is_not_answered(self, backend: Generator,
                                                     question: str) -> None:
        answer = backend.generate(question, passages(question))
        assert answer.abstained and not answer.citations, answer

    def test_no_passages_is_an_abstention(self, backend: Generator) -> None:
        answer = backend.generate(ANSWERABLE[0][0], [])
        assert answer.abstained and not answer.citations, answer

    @pytest.mark.parametrize("question", [ANSWERABLE[0][0], UNANSWERABLE[0]])
    def test_stream_ends_with_the_answer_generate_gives(self, backend: Generator,
                                                        question: str) -> None:
        items: list[Any] = list(backend.stream(question, passages(question)))
        assert items and isinstance(items[-1], Answer), items
        assert all(isinstance(p, str) for p in items[:-1]), items
        whole = backend.generate(question, passages(question))
        final = items[-1]
        assert (final.abstained, final.answer, [c.quote for c in final.citations]) == \
            (whole.abstained, whole.answer, [c.quote for c in whole.citations])

    def test_condense_leaves_a_standalone_question_alone(self, backend: Generator) -> None:
        question = ANSWERABLE[0][0]
        assert backend.condense(question, []) == question
