"""The answer step's pluggable backend.

A Generator turns a question and retrieved hits into an Answer whose citations are exact spans.
The extractive answerer (no LLM) is the default; the LangChain chat-model one plugs in the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from rag.records import Answer, Hit, Turn


@runtime_checkable
class Generator(Protocol):
    name: str

    def generate(self, question: str, hits: list[Hit], history: list[Turn] | None = None) -> Answer:
        """Answer from ``hits`` only; abstain (answer.abstained=True) when they don't answer."""
        ...

    def stream(
        self, question: str, hits: list[Hit], history: list[Turn] | None = None
    ) -> Iterator[str | Answer]:
        """Yield answer text pieces as they are ready, then the final Answer last."""
        ...
