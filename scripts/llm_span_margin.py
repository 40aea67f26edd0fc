"""Which spans may an LLM's sentence rest on? (issue 24, BENCHMARKS.md "LLM mode")

    python scripts/llm_span_margin.py QUESTIONS.jsonl STORE N

Over N answerable questions (seeded shuffle) of an external development set and its store
(`python -m eval.external ...` builds both): of the sentences the answer scorer rates as
answering (right kind, no headline, at or above the threshold), how often one contains a
reference answer, split by: quoted by the extractive answerer / within its margin of the best /
outside it. A model's sentence resting on an outside-margin span is as likely right as that
share says.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter

from citewise import Citewise
from rag.config import Settings
from rag.language.text import normalize


def main(path: str, store: str, limit: int) -> None:
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    random.Random(0).shuffle(rows)
    rows = [r for r in rows if r.get("answerable", True)][:limit]
    cw = Citewise.from_settings(Settings(store=store))
    g = cw.generator
    seen: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for r in rows:
        q = r["question"]
        hits = cw.retrieve(q)
        chosen = g.select(q, hits)
        if not chosen:
            continue
        floor = max(g.threshold, max(c.score for c in chosen) - g.margin)
        quoted = {(c.hit.chunk.id, c.start) for c in chosen}
        refs = [normalize(a).lower() for a in r["answers"]]
        for c in g.candidates(q, hits):
            if (c.hit.chunk.id, c.start) in quoted:
                kind = "quoted"
            elif not (c.typed and not c.headline and c.score >= g.threshold):
                continue
            else:
                kind = "within the margin" if c.score >= floor else "outside the margin"
            seen[kind] += 1
            right[kind] += any(a in normalize(c.quote).lower() for a in refs)
    print(f"{path}: {len(rows)} answerable questions")
    for kind in ("quoted", "within the margin", "outside the margin"):
        print(f"  {kind}: {seen[kind]} sentences, {right[kind]} hold a reference "
              f"({right[kind] / max(seen[kind], 1):.2f})")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
