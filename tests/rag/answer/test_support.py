"""The deterministic support check: exact quotes pass, changed figures and names fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.support import SUPPORT_THRESHOLD, is_supported, key_tokens, support, support_score

DOC = (Path(__file__).resolve().parents[3] / "sample_data" /
       "microsoft-openai-partnership.txt").read_text(encoding="utf-8")
start = DOC.index("Following recapitalisation")
PASSAGE = DOC[start : DOC.index("for-profit entity.", start) + len("for-profit entity.")]
QUOTE = DOC[start : DOC.index("Foundation.", start) + len("Foundation.")]

PARAPHRASES = [
    "Microsoft's investment in OpenAI Group PBC is valued at $135 billion.",
    "After the recapitalisation Microsoft holds 27 per cent of OpenAI Group PBC.",
    "Before the funding rounds Microsoft held a 32.5 per cent stake in the for-profit entity.",
    "Microsoft's stake is worth $135 billion.",
]
UNSUPPORTED = [
    "Microsoft's investment in OpenAI Group PBC is valued at $150 billion.",  # wrong figure
    "Google holds an investment in OpenAI Group PBC valued at $135 billion.",  # wrong name
    "Microsoft held a 40 per cent stake before the funding rounds.",
    "OpenAI has contracted to purchase Azure services from Microsoft.",  # another passage
    "The weather in Paris was sunny.",
    "The deal lets Microsoft sell OpenAI products to government customers.",  # few words shared
    "Microsoft did not hold a stake before the funding rounds.",  # negation flipped
]


@pytest.fixture(scope="module")
def model():
    from rag.storage.embeddings import load_embedder

    return load_embedder()


def test_key_tokens():
    assert key_tokens("Then Microsoft paid $10 billion") == {"10", "microsoft"}


def test_exact_quote_scores_one():
    assert support_score(QUOTE, PASSAGE) == pytest.approx(1.0)
    assert is_supported(QUOTE, PASSAGE)


@pytest.mark.parametrize("sentence", PARAPHRASES)
def test_paraphrases_are_supported(sentence):
    s = support(sentence, PASSAGE)
    assert not s.missing
    assert s.score >= SUPPORT_THRESHOLD, s
    assert is_supported(sentence, PASSAGE)


@pytest.mark.parametrize("sentence", UNSUPPORTED)
def test_changed_facts_are_not_supported(sentence):
    assert not is_supported(sentence, PASSAGE)
    assert not support(sentence, PASSAGE).supported


@pytest.mark.parametrize("sentence", PARAPHRASES + UNSUPPORTED)
def test_is_supported_is_the_supported_property(sentence):
    assert is_supported(sentence, PASSAGE) == support(sentence, PASSAGE).supported


def test_missing_key_token_zeroes_the_score():
    s = support(UNSUPPORTED[0], PASSAGE)
    assert s.missing == {"150"} and s.score == 0.0 and not s.supported
    assert support(UNSUPPORTED[1], PASSAGE).missing == {"google"}


def test_with_embeddings(model):
    for sentence in PARAPHRASES:
        s = support(sentence, PASSAGE, embedder=model)
        assert s.cosine is not None and s.cosine > 0.6, s
        assert is_supported(sentence, PASSAGE, embedder=model)
    for sentence in UNSUPPORTED:
        assert not is_supported(sentence, PASSAGE, embedder=model)
    assert support_score(QUOTE, PASSAGE, embedder=model) > 0.9


def test_negation_must_agree():
    s = support("Microsoft did not hold a stake before the funding rounds.", PASSAGE)
    assert s.negation_mismatch and s.score == 0.0 and not s.supported
    refusal = "Microsoft no longer has a right of first refusal to be OpenAI's compute provider."
    assert is_supported("Microsoft no longer has a right of first refusal.", refusal)
    assert not is_supported("Microsoft has a right of first refusal.", refusal)


def test_threshold_argument():
    sentence = PARAPHRASES[1]
    assert is_supported(sentence, PASSAGE, threshold=0.0)
    assert not is_supported(sentence, PASSAGE, threshold=1.01)
    assert not is_supported("", PASSAGE)
