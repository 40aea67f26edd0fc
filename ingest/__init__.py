"""Ingestion: load files into cleaned Documents, chunk them and write them to the index."""
