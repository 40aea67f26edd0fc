"""Diff the per-question answers of two `citewise eval` report.json files.

A refactor that must not change answers passes the gate's metrics yet may still change single
answers; this compares every question. Usage (copy the first report before the change):
    python scripts/diff_answers.py OLD/report.json reports/eval/report.json
Compared per question id: answer text, abstained, standalone question, error, citations
(n, source, quote, start, end) and context order (source, start, end); per-question metric
scores are reported apart (they depend on the judge). Exit 1 when any answer differs.
"""
import json
import sys


def key(q):
    return {
        "answer": q.get("answer"),
        "abstained": q.get("abstained"),
        "standalone": q.get("standalone_question"),
        "error": q.get("error"),
        "citations": [(c.get("n"), c.get("source"), c.get("quote"), c.get("start"), c.get("end"))
                      for c in q.get("citations", [])],
        "contexts": [(c.get("source"), c.get("start"), c.get("end")) for c in q.get("contexts", [])],
    }


def load(path):
    d = json.load(open(path))
    return {q["id"]: q for q in d["questions"]}


old, new = load(sys.argv[1]), load(sys.argv[2])
bad = 0
if old.keys() != new.keys():
    print("question ids differ:", sorted(old.keys() ^ new.keys()))
    bad += 1
score_diffs = 0
for qid in old.keys() & new.keys():
    a, b = key(old[qid]), key(new[qid])
    for field in a:
        if a[field] != b[field]:
            bad += 1
            print(f"{qid} {field}:\n  old {a[field]!r}\n  new {b[field]!r}")
    if old[qid].get("scores") != new[qid].get("scores"):
        score_diffs += 1
        print(f"{qid} scores: old {old[qid].get('scores')} new {new[qid].get('scores')}")
print(f"{len(old)} questions: {bad} answer differences, {score_diffs} per-question score differences")
sys.exit(1 if bad else 0)
