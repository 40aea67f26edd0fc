"""Calibrate the extractive answerer's abstention threshold on data.

Two question sets:

* golden: eval/golden/sample_article.jsonl over the sample article (answerable and near-miss
  unanswerable questions about the same article);
* SQuAD v1.1 dev, "open book": the articles are split in two by a seeded shuffle, only the
  first half is ingested; questions about that half are answerable when a retrieved passage
  contains a gold answer, questions about the other half are unanswerable.

For every question the best candidate score (``ExtractiveGenerator.best_score``) is recorded;
``rag.answer.extractive.calibrate`` picks the threshold that maximizes abstention F1. Per-question
candidate features can be dumped (``--dump``) to tune the score weights offline.

    python -m eval.train.calibrate_abstention --store /tmp/citewise-calibrate --per-class 300
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any

from citewise import Citewise
from eval.datasets import load_jsonl, load_squad, write_feed
from eval.metrics import contains_reference
from rag.answer.extractive import DEFAULT_THRESHOLD, ExtractiveGenerator, calibrate
from rag.answer.followup import resolve_followup
from rag.config import Settings

log = logging.getLogger("calibrate")
ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "eval" / "golden" / "sample_article.jsonl"
SAMPLE = ROOT / "sample_data" / "microsoft-openai-partnership.txt"
SQUAD = ROOT.parent / "shared" / "datasets" / "squad-v1.1-dev" / "dev-v1.1.json"


def _record(cw: Citewise, gen: ExtractiveGenerator, question: str, answerable: bool,
            references: list[str], k: int) -> dict[str, Any]:
    hits = cw.retrieve(question, k)
    cands = gen.candidates(question, hits)
    typed = [c for c in cands if c.typed]
    answer = gen.generate(question, hits)
    in_context = any(contains_reference(h.chunk.text, references) for h in hits) if references else False
    return {
        "question": question,
        "answerable": answerable,
        "in_context": in_context,
        "score": typed[0].score if typed else 0.0,
        "answered_correctly": (not answer.abstained) and bool(references)
        and contains_reference(answer.answer, references),
        "candidates": [
            {"cosine": round(c.cosine, 4), "lexical": round(c.lexical, 4), "rank": c.rank,
             "n_hits": len(hits), "typed": c.typed, "headline": c.headline,
             "has_ref": bool(references) and contains_reference(c.quote, references)}
            for c in cands[:20]
        ],
    }


def golden_records(store: Path, k: int) -> list[dict[str, Any]]:
    cw = Citewise(Settings(store=store / "golden", collection="golden"))
    cw.ingest([SAMPLE])
    gen = ExtractiveGenerator(cw.embedder, threshold=DEFAULT_THRESHOLD)
    out = []
    for s in load_jsonl(GOLDEN).samples:
        q = resolve_followup(s.question, s.history) if s.history else s.question
        out.append(_record(cw, gen, q, s.answerable, s.references, k))
    return out


def squad_records(store: Path, per_class: int, seed: int, k: int) -> list[dict[str, Any]]:
    data = load_squad(SQUAD)
    titles = sorted({d["title"] for d in data.feed})
    random.Random(seed).shuffle(titles)
    inside = set(titles[: len(titles) // 2])
    feed = [d for d in data.feed if d["title"] in inside]
    cw = Citewise(Settings(store=store / "squad", collection="squad"))
    started = time.perf_counter()
    report = cw.ingest([write_feed(feed, store / "squad-half.jsonl")])
    log.info("ingested %d paragraphs (%d chunks) in %.0f s", len(feed), report.chunks_embedded,
             time.perf_counter() - started)
    title_of = {d["source"]: d["title"] for d in data.feed}
    rng = random.Random(seed + 1)
    ans = [s for s in data.samples if title_of[s.sources[0]] in inside]
    una = [s for s in data.samples if title_of[s.sources[0]] not in inside]
    gen = ExtractiveGenerator(cw.embedder, threshold=DEFAULT_THRESHOLD)
    out = []
    for s in rng.sample(ans, min(per_class, len(ans))):
        out.append(_record(cw, gen, s.question, True, s.references, k))
    for s in rng.sample(una, min(per_class, len(una))):
        rec = _record(cw, gen, s.question, False, [], k)
        out.append(rec)
    return out


def summarize(name: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Threshold by F1 over answerable-in-context vs unanswerable, and what it costs."""
    yes = [r["score"] for r in records if r["answerable"] and r["in_context"]]
    no = [r["score"] for r in records if not r["answerable"]]
    result: dict[str, Any] = {"set": name, "answerable_in_context": len(yes), "unanswerable": len(no),
                              "answerable_not_in_context": sum(r["answerable"] and not r["in_context"]
                                                               for r in records)}
    if not yes or not no:
        return result
    for label, t in (("f1", calibrate(yes, no)), ("balanced", calibrate(yes, no, "balanced")),
                     ("default", DEFAULT_THRESHOLD)):
        tp = sum(s < t for s in no)
        fp = sum(s < t for s in yes)
        precision = tp / max(tp + fp, 1)
        recall = tp / len(no)
        result[label] = {
            "threshold": round(t, 4),
            "abstain_precision": round(precision, 3),
            "abstain_recall": round(recall, 3),
            "abstain_f1": round(2 * precision * recall / max(precision + recall, 1e-9), 3),
            "answered_share": round(1 - fp / len(yes), 3),
        }
    answered = [r for r in records if r["answerable"] and r["in_context"]
                and r["score"] >= DEFAULT_THRESHOLD]
    result["correct_when_answered_at_default"] = round(
        sum(r["answered_correctly"] for r in answered) / max(len(answered), 1), 3)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", type=Path, default=Path("/tmp/citewise-calibrate"))
    p.add_argument("--per-class", type=int, default=300, help="SQuAD questions of each kind")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--no-squad", action="store_true")
    p.add_argument("--dump", type=Path, help="write per-question features (JSONL)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sets = {"golden": golden_records(args.store, args.k)}
    if not args.no_squad:
        if SQUAD.is_file():
            sets["squad"] = squad_records(args.store, args.per_class, args.seed, args.k)
        else:
            log.warning("SQuAD not found at %s; golden set only", SQUAD)
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as fh:
            for name, records in sets.items():
                for r in records:
                    fh.write(json.dumps({"set": name, **r}) + "\n")
    combined = [r for records in sets.values() for r in records]
    for name, records in [*sets.items(), ("all", combined)]:
        sys.stdout.write(json.dumps(summarize(name, records)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
