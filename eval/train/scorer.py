"""Train the answer scorer (rag/answer/scorer.py) on data the repo can rebuild, and compare it with the
hand-set score on a held-out split.

    python -m eval.train.scorer --squad ../shared/datasets/squad-v1.1-dev/dev-v1.1.json \\
        --reserved ../shared/datasets/squad-v1.1-dev/reserved-titles.txt \\
        --store /tmp/squad-store [--per-split 600] [--seed 0] [--out rag/answer/answer_scorer.json]

Data (SQuAD v1.1 dev, the 32 articles not reserved, split by article with eval/splits.py: the
tune articles train, the measure articles test, so no test article is ever trained on and the
reserved 16 are never read):

* answerable: a question asked of the whole store; a candidate is positive when it contains
  a gold answer;
* near misses: unanswerable variants from eval/nearmiss.py (another name, number, date, time
  qualifier; a "when"/"how many" the paragraph can't answer); every candidate is negative;
* other document: the same answerable question with its own article's passages removed from
  the hits, so only passages about something else remain; every candidate is negative.

Only eligible candidates are used (those that keep to the question's constraints and have the
asked-for kind of answer), since only they are ever scored. The threshold is the probability
that maximises balanced accuracy (answer the answerable, abstain on the rest) on the training
split. Figures for both scorers on the test split go into the model file and BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from eval.datasets import load_squad, write_feed
from eval.metrics import squad_normalize
from eval.nearmiss import make_near_misses
from eval.records import EvalSample
from eval.splits import read_reserved, split_titles
from rag.answer.answer_types import AnswerType, is_yes_no, question_type
from rag.answer.extractive import DEFAULT_THRESHOLD, ExtractiveGenerator
from rag.answer.scorer import FEATURES, MODEL_FILE, AnswerScorer, feature_vector
from rag.config import Settings
from rag.records import Filters, Hit

log = logging.getLogger(__name__)
K = 5
MAX_FALSE_ABSTENTION = 0.12  # the threshold may not refuse more answerable training questions


@dataclass
class Example:
    """One question's eligible candidates: features, labels and the hand-set scores."""

    kind: str  # answerable | near_miss | other_doc | unanswerable
    origin: str = "squad"  # the development set it came from
    x: list[list[float]] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    legacy: list[float] = field(default_factory=list)


def _contains(sentence: str, answers: Sequence[str]) -> bool:
    s = squad_normalize(sentence)
    return any(a and squad_normalize(a) in s for a in answers)


def _example(gen: ExtractiveGenerator, question: str, hits: list[Hit], answers: Sequence[str],
             kind: str, right: Callable[[str], bool] | None = None,
             origin: str = "squad") -> Example:
    """The eligible candidates of one question; ``right`` labels a sentence (default: it holds
    one of ``answers``)."""
    typed_q = question_type(question) is not AnswerType.ANY
    yesno = is_yes_no(question)
    ex = Example(kind, origin=origin)
    for c in gen.candidates(question, hits):
        if not c.typed:
            continue
        ex.x.append(feature_vector(c, typed_q, c.coverage, yesno))
        good = right(c.quote) if right is not None else bool(answers) and _contains(c.quote,
                                                                                   answers)
        ex.y.append(1 if kind == "answerable" and good else 0)
        ex.legacy.append(c.score)
    return ex


def collect_set(pipeline: Any, samples: list[EvalSample], name: str,
                restrict: bool = False) -> list[Example]:
    """Examples of a development set with its own labels (answerable or not, and which
    sentence is right: eval/train/vetoes.py's ``is_right``, the eval's own reading of the labels).
    With ``restrict`` each question is asked over its own sources (TAT-QA)."""
    from eval.train.vetoes import is_right

    gen = ExtractiveGenerator(pipeline.embedder, scorer=None)
    out = []
    for s in tqdm(samples, desc=name, file=sys.stderr):
        filters = Filters(sources=list(s.sources)) if restrict and s.sources else None
        hits = pipeline.retrieve(s.question, k=K, filters=filters)
        out.append(_example(gen, s.question, hits, s.references,
                            "answerable" if s.answerable else "unanswerable",
                            functools.partial(is_right, s), origin=name))
    return out


def collect(pipeline: Any, samples: list[EvalSample], variants: list[EvalSample],
            label: str) -> list[Example]:
    """Examples for answerable samples, their other-document twins and the near misses."""
    gen = ExtractiveGenerator(pipeline.embedder, scorer=None)
    out: list[Example] = []
    total = len(samples) + len(variants)
    started = time.perf_counter()
    for i, s in enumerate(samples + variants, 1):
        hits = pipeline.retrieve(s.question, k=3 * K)
        if s.answerable:
            out.append(_example(gen, s.question, hits[:K], s.references, "answerable"))
            article = s.sources[0].split("#")[0]
            others = [h for h in hits if h.chunk.source.split("#")[0] != article][:K]
            out.append(_example(gen, s.question, others, [], "other_doc"))
        else:
            out.append(_example(gen, s.question, hits[:K], [], "near_miss"))
        if i % 50 == 0 or i == total:
            rate = i / (time.perf_counter() - started)
            sys.stderr.write(f"\r{label}: {i}/{total} questions ({rate:.1f}/s)   ")
            sys.stderr.flush()
    sys.stderr.write("\n")
    return out


def _decide(examples: list[Example], scores: list[np.ndarray], threshold: float) -> dict[str, float]:
    """Question-level figures: answer when the best eligible candidate reaches ``threshold``."""
    by_kind: dict[str, list[tuple[bool, bool]]] = {}
    for ex, sc in zip(examples, scores, strict=True):
        answered = bool(len(sc)) and float(sc.max()) >= threshold
        correct = answered and bool(ex.y[int(sc.argmax())]) if len(sc) else False
        by_kind.setdefault(ex.kind, []).append((answered, correct))
    out: dict[str, float] = {}
    ans = by_kind.get("answerable", [])
    if ans:
        out["false_abstention"] = round(sum(not a for a, _ in ans) / len(ans), 4)
        out["answer_correct"] = round(sum(c for _, c in ans) / len(ans), 4)
    for kind in ("near_miss", "other_doc", "unanswerable"):
        rows = by_kind.get(kind, [])
        if rows:
            out[f"abstention_{kind}"] = round(sum(not a for a, _ in rows) / len(rows), 4)
    return out


def _best_threshold(examples: list[Example], scores: list[np.ndarray]) -> float:
    best = (-1.0, 0.5)
    for t in np.linspace(0.05, 0.95, 181):
        m = _decide(examples, scores, float(t))
        if m.get("false_abstention", 0.0) > MAX_FALSE_ABSTENTION:
            continue
        neg = [m[k] for k in ("abstention_near_miss", "abstention_other_doc",
                              "abstention_unanswerable") if k in m]
        quality = (m.get("answer_correct", 0.0) + (sum(neg) / len(neg) if neg else 0.0)) / 2
        if quality > best[0]:
            best = (quality, float(t))
    return round(best[1], 4)


def train(train_ex: list[Example], test_ex: list[Example], seed: int,
          calibrate_ex: Sequence[Example] = ()) -> tuple[AnswerScorer, dict[str, Any]]:
    """Weights from ``train_ex``; the threshold from ``train_ex`` plus ``calibrate_ex`` (sets
    whose licence allows calibrating but not training, e.g. WikiQA)."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray([row for ex in train_ex for row in ex.x], dtype=float)
    y = np.asarray([v for ex in train_ex for v in ex.y], dtype=int)
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=4000, random_state=seed)
    model.fit(x, y)
    scorer = AnswerScorer(weights=tuple(round(float(w), 6) for w in model.coef_[0]),
                          bias=round(float(model.intercept_[0]), 6), threshold=0.5)

    def probs(exs: Sequence[Example]) -> list[np.ndarray]:
        return [np.asarray([scorer.probability(r) for r in ex.x]) for ex in exs]

    fit_on = list(train_ex) + list(calibrate_ex)
    threshold = _best_threshold(fit_on, probs(fit_on))
    scorer = AnswerScorer(scorer.weights, scorer.bias, threshold,
                          version=datetime.now(UTC).strftime("%Y-%m-%d"))
    origins = sorted({ex.origin for ex in test_ex})
    report: dict[str, Any] = {
        "learned": _decide(test_ex, probs(test_ex), threshold),
        "hand_set": _decide(test_ex, [np.asarray(ex.legacy) for ex in test_ex],
                            DEFAULT_THRESHOLD),
        "learned_by_set": {o: _decide([e for e in test_ex if e.origin == o],
                                      probs([e for e in test_ex if e.origin == o]), threshold)
                           for o in origins},
        "train_learned": _decide(train_ex, probs(train_ex), threshold),
        "train_candidates": int(len(y)), "train_positives": int(y.sum()),
        "train_questions": _count(train_ex), "calibration_questions": _count(calibrate_ex),
        "test_questions": _count(test_ex),
    }
    return scorer, report


def _count(examples: Sequence[Example]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ex in examples:
        key = f"{ex.origin}:{ex.kind}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def collect_sets(specs: Sequence[str], what: str, limit: int | None,
                 seed: int, restricted: Sequence[str] = ()) -> list[Example]:
    from citewise import Citewise
    from eval.datasets import load_dataset
    from eval.harness import select
    from eval.train.vetoes import parse_sets

    try:
        sets = parse_sets(specs, what)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from exc
    out: list[Example] = []
    for name, dataset, store in sets:
        pipeline = Citewise(Settings(store=store))
        samples = select(load_dataset(dataset).samples, limit, seed)
        out += collect_set(pipeline, samples, name, restrict=name in restricted)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.train.scorer", description=__doc__.split("\n")[0])
    p.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1 dev JSON")
    p.add_argument("--reserved", type=Path, required=True,
                   help="reserved-titles.txt: articles never trained or tested on")
    p.add_argument("--store", type=Path, required=True,
                   help="store holding every SQuAD paragraph (ingested when empty)")
    p.add_argument("--per-split", type=int, default=600, help="answerable questions per split")
    p.add_argument("--train-set", action="append", default=[], metavar="NAME=DATASET:STORE",
                   help="another development set's tune part to train on (RealTime QA, SQuAD "
                        "2.0; built by `python -m eval.external`), repeatable")
    p.add_argument("--test-set", action="append", default=[], metavar="NAME=DATASET:STORE",
                   help="a held-out part to report on (never trained or calibrated on)")
    p.add_argument("--calibrate-set", action="append", default=[], metavar="NAME=DATASET:STORE",
                   help="a set used for the threshold only (WikiQA train: its licence allows "
                        "calibrating, not training shipped weights)")
    p.add_argument("--restrict-set", action="append", default=[], metavar="NAME",
                   help="a set whose questions are asked over their own documents only "
                        "(TAT-QA: each question is about one report), repeatable")
    p.add_argument("--set-limit", type=int, default=400, help="questions per extra set, seeded")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "rag" / "answer" / MODEL_FILE)
    p.add_argument("--examples", type=Path, help="cache of collected examples (JSON)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from citewise import Citewise

    dataset = load_squad(args.squad)
    pipeline = Citewise(Settings(store=args.store))
    if not pipeline.documents():
        feed = write_feed(dataset.feed, args.store.parent / f"{args.store.name}-feed.jsonl")
        sys.stderr.write(f"ingesting {len(dataset.feed)} paragraphs into {args.store}\n")
        pipeline.ingest([feed])
    tune, measure = split_titles({f["source"].split("#")[0] for f in dataset.feed},
                                 read_reserved(args.reserved), args.seed)
    split = {**{t: 0 for t in tune}, **{t: 1 for t in measure}}  # 0 train, 1 test
    texts = {str(f["source"]): str(f["text"]) for f in dataset.feed}
    rng = random.Random(args.seed)
    examples: dict[str, list[Example]] = {}
    if args.examples and args.examples.exists():
        raw = json.loads(args.examples.read_text())
        examples = {k: [Example(**e) for e in v] for k, v in raw.items()}
        for ex in (e for v in examples.values() for e in v):  # features added since: absent
            ex.x = [row + [0.0] * (len(FEATURES) - len(row)) for row in ex.x]
    for name, part in (("train", 0), ("test", 1)):
        if name in examples:
            continue
        pool = [s for s in dataset.samples
                if s.answerable and split.get(s.sources[0].split("#")[0]) == part]
        chosen = rng.sample(pool, min(args.per_split, len(pool)))
        variants = make_near_misses(chosen, texts, seed=args.seed)
        rng.shuffle(variants)
        examples[name] = collect(pipeline, chosen, variants[: len(chosen)], name)
    for key, specs in (("train_sets", args.train_set), ("test_sets", args.test_set),
                       ("calibrate_sets", args.calibrate_set)):
        if key not in examples:
            examples[key] = collect_sets(specs, key, args.set_limit, args.seed,
                                         args.restrict_set)
    if args.examples:
        args.examples.write_text(json.dumps({k: [e.__dict__ for e in v]
                                             for k, v in examples.items()}))
    scorer, report = train(examples["train"] + examples["train_sets"],
                           examples["test"] + examples["test_sets"], args.seed,
                           examples["calibrate_sets"])
    report["command"] = ("python -m eval.train.scorer --squad SQUAD --reserved RESERVED "
                         f"--store STORE --per-split {args.per_split} --seed {args.seed} "
                         + " ".join(f"--train-set {s}" for s in args.train_set)
                         + " " + " ".join(f"--calibrate-set {s}" for s in args.calibrate_set)
                         + " " + " ".join(f"--restrict-set {s}" for s in args.restrict_set))
    args.out.write_text(json.dumps(scorer.to_dict(features_doc=dict(enumerate(FEATURES)),
                                                  report=report), indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(f"wrote {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
