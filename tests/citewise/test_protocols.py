"""Both application objects the interfaces run on keep to one contract, citewise/protocols.py.

mypy (``make lint``) checks the same statically; this checks the running objects, parameter by
parameter (tests/protocols.py), so a drifted fake fails here too.
"""

from __future__ import annotations

import pytest

from citewise import Citewise, CitewiseApp
from rag.errors import InputError
from rag.records import Answer
from tests.conftest import SAMPLE_DIR
from tests.protocols import assert_implements
from tests.ui.conftest import FakeCitewise, sample_fake


def test_the_real_application_object_implements_the_contract(sample_citewise: Citewise) -> None:
    assert_implements(sample_citewise, CitewiseApp)


def test_the_interface_tests_double_implements_the_contract() -> None:
    assert_implements(FakeCitewise(), CitewiseApp)


def test_a_drifted_double_is_caught() -> None:
    class Drifted(FakeCitewise):
        def ask(self, question: str, history=None, k=None) -> Answer:  # type: ignore[override]
            return super().ask(question, history, k)

    with pytest.raises(AssertionError, match=r"ask\(.*differs"):
        assert_implements(Drifted(), CitewiseApp)


@pytest.mark.parametrize("question", ["   ", "x" * 2001])
def test_the_double_refuses_questions_as_the_real_one_does(sample_citewise: Citewise,
                                                           question: str) -> None:
    with pytest.raises(InputError) as real:
        sample_citewise.ask(question)
    with pytest.raises(InputError) as fake:
        sample_fake().ask(question)
    assert str(fake.value) == str(real.value)


@pytest.mark.parametrize("question", ["How much did boiling tungsten cost Microsoft?",
                                      "What did the 2031 quokka census count?"])
def test_the_double_abstains_in_the_real_form(sample_citewise: Citewise, question: str) -> None:
    fake = FakeCitewise()
    assert fake.ingest([SAMPLE_DIR]).ok  # the same documents, with the same (no) metadata
    real_answer, fake_answer = sample_citewise.ask(question), fake.ask(question)
    assert real_answer.abstained and fake_answer.abstained and fake_answer.citations == []
    # same wording, up to whether any passage came close (BM25 alone finds fewer than dense)
    assert fake_answer.answer.split("”.")[0] == real_answer.answer.split("”.")[0]
