"""The answer step's pluggable backend.

A Generator turns a question and retrieved hits into an Answer whose citations are exact spans,
and rewrites a follow-up into a standalone question before retrieval. The extractive answerer
(no LLM) is the default; the LangChain chat-model one plugs in the same way. Backends are
registered by name in rag/answer/registry.py.
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

    def condense(self, question: str, history: list[Turn]) -> str:
        """``question`` as one standalone question given the conversation so far ("and until
        when?" -> "Until when ...?"); unchanged when it is not a follow-up."""
        ...


class RuleBasedCondense:
    """``condense`` by the rule-based resolver (rag/answer/followup.py), for backends that have no
    rewrite of their own: mix it in first."""

    def condense(self, question: str, history: list[Turn]) -> str:
        from rag.answer.followup import resolve_followup

        return resolve_followup(question, history)
