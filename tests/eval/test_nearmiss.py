"""Near-miss generator: each kind, unanswerable by construction, answer type kept, seeded."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval import nearmiss as N
from eval.datasets import load_dataset
from eval.records import EvalSample
from rag.records import Turn

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "sample_data" / "microsoft-openai-partnership.txt"
GOLDEN = ROOT / "eval" / "golden" / "sample_article.jsonl"

DOC = "acme.txt"
P1 = "Acme Corporation was founded in 1990 by Jane Doe in Springfield. It employs 1,200 people."
P2 = ("In 2005 Globex Corporation bought a 30 per cent stake in Initech. Globex later sold the stake. "
      "Initech has 45 engineers.")
P3 = "Hank Scorpio leads Globex Corporation from Cypress Creek."
P4 = "Wile Coyote ordered anvils and rockets from catalogues. He paid by cheque."
P5 = "Jane Doe leads Acme Corporation from Springfield."
CORPUS = {DOC: "\n\n".join([P1, P2, P3, P4]), "other.txt": P5}


def sample(qid: str, question: str, answer: str, evidence: str) -> EvalSample:
    return EvalSample(qid, question, [answer], sources=[DOC], evidence=[evidence])


FOUNDER = sample("founder", "Who founded Acme Corporation as a business?", "Jane Doe",
                 "founded in 1990 by Jane Doe")
EMPLOYS = sample("employs", "Which company employs 1,200 people?", "Acme Corporation", "It employs 1,200 people")
BOUGHT = sample("bought", "What did Globex Corporation buy in 2005?", "a 30 per cent stake in Initech",
                "bought a 30 per cent stake in Initech")
LEADER = sample("leader", "Who was the first leader of Globex Corporation?", "Hank Scorpio",
                "Hank Scorpio leads Globex Corporation")
ORDERED = sample("ordered", "What did Wile Coyote order from catalogues?", "anvils and rockets",
                 "ordered anvils and rockets from catalogues")


@pytest.fixture(scope="module")
def corpus() -> N.Corpus:
    return N.Corpus.build(CORPUS)


def only(variants: list[EvalSample], kind: str) -> EvalSample:
    found = [v for v in variants if v.near_miss["kind"] == kind]
    assert len(found) == 1, [v.question for v in variants]
    return found[0]


def assert_unanswerable_twin(variant: EvalSample, original: EvalSample, corpus: N.Corpus) -> None:
    gold = N.gold_text(original, corpus)
    assert gold is not None
    new = variant.near_miss["replacement"]
    assert not N.occurs(new, gold), f"{new!r} is in the gold text"
    assert not any(N.occurs(new, e) for e in original.evidence)
    assert N.occurs(new, variant.question)
    assert not variant.answerable and variant.references == [] and variant.sources == []
    assert variant.near_miss["original_id"] == original.id
    assert "near_miss" in variant.tags and f"near_miss:{variant.near_miss['kind']}" in variant.tags
    if variant.near_miss["kind"] in N.SWAP_KINDS:
        assert N.question_type(variant.question) == N.question_type(original.question)


def test_entity_swap_takes_a_name_of_the_same_kind_absent_from_the_gold_paragraph(corpus):
    v = only(N.variants_of(FOUNDER, corpus, kinds=["entity"]), "entity")
    assert v.question == "Who founded Globex Corporation as a business?"
    assert (v.near_miss["replaced"], v.near_miss["replacement"]) == ("Acme Corporation", "Globex Corporation")
    assert v.id == "founder~entity"
    assert_unanswerable_twin(v, FOUNDER, corpus)


def test_entity_swap_skips_a_replacement_another_paragraph_could_answer(corpus):
    # "Who leads Acme Corporation?" is answered by P5: no variant rather than a wrong one.
    leads = sample("leads", "Who leads Globex Corporation?", "Hank Scorpio", "Hank Scorpio leads Globex")
    assert N.variants_of(leads, corpus, kinds=["entity"]) == []
    # "Who founded Globex Corporation?": nothing but the name is left to compare, and P2/P3 are
    # about Globex, so they might answer it
    short = sample("short", "Who founded Acme Corporation?", "Jane Doe", "founded in 1990 by Jane Doe")
    assert N.variants_of(short, corpus, kinds=["entity"]) == []


def test_number_swap_keeps_the_number_format(corpus):
    v = only(N.variants_of(EMPLOYS, corpus, kinds=["number"]), "number")
    assert v.question == "Which company employs 45 people?"  # a count, not the 30 per cent
    assert v.near_miss["replaced"] == "1,200"
    assert_unanswerable_twin(v, EMPLOYS, corpus)


def test_a_bound_the_question_compares_with_is_not_swapped(corpus):
    # another bound asks another answerable question ("more than 45 people?"), not a near miss
    more = sample("more", "Which company employs more than 1,200 people?", "Acme Corporation",
                  "It employs 1,200 people")
    assert N.variants_of(more, corpus, kinds=["number"]) == []


def test_date_swap_takes_another_year_of_the_corpus(corpus):
    v = only(N.variants_of(BOUGHT, corpus, kinds=["date"]), "date")
    assert v.question == "What did Globex Corporation buy in 1990?"
    assert_unanswerable_twin(v, BOUGHT, corpus)


def test_time_qualifier_flip_needs_the_opposite_absent_from_the_gold_text(corpus):
    v = only(N.variants_of(LEADER, corpus, kinds=["time_qualifier"]), "time_qualifier")
    assert v.question == "Who was the last leader of Globex Corporation?"
    assert_unanswerable_twin(v, LEADER, corpus)
    # P2 says "later": "after" (a synonym of it) would be answerable, so no flip is made
    before = sample("before", "What did Globex Corporation buy before selling the stake?",
                    "a 30 per cent stake", "bought a 30 per cent stake in Initech")
    assert N.variants_of(before, corpus, kinds=["time_qualifier"]) == []


def test_missing_detail_asks_for_a_date_or_count_the_paragraph_lacks(corpus):
    variants = N.variants_of(ORDERED, corpus, kinds=["missing_when", "missing_count"])
    when, count = only(variants, "missing_when"), only(variants, "missing_count")
    assert when.question == "When did Wile Coyote order from catalogues?"
    assert count.question == "How many times did Wile Coyote order from catalogues?"
    assert N.question_type(when.question) == "when" and N.question_type(count.question) == "how many"
    # the founding paragraph has a year: no "when" variant of a question about it
    founded = sample("what", "What did Jane Doe found in Springfield?", "Acme Corporation",
                     "founded in 1990 by Jane Doe")
    assert N.variants_of(founded, corpus, kinds=["missing_when"]) == []


def test_no_variants_of_unanswerable_follow_up_or_ungrounded_questions(corpus):
    unanswerable = EvalSample("u", "Who founded Acme Corporation?", [], answerable=False)
    follow_up = EvalSample("f", "Who founded Acme Corporation?", ["Jane Doe"], sources=[DOC],
                           history=[Turn(question="What is Acme?", answer="A company.")])
    no_gold = EvalSample("n", "Who founded Acme Corporation?", ["Jane Doe"], sources=["missing.txt"])
    assert N.make_near_misses([unanswerable, follow_up, no_gold], corpus) == []
    with pytest.raises(ValueError, match="unknown near-miss kind"):
        N.variants_of(FOUNDER, corpus, kinds=["colour"])


def test_names_numbers_and_dates_are_extracted():
    assert N.entities("Which NFL team won at the University of Notre Dame's stadium in May?") == [
        "NFL", "University of Notre Dame"]
    assert N.entities("Similarly, the Broncos won.", initial=False) == ["Broncos"]
    assert N.numbers("It cost $45 and 12% of 1,200 units in 1999.") == [
        ("45", "money"), ("12", "percent"), ("1,200", "count")]
    assert N.years("in 1999 and the 1980s, not 12,000") == ["1999", "1980s"]
    assert N.question_type("In what year did it begin?") == "when"
    assert N.question_type("How many people work there?") == "how many"


@pytest.fixture(scope="module")
def article_run() -> tuple[list[EvalSample], N.Corpus]:
    dataset = load_dataset(GOLDEN)
    corpus = N.Corpus.build({"microsoft-openai-partnership.txt": ARTICLE.read_text(encoding="utf-8")})
    return dataset.samples, corpus


def test_sample_article_variants_are_unanswerable_twins(article_run):
    samples, corpus = article_run
    variants = N.make_near_misses(samples, corpus, seed=0)
    by_id = {s.id: s for s in samples}
    assert len(variants) >= 20
    assert {"entity", "time_qualifier"} <= {v.near_miss["kind"] for v in variants}
    for v in variants:
        assert_unanswerable_twin(v, by_id[v.near_miss["original_id"]], corpus)
    assert len({v.id for v in variants}) == len(variants)


def test_variants_are_deterministic_per_seed_and_per_sample(article_run):
    samples, corpus = article_run
    first = N.make_near_misses(samples, corpus, seed=3)
    assert [v.to_dict() for v in first] == [v.to_dict() for v in N.make_near_misses(samples, corpus, seed=3)]
    # a sample's variants do not depend on which other samples were passed
    alone = N.make_near_misses(samples[5:6], corpus, seed=3)
    assert [v.question for v in alone] == [v.question for v in first
                                           if v.near_miss["original_id"] == samples[5].id]
    # another seed draws other replacements for some questions
    questions = {s: [v.question for v in N.make_near_misses(samples, corpus, seed=s)] for s in range(4)}
    assert len({tuple(q) for q in questions.values()}) > 1


def test_stale_asks_the_day_before_the_gold_document_was_published():
    texts = {"fares-2025.txt": "A single ferry ticket costs 4.20 euros from March.",
             "fares-2024.txt": "A single ferry ticket costs 3.80 euros.",
             "undated.txt": "Ferries leave every hour."}
    published = {"fares-2025.txt": "2025-02-14", "fares-2024.txt": "2024-02-14"}
    fare = EvalSample("fare", "What does a single ferry ticket cost?", ["4.20 euros"],
                      sources=["fares-2025.txt"], as_of="2025-06-01")
    old = EvalSample("old", "What did a single ferry ticket cost?", ["3.80 euros"],
                     sources=["fares-2024.txt"])
    (v,) = [x for x in N.make_near_misses([fare], texts, published=published)
            if x.near_miss["kind"] == "stale"]
    assert (v.id, v.question, v.as_of, v.answerable) == (
        "fare~stale", fare.question, "2025-02-13", False)
    assert v.near_miss["replaced"] == "2025-06-01" and v.tags[-2:] == ["near_miss:stale",
                                                                      "unanswerable"]
    # an earlier (or undated) document that holds the answer: maybe answerable, so no variant
    later = EvalSample("later", "What does a single ferry ticket cost?", ["3.80 euros"],
                       sources=["fares-2024.txt"])
    assert not [x for x in N.make_near_misses([later, old], {**texts, "copy.txt": "3.80 euros"},
                                              published=published)
                if x.near_miss["kind"] == "stale"]
    # no dates, no stale variants
    assert not [x for x in N.make_near_misses([fare], texts) if x.near_miss["kind"] == "stale"]
