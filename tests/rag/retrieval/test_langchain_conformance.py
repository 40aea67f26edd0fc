"""LangChain's own standard retriever tests (langchain-tests) run against CitewiseRetriever over
a real index of the sample article, so citewise composes into LangChain apps as any retriever
does: ``k`` in the constructor and per call, sync and async invoke, Documents out."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.records import Filters
from rag.retrieval.langchain_retriever import CitewiseRetriever


class TestCitewiseRetrieverStandard(RetrieversIntegrationTests):
    searcher: Any = None

    @pytest.fixture(autouse=True)
    def _index(self, sample_citewise) -> None:
        type(self).searcher = sample_citewise.searcher

    @property
    def retriever_constructor(self) -> type[CitewiseRetriever]:
        return CitewiseRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"searcher": self.searcher}

    @property
    def retriever_query_example(self) -> str:
        return "How much will OpenAI spend on Azure services?"


def test_per_call_k_and_filters_override_the_defaults(sample_citewise):
    retriever = sample_citewise.retriever(k=5)
    question = "How much will OpenAI spend on Azure services?"
    assert len(retriever.invoke(question)) == 5
    assert len(retriever.invoke(question, k=2)) == 2
    assert retriever.invoke(question, filters=Filters(sources=["no-such-file.txt"])) == []
    assert len(retriever.invoke(question)) == 5  # the defaults are untouched
