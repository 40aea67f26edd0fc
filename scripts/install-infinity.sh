#!/usr/bin/env bash
# Install infinity-emb (an OpenAI-compatible /v1/embeddings server) for the remote-embeddings
# tests. Its pins clash with ours (numpy<2, sentence-transformers<4), so it lives in its own
# virtualenv outside the work tree, run as a separate service like `chroma run`.
# torch is pinned to the CPU build and installed first: a looser pin pulls a CUDA one.
# Idempotent: quick when all is installed. Prints the server executable's path last.
set -euo pipefail

CACHE="${CITEWISE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/citewise}"
IVENV="${INFINITY_VENV:-$CACHE/infinity-venv}"
INFINITY_VERSION="0.0.78"
TORCH_VERSION="2.13.0"
PYTHON="${PYTHON:-python3.11}"

# versions from package metadata only: importing torch takes long on a busy machine
if test -x "$IVENV/bin/infinity_emb" && "$IVENV/bin/python" - <<PY 2>/dev/null
import importlib.metadata as m, sys
ok = (m.version("infinity-emb") == "$INFINITY_VERSION"
      and m.version("torch").startswith("$TORCH_VERSION") and m.version("sentence-transformers"))
sys.exit(0 if ok else 1)
PY
then
  echo "infinity-emb $INFINITY_VERSION already installed in $IVENV"
else
  echo "installing infinity-emb $INFINITY_VERSION into $IVENV"
  test -x "$IVENV/bin/python" || "$PYTHON" -m venv "$IVENV"
  "$IVENV/bin/pip" install -q --upgrade pip
  "$IVENV/bin/pip" install -q "torch==$TORCH_VERSION"
  "$IVENV/bin/pip" install -q "torch==$TORCH_VERSION" "infinity-emb[server,torch]==$INFINITY_VERSION"
fi
echo "$IVENV/bin/infinity_emb"
