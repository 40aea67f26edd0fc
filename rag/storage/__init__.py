"""Storage: the embedding models and the index (Chroma for vectors, BM25 for words) with the
records of each document. Imports the language primitives and the records, never retrieval or
the answer step (tests/test_layering.py)."""
