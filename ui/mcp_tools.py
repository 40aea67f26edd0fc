"""citewise as an MCP server: the tools ``ask`` and ``search`` at ``/mcp`` (Streamable HTTP).

Why: agent frameworks, IDE assistants and desktop chat apps call tools over the Model Context
Protocol; with these two an agent gets answers whose every claim is an exact quote of a stored
document (``ask``), or the passages themselves to reason over (``search``). Both return
structured results (an output schema per tool) plus the same JSON as text for clients that
read only text. Every quote is ``document.text[start:end]``, as in ``/api/ask``.

Built on the ``mcp`` SDK's MCPServer, stateless with JSON responses: no session lives in one
process, so any replica behind a load balancer can answer any call. Bad input (an empty
question, a bad date or ``k``, an unknown source) comes back as a tool error carrying the same
message the CLI and the API give.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from citewise.protocols import CitewiseApp
from rag.errors import CitewiseError
from rag.records import Citation, Filters, Hit, Turn

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = logging.getLogger(__name__)

PATH = "/mcp"
INSTRUCTIONS = (
    "citewise answers questions from a fixed collection of documents. `ask` returns a short "
    "answer whose [n] markers refer to exact quotes of the documents, or abstains when they "
    "don't say; `search` returns the passages themselves. Quote citewise's citations rather "
    "than rephrasing them, and say so when it abstains."
)


class CitationOut(BaseModel):
    n: int = Field(description="The [n] marker in the answer")
    source: str = Field(description="The document's source id")
    title: str
    url: str
    quote: str = Field(description="Exactly the document's text[start:end]")
    start: int
    end: int
    published: str = Field(description="The document's publication date (YYYY-MM-DD), or ''")
    section: str = ""


class AskOut(BaseModel):
    answer: str = Field(description="The answer with [n] markers, or the abstention")
    abstained: bool = Field(description="True when the documents don't answer the question")
    citations: list[CitationOut]
    note: str = ""
    as_of: str = Field("", description="The day it was answered as of")


class PassageOut(BaseModel):
    source: str
    title: str
    url: str
    quote: str = Field(description="The passage: exactly the document's text[start:end]")
    start: int
    end: int
    published: str
    section: str = ""
    score: float = Field(description="Fused retrieval score (higher is closer)")


class SearchOut(BaseModel):
    passages: list[PassageOut]


class HistoryTurn(BaseModel):
    question: str
    answer: str = ""


def _citation(c: Citation) -> CitationOut:
    return CitationOut(n=c.n, source=c.source, title=c.title, url=c.url, quote=c.quote,
                       start=c.start, end=c.end, published=c.published, section=c.section)


def _passage(h: Hit) -> PassageOut:
    ch = h.chunk
    return PassageOut(source=ch.source, title=h.title, url=h.url, quote=ch.text, start=ch.start,
                      end=ch.end, published=h.published, section=ch.section_at(ch.start),
                      score=round(float(h.score), 6))


def _filters(sources: list[str] | None, date_from: str | None,
             date_to: str | None) -> Filters | None:
    f = Filters(sources or None, date_from, date_to)
    return None if f.is_empty() else f


Sources = Annotated[list[str] | None, Field(description="Only these source ids")]
DateFrom = Annotated[str | None, Field(description="Published on or after (YYYY-MM-DD)")]
DateTo = Annotated[str | None, Field(description="Published on or before (YYYY-MM-DD)")]
AsOfDay = Annotated[str | None, Field(description="Answer as of this day (YYYY-MM-DD; default "
                                      "today): nothing published later is used")]
K = Annotated[int | None, Field(description="How many passages to read (default 5)")]


def build_mcp(citewise: CitewiseApp) -> MCPServer:
    """The MCP server with citewise's two tools; ``ui.server.create_app`` mounts it."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    # MCPServer() calls logging.basicConfig (a rich handler at INFO) when the root logger has
    # no handler yet; the process's logging is the CLI's and the server's to set, so give it one
    root = logging.getLogger()
    guard = None if root.handlers else logging.NullHandler()
    if guard is not None:
        root.addHandler(guard)
    try:
        server: MCPServer = MCPServer(name="citewise", instructions=INSTRUCTIONS,
                                      version="0.1.0")
    finally:
        if guard is not None:
            root.removeHandler(guard)

    @server.tool(description="Answer a question from the stored documents; every claim cites "
                 "an exact quote, or the answer says the documents don't say.")
    def ask(question: Annotated[str, Field(description="The question, in English")],
            history: Annotated[list[HistoryTurn] | None, Field(
                description="Earlier turns, oldest first, for follow-up questions")] = None,
            as_of: AsOfDay = None, sources: Sources = None, date_from: DateFrom = None,
            date_to: DateTo = None, k: K = None) -> AskOut:
        turns = [Turn(t.question, t.answer) for t in history or []]
        try:
            answer = citewise.ask(question, turns or None, k,
                                  _filters(sources, date_from, date_to), as_of)
        except CitewiseError as exc:
            raise ToolError(str(exc)) from None
        return AskOut(answer=answer.answer, abstained=answer.abstained,
                      citations=[_citation(c) for c in answer.citations], note=answer.note,
                      as_of=answer.as_of)

    @server.tool(description="The stored passages closest to a query, best first, each an "
                 "exact span of its document.")
    def search(query: Annotated[str, Field(description="What to look for")], k: K = None,
               as_of: AsOfDay = None, sources: Sources = None, date_from: DateFrom = None,
               date_to: DateTo = None) -> SearchOut:
        try:
            hits = citewise.search(query, k, _filters(sources, date_from, date_to), as_of)
        except CitewiseError as exc:
            raise ToolError(str(exc)) from None
        return SearchOut(passages=[_passage(h) for h in hits])

    return server
