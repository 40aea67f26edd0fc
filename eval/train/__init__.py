"""Training and tuning what citewise ships: the reader (rag/answer/reader/), the answer scorer
(rag/answer/answer_scorer.json), the abstention threshold, the fusion weights, and the per-check
veto table. Run by hand on the external development sets, never at answer time."""
