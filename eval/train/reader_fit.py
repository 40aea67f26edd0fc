"""The reader's fine-tuning loop, runnable where only torch and transformers are installed.

``python -m eval.train.reader`` builds the pairs and calls :func:`fit` in process. For a machine
that has a GPU but not citewise's dependencies (the issue's larger recipe), the same loop runs
from files, in three steps:

    # here: the pairs, and the start weights packed small enough to travel
    python -m eval.train.reader --squad ... --dump-pairs .gpu/pairs.jsonl.gz
    python -m eval.train.reader_fit pack --out .gpu/base.npz
    # there (python3 with torch + transformers; nothing else of citewise's is imported)
    python3 -m eval.train.reader_fit fit --pairs .gpu/pairs.jsonl.gz --base .gpu/base.npz \\
        --out OUT --epochs 2 --seed 0
    # here: the trained weights exported, measured and written as the shipped reader
    python -m eval.train.reader --squad ... --trained OUT --out rag/answer/reader

``pack`` stores the bundled all-MiniLM-L6-v2 weights with each matrix row in int8 and its own
fp32 scale (vectors and norms in fp32): 23 MB instead of 91, a relative error per row of about
0.4%, which fine-tuning moves far past. ``fit`` writes the trained weights as fp16 shards of at
most 15 MiB and its config (few, small files come back from such a machine), and ``--trained``
loads them into fp32, with the bundled tokenizer, before the usual int8 export. scripts/gpu_reader.sh runs the whole recipe.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MAX_LENGTH = 96  # tokens of question + candidate; the question and the sentence fit in it
SHARD_BYTES = 15 * 2**20
PART = "@part"  # a tensor split across shards: NAME@part0, NAME@part1, ...
# what a packed model needs besides its weights (the bundled model's folder holds them)
MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
               "special_tokens_map.json")


def read_pairs(path: Path) -> list[tuple[str, str, int]]:
    """(question, candidate text, label) per line of a JSONL file, gzipped when it ends .gz."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [(str(r["question"]), str(r["text"]), int(r["label"]))
                for r in map(json.loads, f) if r]


def info_path(pairs: Path) -> Path:
    """Where ``--dump-pairs`` says what the pairs are: ``pairs.info.json`` beside
    ``pairs.jsonl.gz``."""
    return pairs.with_name(pairs.name.split(".")[0] + ".info.json")


def write_pairs(rows: Sequence[tuple[str, str, int, str]], path: Path) -> None:
    """(question, text, label, kind) rows as :func:`read_pairs` reads them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as f:
        for q, t, label, kind in rows:
            f.write(json.dumps({"question": q, "text": t, "label": label, "kind": kind}) + "\n")


def fit(rows: Sequence[tuple[str, str, int]], base: Path, epochs: int, batch_size: int,
        lr: float, seed: int, threads: int | None = None) -> tuple[Any, Any, dict[str, Any]]:
    """Fine-tune a one-logit cross-encoder from the model folder ``base`` on ``rows``; returns
    the model (on the CPU, in eval mode), its tokenizer and the training figures."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tok = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(rows) / batch_size)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    order = list(range(len(rows)))
    rng = random.Random(seed)
    started = time.perf_counter()
    step = 0
    model.train()
    for epoch in range(epochs):
        rng.shuffle(order)
        running = 0.0
        for b in range(0, len(order), batch_size):
            batch = [rows[i] for i in order[b : b + batch_size]]
            enc = tok([r[0] for r in batch], [r[1] for r in batch], padding=True,
                      truncation="only_second", max_length=MAX_LENGTH, return_tensors="pt")
            enc = {k: v.to(device) for k, v in enc.items()}
            labels = torch.tensor([float(r[2]) for r in batch], device=device)
            loss = loss_fn(model(**enc).logits.view(-1), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            value = loss.item()
            running = 0.98 * running + 0.02 * value if step > 1 else value
            if step % 20 == 0 or step == steps:
                rate = step * batch_size / (time.perf_counter() - started)
                sys.stderr.write(f"\repoch {epoch + 1}/{epochs} step {step}/{steps} "
                                 f"loss {running:.3f} ({rate:.0f} pairs/s)   ")
                sys.stderr.flush()
    sys.stderr.write("\n")
    seconds = time.perf_counter() - started
    model.eval().to("cpu")
    return model, tok, {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
                        "max_length": MAX_LENGTH, "train_seconds": round(seconds, 1),
                        "device": device, "pairs": len(rows)}


# ---------------------------------------------------------------- weights that travel


def pack(model_dir: Path, out: Path) -> dict[str, Any]:
    """The weights of ``model_dir`` (a transformers folder with model.safetensors) with each
    matrix row in int8 and its fp32 scale, plus the files a model folder needs, in one .npz."""
    from safetensors.numpy import load_file

    tensors = load_file(str(model_dir / "model.safetensors"))
    arrays: dict[str, np.ndarray] = {}
    for name, w in tensors.items():
        w = w.astype(np.float32)
        if w.ndim == 2:
            scale = np.abs(w).max(axis=1, keepdims=True) / 127.0
            scale[scale == 0] = 1.0
            arrays[f"q8:{name}"] = np.round(w / scale).astype(np.int8)
            arrays[f"scale:{name}"] = scale.astype(np.float32)
        else:
            arrays[f"f32:{name}"] = w
    for fname in MODEL_FILES:
        if (model_dir / fname).is_file():
            arrays[f"file:{fname}"] = np.frombuffer((model_dir / fname).read_bytes(),
                                                    dtype=np.uint8)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)  # type: ignore[arg-type]
    return {"tensors": len(tensors), "bytes": out.stat().st_size}


def unpack(packed: Path, folder: Path) -> Path:
    """A transformers model folder made from a :func:`pack` file (fp32 weights)."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, np.ndarray] = {}
    with np.load(packed) as data:
        for key in data.files:
            kind, name = key.split(":", 1)
            if kind == "q8":
                tensors[name] = data[key].astype(np.float32) * data[f"scale:{name}"]
            elif kind == "f32":
                tensors[name] = data[key]
            elif kind == "file":
                (folder / name).write_bytes(data[key].tobytes())
    save_file(tensors, str(folder / "model.safetensors"))
    return folder


def save_shards(model: Any, out: Path) -> list[Path]:
    """The trained model as fp16 shards (``weights-N.npz``, at most 15 MiB each, a larger tensor
    split by rows) and its config, in ``out`` (the tokenizer is the start model's own: few
    files come back from a GPU machine)."""
    out.mkdir(parents=True, exist_ok=True)
    state: dict[str, np.ndarray] = {}
    for k, v in model.state_dict().items():
        arr = v.detach().cpu().numpy().astype(np.float16)
        # a tensor larger than a shard (the word embeddings: 23 MB) goes in parts of rows
        parts = max(1, math.ceil(arr.nbytes / (SHARD_BYTES // 2)))
        if parts == 1:
            state[k] = arr
        else:
            for i, piece in enumerate(np.array_split(arr, parts)):
                state[f"{k}{PART}{i}"] = piece
    shards: list[dict[str, np.ndarray]] = [{}]
    size = 0
    for name, arr in state.items():
        if size + arr.nbytes > SHARD_BYTES and shards[-1]:
            shards.append({})
            size = 0
        shards[-1][name] = arr
        size += arr.nbytes
    paths = []
    for i, shard in enumerate(shards):
        path = out / f"weights-{i}.npz"
        np.savez(path, **shard)  # type: ignore[arg-type]
        paths.append(path)
    model.config.to_json_file(str(out / "config.json"))
    return paths


def load_shards(folder: Path, tokenizer: Path) -> tuple[Any, Any]:
    """The model :func:`save_shards` wrote, in fp32, with the tokenizer of the model folder
    ``tokenizer`` (the start model's)."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    config = AutoConfig.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_config(config)
    arrays: dict[str, np.ndarray] = {}
    for path in sorted(folder.glob("weights-*.npz")):
        with np.load(path) as data:
            arrays.update({k: data[k] for k in data.files})
    if not arrays:
        raise FileNotFoundError(f"{folder}: no weights-*.npz (written by `fit`)")
    parts: dict[str, dict[int, np.ndarray]] = {}
    state: dict[str, Any] = {}
    for key, arr in arrays.items():
        name, _, part = key.partition(PART)
        if part:
            parts.setdefault(name, {})[int(part)] = arr
        else:
            state[name] = torch.from_numpy(arr.astype(np.float32))
    for name, pieces in parts.items():
        joined = np.concatenate([pieces[i] for i in range(len(pieces))])
        state[name] = torch.from_numpy(joined.astype(np.float32))
    model.load_state_dict(state)
    return model.eval(), AutoTokenizer.from_pretrained(str(tokenizer))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.train.reader_fit", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    pk = sub.add_parser("pack", help="the bundled start weights, packed to travel")
    pk.add_argument("--model", type=Path, default=None,
                    help="a transformers model folder (default: the bundled all-MiniLM-L6-v2)")
    pk.add_argument("--out", type=Path, required=True)
    ft = sub.add_parser("fit", help="fine-tune from a pairs file and packed start weights")
    ft.add_argument("--pairs", type=Path, required=True)
    ft.add_argument("--base", type=Path, required=True, help="a `pack` file or a model folder")
    ft.add_argument("--out", type=Path, required=True)
    ft.add_argument("--epochs", type=int, default=1)
    ft.add_argument("--batch-size", type=int, default=32)
    ft.add_argument("--lr", type=float, default=5e-5)
    ft.add_argument("--seed", type=int, default=0)
    ft.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.command == "pack":
        model = args.model
        if model is None:
            from rag.bundled import bundled_model_path

            model = bundled_model_path()
        sys.stdout.write(json.dumps(pack(Path(model), args.out)) + "\n")
        return 0
    rows = read_pairs(args.pairs)
    with tempfile.TemporaryDirectory() as tmp:
        base = unpack(args.base, Path(tmp) / "base") if args.base.is_file() else args.base
        model, _, info = fit(rows, base, args.epochs, args.batch_size, args.lr, args.seed,
                             args.threads)
    save_shards(model, args.out)
    data_info = info_path(args.pairs)
    if data_info.is_file():  # what `reader --dump-pairs` said of the data, kept with the model
        (args.out / "pairs.info.json").write_bytes(data_info.read_bytes())
    (args.out / "training.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps(info) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
