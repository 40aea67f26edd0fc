"""The harness and its gate: a fake pipeline for the fast tests, the real one for the slow ones."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from eval import harness
from eval.datasets import load_jsonl
from eval.records import EvalSample
from rag.answer.generator import RuleBasedCondense
from rag.config import Settings
from rag.records import Answer, Chunk, Citation, Hit, IngestReport

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "eval" / "golden" / "sample_article.jsonl"
BASELINE = ROOT / "eval" / "golden" / "baseline.json"
ARTICLE = ROOT / "sample_data" / "microsoft-openai-partnership.txt"

DOC_ID = "deal.txt"
DOC = ("Microsoft and OpenAI signed a deal that began in 2019. "
       "Microsoft holds 27 per cent of OpenAI Group PBC. "
       "OpenAI can now build products with third parties. "
       "An expert panel will verify any AGI declaration.")
WORD = re.compile(r"\w+")
STOP = {"the", "a", "of", "in", "does", "did", "what", "who", "how", "much", "can", "will", "and"}


def _terms(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOP}


class FakePipeline:
    """Sentence-level retrieval by word overlap and an extractive answer citing the top one."""

    def __init__(self, k: int = 3, bad_quotes: bool = False, fail: bool = False) -> None:
        self.k, self.bad_quotes, self.fail = k, bad_quotes, fail
        self.spans = [(m.start(), m.end()) for m in re.finditer(r"[^.]+\.", DOC)]
        self.spans = [(s + (DOC[s] == " "), e) for s, e in self.spans]
        self.ingested: list[Path] = []
        self.embedder = None

    def ingest(self, paths, prune=False, progress=None) -> IngestReport:
        self.ingested += [Path(p) for p in paths]
        if progress:
            progress(1, len(self.spans))
        return IngestReport(added=[DOC_ID], chunks_embedded=len(self.spans))

    def retrieve(self, question: str, k: int | None = None, filters=None) -> list[Hit]:
        q = _terms(question)
        scored = sorted(((len(q & _terms(DOC[s:e])), -s, s, e) for s, e in self.spans), reverse=True)
        hits = []
        for overlap, _, s, e in scored[: k or self.k]:
            chunk = Chunk(f"c{s}", DOC_ID, 0, s, e, DOC[s:e])
            hits.append(Hit(chunk, float(overlap), title="Deal"))
        return hits

    def ask(self, question: str, history=None, k=None, filters=None) -> Answer:
        if self.fail:
            raise RuntimeError("generator exploded")
        hits = self.retrieve(question, k)
        if not hits or hits[0].score < 2:
            return Answer(question, "The articles don't say.", True, contexts=hits)
        c = hits[0].chunk
        start = c.start + (1 if self.bad_quotes else 0)
        cit = Citation(1, DOC_ID, "Deal", "", DOC[start : c.end], start, c.end)
        if self.bad_quotes:
            cit.quote = c.text  # offsets no longer match the quote
        return Answer(question, f"{c.text} [1]", False, citations=[cit], contexts=hits, latency_ms=1.0)

    def document_text(self, source: str) -> str:
        if source != DOC_ID:
            raise KeyError(source)
        return DOC


ROWS = [
    {"id": "q1", "question": "Which year was the deal signed?", "answers": ["2019"],
     "evidence": ["began in 2019"], "sources": [DOC_ID], "tags": ["direct"]},
    {"id": "q2", "question": "What stake does Microsoft hold of OpenAI Group PBC?",
     "answers": ["27 per cent"], "evidence": ["27 per cent"], "tags": ["direct"]},
    {"id": "q3", "question": "Who will verify the AGI declaration?", "answers": ["expert panel"],
     "evidence": ["An expert panel will verify"], "tags": ["direct"]},
    {"id": "q4", "question": "Can OpenAI build products with third parties?",
     "answers": ["build products with third parties"], "evidence": ["third parties"],
     "history": [{"question": "What was signed?", "answer": "A deal."}], "tags": ["followup"]},
    {"id": "u1", "question": "What is Google's stake?", "answers": [], "answerable": False},
    {"id": "u2", "question": "Who is the chief executive?", "answers": [], "answerable": False},
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    return path


def run(argv: list[str], pipeline=None, settings: Settings | None = None) -> tuple[int, str]:
    args = harness.parser().parse_args([*argv, "--no-progress"])
    out = io.StringIO()
    code = harness.run_from_args(args, settings or Settings(), pipeline=pipeline, out=out)
    return code, out.getvalue()


# ---------------------------------------------------------------- fast: fake pipeline


def test_run_scores_and_writes_reports(tmp_path: Path, dataset: Path):
    pipe = FakePipeline()
    code, out = run([str(dataset), "--ingest", str(dataset), "--report", str(tmp_path / "rep")], pipe)
    assert code == 0, out
    assert pipe.ingested == [dataset]
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    m = report["metrics"]
    assert m["hit@1"] == 1.0 and m["answer_contains"] == 1.0 and m["quote_validity"] == 1.0
    assert m["abstention_recall"] == 1.0 and m["abstention_precision"] == 1.0
    assert m["citation_recall"] == 1.0 and m["citation_precision"] == 1.0
    assert report["counts"]["questions"] == 6 and report["verdict"] == "PASS"
    assert set(report["by_tag"]) == {"direct", "followup", "unanswerable"}
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "## Metrics" in md and "| hit@5 |" in md and "## Worst 6 questions" in md
    assert "verdict: PASS" in out


class LLMModePipeline(FakePipeline):
    """Answers as the LLM generator reports them: removed sentences and one fallback note."""

    def ask(self, question: str, history=None, k=None, filters=None) -> Answer:
        answer = super().ask(question, history, k, filters)
        if not answer.abstained:
            answer.removed_sentences = 2
        if question.startswith("Who will verify"):
            answer.note = ("The language model took too long, so this answer quotes the documents "
                           "directly (CITEWISE_LLM_TIMEOUT sets how long to wait).")
        return answer


def test_llm_mode_counts_removed_sentences_and_fallbacks(tmp_path: Path, dataset: Path):
    code, out = run([str(dataset), "--report", str(tmp_path / "rep")], LLMModePipeline())
    assert code == 0, out
    counts = json.loads((tmp_path / "rep" / "report.json").read_text())["counts"]
    answered = counts["answered"]
    assert counts["removed_sentences"] == 2 * answered and counts["llm_fallbacks"] == 1
    assert f"verifier removed {2 * answered} unsupported sentence(s); 1 answer(s) fell back" in out


def test_llm_judge_needs_an_llm(dataset: Path, capsys):
    code, _ = run([str(dataset), "--judge", "llm"], FakePipeline())
    assert code == 2
    assert "CITEWISE_LLM_MODEL" in capsys.readouterr().err


def test_regression_against_baseline_exits_1(tmp_path: Path, dataset: Path):
    baseline = tmp_path / "baseline.json"
    code, out = run([str(dataset), "--write-baseline", str(baseline)], FakePipeline())
    assert code == 0 and baseline.is_file()
    saved = json.loads(baseline.read_text())
    assert saved["tolerances"]["hit@1"] == 0.02 and saved["tolerances"]["latency_p95_ms"] is None
    code, out = run([str(dataset), "--baseline", str(baseline)], FakePipeline())
    assert code == 0, out
    code, out = run([str(dataset), "--baseline", str(baseline)], FakePipeline(k=1))
    assert code == 0, out  # the top passage is right: nothing drops, nothing fails
    code, out = run([str(dataset), "--baseline", str(baseline)], FakePipeline(fail=True))
    assert code == 1
    assert "REGRESSION: answer_contains regressed" in out and "verdict: FAIL" in out


def test_custom_tolerances_are_kept_when_rewriting(tmp_path: Path, dataset: Path):
    baseline = tmp_path / "baseline.json"
    run([str(dataset), "--write-baseline", str(baseline)], FakePipeline())
    data = json.loads(baseline.read_text())
    data["tolerances"]["answer_contains"] = 1.0
    baseline.write_text(json.dumps(data))
    assert run([str(dataset), "--baseline", str(baseline)], FakePipeline(fail=True))[0] == 1
    run([str(dataset), "--write-baseline", str(baseline)], FakePipeline())
    assert json.loads(baseline.read_text())["tolerances"]["answer_contains"] == 1.0


def test_invalid_quote_fails_without_a_baseline(dataset: Path):
    code, out = run([str(dataset)], FakePipeline(bad_quotes=True))
    assert code == 1 and "quote_validity" in out


def test_unusable_input_exits_2(tmp_path: Path, dataset: Path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "q", "answers": []}\n{"id": "b"}\n')
    assert run([str(bad)], FakePipeline())[0] == 2
    assert f"{bad}:2: 'question' is required" in capsys.readouterr().err
    assert run([str(dataset), "--baseline", str(tmp_path / "none.json")], FakePipeline())[0] == 2
    assert "--write-baseline" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text("{")
    assert run([str(dataset), "--baseline", str(tmp_path / "broken.json")], FakePipeline())[0] == 2
    assert run([str(dataset), "--limit", "0"], FakePipeline())[0] == 2
    assert run([str(dataset), "--ingest", str(tmp_path / "nope")], FakePipeline())[0] == 2
    assert "nothing to ingest" in capsys.readouterr().err


def test_limit_and_seed_sample_deterministically(dataset: Path):
    samples = load_jsonl(dataset).samples
    a = [s.id for s in harness.select(samples, 3, seed=1)]
    assert a == [s.id for s in harness.select(samples, 3, seed=1)]
    assert len(a) == 3 and a == sorted(a, key=[s.id for s in samples].index)
    assert harness.select(samples, None, 0) == samples


def test_pipeline_errors_are_recorded_not_raised():
    sample = EvalSample("x", "q", ["a"])
    out = harness.answer_sample(FakePipeline(fail=True), sample, {})
    assert out.error.startswith("RuntimeError") and out.latency_ms is not None


def test_two_runs_are_identical_with_the_fake_pipeline(tmp_path: Path, dataset: Path):
    reports = []
    for name in ("a", "b"):
        assert run([str(dataset), "--report", str(tmp_path / name)], FakePipeline())[0] == 0
        reports.append(json.loads((tmp_path / name / "report.json").read_text()))
    assert _quality(reports[0]) == _quality(reports[1])


def test_beir_folder_runs_retrieval_only(tmp_path: Path):
    folder = tmp_path / "beir"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text(json.dumps({"_id": DOC_ID, "title": "", "text": DOC}) + "\n")
    (folder / "queries.test.tsv").write_text("1\tWhen did the deal begin in 2019?\n2\tGoogle\n")
    (folder / "qrels.test.txt").write_text(f"1 0 {DOC_ID} 1\n2 0 other.txt 1\n")
    pipe = FakePipeline()
    code, out = run([str(folder), "--report", str(tmp_path / "rep")], pipe)
    assert code == 0, out
    assert pipe.ingested and pipe.ingested[0].suffix == ".jsonl"
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert report["metrics"]["ndcg@10"] == 0.5 and report["metrics"]["recall@100"] == 0.5
    assert report["metrics"]["answer_contains"] is None


NEAR_ROWS = [
    {"id": "n1", "question": "Can OpenAI now build products with third parties?",
     "answers": ["build products with third parties"], "sources": [DOC_ID],
     "evidence": ["OpenAI can now build products with third parties"]},
    {"id": "n2", "question": "Which year was the deal signed?", "answers": ["2019"],
     "sources": [DOC_ID], "evidence": ["began in 2019"]},
    {"id": "u1", "question": "What is Google's stake?", "answers": [], "answerable": False},
]


def test_near_miss_variants_are_reported_apart_from_the_originals(tmp_path: Path):
    path = tmp_path / "near.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in NEAR_ROWS) + "\n", encoding="utf-8")
    reports = []
    for name in ("a", "b"):
        code, out = run([str(path), "--near-miss", "--seed", "1", "--report", str(tmp_path / name)],
                        FakePipeline())
        assert code == 0, out
        reports.append(json.loads((tmp_path / name / "report.json").read_text()))
    report = reports[0]
    near = report["near_miss"]
    # "now" -> "previously": the fake pipeline answers it anyway (word overlap), so 0 abstention
    assert near["by_kind"] == {"time_qualifier": {"n": 1, "abstention_rate": 0.0}}
    assert near["variants"] == {"n": 1, "abstention_rate": 0.0, "errors": 0}
    assert near["originals"]["n"] == 2 and near["originals"]["false_abstention"] == 0.0
    assert near["originals"]["answer_contains"] == 1.0
    assert near["originals_with_variants"]["n"] == 1
    example = near["answered_examples"][0]
    assert example["question"] == "Can OpenAI previously build products with third parties?"
    assert example["original_question"] == NEAR_ROWS[0]["question"] and example["quotes"]
    # metrics and counts cover the dataset's questions only; the variant is listed and scored
    assert report["counts"]["questions"] == 3 and report["metrics"]["abstention_recall"] == 1.0
    variant = next(q for q in report["questions"] if q["id"] == "n1~time_qualifier")
    assert variant["near_miss"]["replacement"] == "previously"
    assert variant["scores"]["wrong_subject"] is True and variant["scores"]["score"] == 0.0
    assert _quality(reports[0]) == _quality(reports[1]) and reports[1]["near_miss"] == near
    md = (tmp_path / "a" / "report.md").read_text()
    assert "## Near misses" in md and "| variants: time_qualifier | 1 | 0.0000 |" in md
    assert "| variants (should abstain) | 1 | 0.0000 |" in out


def test_near_miss_needs_answers(tmp_path: Path, capsys):
    folder = tmp_path / "beir"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text(json.dumps({"_id": DOC_ID, "title": "", "text": DOC}) + "\n")
    (folder / "queries.test.tsv").write_text("1\tWhen did the deal begin?\n")
    (folder / "qrels.test.txt").write_text(f"1 0 {DOC_ID} 1\n")
    code, _ = run([str(folder), "--near-miss"], FakePipeline())
    assert code == 2 and "--near-miss needs questions with answers" in capsys.readouterr().err


def _quality(report: dict) -> dict:
    """Everything but wall-clock figures."""
    metrics = {k: v for k, v in report["metrics"].items() if not k.startswith("latency")}
    questions = [{k: v for k, v in q.items() if k != "latency_ms"} for q in report["questions"]]
    return {"metrics": metrics, "questions": questions, "counts": report["counts"]}


# ---------------------------------------------------------------- slow: the real pipeline


def _cli(argv: list[str]) -> int:
    from ui.cli import main

    return main(["eval", *argv, "--no-progress"])


@pytest.mark.slow
def test_gate_fails_with_retrieval_k_1(tmp_path: Path, capsys):
    """A degraded configuration (one passage instead of five) must fail `citewise eval`."""
    code = _cli([str(GOLDEN), "--ingest", str(ARTICLE), "--baseline", str(BASELINE), "--k", "1"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "REGRESSION: hit@5 regressed" in out


class _BrokenGenerator(RuleBasedCondense):
    """Answers every question with the article's first sentence: confident and wrong."""

    name = "broken"

    def generate(self, question, hits, history=None) -> Answer:
        return Answer(question, "OpenAI can now work with Google [1].", False, contexts=hits)

    def stream(self, question, hits, history=None):
        yield self.generate(question, hits, history)


@pytest.mark.slow
def test_gate_fails_with_a_broken_generator(tmp_path: Path, embedder, capsys):
    from citewise import Citewise

    pipe = Citewise(Settings(store=tmp_path / "store"), embedder=embedder, generator=_BrokenGenerator())
    code, out = run([str(GOLDEN), "--ingest", str(ARTICLE), "--baseline", str(BASELINE)], pipe)
    assert code == 1, out
    assert "answer_contains regressed" in out and "citation_recall regressed" in out


@pytest.mark.slow
def test_golden_set_is_deterministic_and_passes_its_baseline(tmp_path: Path):
    """Two runs on fresh stores give identical numbers (latency aside), and both pass the CI gate:
    the golden set against eval/golden/baseline.json."""
    assert BASELINE.is_file(), "run the harness with --write-baseline eval/golden/baseline.json"
    reports, codes = [], []
    for name in ("a", "b"):
        codes.append(_cli([str(GOLDEN), "--ingest", str(ARTICLE), "--baseline", str(BASELINE),
                           "--report", str(tmp_path / name)]))
        reports.append(json.loads((tmp_path / name / "report.json").read_text()))
    assert reports[0]["judge"].startswith("deterministic")
    assert _quality(reports[0]) == _quality(reports[1])
    assert reports[0]["metrics"]["quote_validity"] == 1.0
    assert codes == [0, 0], reports[0]["failures"]


@pytest.mark.slow
def test_near_miss_run_on_golden_questions_with_the_real_pipeline(tmp_path: Path):
    """The store's own documents feed the generator; variants of several kinds are asked."""
    rows = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line]
    picked = [r for r in rows if r.get("answers") and not r.get("history")][:12]
    path = tmp_path / "direct.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in picked), encoding="utf-8")
    code = _cli([str(path), "--ingest", str(ARTICLE), "--near-miss", "--report", str(tmp_path / "rep")])
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert code == 0, report["failures"]
    near = report["near_miss"]
    assert near["variants"]["n"] >= 8 and len(near["by_kind"]) >= 2
    assert sum(k["n"] for k in near["by_kind"].values()) == near["variants"]["n"]
    assert 0.0 <= near["variants"]["abstention_rate"] <= 1.0
    assert report["counts"]["questions"] == 12 and near["originals"]["n"] == 12
    variants = [q for q in report["questions"] if q["near_miss"]]
    assert len(variants) == near["variants"]["n"] and all(not q["answerable"] for q in variants)


def test_restrict_asks_each_question_over_its_own_sources():
    seen = []

    class Recording(FakePipeline):
        def ask(self, question, history=None, k=None, filters=None):
            seen.append(filters)
            return super().ask(question, history, k)

    sample = EvalSample("x", "What did the deal say?", ["a"], sources=["report-7.md"])
    harness.answer_sample(Recording(), sample, {}, restrict=True)
    harness.answer_sample(Recording(), sample, {})
    assert seen[0].sources == ["report-7.md"] and seen[1] is None


def test_a_question_is_asked_as_of_its_day_unless_told_to_ignore_it(tmp_path: Path):
    seen = []

    class Recording(FakePipeline):
        def ask(self, question, history=None, k=None, filters=None, as_of=None):
            seen.append(as_of)
            return super().ask(question, history, k)

    path = tmp_path / "dated.jsonl"
    path.write_text(json.dumps({"id": "w", "question": "Who won this week?", "answers": ["a"],
                                "as_of": "2024-05-03"}) + "\n"
                    + json.dumps({"id": "u", "question": "Who won?", "answers": ["a"]}) + "\n",
                    encoding="utf-8")
    run([str(path)], Recording())
    run([str(path), "--ignore-as-of"], Recording())
    assert seen == ["2024-05-03", None, None, None]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": 1, "question": "q", "answers": [], "as_of": "May 3"}) + "\n",
                   encoding="utf-8")
    code, _ = run([str(bad)], Recording())
    assert code == harness.EXIT_INPUT
