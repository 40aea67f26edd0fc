"""citewise's public API: the application object above ingest/ and rag/.

    from citewise import Citewise
    cw = Citewise.from_settings()

Imports point down only: this package uses ingest/ and rag/; rag/ never imports it (a test
checks the layering, tests/test_layering.py). `CitewiseApp` is what the interfaces need from it.
"""

from citewise.app import MAX_QUESTION_CHARS, Citewise, check_question
from citewise.protocols import CitewiseApp
from citewise.stores import make_client

__all__ = ["MAX_QUESTION_CHARS", "Citewise", "CitewiseApp", "check_question", "make_client"]
