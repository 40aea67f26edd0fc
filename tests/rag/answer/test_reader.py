"""The shipped reader (rag/answer/reader.py): verified before loading, small, no torch, and it reads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from rag.answer.reader import (
    MANIFEST,
    Reader,
    bundled_folder,
    bundled_reader,
    has_bundled,
    pair_text,
)
from rag.errors import ModelError


def test_the_reader_ships_int8_under_25_mb_with_its_hash():
    assert has_bundled()
    manifest = json.loads((bundled_folder() / MANIFEST).read_text())
    model = bundled_folder() / manifest["model"]
    assert model.stat().st_size <= 25 * 1024 * 1024
    assert len(manifest["sha256"]) == 64
    assert manifest["training"]["seed"] == 0  # the recipe is recorded with the weights


def test_pair_text_puts_the_candidate_first_then_its_context():
    text = pair_text("It was renewed.", before="The show aired in May.", title="Big Show")
    assert text.startswith("It was renewed. [SEP] Big Show")
    assert "aired in May" in text
    assert pair_text("Alone.") == "Alone."


@pytest.mark.parametrize(("question", "right", "wrong"), [
    ("Who founded the Acme company?", "Acme was founded by Jane Roe in 1990.",
     "Acme sells garden tools in Ohio and Texas."),
    ("When was the bridge opened?", "The bridge opened to traffic in March 2004.",
     "The bridge is painted red and crosses the river."),
    ("How many people live in Tarnow?", "About 110,000 people live in Tarnow.",
     "Tarnow is a city in southern Poland with many old churches."),
])
def test_the_reader_prefers_the_sentence_that_answers(question, right, wrong):
    reader = bundled_reader()
    assert reader is not None
    scores = reader.score(question, [pair_text(wrong), pair_text(right)])
    assert scores[1] > scores[0]


def test_scores_are_cached_and_batched_in_order():
    reader = bundled_reader()
    assert reader is not None
    q = "Who founded the Acme company?"
    texts = [pair_text("Acme was founded by Jane Roe."), pair_text("Acme sells tools.")]
    first = reader.score(q, texts)
    again = reader.score(q, list(reversed(texts)))
    assert first[0] == pytest.approx(again[1]) and first[1] == pytest.approx(again[0])


def test_a_changed_model_file_is_refused_with_what_to_do(tmp_path):
    folder = tmp_path / "reader"
    shutil.copytree(bundled_folder(), folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["sha256"] = "0" * 64
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="reinstall citewise"):
        Reader(folder)


def test_a_missing_manifest_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="not a reader manifest"):
        Reader(tmp_path)


def test_reading_does_not_import_torch():
    code = ("import sys; from rag.answer.reader import Reader, pair_text; r = Reader(); "
            "r.score('who?', [pair_text('Jane did.')]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_a_question_longer_than_the_model_reads_is_scored_not_refused():
    """A news quiz's preamble can be longer than the reader's 96 tokens on its own."""
    reader = bundled_reader()
    assert reader is not None
    long_q = ("The city council met this week after a long series of storms, floods and "
              "power cuts that left many residents angry about the slow response of the "
              "utility and the state, and several members asked for an inquiry into the "
              "costs. " * 3) + "Who founded the Acme company?"
    texts = [pair_text("Acme was founded by Jane Roe in 1990."),
             pair_text("Acme sells garden tools in Ohio.")]
    scores = reader.score(long_q, texts)
    assert scores.shape == (2,)
    # it reads the question's last words, where a quiz puts the ask
    tail = " ".join(long_q.split()[-32:])
    assert tail.endswith("Who founded the Acme company?")
    assert scores == pytest.approx(reader.score(tail, texts))
