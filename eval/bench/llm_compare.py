"""`make eval-llm`: a golden set through the local LLM and extractively, in the same run.

Why a runner of its own: the closing note of issue 14 compares both answerers on the same
store, the same judge and the same machine load, and needs time to first sentence, which only
streaming shows. Every answer is asked through ``Citewise.stream``; the first text piece's time
is recorded. Writes ``report.json``, ``report.md``, ``questions.md`` (each question side by
side: where the answerers differ) and ``shown.md`` (every answer the LLM wrote, with its quotes
and the references, for reading and counting wrong sentences by hand).

    python -m eval.bench.llm_compare eval/golden/sample_article.jsonl --ingest sample_data \
        --report reports/eval-llm
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.records import FALLBACK_NOTE, Answer

log = logging.getLogger(__name__)

SHOWN = (
    "answer_contains", "token_f1", "abstention_precision", "abstention_recall", "wrong_subject",
    "citation_recall", "citation_precision", "quote_validity",
)  # fmt: skip


@dataclass
class Timed:
    """A Citewise whose ``ask`` streams, recording seconds to the first text piece."""

    citewise: Any
    first: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.citewise, name)

    def ask(self, question: str, history: Any = None, **kw: Any) -> Answer:
        started = time.perf_counter()
        first = None
        final = None
        for piece in self.citewise.stream(question, history=history, **kw):
            if isinstance(piece, Answer):
                final = piece
            elif first is None and piece.strip():
                first = time.perf_counter() - started
        assert final is not None
        elapsed = time.perf_counter() - started
        self.total.append(elapsed)
        self.first.append(first if first is not None else elapsed)
        return final


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(run: Any, timed: Timed) -> dict[str, Any]:
    records = run.records
    out: dict[str, Any] = {k: run.metrics.get(k) for k in SHOWN}
    out["questions"] = len(records)
    out["answered"] = sum(not r.abstained and not r.error for r in records)
    out["errors"] = sum(bool(r.error) for r in records)
    out["removed_sentences"] = sum(r.removed_sentences for r in records)
    out["llm_fallbacks"] = sum(FALLBACK_NOTE in r.note for r in records)
    for name, values in (("answer_s", timed.total), ("first_sentence_s", timed.first)):
        for q in (50, 95):
            v = percentile(values, q)
            out[f"{name}_p{q}"] = round(v, 2) if v is not None else None
    return out


def _shown(run: Any) -> str:
    """Every LLM-written answer (not fallbacks, not abstentions) with quotes and references."""
    lines = ["# Answers the LLM wrote (read and count the wrong sentences)", ""]
    for r in run.records:
        if r.abstained or r.error or FALLBACK_NOTE in r.note:
            continue
        lines.append(f"## {r.id} ({'answerable' if r.answerable else 'UNANSWERABLE'})")
        lines.append(f"- question: {r.question}")
        if r.standalone_question and r.standalone_question != r.question:
            lines.append(f"- standalone: {r.standalone_question}")
        lines.append(f"- references: {r.references}")
        lines.append(f"- answer: {r.answer}")
        for c in r.citations:
            lines.append(f"  - [{c.n}] {c.quote}")
        if r.note:
            lines.append(f"- note: {r.note}")
        lines.append("")
    return "\n".join(lines)


def _side_by_side(runs: dict[str, tuple[Any, Timed]]) -> str:
    """Per question, what each answerer understood and did: where the two differ (answered by
    one only, rewritten differently) is where to look for the cause."""
    names = list(runs)
    lines = ["# Per question: " + " vs ".join(names), ""]
    by_name = {name: {r.id: r for r in run.records} for name, (run, _) in runs.items()}
    for rid, first in by_name[names[0]].items():
        rows = [(name, by_name[name].get(rid)) for name in names]
        kinds = {"abstained" if r.abstained else "error" if r.error else "answered"
                 for _, r in rows if r is not None}
        asked = {r.standalone_question or r.question for _, r in rows if r is not None}
        flag = " **differs**" if len(kinds) > 1 or len(asked) > 1 else ""
        label = "answerable" if first.answerable else "UNANSWERABLE"
        lines.append(f"## {rid} ({label}){flag}")
        lines.append(f"- question: {first.question}")
        for name, r in rows:
            if r is None:
                continue
            what = "abstained" if r.abstained else "error" if r.error else "answered"
            lines.append(f"- {name}: {what}; understood as: {r.standalone_question or r.question}")
            if r.note:
                lines.append(f"  - note: {r.note}")
        lines.append("")
    return "\n".join(lines)


def _table(rows: dict[str, dict[str, Any]]) -> str:
    keys = list(next(iter(rows.values())))
    head = "| metric | " + " | ".join(rows) + " |"
    sep = "|---|" + "---|" * len(rows)
    body = [
        f"| {k} | " + " | ".join(
            f"{v:.3f}" if isinstance(v := rows[name][k], float) else str(v) for name in rows
        ) + " |"
        for k in keys
    ]  # fmt: skip
    return "\n".join([head, sep, *body])


def main(argv: list[str] | None = None) -> int:
    from citewise import Citewise
    from eval.datasets import load_dataset
    from eval.harness import run_eval
    from eval.judge import make_judge
    from rag.answer.llm.local import local_llm
    from rag.answer.registry import make_generator

    p = argparse.ArgumentParser(prog="python -m eval.bench.llm_compare", description=__doc__)
    p.add_argument("dataset", type=Path)
    p.add_argument("--ingest", type=Path, action="append", default=[])
    p.add_argument("--store", type=Path,
                   help="an existing store to answer from (an external set's), instead of a "
                        "new one in a temporary folder")
    p.add_argument("--report", type=Path, default=Path("reports/eval-llm"))
    p.add_argument("--limit", type=int)
    p.add_argument("--k", type=int, default=5)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    dataset = load_dataset(args.dataset)
    with tempfile.TemporaryDirectory(prefix="citewise-eval-llm-") as tmp:
        settings = Settings(store=args.store or Path(tmp) / "store", chroma_url=None, k=args.k)
        base = Citewise.from_settings(settings)
        if args.ingest:
            base.ingest(args.ingest)
        judge = make_judge(None, base.embedder)
        runs: dict[str, tuple[Any, Timed]] = {}
        timed = Timed(base)
        runs["extractive"] = (run_eval(dataset, timed, settings, judge, args.limit), timed)
        with local_llm(settings.updated(llm="local")) as s:
            if s.generator != "llm":
                sys.stderr.write("error: the local model is not available; run `make llm`.\n")
                return 2
            cw = Citewise(s, client=base.client, embedder=base.embedder,
                          generator=make_generator(s, base.embedder))
            timed = Timed(cw)
            runs["llm (local 1.5B)"] = (run_eval(dataset, timed, s, judge, args.limit), timed)
    rows = {name: summarize(run, t) for name, (run, t) in runs.items()}
    args.report.mkdir(parents=True, exist_ok=True)
    (args.report / "report.json").write_text(json.dumps(rows, indent=2) + "\n")
    table = _table(rows)
    (args.report / "report.md").write_text(f"# {args.dataset}: LLM vs extractive\n\n{table}\n")
    (args.report / "shown.md").write_text(_shown(runs["llm (local 1.5B)"][0]))
    (args.report / "questions.md").write_text(_side_by_side(runs))
    sys.stdout.write(table + f"\n\nwrote {args.report}/report.json, report.md, shown.md, questions.md\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
