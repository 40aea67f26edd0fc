"""The regression eval: run a question set through the real pipeline, score it, gate on a baseline.

``citewise eval DATASET [--store DIR] [--ingest PATH] [--baseline FILE] [--write-baseline FILE]
[--report DIR] [--limit N] [--seed S] [--near-miss]``

* DATASET: citewise JSONL, SQuAD JSON (``.json``) or a BEIR folder. SQuAD paragraphs and BEIR
  abstracts are ingested from a JSONL feed written to a temporary folder.
* Store: ``--store DIR`` when given (incremental: a second run re-embeds nothing); otherwise a
  fresh temporary store when there is something to ingest (``--ingest`` or a SQuAD/BEIR
  corpus), so the numbers never depend on what else a store holds; otherwise the configured one.
* Exit codes: 0 pass, 1 regression (or an invalid quote), 2 unusable input.
* Deterministic with the default judge: two runs give identical numbers (latency aside).
* ``--near-miss``: also asks unanswerable variants of the sampled answerable questions
  (eval/nearmiss.py, seeded by ``--seed``); the report's ``near_miss`` rows give abstention on
  them next to answer quality on the originals. ``metrics`` (and the gate) cover only the
  dataset's own questions, so a baseline compares the same thing with or without the flag.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.datasets import Dataset, DatasetError, load_dataset, write_feed
from eval.judge import Judge, make_judge
from eval.metrics import METRICS, compute_metrics, counts, sample_scores
from eval.nearmiss import make_near_misses, summarize
from eval.records import EvalCitation, EvalContext, EvalSample
from eval.report import (
    BaselineError,
    compare,
    gate,
    load_baseline,
    make_baseline,
    metrics_table,
    near_miss_table,
    write_json,
    write_report,
)
from rag.config import Settings
from rag.errors import CitewiseError
from rag.records import Filters

log = logging.getLogger(__name__)

EXIT_OK, EXIT_REGRESSION, EXIT_INPUT = 0, 1, 2
WORST_N = 10
RETRIEVAL_DEPTH = 100  # documents ranked per query in retrieval-only (BEIR) runs
CHUNKS_PER_DOC = 3  # chunks fetched per wanted document, since a document can span several


@dataclass
class EvalRun:
    """Records of one run with their metrics, ready for the report."""

    dataset: Dataset
    records: list[EvalSample]
    metrics: dict[str, float | None]
    judge: str
    config: dict[str, Any]
    eval_seconds: float
    ingest_seconds: float = 0.0
    ingest: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    seed: int = 0
    variants: list[EvalSample] = field(default_factory=list)  # near-miss variants, answered
    near_miss: dict[str, Any] | None = None


# ---------------------------------------------------------------- running


def select(samples: Sequence[EvalSample], limit: int | None, seed: int) -> list[EvalSample]:
    """``limit`` samples drawn with ``seed`` (kept in dataset order), or all of them."""
    if limit is None or limit >= len(samples):
        return list(samples)
    picked = sorted(random.Random(seed).sample(range(len(samples)), limit))
    return [samples[i] for i in picked]


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:  # pragma: no cover
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def config_of(settings: Settings, pipeline: Any = None) -> dict[str, Any]:
    """The settings that change the numbers, recorded in reports and baselines."""
    generator = getattr(getattr(pipeline, "generator", None), "name", None) or settings.generator
    return {
        "embedding_model": settings.embedding_model,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap": settings.chunk_overlap,
        "k": settings.k,
        "generator": generator,
        "abstain_threshold": settings.abstain_threshold,
    }


def _contexts(items: list[dict[str, Any]]) -> list[EvalContext]:
    return [EvalContext.from_dict(c) for c in items]


def answer_sample(pipeline: Any, sample: EvalSample, doc_cache: dict[str, str | None],
                  restrict: bool = False) -> EvalSample:
    """Ask one question; returns the sample with answer, contexts, citations and quote checks.
    With ``restrict``, the question is asked over its own ``sources`` only."""
    started = time.perf_counter()
    try:
        extra: dict[str, Any] = {"filters": Filters(sources=list(sample.sources))} \
            if restrict and sample.sources else {}
        if sample.as_of:
            extra["as_of"] = sample.as_of
        answer = pipeline.ask(sample.question, history=sample.history or None, **extra)
        d = answer.to_dict()
    except Exception as exc:  # noqa: BLE001 - one broken question must not lose the run
        log.warning("question %s failed: %s", sample.id, exc)
        return replace(sample, error=f"{type(exc).__name__}: {exc}",
                       latency_ms=round((time.perf_counter() - started) * 1000, 2))
    latency = (time.perf_counter() - started) * 1000
    citations = [EvalCitation.from_dict(c) for c in d.get("citations", [])]
    valid = []
    for c in citations:
        if c.source not in doc_cache:
            try:
                doc_cache[c.source] = pipeline.document_text(c.source)
            except Exception as exc:  # noqa: BLE001 - a cited source that is not stored
                log.warning("cannot read cited source %r: %s", c.source, exc)
                doc_cache[c.source] = None
        text = doc_cache[c.source]
        valid.append(text is not None and bool(c.quote) and text[c.start : c.end] == c.quote)
    return replace(
        sample,
        answer=str(d.get("answer", "")),
        abstained=bool(d.get("abstained", False)),
        contexts=_contexts(d.get("contexts", [])),
        citations=citations,
        quote_valid=valid,
        latency_ms=round(latency, 2),
        standalone_question=str(d.get("standalone_question", "") or ""),
        removed_sentences=int(d.get("removed_sentences", 0) or 0),
        note=str(d.get("note", "") or ""),
    )


def retrieve_sample(pipeline: Any, sample: EvalSample, depth: int = RETRIEVAL_DEPTH) -> EvalSample:
    """Rank documents for one query (retrieval-only runs): ``ranking`` holds ``depth`` ids."""
    started = time.perf_counter()
    try:
        hits = pipeline.retrieve(sample.question, k=depth * CHUNKS_PER_DOC)
    except Exception as exc:  # noqa: BLE001
        log.warning("query %s failed: %s", sample.id, exc)
        return replace(sample, error=f"{type(exc).__name__}: {exc}")
    latency = (time.perf_counter() - started) * 1000
    contexts = [EvalContext.from_dict(h.to_context()) for h in hits]
    ranking = list(dict.fromkeys(c.source for c in contexts))[:depth]
    return replace(sample, contexts=contexts[:10], ranking=ranking, latency_ms=round(latency, 2))


def run_samples(
    pipeline: Any,
    samples: Sequence[EvalSample],
    retrieval_only: bool = False,
    progress: bool = True,
    depth: int = RETRIEVAL_DEPTH,
    restrict: bool = False,
) -> list[EvalSample]:
    """Run every sample through the pipeline, with a progress bar on stderr."""
    doc_cache: dict[str, str | None] = {}
    out = []
    bar = tqdm(samples, desc="eval", unit="q", file=sys.stderr, disable=not progress or None,
               dynamic_ncols=True)
    for sample in bar:
        if retrieval_only:
            out.append(retrieve_sample(pipeline, sample, depth))
        else:
            out.append(answer_sample(pipeline, sample, doc_cache, restrict))
    return out


def corpus_of(dataset: Dataset, pipeline: Any, samples: Sequence[EvalSample]) -> dict[str, str]:
    """Source id -> text the near-miss generator draws from: the dataset's own documents
    (SQuAD, BEIR), else every document of the store (and the gold sources it can read)."""
    if dataset.feed:
        return {str(d["source"]): str(d["text"]) for d in dataset.feed}
    sources: set[str] = set()
    try:
        sources = {d.source for d in pipeline.documents()}
    except AttributeError:  # a pipeline that cannot list its documents: the gold sources only
        pass
    sources |= {s for sample in samples for s in sample.sources}
    texts: dict[str, str] = {}
    for source in sorted(sources):
        try:
            texts[source] = pipeline.document_text(source)
        except Exception as exc:  # noqa: BLE001 - a gold source named by a short id, or gone
            log.debug("near misses: cannot read %r: %s", source, exc)
    return texts


def published_of(dataset: Dataset, pipeline: Any) -> dict[str, str]:
    """Source id -> published date (YYYY-MM-DD) of the dated documents, for the ``stale``
    near misses: the dataset's own, else the store's."""
    if dataset.feed:
        return {str(d["source"]): str(d.get("published") or "")[:10] for d in dataset.feed
                if d.get("published")}
    try:
        return {d.source: d.published[:10] for d in pipeline.documents() if d.published}
    except AttributeError:
        return {}


def run_eval(
    dataset: Dataset,
    pipeline: Any,
    settings: Settings,
    judge: Judge | None = None,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
    near_miss: bool = False,
    restrict: bool = False,
) -> EvalRun:
    """Run (a seeded sample of) the dataset and compute every metric; with ``near_miss``, also
    its near-miss variants, scored apart (``EvalRun.near_miss``)."""
    _seed_everything(seed)
    judge = judge or make_judge(None, getattr(pipeline, "embedder", None))
    samples = select(dataset.samples, limit, seed)
    variants: list[EvalSample] = []
    if near_miss:
        if dataset.retrieval_only:
            raise DatasetError(f"{dataset.path}: --near-miss needs questions with answers "
                               "(citewise JSONL or SQuAD), not a retrieval-only BEIR set")
        variants = make_near_misses(samples, corpus_of(dataset, pipeline, samples), seed,
                                    published=published_of(dataset, pipeline))
        if not variants:
            log.warning("--near-miss: no variant could be made from these questions")
    started = time.perf_counter()
    answered = run_samples(pipeline, [*samples, *variants], dataset.retrieval_only, progress,
                           restrict=restrict)
    records, variants = answered[: len(samples)], answered[len(samples):]
    metrics = compute_metrics(records, judge.supports, dataset.retrieval_only)
    return EvalRun(
        dataset=dataset,
        records=records,
        metrics=metrics,
        judge=judge.name,
        config=config_of(settings, pipeline),
        eval_seconds=round(time.perf_counter() - started, 2),
        limit=limit,
        seed=seed,
        variants=variants,
        near_miss=summarize(records, variants) if near_miss else None,
    )


def _by_tag(records: list[EvalSample], supports: Any) -> dict[str, dict[str, Any]]:
    tags = sorted({t for r in records for t in r.tags})
    out: dict[str, dict[str, Any]] = {}
    for tag in tags:
        subset = [r for r in records if tag in r.tags]
        m = compute_metrics(subset, supports)
        out[tag] = {"n": len(subset), **{k: m[k] for k in
                    ("answer_contains", "hit@5", "citation_recall", "abstention_recall",
                     "wrong_subject")}}
    return out


def build_report(
    run: EvalRun, judge: Judge, baseline: dict[str, Any] | None = None, baseline_path: str = ""
) -> dict[str, Any]:
    """The JSON report: metrics, counts, per-question scores, worst questions, baseline diff."""
    retrieval_only = run.dataset.retrieval_only
    scored = []
    for r in run.records:
        item = r.to_dict()
        item["scores"] = sample_scores(r, judge.supports, retrieval_only)
        if retrieval_only:
            item["ranking"] = r.ranking[:10]
            item["contexts"] = []
        scored.append(item)
    worst = sorted(scored, key=lambda q: (q["scores"].get("score", 0.0), q["id"]))[:WORST_N]
    for v in run.variants:
        item = v.to_dict()
        item["scores"] = sample_scores(v, judge.supports)
        scored.append(item)
    comparison = compare(run.metrics, baseline) if baseline else []
    failures = gate(comparison, run.metrics)
    note = ""
    if baseline and baseline.get("dataset", {}).get("sha256") not in (None, run.dataset.sha256):
        note = "The baseline was made on a different version of the dataset."
    if baseline and baseline.get("config") and baseline["config"] != run.config:
        changed = sorted(k for k in run.config if baseline["config"].get(k) != run.config[k])
        note = (note + " " if note else "") + f"Config differs from the baseline: {', '.join(changed)}."
    return {
        "format": 1,
        "dataset": {
            "name": run.dataset.name,
            "kind": run.dataset.kind,
            "path": str(run.dataset.path),
            "sha256": run.dataset.sha256,
            "questions": len(run.dataset.samples),
        },
        "config": run.config,
        "judge": run.judge,
        "limit": run.limit,
        "seed": run.seed,
        "metrics": run.metrics,
        "counts": counts(run.records),
        "by_tag": {} if retrieval_only else _by_tag(run.records, judge.supports),
        "near_miss": run.near_miss,
        "timing": {"eval_seconds": run.eval_seconds, "ingest_seconds": run.ingest_seconds},
        "ingest": run.ingest,
        "baseline": baseline_path or None,
        "baseline_note": note,
        "comparison": [d.to_dict() for d in comparison],
        "failures": failures,
        "verdict": "FAIL" if failures else "PASS",
        "worst": worst,
        "questions": scored,
    }


# ---------------------------------------------------------------- CLI


STORE_HELP = ("store to evaluate (and ingest into); default: a temporary store when there is "
              "something to ingest (--ingest, SQuAD, BEIR), else the configured store")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Arguments of ``citewise eval``. ``--store`` is not added: the CLI's common store flags
    provide it (``run_from_args`` reads ``args.store``); :func:`parser` adds it standalone."""
    parser.add_argument("dataset", type=Path,
                        help="question set: citewise JSONL, SQuAD JSON (.json) or a BEIR folder")
    parser.add_argument("--ingest", type=Path, action="append", default=[], metavar="PATH",
                        help="file or folder to ingest before evaluating (repeatable)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                        help="compare with this baseline; exit 1 when a metric drops beyond "
                             "its tolerance")
    parser.add_argument("--write-baseline", type=Path, default=None, metavar="FILE",
                        help="write this run's metrics as a baseline (keeps existing tolerances)")
    parser.add_argument("--report", type=Path, default=None, metavar="DIR",
                        help="write report.json and report.md into DIR")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="evaluate N questions drawn with --seed")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="sampling seed (0)")
    parser.add_argument("--k", type=int, default=None,
                        help="passages used to answer (CITEWISE_K; default 5)")
    parser.add_argument("--judge", choices=["deterministic", "llm"], default="deterministic",
                        help="support judge: the deterministic check the LLM answerer's verifier "
                             "also uses (default), or the configured LLM (RAGAS-style)")
    parser.add_argument("--near-miss", action="store_true",
                        help="also ask unanswerable near-miss variants of the answerable questions "
                             "(other name, number, date, time qualifier, a detail the passage "
                             "lacks) and report abstention on them next to the originals")
    parser.add_argument("--restrict", action="store_true",
                        help="ask each question over its own documents only (its 'sources'), "
                             "as a user who picked the document would (TAT-QA)")
    parser.add_argument("--ignore-as-of", action="store_true",
                        help="ask every question as of today, not as of its set's 'as_of' date "
                             "(the 'without' figures of an as-of comparison)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def _ingest(pipeline: Any, paths: list[Path], total: int | None, progress: bool) -> dict[str, Any]:
    bar = tqdm(total=total, desc="ingest", unit="doc", file=sys.stderr,
               disable=not progress or None, dynamic_ncols=True)

    def tick(docs: int, chunks: int) -> None:
        bar.n = docs
        bar.set_postfix(chunks=chunks, refresh=False)
        bar.refresh()

    try:
        report = pipeline.ingest(paths, progress=tick)
    finally:
        bar.close()
    if not report.ok:
        shown = "; ".join(f"{w}: {r}" for w, r in report.failed[:5])
        raise DatasetError(f"ingestion failed for {len(report.failed)} document(s): {shown}")
    return {
        "added": len(report.added),
        "updated": len(report.updated),
        "unchanged": len(report.unchanged),
        "chunks_embedded": report.chunks_embedded,
        "seconds": round(report.seconds, 2),
    }


def _build_pipeline(settings: Settings) -> Any:
    from citewise import Citewise

    return Citewise.from_settings(settings)


def run_from_args(args: argparse.Namespace, settings: Settings, pipeline: Any = None,
                  out: Any = None) -> int:
    """Run ``citewise eval`` from parsed arguments; returns the exit code.

    ``pipeline`` may be given (tests); it must then already point at the store to evaluate.
    """
    out = out or sys.stdout
    progress = not getattr(args, "no_progress", False)
    try:
        if args.limit is not None and args.limit < 1:
            raise DatasetError("--limit must be at least 1")
        if getattr(args, "judge", "") == "llm" and not settings.llm_model:
            raise DatasetError("--judge llm needs an LLM: set CITEWISE_LLM_MODEL (see README, "
                               "'Use an LLM')")
        for path in args.ingest:
            if not path.exists():
                raise DatasetError(f"{path}: nothing to ingest there (no such file or folder)")
        baseline = load_baseline(args.baseline) if args.baseline else None
        dataset = load_dataset(args.dataset)
        if getattr(args, "ignore_as_of", False):
            dataset.samples = [replace(s, as_of="") for s in dataset.samples]
        with tempfile.TemporaryDirectory(prefix="citewise-eval-") as tmp:
            needs_ingest = bool(args.ingest or dataset.feed)
            store = getattr(args, "store", None) or (Path(tmp) / "store" if needs_ingest else None)
            settings = settings.updated(store=store, k=getattr(args, "k", None))
            if store is not None and getattr(args, "store", None) is None:
                settings = settings.model_copy(update={"chroma_url": None})  # hermetic: embedded
            if pipeline is None:
                if store is not None and getattr(args, "store", None) is None:
                    log.info("using a temporary store at %s", store)
                pipeline = _build_pipeline(settings)
            paths = list(args.ingest)
            if dataset.feed:
                paths.append(write_feed(dataset.feed, Path(tmp) / f"{dataset.name}.jsonl"))
            ingest_info: dict[str, Any] = {}
            ingest_seconds = 0.0
            if paths:
                t0 = time.perf_counter()
                ingest_info = _ingest(pipeline, paths, len(dataset.feed) or None, progress)
                ingest_seconds = round(time.perf_counter() - t0, 2)
            judge = make_judge(settings if getattr(args, "judge", "") == "llm" else None,
                               getattr(pipeline, "embedder", None))
            run = run_eval(dataset, pipeline, settings, judge, args.limit, args.seed, progress,
                           near_miss=getattr(args, "near_miss", False),
                           restrict=getattr(args, "restrict", False))
            run.ingest_seconds, run.ingest = ingest_seconds, ingest_info
    except (DatasetError, BaselineError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_INPUT
    except CitewiseError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code or EXIT_INPUT
    report = build_report(run, judge, baseline, str(args.baseline or ""))
    if args.report:
        json_path, md_path = write_report(report, args.report)
        log.info("wrote %s and %s", json_path, md_path)
    if args.write_baseline:
        previous = None
        if args.write_baseline.exists():
            try:
                previous = load_baseline(args.write_baseline)
            except BaselineError:
                previous = None
        write_json(make_baseline(report, previous), args.write_baseline)
        out.write(f"baseline written to {args.write_baseline}\n")
    out.write(summary(report) + "\n")
    return EXIT_REGRESSION if report["failures"] else EXIT_OK


def summary(report: dict[str, Any]) -> str:
    """What the CLI prints: the metric table and the verdict."""
    c = report["counts"]
    lines = [
        f"{report['dataset']['name']}: {c['questions']} questions "
        f"({c['unanswerable']} unanswerable), judge {report['judge']}, "
        f"{report['timing']['eval_seconds']:.1f} s",
        "",
        metrics_table(report),
        "",
    ]
    if c.get("removed_sentences") or c.get("llm_fallbacks") or report["config"].get(
        "generator"
    ) == "llm":
        lines.append(
            f"LLM: the verifier removed {c.get('removed_sentences', 0)} unsupported sentence(s); "
            f"{c.get('llm_fallbacks', 0)} answer(s) fell back to extractive"
        )
    if report.get("near_miss"):
        lines += [near_miss_table(report["near_miss"]), ""]
    if report.get("baseline_note"):
        lines.append(f"note: {report['baseline_note']}")
    lines += [f"REGRESSION: {r}" for r in report["failures"]]
    lines.append(f"verdict: {report['verdict']}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """The standalone parser of ``python -m eval.harness``."""
    p = argparse.ArgumentParser(prog="citewise eval", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    p.add_argument("--store", type=Path, default=None, help=STORE_HELP)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m eval.harness DATASET ...``."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    return run_from_args(args, Settings())


__all__ = ["METRICS", "add_arguments", "run_from_args", "run_eval", "main", "build_report"]


if __name__ == "__main__":
    sys.exit(main())
