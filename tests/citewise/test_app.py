"""The application object (citewise/app.py) end to end: real model, real embedded Chroma.

What ui/ and eval/ rely on: documents in and out, ask and stream agreeing, the LangChain
retriever and runnable, and the store wiring (citewise/stores.py)."""

from __future__ import annotations

import pytest
from langchain_core.retrievers import BaseRetriever

from citewise import Citewise, make_client
from rag.config import Settings
from rag.errors import ConfigError, InputError, NotFoundError
from rag.records import Answer, Filters
from tests.conftest import SAMPLE_ARTICLE

SOURCE = SAMPLE_ARTICLE.name
QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"


def test_ingest_list_delete_round_trip(make_citewise, sample_dir):
    cw = make_citewise()
    assert cw.documents() == []
    report = cw.ingest([sample_dir])
    assert report.ok and report.added == [SOURCE]
    assert [d.source for d in cw.documents()] == [SOURCE]
    assert cw.ingest([sample_dir]).chunks_embedded == 0  # unchanged: nothing embedded again
    cw.delete(SOURCE)
    assert cw.documents() == []
    with pytest.raises(NotFoundError, match="citewise docs"):
        cw.delete(SOURCE)


def test_stream_gives_text_pieces_then_the_answer_ask_gives(sample_citewise):
    *pieces, final = list(sample_citewise.stream(QUESTION))
    asked = sample_citewise.ask(QUESTION)
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert isinstance(final, Answer) and not final.abstained
    assert final.answer == asked.answer and "".join(pieces).strip() == final.answer.strip()
    assert [c.quote for c in final.citations] == [c.quote for c in asked.citations]
    assert final.question == QUESTION and final.latency_ms > 0


def test_citations_quote_the_stored_text_exactly(sample_citewise):
    answer = sample_citewise.ask(QUESTION)
    text = sample_citewise.document_text(SOURCE)
    assert answer.citations and "27 per cent" in answer.answer
    assert all(text[c.start:c.end] == c.quote for c in answer.citations)


def test_bad_k_and_unknown_sources_are_refused_before_answering(sample_citewise):
    with pytest.raises(InputError, match="k must be between"):
        sample_citewise.ask(QUESTION, k=0)
    with pytest.raises(InputError, match="Unknown source"):
        sample_citewise.ask(QUESTION, filters=Filters(sources=["nope.txt"]))


def test_retriever_is_a_langchain_retriever_over_the_same_index(sample_citewise):
    retriever = sample_citewise.retriever(k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("How much will OpenAI spend on Azure services?")
    text = sample_citewise.document_text(SOURCE)
    assert 1 <= len(docs) <= 3
    assert all(text[d.metadata["start"]:d.metadata["end"]] == d.page_content for d in docs)
    assert any("$250 billion" in d.page_content for d in docs)


def test_runnable_takes_a_question_or_a_conversation(sample_citewise):
    chain = sample_citewise.runnable()
    plain = chain.invoke(QUESTION)
    assert isinstance(plain, Answer) and plain.citations
    followup = chain.invoke({"question": "and until when?", "history": [
        {"question": "What IP rights does Microsoft keep?", "answer": plain.answer}]})
    assert followup.question == "and until when?"
    assert followup.standalone_question != "and until when?"  # rewritten from the history


def test_claims_always_succeed_on_an_embedded_store(sample_citewise):
    # one process owns an embedded store: no other replica can have claimed the key
    assert sample_citewise.claim_once("slack-event:E1")
    assert sample_citewise.claim_once("slack-event:E1")


def test_a_chroma_url_without_a_host_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="use http://HOST:PORT"):
        make_client(Settings(store=tmp_path, chroma_url="http://:8000"))


def test_an_embedded_store_lives_under_the_store_directory(tmp_path, embedder):
    cw = Citewise(Settings(store=tmp_path / "s"), embedder=embedder)
    assert (tmp_path / "s" / "chroma").is_dir() and not cw.index.shared
