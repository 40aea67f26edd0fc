"""Benchmarks: ingest and ask speed beside the peer pipeline (`citewise bench`, `python -m
eval.bench`), the Ray ingest benchmark, the LLM-vs-extractive comparison. Not part of what
`citewise eval` ships."""
