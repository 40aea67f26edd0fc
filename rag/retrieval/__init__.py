"""Retrieval: dense + BM25 search fused, filters and as-of windows, and the LangChain retriever
over it. Imports storage and below, never the answer step (tests/test_layering.py)."""
