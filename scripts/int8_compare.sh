#!/bin/bash
# The onnx (fp32) and onnx-int8 embedding backends side by side on the RealTime QA and SQuAD
# tune sets (BENCHMARKS.md); uses the stores and sets under /tmp/stores and /tmp/ext that
# `python -m eval.external` builds; the fp32 stores must exist already.
cd "$(dirname "$0")/.."; P=.venv/bin/python; O=/tmp/int8; mkdir -p $O
export HF_HUB_OFFLINE=1
m() { grep -E "^\| ($2) \|" $1 | tr -d '|' | awk '{printf "%s=%s ", $1, $2}'; echo; }
rm -rf /tmp/stores/rtqa12-int8 /tmp/stores/squad-int8
s=$(date +%s.%N); CITEWISE_EMBEDDING_BACKEND=onnx-int8 .venv/bin/citewise ingest /tmp/ext/rtqa12/corpus.jsonl --store /tmp/stores/rtqa12-int8 > $O/ingest-rtqa.txt 2>&1; e=$(date +%s.%N)
echo "rtqa ingest int8: $(echo "$e - $s" | bc) s; $(tail -1 $O/ingest-rtqa.txt)"
for b in onnx onnx-int8; do
  st=/tmp/stores/rtqa12; [ $b = onnx-int8 ] && st=/tmp/stores/rtqa12-int8
  CITEWISE_EMBEDDING_BACKEND=$b $P -m eval.harness /tmp/ext/rtqa12b/tune.jsonl --store $st --no-progress > $O/rtqa-$b.txt 2>&1
  echo "rtqa-tune $b: $(m $O/rtqa-$b.txt 'hit@1|hit@5|answer_contains|latency_p50_ms')"
done
s=$(date +%s.%N); CITEWISE_EMBEDDING_BACKEND=onnx-int8 .venv/bin/citewise ingest /tmp/stores/squad-feed.jsonl --store /tmp/stores/squad-int8 > $O/ingest-squad.txt 2>&1; e=$(date +%s.%N)
echo "squad ingest int8: $(echo "$e - $s" | bc) s; $(tail -1 $O/ingest-squad.txt)"
for b in onnx onnx-int8; do
  st=/tmp/stores/squad; [ $b = onnx-int8 ] && st=/tmp/stores/squad-int8
  CITEWISE_EMBEDDING_BACKEND=$b $P -m eval.harness /tmp/ext/squad/tune.jsonl --store $st --limit 400 --seed 0 --no-progress > $O/squad-$b.txt 2>&1
  echo "squad-tune $b: $(m $O/squad-$b.txt 'hit@1|hit@5|answer_contains|latency_p50_ms')"
done
echo DONE
