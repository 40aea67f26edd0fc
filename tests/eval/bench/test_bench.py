"""`citewise bench --quick` still runs end to end (no timing assertions: figures only exist)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

TOPICS = [
    (
        "Quokka",
        "The quokka lives on Rottnest Island and weighs about three kilograms.",
        "Where does the quokka live?",
        "Rottnest Island",
    ),
    (
        "Basalt",
        "Basalt forms when lava rich in magnesium and iron cools quickly.",
        "How does basalt form?",
        "lava rich in magnesium and iron cools quickly",
    ),
    (
        "Harbour Bridge",
        "The Harbour Bridge opened in 1932 and cost four million pounds.",
        "When did the Harbour Bridge open?",
        "1932",
    ),
    (
        "Saffron",
        "Saffron is harvested by hand from the stigmas of the crocus flower.",
        "Where is saffron harvested from?",
        "the stigmas of the crocus flower",
    ),
    (
        "Tardigrade",
        "Tardigrades survive the vacuum of space by entering a dried state.",
        "How do tardigrades survive space?",
        "entering a dried state",
    ),
    (
        "Cello",
        "The cello has four strings tuned in perfect fifths, two octaves below a violin.",
        "How many strings does a cello have?",
        "four",
    ),
]


def squad_json(path: Path) -> Path:
    """A small SQuAD v1.1-shaped file: one article per topic, one question per paragraph."""
    data = []
    for title, text, question, answer in TOPICS:
        para = {
            "context": f"{text} More about the {title.lower()} follows in later chapters.",
            "qas": [
                {
                    "id": title,
                    "question": question,
                    "answers": [{"text": answer, "answer_start": text.index(answer)}],
                }
            ],
        }
        data.append({"title": title, "paragraphs": [para]})
    path.write_text(json.dumps({"version": "1.1", "data": data}), encoding="utf-8")
    return path


def test_missing_dataset_is_a_clear_error(tmp_path):
    from eval.bench.run import main

    assert main(["--squad", str(tmp_path / "nope.json"), "--quick"]) == 2


@pytest.mark.slow
def test_quick_bench_writes_every_figure(tmp_path):
    squad = squad_json(tmp_path / "dev.json")
    md, js = tmp_path / "BENCH.md", tmp_path / "bench.json"
    md.write_text("# existing\n", encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "eval.bench",
            "--quick",
            "--squad",
            str(squad),
            "--write",
            str(md),
            "--json",
            str(js),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[bench] 1. raw encode" in proc.stderr  # progress is shown
    figures = json.loads(js.read_text())
    for key in (
        "encode_chunks_per_s",
        "ingest_chunks_per_s",
        "ingest_vs_encode",
        "reingest_share",
        "tutorial_tokens_embedded",
        "tutorial_hit@5",
        "citewise_hit@5",
        "ask_p50_ms",
        "ask_p95_ms",
        "ask_p99_ms",
        "ingest_vs_peer",
        "serve_one_p50_ms",
        "serve_rss_after_asks_mb",
        "serve_asks_per_s",
        "cli_ask_secs",
    ):
        assert figures[key] > 0, key
    assert figures["chunks"] == len(TOPICS)
    assert figures["reingest_embedded"] == 0  # unchanged corpus: nothing re-embedded
    assert figures["citewise_hit@5"] == 1.0  # six distinct topics: the gold one is retrieved
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# existing\n")  # appended, not overwritten
    assert "| 2. ingest throughput / raw encode (goal ≥ 0.90) |" in text


def test_a_corpus_of_ones_own_with_its_questions(tmp_path):
    from eval.bench.run import feed_corpus

    feed = tmp_path / "news.jsonl"
    feed.write_text("\n".join(json.dumps({"id": f"n{i}", "text": f"Story {i}."}) for i in range(4))
                    + "\n", encoding="utf-8")
    qs = tmp_path / "q.jsonl"
    qs.write_text(json.dumps({"question": "Which story?", "sources": ["n2"]}) + "\n"
                  + json.dumps({"question": "No gold", "sources": []}) + "\n", encoding="utf-8")
    assert feed_corpus(feed, qs, 10, 0) == (feed, [("Which story?", "n2")], 4)
    assert feed_corpus(feed, None, 10, 0) == (feed, [], 4)
