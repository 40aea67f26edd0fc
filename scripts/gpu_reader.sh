#!/usr/bin/env bash
# The reader's larger recipe (issue 21: more pairs, more epochs) on a GPU machine that has
# torch and transformers but not citewise's other dependencies (the `device` tool's machines).
#
#   scripts/gpu_reader.sh prepare            # here: .gpu/pairs.jsonl.gz (+ .info.json), .gpu/base.npz
#   # there, from the repository root, with .gpu carried (about 58 MB with the working tree):
#   #   python3 -m eval.train.reader_fit fit --pairs .gpu/pairs.jsonl.gz --base .gpu/base.npz \
#   #       --out $OUT/reader --epochs 2 --seed 0
#   scripts/gpu_reader.sh finish BACK [OUT]  # here: BACK is the folder that came back;
#                                            # export, measure, write OUT (default /tmp/reader-gpu)
#
# Then, as for any new reader: copy OUT's three files over rag/answer/reader/ in a scratch tree,
# retrain the answer scorer there (BENCHMARKS.md, "The answer scorer with the reader") and
# measure every development set against main before anything ships.
# Environment: SHARED (default ../shared/datasets), RTQA (a copy of
# github:realtimeqa/realtimeqa_public; news pairs are left out without it), EXT (default
# /tmp/ext: the built development sets whose weeks are never trained on), PY (default
# .venv/bin/python), MAX_PAIRS (default 60000).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SHARED=${SHARED:-../shared/datasets}
EXT=${EXT:-/tmp/ext}
DATA=(--squad "$SHARED/squad-v1.1-dev/dev-v1.1.json"
      --reserved "$SHARED/squad-v1.1-dev/reserved-titles.txt"
      --squad2 "$SHARED/squad-v2.0-train-subset/train-v2.0-subset.json")
case "${1:-}" in
  prepare)
    news=()
    if [[ -n "${RTQA:-}" ]]; then
      exclude=()
      for f in "$EXT"/realtimeqa*/measure.jsonl "$EXT"/realtimeqa*/tune.jsonl \
               "$EXT"/rtqa*/measure.jsonl "$EXT"/rtqa*/tune.jsonl; do
        [[ -f "$f" ]] && exclude+=("$f")
      done
      if [[ ${#exclude[@]} -eq 0 ]]; then
        echo "error: no built RealTime QA set under $EXT (python -m eval.external realtimeqa ...):" \
             "its weeks must be known to be left out" >&2
        exit 2
      fi
      news=(--realtimeqa "$RTQA" --realtimeqa-exclude "${exclude[@]}" --news-positives 2
            --news-negatives 4)
    fi
    mkdir -p .gpu
    "$PY" -m eval.train.reader "${DATA[@]}" "${news[@]}" --max-pairs "${MAX_PAIRS:-60000}" \
        --seed 0 --dump-pairs .gpu/pairs.jsonl.gz
    "$PY" -m eval.train.reader_fit pack --out .gpu/base.npz
    du -sh .gpu
    ;;
  finish)
    back=${2:?usage: scripts/gpu_reader.sh finish BACK [OUT]}
    "$PY" -m eval.train.reader "${DATA[@]}" --seed 0 --trained "$back" \
        --out "${3:-/tmp/reader-gpu}"
    ;;
  *)
    sed -n '2,20p' "$0"
    exit 2
    ;;
esac
