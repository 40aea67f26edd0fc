"""The language primitives: sentences and offsets, stop words and number words, tables and
"Key: value" lines, the names a document speaks for and the acronyms it defines. Pure text
analysis shared by every layer above; imports nothing above the records (tests/test_layering.py)."""
