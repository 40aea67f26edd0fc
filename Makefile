# citewise: two commands for a new user — `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
CITEWISE := $(VENV)/bin/citewise
STAMP := $(VENV)/.installed
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run install test test-fast lint eval-gate eval-external eval-llm browser llm infinity clean

run: $(STAMP)
	$(CITEWISE) ingest sample_data
	$(CITEWISE) serve

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --upgrade pip >/dev/null
	# torch is pinned to the CPU build; install it first so nothing pulls a CUDA one.
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[test,ray,train,peer]"
	# the embedding model on onnxruntime, exported once from its local weights (no download)
	$(PY) -m rag.storage.embeddings_onnx
	touch $(STAMP)

install: $(STAMP)

browser:
	bash scripts/install-browser.sh

# llama-cpp-python's server (wheel built once), Gemma 3 270M for the fast LLM end-to-end tests
# and Qwen2.5-Coder-1.5B-Instruct for `--llm local` (1.1 GB, joined once); cached in ~/.cache/citewise
llm: $(STAMP)
	VENV=$(VENV) bash scripts/install-llm.sh

# The golden set through the local 1.5B model next to extractive, same run (not part of make test:
# about 10 s per question on 2 cores; LIMIT=N for a seeded sample). Writes
# reports/eval-llm/{report.json,report.md,shown.md}.
eval-llm: llm
	$(PY) -m eval.bench.llm_compare eval/golden/sample_article.jsonl --ingest sample_data \
		--report reports/eval-llm $(if $(LIMIT),--limit $(LIMIT))

# infinity-emb, an OpenAI-compatible embedding server, in its own virtualenv (its pins clash
# with ours) for the remote-embeddings tests; cached in ~/.cache/citewise
infinity:
	bash scripts/install-infinity.sh

# ruff, then mypy (config in pyproject.toml: strict on citewise/, rag/, ingest/, eval/; ui/ and the
# interface tests' double checked against citewise/protocols.py)
lint: $(STAMP)
	$(VENV)/bin/ruff check citewise ingest rag ui eval tests
	$(VENV)/bin/mypy

test: $(STAMP) browser llm infinity lint
	$(VENV)/bin/pytest -q -p no:cacheprovider
	$(MAKE) eval-gate

test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -m "not slow"

eval-gate: $(STAMP)
	$(CITEWISE) eval eval/golden/sample_article.jsonl --store $$(mktemp -d) --ingest sample_data \
		--baseline eval/golden/baseline.json --report reports/eval
	$(CITEWISE) eval eval/golden/kinds.jsonl --store $$(mktemp -d) --ingest eval/golden/kinds \
		--baseline eval/golden/kinds-baseline.json --report reports/eval-kinds
	$(MAKE) eval-external

# Fixed samples of the external development sets (text nobody here wrote), built from ../shared
# by eval/external.py into a temporary folder (never into the project): SQuAD v1.1's measure
# articles (200 questions, every paragraph of the 48 articles ingested), all of WikiQA dev, and
# 150 TAT-QA dev questions of its measure excerpts (annual-report tables and text, as Markdown
# files, each question asked over its own document).
SHARED ?= ../shared/datasets
eval-external: $(STAMP)
	set -e; D=$$(mktemp -d); \
	$(PY) -m eval.external squad --squad $(SHARED)/squad-v1.1-dev/dev-v1.1.json \
		--reserved $(SHARED)/squad-v1.1-dev/reserved-titles.txt --out $$D/squad --no-progress; \
	$(CITEWISE) eval $$D/squad/measure.jsonl --limit 200 --seed 0 --store $$D/squad-store \
		--ingest $$D/squad/corpus.jsonl --baseline eval/baselines/squad-measure.json \
		--report reports/eval-squad; \
	$(PY) -m eval.external wikiqa --dir $(SHARED)/wikiqa --split dev --out $$D/wikiqa --no-progress; \
	$(CITEWISE) eval $$D/wikiqa/questions.jsonl --store $$D/wikiqa-store \
		--ingest $$D/wikiqa/corpus.jsonl --baseline eval/baselines/wikiqa-dev.json \
		--report reports/eval-wikiqa; \
	$(PY) -m eval.external tatqa --tatqa $(SHARED)/tatqa/tatqa_dataset_dev.json --limit 150 \
		--out $$D/tatqa --no-progress; \
	$(CITEWISE) eval $$D/tatqa/measure.jsonl --restrict --store $$D/tatqa-store \
		--ingest $$D/tatqa/corpus --baseline eval/baselines/tatqa-measure.json \
		--report reports/eval-tatqa; \
	rm -rf $$D

clean:
	rm -rf $(VENV) .citewise reports test-output .mypy_cache
