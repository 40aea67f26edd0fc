"""Each question check as measured evidence: the right answers it vetoes, the wrong ones it stops.

    python -m eval.train.vetoes --set squad=/tmp/ext/squad/tune.jsonl:/tmp/stores/squad \\
        --set news=/tmp/ext/realtimeqa/tune.jsonl:/tmp/stores/rtqa [--limit 400] [--out FILE.md]

For every question the answerer's candidates are computed once with no check vetoing (every
sentence that has the asked-for kind of answer is read by the reader and scored), and each
candidate keeps the list of checks it fails (rag/answer/constraints.py). The decision is then replayed
with all checks vetoing, and with all but one (the asked-for kind of answer, rag/answer/answer_types.py,
counts as one more check, ``answer_type``): a check *helps* on a question when the outcome is
right with it and wrong without it (it stopped a wrong answer: an unanswerable question answered,
or a sentence without the answer quoted), and *harms* when the reverse holds (it vetoed the right
answer). Precision = helps / (helps + harms). A check may veto on its own only at precision
>= 0.95 with at least ``MIN_DECISIONS`` decisions it changed (rag/answer/checks.py: VETO_KINDS); the
others weigh, as the scorer's ``soft_failed`` feature. "Right" uses the eval's own labels (gold
answers, WikiQA's labelled sentences, a quiz's right choice and never a wrong one), not the
answerer's checks.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.datasets import load_dataset
from eval.harness import corpus_of, select
from eval.metrics import choice_credit, contains_reference, quote_overlaps
from eval.nearmiss import make_near_misses
from eval.records import EvalSample
from rag.answer.candidates import ScoredSentence
from rag.answer.checks import CHECK_KINDS
from rag.answer.extractive import ExtractiveGenerator
from rag.config import Settings

log = logging.getLogger(__name__)

MIN_DECISIONS = 5  # decisions a check must change before its precision means anything
MIN_PRECISION = 0.95
MAX_READ_ALL = 25  # sentences read per question when no check vetoes


@dataclass
class Candidate:
    score: float
    failed: frozenset[str]  # kinds of the checks it fails
    blocked: bool  # headline, wrong kind of answer, or one of the eligibility rules
    right: bool  # holds the answer (answerable questions only)


@dataclass
class Question:
    answerable: bool
    candidates: list[Candidate] = field(default_factory=list)


def is_right(sample: EvalSample, quote: str) -> bool:
    """Does this quoted sentence give the sample's answer, by the eval's labels?"""
    if not sample.answerable:
        return False
    if sample.distractors:
        return choice_credit(quote, sample.references, sample.distractors)
    if sample.evidence and not sample.references:
        return any(quote_overlaps(quote, e) for e in sample.evidence)
    if "wikiqa" in sample.tags:
        return any(quote_overlaps(quote, e) for e in sample.evidence)
    return contains_reference(quote, sample.references)


def question_record(gen: ExtractiveGenerator, sample: EvalSample, hits: list[Any]) -> Question:
    """The candidates with no check vetoing; each remembers the checks it fails."""
    cands: list[ScoredSentence] = gen.candidates(sample.question, hits)
    out = Question(sample.answerable)
    for c in cands:
        out.candidates.append(Candidate(score=c.score, failed=c.failed_kinds,
                                        blocked=not c.typed, right=is_right(sample, c.quote)))
    return out


def decide(q: Question, veto: frozenset[str], threshold: float) -> bool:
    """Is the outcome right when the checks in ``veto`` veto?"""
    eligible = [c for c in q.candidates if not c.blocked and not (c.failed & veto)]
    best = max(eligible, key=lambda c: c.score, default=None)
    answered = best is not None and best.score >= threshold
    if not q.answerable:
        return not answered
    return answered and best is not None and best.right


def table(questions: Sequence[Question], threshold: float,
          kinds: Sequence[str] = tuple(sorted(CHECK_KINDS))) -> list[dict[str, Any]]:
    """One row per check kind: helps, harms, precision, and the sentences it fails."""
    every = frozenset(kinds)
    on = [decide(q, every, threshold) for q in questions]
    rows = []
    for kind in kinds:
        off = [decide(q, every - {kind}, threshold) for q in questions]
        helps = sum(a and not b for a, b in zip(on, off, strict=True))
        harms = sum(b and not a for a, b in zip(on, off, strict=True))
        failing = Counter(c.right for q in questions for c in q.candidates
                          if kind in c.failed and not c.blocked)
        changed = helps + harms
        precision = helps / changed if changed else None
        rows.append({"check": kind, "stops_wrong": helps, "vetoes_right": harms,
                     "precision": None if precision is None else round(precision, 3),
                     "fails_right_sentences": failing[True],
                     "fails_other_sentences": failing[False],
                     "veto": changed >= MIN_DECISIONS and precision is not None
                     and precision >= MIN_PRECISION})
    return rows


def markdown(rows: Sequence[dict[str, Any]], sets: Sequence[str], n: int) -> str:
    lines = [f"Questions: {n} ({', '.join(sets)})", "",
             "| check | wrong answers it stops | right answers it vetoes | precision | "
             "right sentences failed | other sentences failed | precision ≥ 0.95 over ≥ 5 decisions |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        p = "-" if r["precision"] is None else f"{r['precision']:.3f}"
        lines.append(f"| {r['check']} | {r['stops_wrong']} | {r['vetoes_right']} | {p} | "
                     f"{r['fails_right_sentences']} | {r['fails_other_sentences']} | "
                     f"{'yes' if r['veto'] else 'no'} |")
    return "\n".join(lines) + "\n"


def parse_sets(specs: Sequence[str], what: str) -> list[tuple[str, Path, Path]]:
    """``NAME=DATASET:STORE`` arguments (this command's and eval/train/scorer.py's)."""
    out = []
    for spec in specs:
        name, _, rest = spec.partition("=")
        dataset, _, store = rest.rpartition(":")
        if not name or not dataset or not store:
            raise ValueError(f"{what} {spec!r}: expected NAME=DATASET:STORE")
        out.append((name, Path(dataset), Path(store)))
    return out


def collect(dataset: Path, store: Path, limit: int | None, seed: int,
            progress: bool = True, near_miss: bool = False) -> list[Question]:
    """The set's questions (and, with ``near_miss``, the generated unanswerable variants of its
    answerable ones: eval/nearmiss.py) with their candidates."""
    from citewise import Citewise

    pipeline = Citewise(Settings(store=store))
    gen = ExtractiveGenerator(pipeline.embedder, veto=frozenset(), max_read=MAX_READ_ALL)
    data = load_dataset(dataset)
    samples = select(data.samples, limit, seed)
    if near_miss:
        texts = corpus_of(data, pipeline, samples)
        samples = samples + make_near_misses([s for s in samples if s.answerable], texts, seed)
    out = []
    for s in tqdm(samples, desc=dataset.stem, disable=not progress, file=sys.stderr):
        hits = pipeline.retrieve(s.question)
        out.append(question_record(gen, s, hits))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="python -m eval.train.vetoes", description=__doc__.split("\n")[0])
    p.add_argument("--set", action="append", required=True, metavar="NAME=DATASET:STORE",
                   help="a question set and the store holding its corpus (repeatable)")
    p.add_argument("--limit", type=int, default=None, help="questions per set, seeded")
    p.add_argument("--near-miss", action="store_true",
                   help="also replay the near-miss variants of each set's answerable questions")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="write the table here (Markdown)")
    args = p.parse_args(argv)
    questions: list[Question] = []
    names = []
    try:
        sets = parse_sets(args.set, "--set")
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    for name, dataset, store in sets:
        questions += collect(dataset, store, args.limit, args.seed, near_miss=args.near_miss)
        names.append(name)
    threshold = ExtractiveGenerator(None, veto=frozenset()).threshold
    text = markdown(table(questions, threshold), names, len(questions))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
