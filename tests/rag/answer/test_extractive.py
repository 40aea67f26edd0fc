"""The extractive answerer over the sample article: exact quotes, abstention, streaming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.answer.extractive import (
    ExtractiveGenerator,
    asks,
    calibrate,
    is_headline,
)
from rag.answer.generator import Generator
from rag.language.text import sentence_spans
from rag.records import Answer, Chunk, Hit, abstention_text
from tests.protocols import assert_implements

DOC_PATH = Path(__file__).resolve().parents[3] / "sample_data" / "microsoft-openai-partnership.txt"
DOC = DOC_PATH.read_text(encoding="utf-8")
SOURCE = "microsoft-openai-partnership.txt"


def make_chunks(window: int = 4, overlap: int = 1) -> list[Chunk]:
    """Sentence windows that overlap by ``overlap`` sentences, as the chunker makes them."""
    spans = sentence_spans(DOC)
    chunks = []
    step = window - overlap
    for i in range(0, len(spans), step):
        group = spans[i : i + window]
        start, end = group[0][0], group[-1][1]
        chunks.append(Chunk(id=f"c{len(chunks)}", source=SOURCE, ordinal=len(chunks),
                            start=start, end=end, text=DOC[start:end]))
    return chunks


CHUNKS = make_chunks()


@pytest.fixture(scope="module")
def model():
    from rag.storage.embeddings import load_embedder

    return load_embedder()


@pytest.fixture(scope="module")
def chunk_vectors(model) -> np.ndarray:
    return model.embed_documents([c.text for c in CHUNKS])


@pytest.fixture(scope="module")
def gen(model) -> ExtractiveGenerator:
    return ExtractiveGenerator(embedder=model)


@pytest.fixture(scope="module")
def retrieve(model, chunk_vectors):
    """Dense top-k over the article's chunks: stands in for the hybrid retriever."""

    def search(question: str, k: int = 5) -> list[Hit]:
        sims = chunk_vectors @ model.embed_query(question)
        order = np.argsort(-sims)[:k]
        return [Hit(chunk=CHUNKS[i], score=float(sims[i]), title="Microsoft and OpenAI",
                    url="https://example.com/a", published="2025-10-28", dense_rank=r + 1)
                for r, i in enumerate(order)]

    return search


def assert_exact(answer: Answer) -> None:
    for n, c in enumerate(answer.citations, 1):
        assert c.n == n
        assert c.quote == DOC[c.start : c.end]
        assert f"{c.quote} [{n}]" in answer.answer


def test_is_a_generator(gen):
    assert_implements(gen, Generator)  # isinstance() would only check the names exist
    assert gen.name == "extractive"


def test_stake_value_cites_135_billion(gen, retrieve):
    q = "How much is Microsoft's stake in OpenAI worth?"
    hits = retrieve(q)
    answer = gen.generate(q, hits)
    assert not answer.abstained
    assert any("$135 billion" in c.quote for c in answer.citations)
    assert_exact(answer)
    assert answer.contexts == hits
    assert answer.citations[0].title == "Microsoft and OpenAI"
    assert answer.citations[0].published == "2025-10-28"


def test_azure_spend_cites_250_billion(gen, retrieve):
    q = "How much will OpenAI spend on Azure?"
    answer = gen.generate(q, retrieve(q))
    assert not answer.abstained
    assert "$250 billion" in answer.citations[0].quote
    assert_exact(answer)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When did the partnership begin?", "2019"),
        ("Who verifies the AGI declaration?", "independent expert panel"),
        ("What percentage of OpenAI does Microsoft hold?", "27 per cent"),
        ("Until when does Microsoft keep its IP rights for models?", "2032"),
        ("Where can non-API products be served?", "any cloud provider"),
        ("Can OpenAI release open weight models?", "open weight models"),
        ("What is excluded from research IP?", "Model architecture"),
    ],
)
def test_answers_from_the_article(gen, retrieve, question, expected):
    answer = gen.generate(question, retrieve(question))
    assert not answer.abstained, answer.answer
    assert any(expected in c.quote for c in answer.citations), answer.answer
    assert_exact(answer)


@pytest.mark.parametrize(
    "question",
    [
        "Who is the CEO of Tesla?",
        "Who founded Tesla?",
        "What did Apple announce at WWDC?",
        "What is the capital of France?",
        "How much did Google pay for YouTube?",
        "When was the iPhone released?",
    ],
)
def test_abstains_when_the_article_does_not_say(gen, retrieve, question):
    hits = retrieve(question)
    answer = gen.generate(question, hits)
    assert answer.abstained
    assert answer.citations == []
    assert answer.answer.startswith("The articles don't")
    assert answer.related == hits[:3]
    assert answer.contexts == hits


def test_abstention_text_has_one_fixed_form():
    assert abstention_text("Who founded Tesla?") == "The documents don't answer “Who founded Tesla?”."
    assert abstention_text("Is it raining") == "The documents don't answer “Is it raining?”."
    long = abstention_text("why " * 100)
    assert long.endswith("…?”.") and len(long) < 200


def test_no_hits_abstains(gen):
    answer = gen.generate("How much is the stake worth?", [])
    assert answer.abstained and answer.related == [] and answer.citations == []


def test_answer_type_must_be_satisfied(gen):
    """A perfect word match without any amount is no answer to "how much"."""
    s, e = DOC.index("Research IP includes"), DOC.index("research.", DOC.index("Research IP")) + 9
    hit = Hit(chunk=Chunk(id="x", source=SOURCE, ordinal=0, start=s, end=e, text=DOC[s:e]),
              score=1.0)
    assert not gen.generate("What does research IP include?", [hit]).abstained
    assert gen.generate("How much research IP is included?", [hit]).abstained


def test_duplicate_sentences_of_overlapping_chunks_are_merged(gen, retrieve):
    q = "How much will OpenAI spend on Azure?"
    hits = retrieve(q, k=len(CHUNKS))
    every = ExtractiveGenerator(gen.embedder, max_embedded=0)  # no cap on embedded sentences
    cands = every.candidates(q, hits)
    keys = [(c.start, c.end) for c in cands]
    assert len(keys) == len(set(keys))
    # every sentence of the article except bare bullets is a candidate exactly once
    assert len(cands) == len(sentence_spans(DOC))


def test_only_the_best_sentences_by_cheap_signals_are_embedded(gen, retrieve):
    q = "How much will OpenAI spend on Azure?"
    hits = retrieve(q, k=len(CHUNKS))
    capped = ExtractiveGenerator(gen.embedder, max_embedded=4).candidates(q, hits)
    assert len(capped) == 4
    assert "$250 billion" in capped[0].quote  # the answer survives the cut


def test_bullet_marks_are_not_quoted(gen):
    s = DOC.index("• Microsoft's investment")
    e = DOC.index("stake.", s) + 6
    hit = Hit(chunk=Chunk(id="b", source=SOURCE, ordinal=0, start=s, end=e, text=DOC[s:e]),
              score=1.0)
    answer = gen.generate("How much is Microsoft's investment in OpenAI valued at?", [hit])
    assert answer.citations[0].quote.startswith("Microsoft's investment")
    assert_exact(answer)


def test_headlines_are_never_quoted_as_the_answer(gen, retrieve):
    assert is_headline("OpenAI is spending $250 billion on Microsoft cloud services")
    assert is_headline("Staff Writer")
    assert not is_headline("OpenAI has contracted to purchase $250 billion of Azure services.")
    q = "How much will OpenAI spend on Azure?"
    cands = gen.candidates(q, retrieve(q))
    assert not cands[0].headline
    s = DOC.index("OpenAI is spending")
    e = DOC.index("rivals", s) + 6
    hit = Hit(chunk=Chunk(id="h", source=SOURCE, ordinal=0, start=s, end=e, text=DOC[s:e]),
              score=1.0)
    # alone, the headline is still not an answer: the body sentence it summarises is
    answer = gen.generate("How much is OpenAI spending on Microsoft cloud services?", [hit])
    assert answer.abstained and answer.related


def test_a_sentence_that_asks_is_never_the_answer(gen):
    """A news subhead phrased as a question shares the question's words and says nothing."""
    assert asks("Who were the Knights Templar?")
    assert asks('He asked: "What happened at the 2026 BAFTAs?"')
    assert not asks("The BAFTAs took place in London on Sunday.")
    text = ("What happened at the 2026 BAFTAs? The 2026 BAFTA awards took place in London on "
            "Sunday at the Royal Festival Hall. Who won the most awards at the 2026 BAFTAs?")
    hit = Hit(chunk=Chunk(id="b", source="bafta.txt", ordinal=0, start=0, end=len(text),
                          text=text), score=1.0)
    q = "Where did the 2026 BAFTA awards take place?"
    cands = gen.candidates(q, [hit])
    by_text = {c.text: c for c in cands}
    assert not by_text["What happened at the 2026 BAFTAs?"].typed
    assert not by_text["Who won the most awards at the 2026 BAFTAs?"].typed
    answer = gen.generate(q, [hit])
    assert not answer.abstained
    assert [c.quote for c in answer.citations] == [
        "The 2026 BAFTA awards took place in London on Sunday at the Royal Festival Hall."]


def test_next_year_is_read_against_the_articles_date(gen):
    text = ("The NFL announced on Thursday that Kendrick Lamar will headline the Super Bowl "
            "halftime show next year in New Orleans.")
    q = "Who will headline the 2025 Super Bowl halftime show?"

    def hit(published: str) -> Hit:
        return Hit(chunk=Chunk(id="n", source="nfl.txt", ordinal=0, start=0, end=len(text),
                               text=text), score=1.0, published=published)

    assert not gen.generate(q, [hit("2024-09-12")]).abstained
    assert gen.generate(q, [hit("2023-09-12")]).abstained  # "next year" was 2024 then


def test_several_sentences_in_reading_order(gen, retrieve):
    q = "Until when does Microsoft keep its IP rights?"
    answer = gen.generate(q, retrieve(q))
    assert 1 <= len(answer.citations) <= 3
    starts = [c.start for c in answer.citations]
    assert starts == sorted(starts)
    quotes = [c.quote for c in answer.citations]
    assert len(set(quotes)) == len(quotes)


def test_max_sentences(model, retrieve):
    gen1 = ExtractiveGenerator(embedder=model, max_sentences=1)
    q = "Until when does Microsoft keep its IP rights?"
    assert len(gen1.generate(q, retrieve(q)).citations) == 1


def test_sources_keep_the_order_of_first_citation(gen, retrieve):
    q = "What rights does Microsoft keep until 2032?"
    hits = retrieve(q)
    other = [Hit(chunk=Chunk(id=h.chunk.id + "b", source="copy.txt", ordinal=h.chunk.ordinal,
                             start=h.chunk.start, end=h.chunk.end, text=h.chunk.text),
                 score=h.score) for h in hits]
    answer = gen.generate(q, hits + other)
    sources = [c.source for c in answer.citations]
    assert sources == sorted(sources, key=sources.index)  # grouped by source
    assert sources[0] == SOURCE


def test_stream_yields_sentences_then_the_answer(gen, retrieve):
    q = "Until when does Microsoft keep its IP rights?"
    pieces = list(gen.stream(q, retrieve(q)))
    final = pieces[-1]
    assert isinstance(final, Answer)
    texts = pieces[:-1]
    assert all(isinstance(p, str) for p in texts)
    assert len(texts) == len(final.citations)
    assert "".join(texts).rstrip() == final.answer
    abstained = list(gen.stream("Who founded Tesla?", retrieve("Who founded Tesla?")))
    assert isinstance(abstained[-1], Answer) and abstained[-1].abstained
    assert abstained[0] == abstained[-1].answer


def test_works_without_an_embedder(retrieve):
    gen = ExtractiveGenerator()
    q = "How much will OpenAI spend on Azure services?"
    answer = gen.generate(q, retrieve(q))
    assert not answer.abstained
    assert "$250 billion" in answer.citations[0].quote
    assert gen.generate("Who is the CEO of Tesla?", retrieve("Who is the CEO of Tesla?")).abstained


def test_threshold_override(model, retrieve):
    q = "How much will OpenAI spend on Azure?"
    assert ExtractiveGenerator(embedder=model, threshold=5.0).generate(q, retrieve(q)).abstained
    q = "Who will verify the declaration of AGI?"
    assert not ExtractiveGenerator(embedder=model, threshold=0.0).generate(q, retrieve(q)).abstained
    # No threshold makes a sentence about someone else an answer: the question names Tesla.
    assert ExtractiveGenerator(embedder=model, threshold=0.0).generate(
        "Who founded Tesla?", retrieve("Who founded Tesla?")).abstained


def test_default_threshold_separates_the_sample_questions(gen, retrieve):
    answerable = ["How much is Microsoft's stake in OpenAI worth?",
                  "How much will OpenAI spend on Azure?", "When did the partnership begin?",
                  "Who verifies the AGI declaration?", "Can OpenAI release open weight models?"]
    unanswerable = ["Who is the CEO of Tesla?", "Who founded Tesla?",
                    "What is the capital of France?", "How much did Google pay for YouTube?"]
    yes = [gen.best_score(q, retrieve(q)) for q in answerable]
    no = [gen.best_score(q, retrieve(q)) for q in unanswerable]
    assert min(yes) > gen.threshold > max(no)
    assert max(no) < calibrate(yes, no) < min(yes)


def test_calibrate_picks_the_separating_threshold():
    assert 0.4 < calibrate([0.5, 0.6, 0.9], [0.1, 0.2, 0.4]) < 0.5
    # overlapping scores: abstaining below 0.675 catches all 4 unanswerable for 2 false
    # abstentions (F1 0.8); below 0.475 catches 3 for 1 (F1 0.75)
    assert 0.65 < calibrate([0.3, 0.6, 0.7, 0.8], [0.1, 0.2, 0.35, 0.65]) < 0.7
    assert 0.2 < calibrate([0.5, 0.6], [0.1, 0.2], metric="balanced") < 0.5
    with pytest.raises(ValueError):
        calibrate([], [0.1])


def test_registry_builds_it(model):
    from rag.answer.registry import make_generator
    from rag.config import Settings

    g = make_generator(Settings(generator="extractive", abstain_threshold=0.3), model)
    assert isinstance(g, ExtractiveGenerator) and g.threshold == 0.3


class _CountingReader:
    """A reader double for the answerer's use of it: prefers sentences naming Jane."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.asarray([4.0 if "Jane" in t else -4.0 for t in texts], dtype=np.float32)


def _toy_hits() -> list[Hit]:
    text = ("Acme was founded in Ohio by a group of engineers. Jane Roe founded Acme's "
            "research lab in 1990. Acme was founded to make tools. Acme was founded with "
            "money from a bank. Acme was founded after the war. Acme was founded in a barn. "
            "Acme was founded by people who liked tools. Acme was founded on a Tuesday.")
    chunk = Chunk(id="a0", source="acme.txt", ordinal=0, start=0, end=len(text), text=text)
    return [Hit(chunk=chunk, score=1.0, title="Acme")]


def test_the_reader_reads_a_capped_batch_and_its_score_decides():
    from rag.answer.scorer import FEATURES, AnswerScorer

    weights = tuple(1.0 if f == "reader" else 0.0 for f in FEATURES)
    reader = _CountingReader()
    gen = ExtractiveGenerator(embedder=None, reader=reader, max_read=3,
                              scorer=AnswerScorer(weights=weights, bias=0.0, threshold=0.5))
    gen.select("Who founded Acme?", _toy_hits())
    assert len(reader.calls) == 1 and len(reader.calls[0]) <= 3  # one batch, capped
    assert all(" [SEP] Acme" in t for t in reader.calls[0])  # title as context
    unread = [c for c in gen.candidates("Who founded Acme?", _toy_hits()) if c.reader == -8.0]
    assert unread  # sentences beyond the cap keep the floor
    gen.max_read = 10
    chosen = gen.select("Who founded Acme?", _toy_hits())
    assert chosen and chosen[0].quote.startswith("Jane Roe founded")


def test_without_a_reader_the_learned_scorer_gives_way_to_the_hand_set_weights():
    from rag.answer.scorer import FEATURES, AnswerScorer

    scorer = AnswerScorer(weights=(0.0,) * len(FEATURES), bias=0.0, threshold=0.5)
    gen = ExtractiveGenerator(embedder=None, reader=None, scorer=scorer)
    assert gen.scorer is None


def test_a_chunk_that_starts_mid_paragraph_leans_on_the_chunk_before_it() -> None:
    text = ("As of December 31, 2018, we held six investments in a loss position. "
            "The unrealized losses were primarily due to increases in interest rates.")
    cut = text.index("The unrealized")
    first = Chunk(id="a", source="notes.md", ordinal=0, start=0, end=cut - 1,
                  text=text[: cut - 1])
    second = Chunk(id="b", source="notes.md", ordinal=1, start=cut, end=len(text),
                   text=text[cut:])
    gen = ExtractiveGenerator()
    q = "What was the reason for the unrealized losses in 2018?"

    def reason(hits: list[Hit]) -> list[str]:
        return [c.check.failed for c in gen.candidates(q, hits) if c.text.startswith("The unre")]

    # alone, the sentence names no year; after the chunk it continues, 2018 is its context
    assert reason([Hit(chunk=second, score=1.0)]) == [("number:2018",)]
    assert reason([Hit(chunk=second, score=1.0), Hit(chunk=first, score=0.9)]) == [()]
