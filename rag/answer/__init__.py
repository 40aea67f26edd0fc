"""The answer step: reading the question (constraints, answer types, follow-ups, informal
wording), the checks, the reader and scorer, the extractive answerer, the LLM answerer (llm/)
and the registry that picks one. The top layer of rag/ (tests/test_layering.py)."""
