"""Fit the passage re-ranker (rag/retrieval/rerank.py) on the tune parts of the external sets.

    python -m eval.train.rerank --set squad=/tmp/ext/squad/tune.jsonl:S1 \\
        --set realtimeqa=/tmp/ext/rtqa12/tune.jsonl:S2 --set tatqa=/tmp/tatqa-md/tune.jsonl:S3 \\
        --set wikiqa-train=/tmp/ext/wikiqa-train/questions.jsonl:S4 \\
        --test-set realtimeqa=/tmp/ext/rtqa12/measure.jsonl:S2 ... [--limit 400] [--depth 10] \\
        [--seed 0] [--out rag/retrieval/rerank.json]

Every answerable question with a gold passage is searched as the answerer searches it (its
set's ``as_of`` day included), with the re-ranker off; each of the first ``depth`` passages
gives one row of ``FEATURES`` and a label: does it hold the question's gold evidence (eval's
``is_relevant``, the test behind hit@k). A logistic regression over those rows is the model;
hit@1/3/5 of the fused order and the re-ranked one, on the training sets and on the
``--test-set`` ones (the measure parts, never fitted on), go into the model file and the
output. Nine weights: WikiQA train may be among the sets (its licence allows calibration).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from eval.datasets import load_dataset
from eval.harness import select
from eval.metrics import is_relevant
from eval.records import EvalContext, EvalSample
from eval.train.vetoes import parse_sets
from rag.config import Settings
from rag.records import Hit
from rag.retrieval.rerank import FEATURES, MODEL_FILE, Reranker, RerankModel, features

DEFAULT_DEPTH = 10


@dataclass
class Ranked:
    """One question's first passages in fused order: their features and gold labels."""

    rows: np.ndarray
    labels: np.ndarray


class _Recorder(Reranker):
    """Keeps the features of each search it sees and leaves the fused order alone."""

    def __init__(self, depth: int) -> None:  # no model: it only records
        self._depth = depth
        self.last: np.ndarray | None = None

    @property
    def depth(self) -> int:
        return self._depth

    def run(self, hits: list[Hit], query: Any) -> list[Hit]:
        self.last = features(hits, query)
        return hits


def collect(dataset: Path, store: Path, limit: int | None, seed: int, depth: int,
            progress: bool = True) -> list[Ranked]:
    """The set's answerable questions with a gold passage, as searched by the answerer."""
    from citewise import Citewise

    pipeline = Citewise(Settings(store=store, rerank=False))
    recorder = _Recorder(depth)
    pipeline.searcher.reranker = recorder
    samples: list[EvalSample] = [s for s in load_dataset(dataset).samples
                                 if s.answerable and s.has_gold]
    out: list[Ranked] = []
    for s in tqdm(select(samples, limit, seed), desc=dataset.stem, disable=not progress,
                  file=sys.stderr):
        recorder.last = None
        hits = pipeline.search(s.question, k=depth, as_of=s.as_of or None)
        if recorder.last is None or len(recorder.last) != len(hits):
            continue  # no sentence vectors: the re-ranker would leave this search alone
        labels = [is_relevant(s, EvalContext.from_dict(h.to_context())) for h in hits]
        out.append(Ranked(recorder.last, np.asarray(labels, dtype=bool)))
    return out


def hits_at(questions: Sequence[Ranked], model: RerankModel | None) -> dict[str, float]:
    """hit@1/3/5 of the fused order (``model`` None) or the re-ranked one."""
    got = {1: 0, 3: 0, 5: 0}
    for q in questions:
        labels = q.labels if model is None else q.labels[model.order(q.rows)]
        for k in got:
            got[k] += bool(labels[:k].any())
    n = max(len(questions), 1)
    return {f"hit@{k}": round(v / n, 3) for k, v in got.items()}


def fit(questions: Sequence[Ranked], depth: int, seed: int, c: float = 1.0) -> RerankModel:
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([q.rows for q in questions])
    y = np.concatenate([q.labels for q in questions])
    lr = LogisticRegression(C=c, max_iter=4000, random_state=seed).fit(x, y)
    return RerankModel(weights=tuple(round(float(w), 6) for w in lr.coef_[0]),
                       bias=round(float(lr.intercept_[0]), 6), depth=depth,
                       version=datetime.now(UTC).date().isoformat())


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="python -m eval.train.rerank", description=__doc__.split("\n")[0])
    p.add_argument("--set", action="append", required=True, metavar="NAME=DATASET:STORE",
                   help="a tune set and the store holding its corpus (repeatable): fitted on")
    p.add_argument("--test-set", action="append", default=[], metavar="NAME=DATASET:STORE",
                   help="a held-out set (repeatable): only measured")
    p.add_argument("--limit", type=int, default=None, help="questions per set, seeded")
    p.add_argument("--depth", type=int, default=DEFAULT_DEPTH,
                   help="fused passages ordered again (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("rag/retrieval") / MODEL_FILE)
    args = p.parse_args(argv)
    try:
        train_sets = parse_sets(args.set, "--set")
        test_sets = parse_sets(args.test_set, "--test-set")
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if args.depth < 5:
        sys.stderr.write("error: --depth must be at least 5 (the answerer reads 5 passages)\n")
        return 2
    data = {name: collect(ds, st, args.limit, args.seed, args.depth)
            for name, ds, st in train_sets}
    tests = {name: collect(ds, st, args.limit, args.seed, args.depth)
             for name, ds, st in test_sets}
    pooled = [q for qs in data.values() for q in qs]
    if not pooled or not any(q.labels.any() for q in pooled):
        sys.stderr.write("error: no question found its gold passage among the first "
                         f"{args.depth}; check each --set's store holds that set's corpus\n")
        return 1
    model = fit(pooled, args.depth, args.seed)
    figures: dict[str, Any] = {}
    for part, sets in (("fitted", data), ("held out", tests)):
        for name, qs in sets.items():
            figures[f"{part}: {name}"] = {"questions": len(qs), "fused": hits_at(qs, None),
                                          "reranked": hits_at(qs, model)}
    trained = {"sets": [f"{n}={d}" for n, d, _ in train_sets], "limit": args.limit,
               "seed": args.seed, "rows": int(sum(len(q.rows) for q in pooled)),
               "figures": figures}
    model = replace(model, trained=trained)
    args.out.write_text(json.dumps(model.to_dict(), indent=2) + "\n",
                        encoding="utf-8")
    sys.stdout.write(f"weights ({', '.join(FEATURES)}): {list(model.weights)}, "
                     f"bias {model.bias}\n")
    for name, f in figures.items():
        sys.stdout.write(f"{name} ({f['questions']} q): fused {f['fused']} -> "
                         f"re-ranked {f['reranked']}\n")
    sys.stdout.write(f"wrote {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
