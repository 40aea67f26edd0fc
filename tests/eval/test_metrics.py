"""Metrics are pure functions: hand-built records with known scores."""

from __future__ import annotations

import math

import pytest

from eval import metrics as M
from eval.judge import DeterministicJudge, lexical_support, missing_facts
from eval.records import EvalCitation, EvalContext, EvalSample
from eval.report import compare, default_tolerances, gate, invariant_failures, make_baseline
from rag.language.textrules import strip_markers

DOC = "doc.txt"
S1 = "Microsoft holds a stake valued at $135 billion."
S2 = "The partnership began in 2019."
S3 = "OpenAI can now release open weight models."


def ctx(text: str, source: str = DOC) -> EvalContext:
    return EvalContext(source=source, text=text)


def cit(n: int, quote: str, source: str = DOC) -> EvalCitation:
    return EvalCitation(n=n, source=source, quote=quote, start=0, end=len(quote))


def exact(sentence: str, passage: str) -> bool:
    """A strict judge for the ALCE arithmetic: supported only by an exact quote."""
    return strip_markers(sentence).rstrip(".") in passage


# ---------------------------------------------------------------- correctness


def test_squad_normalisation_and_contains():
    assert M.squad_normalize("The  Denver Broncos!") == "denver broncos"
    assert M.contains_reference("It was the Denver Broncos [1].", ["Denver Broncos"])
    assert not M.contains_reference("Denverite Broncosaurus", ["Denver"])  # whole words only
    assert M.contains_reference("valued at $135 billion", ["135 billion"])


def test_token_f1_and_exact_match():
    assert M.f1_score("Denver Broncos", "Denver Broncos") == 1.0
    assert M.f1_score("the Broncos", "Denver Broncos") == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert M.f1_score("", "Denver") == 0.0
    assert M.best_f1("Broncos", ["Carolina", "Denver Broncos"]) == pytest.approx(2 / 3)
    r = [EvalSample("1", "q", ["Denver Broncos"], answer="Denver Broncos [1]")]
    assert M.exact_match(r) == 1.0


def test_correctness_ignores_unanswerable_and_counts_abstentions_as_wrong():
    records = [
        EvalSample("a", "q", ["2019"], answer="It began in 2019 [1]."),
        EvalSample("b", "q", ["2032"], answer="", abstained=True),  # declined an answerable one
        EvalSample("u", "q", [], answerable=False, abstained=True),  # correct refusal: excluded
    ]
    assert M.answer_contains(records) == 0.5
    assert M.token_f1(records) == pytest.approx((M.f1_score("It began in 2019", "2019") + 0) / 2)


# ---------------------------------------------------------------- retrieval


def test_hit_and_mrr_on_sources_and_evidence():
    by_source = EvalSample("s", "q", ["x"], sources=["b"], contexts=[ctx("..", "a"), ctx("..", "b")])
    by_evidence = EvalSample(
        "e", "q", ["x"], sources=[DOC], evidence=["valued at $135 billion"],
        contexts=[ctx(S2), ctx(S3), ctx("Its stake is VALUED at  $135 billion today.")],
    )
    none = EvalSample("n", "q", ["x"], sources=["zzz"], contexts=[ctx("..", "a")])
    no_gold = EvalSample("g", "q", ["x"], contexts=[ctx("..")])  # not scored for retrieval
    unans = EvalSample("u", "q", [], answerable=False, contexts=[ctx("..")])
    records = [by_source, by_evidence, none, no_gold, unans]
    assert M.first_relevant_rank(by_source) == 2
    assert M.first_relevant_rank(by_evidence) == 3
    assert M.hit_at_k(records, 1) == 0.0
    assert M.hit_at_k(records, 2) == pytest.approx(1 / 3)
    assert M.hit_at_k(records, 3) == pytest.approx(2 / 3)
    assert M.mrr_at_k(records, 10) == pytest.approx((1 / 2 + 1 / 3 + 0) / 3)
    assert M.hit_at_k([no_gold, unans], 5) is None


def test_source_match_accepts_path_suffix():
    assert M.source_matches("sample_data/doc.txt", ["doc.txt"])
    assert not M.source_matches("sample_data/otherdoc.txt", ["doc.txt"])


def test_ndcg_and_recall_with_graded_qrels():
    s = EvalSample("q", "q", relevance={"d1": 2, "d2": 1, "d9": 0},
                   ranking=["d3", "d1", "d1", "d2"])
    dcg = 2 / math.log2(3) + 1 / math.log2(4)  # d1 at rank 2, d2 at rank 3 (duplicate removed)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert M.ndcg(s, 10) == pytest.approx(dcg / idcg)
    assert M.ndcg(s, 1) == 0.0
    assert M.recall(s, 2) == 0.5
    assert M.recall(s, 100) == 1.0
    perfect = EvalSample("p", "q", relevance={"d1": 1}, ranking=["d1"])
    assert M.ndcg_at_k([s, perfect], 10) == pytest.approx((dcg / idcg + 1) / 2)
    assert M.recall_at_k([s, perfect], 100) == 1.0


# ---------------------------------------------------------------- faithfulness


def test_answer_sentences_attach_markers_written_after_the_stop():
    parts = M.answer_sentences("Microsoft holds 27 per cent [1]. It began in 2019. [2][3] No cite.")
    assert [ns for _, ns in parts] == [[1], [2, 3], []]
    assert M.answer_sentences("Both hold [1, 2].")[0][1] == [1, 2]


def test_a_quoted_rows_headings_are_part_of_what_it_cites():
    # the headings are shown beside the quote: "2019" and "Deferred tax assets" are cited
    row = EvalCitation(1, "r.md", "| Inventories | 43 | 58 |", 0, 24,
                       table="2019 | 2018 — Deferred tax assets")
    answer = "Deferred tax assets: Inventories — 2019: 43; 2018: 58 [1]"
    judge = DeterministicJudge()
    with_headings = EvalSample("row", "q", ["43"], answer=answer, citations=[row])
    assert M.sample_citation_recall(with_headings, judge.supports) == 1.0
    bare = EvalCitation(1, "r.md", row.quote, 0, 24)
    without = EvalSample("bare", "q", ["43"], answer=answer, citations=[bare])
    assert M.sample_citation_recall(without, judge.supports) == 0.0
    assert EvalCitation.from_dict({"n": 1, "quote": "q", "table": "2019"}).passage == "q\n2019"


def test_alce_citation_recall_and_precision():
    good = EvalSample(
        "good", "q", ["x"], answer=f"{S1[:-1]} [1]. {S2[:-1]} [2].",
        citations=[cit(1, S1), cit(2, S2)],
    )
    # second sentence cites an irrelevant quote, third has no citation
    mixed = EvalSample(
        "mixed", "q", ["x"], answer=f"{S1[:-1]} [1]. {S2[:-1]} [2]. {S3}",
        citations=[cit(1, S1), cit(2, S3)],
    )
    # joint support needs both quotes? No: [1] supports alone, [2] is redundant -> imprecise
    redundant = EvalSample(
        "red", "q", ["x"], answer=f"{S1[:-1]} [1][2].", citations=[cit(1, S1), cit(2, S3)],
    )
    abstained = EvalSample("abs", "q", ["x"], abstained=True, answer="The articles don't say.")
    records = [good, mixed, redundant, abstained]
    assert M.sample_citation_recall(good, exact) == 1.0
    assert M.sample_citation_recall(mixed, exact) == pytest.approx(1 / 3)
    assert M.sample_citation_precision(mixed, exact) == 0.5
    assert M.sample_citation_precision(redundant, exact) == 0.5
    assert M.citation_recall(records, exact) == pytest.approx((1 + 1 / 3 + 1) / 3)
    assert M.citation_precision(records, exact) == pytest.approx((1 + 0.5 + 0.5) / 3)


def test_dangling_marker_is_unsupported_and_imprecise():
    s = EvalSample("d", "q", ["x"], answer=f"{S1[:-1]} [4].", citations=[cit(1, S1)])
    assert M.sample_citation_recall(s, exact) == 0.0
    assert M.sample_citation_precision(s, exact) == 0.0


def test_quote_validity():
    doc = "Alpha beta gamma."
    assert M.check_quote(EvalCitation(1, DOC, "beta", 6, 10), doc)
    assert not M.check_quote(EvalCitation(1, DOC, "beta", 5, 9), doc)
    assert not M.check_quote({"n": 1, "source": DOC, "quote": "beta", "start": 6, "end": 10}, None)
    records = [EvalSample("a", "q", quote_valid=[True, True]), EvalSample("b", "q", quote_valid=[False, True])]
    assert M.quote_validity(records) == 0.75
    assert M.quote_validity([EvalSample("c", "q")]) is None


# ---------------------------------------------------------------- abstention and latency


def test_abstention_precision_and_recall_are_separate():
    records = [
        EvalSample("u1", "q", [], answerable=False, abstained=True),
        EvalSample("u2", "q", [], answerable=False, abstained=False),
        EvalSample("a1", "q", ["x"], abstained=True),
        EvalSample("a2", "q", ["x"], answer="x"),
    ]
    assert M.abstention_recall(records) == 0.5
    assert M.abstention_precision(records) == 0.5
    assert M.abstention_recall(records[2:]) is None
    assert M.abstention_precision(records[3:]) is None


# ---------------------------------------------------------------- wrong subject


def test_quote_overlaps_evidence():
    assert M.quote_overlaps(S2, "began in 2019")  # the quote holds the evidence
    assert M.quote_overlaps("began in 2019", S2)  # the evidence holds the quote
    assert M.quote_overlaps("Our partnership formally began in 2019 and ended.",
                            "The partnership formally began in 2019 after talks")  # 5 shared tokens
    assert not M.quote_overlaps("Our partnership began in 2019 and ended.",
                                "The partnership began in 2019 after talks")  # only 4
    assert not M.quote_overlaps(S1, "The partnership began in 2019.")
    assert not M.quote_overlaps("", S2)


def test_wrong_subject_judges_only_against_the_labels():
    answered_other = EvalSample(  # Amazon's stake, answered with Microsoft's sentence
        "amazon", "What stake does Amazon hold?", ["unknown"], answerable=False,
        answer=f"{S1[:-1]} [1].", citations=[cit(1, S1)])
    declined = EvalSample("declined", "What stake does Google hold?", [], answerable=False,
                          abstained=True)
    right = EvalSample("right", "When did it begin?", ["2019"], evidence=["began in 2019"],
                       answer=f"{S2[:-1]} [1].", citations=[cit(1, S2)])
    other_sentence = EvalSample("other", "When did it begin?", ["2019"], evidence=["began in 2019"],
                                answer=f"{S1[:-1]} [1].", citations=[cit(1, S1)])
    by_answer = EvalSample("squad", "When?", ["2019"], sources=[DOC],  # no evidence: the answer
                           answer="It began in 2019 [1].", citations=[cit(1, S2)])
    wrong_source = EvalSample("elsewhere", "When?", ["2019"], sources=["gold.txt"],
                              answer="It began in 2019 [1].", citations=[cit(1, S2, "other.txt")])
    uncited = EvalSample("uncited", "When?", ["2019"], evidence=["began in 2019"], answer="2019.")
    false_refusal = EvalSample("refused", "When?", ["2019"], abstained=True)
    error = EvalSample("error", "q", [], answerable=False, error="RuntimeError: boom")
    no_labels = EvalSample("nolabels", "q", [], answerable=True, answer="x [1].", citations=[cit(1, S1)])

    flags = {r.id: M.answered_wrong_subject(r) for r in
             [answered_other, declined, right, other_sentence, by_answer, wrong_source, uncited,
              false_refusal, error, no_labels]}
    assert flags == {"amazon": True, "declined": False, "right": False, "other": True,
                     "squad": False, "elsewhere": True, "uncited": True, "refused": False,
                     "error": None, "nolabels": None}
    records = [answered_other, declined, right, other_sentence, error]
    assert M.wrong_subject(records) == 0.5  # 2 of the 4 judged questions
    assert M.wrong_subject([error, no_labels]) is None
    metrics = M.compute_metrics(records, DeterministicJudge().supports)
    assert metrics["wrong_subject"] == 0.5
    assert not M.METRICS["wrong_subject"].higher_is_better and M.METRICS["wrong_subject"].gated
    assert M.sample_scores(other_sentence, exact)["wrong_subject"] is True


def test_wrong_subject_metric_does_not_use_the_answerers_code():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(M))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    banned = {"rag.answer.support", "rag.answer.extractive", "rag.answer.answer_types", "rag.answer.followup", "rag.answer.constraints", "rag.answer.question"}
    assert not imported & banned


def test_judge_shares_words_not_verdicts_with_the_answerer():
    """The judge reads names, numbers and content words as the answerer does (rag.language.textrules)
    but decides on its own: it imports no answerer decision code and probes for none."""
    import ast
    import inspect

    import eval.judge as J
    from rag.language import textrules

    source = inspect.getsource(J)
    tree = ast.parse(source)
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {m for m in imported if m and m.startswith("rag")} <= {"rag.language.text", "rag.language.textrules"}
    assert "hasattr" not in source and "rag.answer.support" not in source
    assert J.names is textrules.names and J.numbers is textrules.numbers
    assert J.content_terms is textrules.content_terms
    # "a name" is one thing: a sentence-initial mixed-case name counts for both
    assert J.missing_facts("OpenAI holds 27 per cent.", "Microsoft holds 27 per cent.") == ("openai",)


def test_latency_percentiles():
    records = [EvalSample(str(i), "q", latency_ms=float(i)) for i in range(1, 101)]
    assert M.latency_percentile(records, 50) == pytest.approx(50.5)
    assert M.latency_percentile(records, 95) == pytest.approx(95.05)
    assert M.latency_percentile([EvalSample("x", "q")], 50) is None


def test_compute_metrics_has_every_metric_and_is_deterministic():
    records = [
        EvalSample("a", "q", ["2019"], sources=[DOC], answer=f"{S2[:-1]} [1].",
                   citations=[cit(1, S2)], quote_valid=[True], contexts=[ctx(S2)], latency_ms=5.0),
        EvalSample("u", "q", [], answerable=False, abstained=True, latency_ms=7.0),
    ]
    judge = DeterministicJudge()
    first = M.compute_metrics(records, judge.supports)
    assert set(first) == set(M.METRICS)
    assert first["answer_contains"] == 1.0 and first["citation_recall"] == 1.0
    assert first["hit@1"] == 1.0 and first["abstention_recall"] == 1.0
    assert first["ndcg@10"] is None
    assert M.compute_metrics(records, DeterministicJudge().supports) == first
    retrieval = M.compute_metrics(records, judge.supports, retrieval_only=True)
    assert retrieval["answer_contains"] is None and retrieval["hit@1"] == 1.0


def test_sample_scores_rank_failures_lowest():
    judge = DeterministicJudge()
    ok = EvalSample("ok", "q", ["2019"], sources=[DOC], answer=f"{S2[:-1]} [1].",
                    citations=[cit(1, S2)], contexts=[ctx(S2)])
    wrong_refusal = EvalSample("ref", "q", ["2019"], sources=[DOC], abstained=True, contexts=[ctx(S2)])
    answered_unanswerable = EvalSample("u", "q", [], answerable=False, answer="Something [1].")
    scores = {s.id: M.sample_scores(s, judge.supports)["score"] for s in (ok, wrong_refusal, answered_unanswerable)}
    assert scores["ok"] > scores["ref"] > scores["u"] == 0.0


# ---------------------------------------------------------------- judge


def test_deterministic_judge_rules():
    judge = DeterministicJudge()
    passage = ("Following recapitalisation, Microsoft holds an investment in OpenAI Group PBC "
               "valued at $135 billion, representing 27 per cent.")
    assert judge.judge("Microsoft holds an investment in OpenAI Group PBC valued at $135 billion [1].", passage).reason == "quote"
    wrong_number = judge.judge("Microsoft holds 32 per cent of OpenAI Group PBC.", passage)
    assert not wrong_number.supported and wrong_number.missing == ("32",)
    wrong_name = judge.judge("Microsoft holds an investment in Google valued at $135 billion.", passage)
    assert not wrong_name.supported and "google" in wrong_name.missing
    paraphrase = judge.judge("After the recapitalisation Microsoft's investment in OpenAI Group PBC "
                             "is valued at $135 billion.", passage)
    assert paraphrase.supported and paraphrase.reason == "lexical"
    unrelated = judge.judge("The weather was pleasant.", passage)
    assert not unrelated.supported


def test_judge_helpers():
    assert missing_facts("It cost 1,000 dollars in 2019.", "in 2019 it cost 1000 dollars") == ()
    assert lexical_support("the cat sat", "a cat sat down") == 1.0
    assert lexical_support("", "anything") == 1.0


def test_judge_is_strict_on_facts():
    judge = DeterministicJudge()
    passage = "Microsoft holds 27 per cent."
    assert judge.supports("Microsoft holds 27 per cent [1].", passage)
    assert not judge.supports("Microsoft holds 28 per cent.", passage)


class _FakeEmbedder:
    """Bag-of-letters vectors: enough to exercise the embedding rule deterministically."""

    def embed_documents(self, texts):
        import numpy as np

        out = np.zeros((len(texts), 26), dtype=np.float32)
        for i, t in enumerate(texts):
            for ch in t.lower():
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_embedding_rule_used_when_lexical_fails():
    judge = DeterministicJudge(embedder=_FakeEmbedder(),
                               lexical_threshold=1.01, embedding_threshold=0.9)
    v = judge.judge("Listen silent tinsel", "enlist silent listen")
    assert v.supported and v.reason == "embedding"


# ---------------------------------------------------------------- gate


def test_gate_fails_on_drop_beyond_tolerance_and_on_invalid_quotes():
    base = {"metrics": {"hit@5": 0.9, "answer_contains": 0.8, "latency_p95_ms": 10.0,
                        "citation_recall": 1.0},
            "tolerances": {"hit@5": 0.02, "answer_contains": 0.02, "latency_p95_ms": None}}
    cur = {"hit@5": 0.885, "answer_contains": 0.7, "latency_p95_ms": 999.0, "citation_recall": None,
           "quote_validity": 1.0}
    deltas = {d.metric: d.status for d in compare(cur, base)}
    assert deltas["hit@5"] == "ok"
    assert deltas["answer_contains"] == "regressed"
    assert deltas["latency_p95_ms"] == "info"
    assert deltas["citation_recall"] == "missing"
    reasons = gate(compare(cur, base), cur)
    assert len(reasons) == 2 and "answer_contains regressed" in reasons[0]
    assert invariant_failures({"quote_validity": 0.99})
    assert not gate(compare(base["metrics"], base), {"quote_validity": 1.0})


def test_gate_reads_lower_is_better_metrics_the_other_way():
    base = {"metrics": {"wrong_subject": 0.20, "answer_contains": 0.8},
            "tolerances": {"wrong_subject": 0.02}}
    worse = {"wrong_subject": 0.25, "answer_contains": 0.8, "quote_validity": 1.0}
    better = {"wrong_subject": 0.05, "answer_contains": 0.8, "quote_validity": 1.0}
    within = {"wrong_subject": 0.21, "answer_contains": 0.8, "quote_validity": 1.0}
    assert {d.metric: d.status for d in compare(worse, base)}["wrong_subject"] == "regressed"
    assert {d.metric: d.status for d in compare(better, base)}["wrong_subject"] == "improved"
    assert {d.metric: d.status for d in compare(within, base)}["wrong_subject"] == "ok"
    reasons = gate(compare(worse, base), worse)
    assert reasons == ["wrong_subject regressed: 0.2000 -> 0.2500 (delta +0.0500, tolerance 0.02, "
                       "lower is better)"]
    assert not gate(compare(better, base), better)
    # a baseline written before the metric existed: reported as new, not gated
    old = {"metrics": {"answer_contains": 0.8}, "tolerances": {}}
    assert {d.metric: d.status for d in compare(worse, old)}["wrong_subject"] == "new"
    assert default_tolerances()["wrong_subject"] == 0.02


def test_make_baseline_keeps_custom_tolerances():
    report = {"dataset": {}, "config": {}, "judge": "deterministic",
              "metrics": {"hit@5": 0.9, "latency_p50_ms": 3.0}}
    b = make_baseline(report, {"tolerances": {"hit@5": 0.05}})
    assert b["tolerances"] == {"hit@5": 0.05, "latency_p50_ms": None}
    assert default_tolerances()["quote_validity"] == 0.0


def test_llm_judge_checks_every_claim():
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from eval.judge import LLMJudge, make_judge

    passage = "Microsoft holds 27 per cent. The deal began in 2019."
    # claims, then one verdict per claim
    model = FakeListChatModel(responses=["Microsoft holds a stake\nThe deal is old", "yes", "no"])
    judge = LLMJudge(model)
    assert not judge.supports("Microsoft has a stake in an old deal.", passage)
    assert judge.supports("The deal began in 2019 [2].", passage)  # exact quote: no LLM call
    assert isinstance(make_judge(chat_model=model), LLMJudge)
    assert make_judge().name.startswith("deterministic")


# ---------------------------------------------------------------- multiple choice, answer triggering


def test_choice_credit_reads_content_words_within_one_sentence():
    assert M.choice_credit("Cases rose among children younger than 5 [1].", ["children under 5"], [])
    assert M.choice_credit("Five people were hurt.", ["5 people"], [])  # number words as digits
    assert not M.choice_credit("A Burmese python was found in the garage.", ["snake"], [])
    # the content words must share one sentence of the answer
    assert not M.choice_credit("Children were tested. The limit is 5.", ["children under 5"], [])
    assert M.choice_credit("It was the Tigger [1].", ["Tigger"], ["Owl", "Eeyore"])


def test_choice_credit_refuses_an_answer_naming_a_wrong_choice():
    assert not M.choice_credit("Either Tigger or Eeyore [1].", ["Tigger"], ["Owl", "Eeyore"])
    assert not M.choice_credit("Tigger. Also Eeyore [2].", ["Tigger"], ["Eeyore"])
    # a wrong choice whose words are all the right one's does not count against it
    assert M.choice_credit("It was held in New York City.", ["New York City"], ["New York", "Boston"])
    assert not M.choice_credit("It was held in New York.", ["New York City"], ["New York"])


def test_answer_contains_uses_choice_credit_only_for_samples_with_distractors():
    both = "Tigger and Eeyore [1]."
    plain = EvalSample("a", "q", ["Tigger"], answer=both)
    choice = EvalSample("b", "q", ["Tigger"], answer=both, distractors=["Eeyore"])
    assert M.answer_contains([plain]) == 1.0  # the old rule, unchanged
    assert M.answer_contains([choice]) == 0.0
    words = EvalSample("c", "q", ["children under 5"], answer="children younger than 5")
    assert M.answer_contains([words]) == 0.0  # without distractors: whole words only
    assert M.answer_contains([EvalSample("d", "q", ["children under 5"], distractors=["adults"],
                                         answer="children younger than 5")]) == 1.0


def test_cites_gold_reads_multiple_choice_quotes_by_choice_credit():
    quote = "Owl and Tigger both left the wood."
    s = EvalSample("a", "q", ["Tigger"], answer="Tigger [1].", citations=[cit(1, quote)])
    assert M.cites_gold(s)
    s.distractors = ["Owl"]
    assert not M.cites_gold(s) and M.answered_wrong_subject(s)


def test_answer_trigger_f1():
    gold = "In Biology , Tissue is a cellular organizational level between cells and organs ."
    right = EvalSample("a", "q", [gold], evidence=[gold], answer="Tissue is a level [1].",
                       citations=[cit(1, "Tissue is a cellular organizational level between cells")])
    wrong = EvalSample("b", "q", [gold], evidence=[gold], answer="Something else [1].",
                       citations=[cit(1, "An unrelated sentence about plants and light.")])
    missed = EvalSample("c", "q", [gold], evidence=[gold], abstained=True)
    declined = EvalSample("u", "q", [], answerable=False, abstained=True)
    answered_none = EvalSample("v", "q", [], answerable=False, answer="A guess [1].",
                               citations=[cit(1, "A guess.")])
    records = [right, wrong, missed, declined, answered_none]
    # 1 right; answered: right, wrong, answered_none (3); answerable: 3
    p, r = 1 / 3, 1 / 3
    assert M.answer_trigger_f1(records) == pytest.approx(2 * p * r / (p + r))
    assert M.answer_trigger_f1([missed, declined]) == 0.0
    assert M.answer_trigger_f1([EvalSample("x", "q", ["y"], answer="y")]) is None  # no evidence
    assert M.METRICS.get("answer_trigger_f1").group == "abstention"


def test_a_baseline_without_answer_trigger_f1_shows_it_as_new():
    deltas = compare({"answer_trigger_f1": 0.4, "hit@1": 1.0}, {"metrics": {"hit@1": 1.0}})
    status = {d.metric: d.status for d in deltas}
    assert status["answer_trigger_f1"] == "new"
    assert gate(deltas, {"answer_trigger_f1": 0.4}) == []


def test_choice_credit_reads_hyphens_as_spaces_and_a_stop_word_choice_as_a_phrase():
    from eval.metrics import choice_credit

    assert choice_credit("She was handed a five-year ban.", ["5"], ["10", "3"])
    assert choice_credit("After the Twitter-based launch.", ["Twitter"], ["Facebook"])
    # "HBO Go" is not named by "HBO Max": a wrong choice with a stop word counts only whole
    assert choice_credit("HBO Max was relaunched as Max.", ["Max"], ["HBO Go", "Plus"])
    assert not choice_credit("HBO Go was relaunched as Max.", ["Max"], ["HBO Go", "Plus"])


def test_a_multi_span_question_needs_every_reference():
    refs = ["Fixed price", "Cost plus", "Time and material"]
    some = EvalSample("m1", "q", refs, answer="Fixed price and cost plus [1].", tags=["multi-span"])
    every = EvalSample("m2", "q", refs, answer="Fixed price; Cost plus; Time and material [1].",
                       tags=["multi-span"])
    assert M.answer_contains([some]) == 0.0 and M.answer_contains([every]) == 1.0
    assert M.answer_contains([EvalSample("m3", "q", refs, answer="Cost plus [1].")]) == 1.0
