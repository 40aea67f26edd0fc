"""`CitewiseRetriever`: the hybrid searcher as a LangChain BaseRetriever.

Kept apart from rag/retrieval/retriever.py because importing langchain_core costs about a second: commands
that never retrieve through LangChain (``citewise docs``, ``remove``) should not pay for it.
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever

from rag.records import Filters, Hit
from rag.retrieval.retriever import HybridSearcher


class CitewiseRetriever(BaseRetriever):
    """LangChain retriever over a citewise index (dense + BM25, fused).

    ``k`` and ``filters`` are the defaults; ``retriever.invoke(query, k=1, filters=...)``
    overrides them for one call, as LangChain's standard retriever tests expect.
    """

    searcher: HybridSearcher
    k: int = 5
    filters: Filters | None = None

    model_config = {"arbitrary_types_allowed": True}

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None, filters: Filters | None = None,
    ) -> list[LCDocument]:
        hits = self.searcher.search(query, self.k if k is None else k,
                                    self.filters if filters is None else filters)
        return [hit_to_langchain(h) for h in hits]


def hit_to_langchain(hit: Hit) -> LCDocument:
    c = hit.chunk
    return LCDocument(
        page_content=c.text,
        id=c.id,
        metadata={"source": c.source, "title": hit.title, "url": hit.url,
                  "published": hit.published, "start": c.start, "end": c.end, "page": c.page,
                  "score": hit.score},
    )
