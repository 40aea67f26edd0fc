"""citewise core: records, settings, embeddings, the Chroma-backed index, retrieval and answering."""
