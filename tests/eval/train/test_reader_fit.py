"""Training the reader from files (eval/train/reader_fit.py): the start weights packed to travel,
the trained weights in shards that come back, and the whole round trip through the CLIs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eval.train import reader_fit
from rag.bundled import bundled_model_path

ROOT = Path(__file__).resolve().parents[3]


def tiny_model(folder: Path) -> Path:
    """A one-layer BERT with the bundled tokenizer's vocabulary (fast to train)."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64)
    BertModel(config).save_pretrained(str(folder))
    base = bundled_model_path()
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                 "special_tokens_map.json"):
        (folder / name).write_bytes((base / name).read_bytes())
    return folder


def test_packed_weights_are_a_quarter_and_close_to_the_originals(tmp_path):
    from safetensors.numpy import load_file

    base = bundled_model_path()
    info = reader_fit.pack(base, tmp_path / "base.npz")
    original = (base / "model.safetensors").stat().st_size
    assert info["bytes"] < original * 0.3  # 23 MB instead of 91: it travels with the tree
    folder = reader_fit.unpack(tmp_path / "base.npz", tmp_path / "unpacked")
    a, b = load_file(str(base / "model.safetensors")), load_file(str(folder / "model.safetensors"))
    assert a.keys() == b.keys()
    for name, w in a.items():
        err = np.abs(w.astype(np.float32) - b[name])
        if w.ndim == 2:  # each row within half a step of its own int8 scale
            assert (err <= np.abs(w).max(axis=1, keepdims=True) / 254 + 1e-7).all(), name
        else:
            assert err.max() == 0.0, name
    assert (folder / "config.json").read_bytes() == (base / "config.json").read_bytes()
    assert (folder / "tokenizer.json").is_file()


def test_shards_split_a_large_tensor_and_load_back(tmp_path, monkeypatch):
    from transformers import AutoModelForSequenceClassification

    monkeypatch.setattr(reader_fit, "SHARD_BYTES", 600_000)  # the 1.9 MB word table splits
    model = AutoModelForSequenceClassification.from_pretrained(
        str(tiny_model(tmp_path / "tiny")), num_labels=1)
    paths = reader_fit.save_shards(model, tmp_path / "out")
    assert len(paths) > 3 and all(p.stat().st_size < 700_000 for p in paths)
    with np.load(paths[0]) as first:
        assert any(reader_fit.PART in k for k in first.files)
    loaded, tok = reader_fit.load_shards(tmp_path / "out", tmp_path / "tiny")
    for (name, w), (name2, w2) in zip(model.state_dict().items(), loaded.state_dict().items(),
                                      strict=True):
        assert name == name2
        assert np.allclose(w.detach().numpy(), w2.detach().numpy(), atol=1e-3), name
    enc = tok(["Who founded Acme?"], ["Jane Roe founded Acme."], return_tensors="pt")
    model.eval()
    assert np.allclose(model(**enc).logits.detach().numpy(),
                       loaded(**enc).logits.detach().numpy(), atol=1e-2)


def test_no_shards_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(FileNotFoundError, match="weights-"):
        reader_fit.load_shards(tmp_path, bundled_model_path())


def test_pairs_round_trip_through_a_gzipped_file(tmp_path):
    rows = [("Who founded Acme?", "Jane Roe founded Acme. [SEP] Acme", 1, "positive"),
            ("Who founded Acme?", "Acme sells tools.", 0, "same_paragraph")]
    reader_fit.write_pairs(rows, tmp_path / "pairs.jsonl.gz")
    assert reader_fit.read_pairs(tmp_path / "pairs.jsonl.gz") == [r[:3] for r in rows]


@pytest.mark.slow
def test_pairs_dumped_fitted_from_files_and_exported_as_the_reader(tmp_path):
    """The recipe a GPU machine runs, on the CPU: dump the pairs, fit from the files with a
    packed start model, export and measure with ``--trained``; the reader loads and reads."""
    from eval.external import SHARED
    from rag.answer.reader import Reader

    shared = SHARED / "squad-v1.1-dev"
    squad = shared / "dev-v1.1.json"
    env_py = [sys.executable, "-m"]
    common = ["--squad", str(squad), "--reserved", str(shared / "reserved-titles.txt")]
    gpu = tmp_path / ".gpu"
    subprocess.run([*env_py, "eval.train.reader", *common, "--max-pairs", "64", "--dump-pairs",
                    str(gpu / "pairs.jsonl.gz")], cwd=ROOT, check=True, capture_output=True)
    assert len(reader_fit.read_pairs(gpu / "pairs.jsonl.gz")) == 64
    assert json.loads((gpu / "pairs.info.json").read_text())["pairs"] == 64
    tiny = tiny_model(tmp_path / "tiny")
    reader_fit.pack(tiny, gpu / "base.npz")
    subprocess.run([*env_py, "eval.train.reader_fit", "fit", "--pairs",
                    str(gpu / "pairs.jsonl.gz"), "--base", str(gpu / "base.npz"), "--out",
                    str(tmp_path / "back"), "--batch-size", "16", "--threads", "2"],
                   cwd=ROOT, check=True, capture_output=True)
    back = sorted(p.name for p in (tmp_path / "back").iterdir())
    assert len(back) <= 8 and "training.json" in back and "pairs.info.json" in back
    subprocess.run([*env_py, "eval.train.reader", *common, "--trained", str(tmp_path / "back"),
                    "--measure-limit", "10", "--out", str(tmp_path / "reader")],
                   cwd=ROOT, check=True, capture_output=True)
    manifest = json.loads((tmp_path / "reader" / "reader.json").read_text())
    assert manifest["trained_elsewhere"] and manifest["pairs"] == 64
    assert manifest["training"]["pairs"] == 64 and manifest["measure_squad_v1"]
    reader = Reader(tmp_path / "reader")
    assert reader.score("Who founded Acme?", ["Jane Roe founded Acme.", "It rained."]).shape \
        == (2,)
