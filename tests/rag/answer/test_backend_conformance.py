"""The answer backends against the behavioural conformance suite they all inherit
(rag/answer/testing.py): the extractive answerer, the LLM answerer over a careless model that always
answers with the source sentence nearest the question's words (the verifier and the question's
constraints must catch it), and a plugin backend installed from an entry point."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from rag.answer.extractive import ExtractiveGenerator
from rag.answer.testing import AnswerBackendTests
from rag.config import Settings
from tests.plugin_dist import install
from tests.plugin_dist import plugin_site as _plugin_site

_SOURCE = re.compile(r'<source n="(\d+)"[^>]*>\n(.*?)\n</source>', re.S)
_WORDS = re.compile(r"\w+")


def careless_reply(prompt: str) -> str:
    """The source sentence sharing most words with the question, cited; never abstains."""
    question = prompt.rsplit("Question:", 1)[1].rsplit("Answer:", 1)[0]
    asked = set(_WORDS.findall(question.lower()))
    sources = prompt.split("Sources:", 1)[1]
    best = max(((len(asked & set(_WORDS.findall(s.lower()))), n, s)
                for n, text in _SOURCE.findall(sources)
                for s in re.split(r"(?<=\.)\s+", text) if not s.startswith("#")),
               key=lambda t: t[0])
    return f"{best[2].rstrip('.')} [{best[1]}]."


class CarelessModel(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "careless"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        reply = careless_reply(str(messages[-1].content))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply))])


class TestExtractive(AnswerBackendTests):
    @pytest.fixture
    def backend(self, embedder) -> ExtractiveGenerator:
        return ExtractiveGenerator(embedder=embedder)


class TestLLMOverACarelessModel(AnswerBackendTests):
    @pytest.fixture
    def backend(self, embedder) -> Any:
        from rag.answer.llm import LLMGenerator

        return LLMGenerator(CarelessModel(), embedder=embedder,
                            fallback=ExtractiveGenerator(embedder=embedder))


PLUGIN = """
from rag.answer.extractive import ExtractiveGenerator


class Brief(ExtractiveGenerator):
    '''A third party's backend: the extractive answer cut to its first sentence.'''

    name = "brief"
    max_sentences = 1


def make_brief(settings, embedder):
    return Brief(embedder=embedder)
"""


class TestAPluginBackend(AnswerBackendTests):
    @pytest.fixture
    def backend(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder) -> Any:
        from rag.answer.registry import make_generator

        site = _plugin_site(tmp_path, monkeypatch)
        path = next(site)
        install(path, "citewise-toy-brief", "citewise_toy_brief", PLUGIN,
                {"citewise.generators": {"brief": "citewise_toy_brief:make_brief"}})
        from rag.plugins import refresh_all

        refresh_all()
        yield make_generator(Settings(generator="brief"), embedder)
        next(site, None)


def test_the_careless_model_really_answers_everything() -> None:
    from rag.answer.llm.prompt import answer_prompt
    from rag.answer.testing import UNANSWERABLE, passages

    for question in UNANSWERABLE:  # so the suite's abstentions are the backend's own doing
        assert re.search(r"\[\d\]\.$", careless_reply(answer_prompt(question, passages(question))))
