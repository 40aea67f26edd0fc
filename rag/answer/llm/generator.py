"""The LLM answerer: a LangChain chat model writes, the verifier decides what is shown.

Tokens are buffered into sentences; each finished sentence is verified (rag/answer/llm/verify.py) and
streamed only when a source supports it, so no unverified text ever reaches a user, even for a
moment. On a backend error or timeout the extractive answer is returned instead, with a note.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from rag.answer.extractive import ExtractiveGenerator
from rag.answer.followup import is_followup, resolve_followup
from rag.answer.llm.prompt import answer_prompt, condense_prompt, pack_sentences, small_prompt
from rag.answer.llm.verify import Verifier, is_instruction, split_complete
from rag.language.textrules import content_terms
from rag.records import FALLBACK_NOTE, Answer, Hit, Turn
from rag.storage.embeddings import Embedder

log = logging.getLogger(__name__)

# Base models run on past their answer into a new "Question:"; cut there (client side, since
# some chat APIs refuse a `stop` parameter).
_RUN_ON = re.compile(
    r"\n\s*(?:Question|Sources?|Follow-up question|Conversation|<source)\b|"
    r"\n\s*\n\s*\n",
    re.IGNORECASE,
)
MAX_CONDENSED_CHARS = 300
# An answer's last sentence is finished when it ends in terminal punctuation or a marker.
_FINISHED = re.compile(r"(?:[.!?…][\"'”’)]*|\])\s*$")
_HOLD_BACK = 40  # characters of a last line held back until it is clearly no run-on


class LLMTimeout(TimeoutError):
    """The model took longer than llm_timeout for the whole answer."""


def message_text(chunk: Any) -> str:
    """Text of a message or chunk, whether its content is a string or content blocks."""
    content = getattr(chunk, "content", chunk)
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


class LLMGenerator:
    """Generator protocol on a LangChain chat model, with verified citations and a fallback."""

    name = "llm"

    def __init__(
        self,
        model: Any,
        embedder: Embedder | None = None,
        fallback: ExtractiveGenerator | None = None,
        timeout: float = 60.0,
        condense_followups: bool = True,
        reattribute: bool = True,
        label: str = "LLM",
        small_prompt: bool = False,
    ) -> None:
        self.model = model
        self.embedder = embedder
        self.fallback = fallback or ExtractiveGenerator(embedder=embedder)
        self.timeout = timeout
        self.condense_followups = condense_followups
        self.reattribute = reattribute
        self.label = label
        # Small models (issue 14) get only the best-ranked sentences, and citewise decides
        # whether to answer at all: the extractive answerer's calibrated abstention.
        self.small_prompt = small_prompt
        self._ranker = ExtractiveGenerator(
            embedder=embedder, threshold=self.fallback.threshold, max_refined=0
        )

    @classmethod
    def from_settings(cls, settings: Any, embedder: Embedder | None) -> LLMGenerator:
        from rag.answer.llm.models import describe, make_chat_model

        return cls(
            make_chat_model(settings),
            embedder=embedder,
            fallback=ExtractiveGenerator(embedder=embedder, threshold=settings.abstain_threshold),
            timeout=settings.llm_timeout,
            condense_followups=settings.llm_condense,
            label=describe(settings),
            small_prompt=settings.llm_small_prompt,
        )

    # ---- model calls --------------------------------------------------------------------------
    def _tokens(self, prompt: str, state: dict[str, Any] | None = None) -> Iterator[str]:
        """Streamed text, cut at a run-on, within the overall deadline. ``state["truncated"]``
        tells whether the model stopped at its token limit (mid-sentence, typically)."""
        state = {} if state is None else state
        deadline = time.monotonic() + self.timeout
        # a chat model gets one human message; a completion model (base LLM) the bare prompt
        inp: Any = [HumanMessage(prompt)] if isinstance(self.model, BaseChatModel) else prompt
        text, sent = "", 0
        for chunk in self.model.stream(inp):
            if time.monotonic() > deadline:
                raise LLMTimeout(f"no complete answer within {self.timeout:g} s")
            text += message_text(chunk)
            meta = getattr(chunk, "response_metadata", None) or {}
            if meta.get("finish_reason") == "length" or meta.get("done_reason") == "length":
                state["truncated"] = True
            cut = _RUN_ON.search(text, max(0, sent - 1))
            if cut:
                yield text[sent : cut.start()]
                return
            # hold back a short last line: it may be the start of "\nQuestion:"
            line = text.rfind("\n", sent)
            safe = line if line >= 0 and len(text) - line < _HOLD_BACK else len(text)
            if safe > sent:
                yield text[sent:safe]
                sent = safe
        yield text[sent:]

    def _fallback(
        self, question: str, hits: list[Hit], history: list[Turn] | None, exc: Exception
    ) -> Iterator[str | Answer]:
        status = getattr(exc, "status_code", None) or getattr(
            getattr(exc, "response", None), "status_code", None
        )
        # the note says what happened in the user's words and what to do; the details
        # (backend, model, exception) go to the log
        if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower():
            reason = "timed out"
            note = (f"The language model took too long, so {FALLBACK_NOTE} (CITEWISE_LLM_TIMEOUT "
                    "sets how long to wait).")
        elif isinstance(status, int):
            reason = f"failed (HTTP {status} from the server, {type(exc).__name__})"
            note = (f"The language model's server answered with an error (HTTP {status}), so "
                    f"{FALLBACK_NOTE}; its log says why.")
        else:
            reason = f"failed ({type(exc).__name__})"
            note = (f"The language model could not be used, so {FALLBACK_NOTE}; check that its "
                    "server is running (details in citewise's log).")
        log.warning("LLM %s %s: %s; answering extractively", self.label, reason, exc)
        for piece in self.fallback.stream(question, hits, history):
            if isinstance(piece, Answer):
                piece.note = f"{note} {piece.note}".strip()
            yield piece

    def _ranked(self, question: str, hits: list[Hit], chosen: list[Any]) -> list[tuple[Hit, int, int]]:
        """(hit, start, end) in chunk offsets, best first: the extractive answer's sentences,
        then every other candidate by the extractive answerer's score. Headlines and sentences
        that address the model are left out."""
        out, seen = [], set()
        for c in [*chosen, *self._ranker.candidates(question, hits)]:
            key = (c.hit.chunk.id, c.start, c.end)
            if key in seen or c.headline or is_instruction(c.quote):
                continue
            seen.add(key)
            out.append((c.hit, c.start - c.hit.chunk.start, c.end - c.hit.chunk.start))
        return out

    def _answering(self, question: str, hits: list[Hit], chosen: list[Any]
                   ) -> tuple[set[tuple[str, int, int]], set[tuple[str, int, int]]]:
        """Document spans a small model's sentence may rest on: those the extractive answerer
        would quote for this question (its constraints and answer type hold, not a headline,
        scored within its margin of the best). The constraints alone let a sentence about the
        question's names through that answers another question ("What is OpenAI's role?" with
        "Microsoft's IP rights now exclude OpenAI's consumer hardware"); the answerer's own
        scoring is what tells the answer from a sentence that only shares the names. Measured
        (issue 24): sentences the scorer rates as answering (at or above the threshold) but
        outside the margin hold a reference answer 15% of the time (SQuAD tune 29 of 191,
        RealTime QA tune 5 of 34; the quoted ones 70% and 28%), so a model's sentence resting
        on one is more likely wrong than the extractive answer it would replace. Second: the
        sentences that may stand beside one of them in a two-sentence span (constraints hold,
        no headline)."""
        best = max(c.score for c in chosen)
        floor = max(self.fallback.threshold, best - self.fallback.margin)
        cands = self.fallback.candidates(question, hits)
        keep = [*chosen, *(c for c in cands if c.typed and not c.headline and c.score >= floor)]
        beside = [c for c in cands if c.check.ok and not c.headline]
        return ({(c.hit.chunk.source, c.start, c.end) for c in keep},
                {(c.hit.chunk.source, c.start, c.end) for c in beside})

    def _extractive(
        self, question: str, hits: list[Hit], history: list[Turn] | None, note: str
    ) -> Iterator[str | Answer]:
        for piece in self.fallback.stream(question, hits, history):
            if isinstance(piece, Answer) and note:
                piece.note = f"{note} {piece.note}".strip()
            yield piece

    # ---- Generator protocol -------------------------------------------------------------------
    def stream(
        self, question: str, hits: list[Hit], history: list[Turn] | None = None
    ) -> Iterator[str | Answer]:
        """Verified sentences ("text [n]"), then the Answer. ``question`` is standalone."""
        prompt = None
        allowed = usable = None
        if self.small_prompt and hits:
            chosen = self.fallback.select(question, hits)
            if not chosen:  # abstention is decided outside the model
                yield from self._extractive(question, hits, history, "")
                return
            allowed, usable = self._answering(question, hits, chosen)
            hits, sources = pack_sentences(self._ranked(question, hits, chosen))
            prompt = small_prompt(question, sources)
        verifier = Verifier(question, hits, self.embedder, self.reattribute,
                            strict_names=self.small_prompt, allowed=allowed, usable=usable)
        if not hits:  # nothing to answer from: no need to ask the model
            yield verifier.answer()
            return
        prompt = prompt or answer_prompt(question, hits)
        pending = ""
        shown = 0
        state: dict[str, Any] = {}
        try:
            for token in self._tokens(prompt, state):
                pending += token
                done, pending = split_complete(pending)
                for piece in verifier.add_text(done) if done else []:
                    yield piece if not shown else " " + piece
                    shown += 1
            if state.get("truncated") and not _FINISHED.search(pending):
                log.info("LLM hit its token limit; dropped the unfinished %r", pending.strip())
                pending = ""  # cut off mid-sentence: not a claim, so not counted as removed
            for piece in verifier.add_text(pending):
                yield piece if not shown else " " + piece
                shown += 1
        except Exception as exc:  # noqa: BLE001 - any backend failure means: answer without it
            yield from self._fallback(question, hits, history, exc)
            return
        if self.small_prompt and not verifier.kept:
            # The extractive answerer found an answer here (it would have abstained above), so
            # the model's abstention or unsupported text doesn't get the last word.
            k = len(verifier.removed)
            why = (f"wrote {k} sentence{'s' if k != 1 else ''} the sources don't support: "
                   f"{verifier.removed}" if k else "gave no answer")
            log.info("LLM %s %s; answering extractively", self.label, why)
            note = (f"The generated answer was not supported by the documents, so {FALLBACK_NOTE}."
                    if k else f"The language model gave no answer, so {FALLBACK_NOTE}.")
            yield from self._extractive(question, hits, history, note)
            return
        answer = verifier.answer()
        log.info(
            "LLM answer: %d sentence(s) kept, %d removed, %d re-attributed, %d bad marker(s)%s",
            len(verifier.kept),
            len(verifier.removed),
            verifier.reattributed,
            verifier.dropped_markers,
            "; model abstained" if verifier.abstained_by_model else "",
        )
        yield answer

    def generate(self, question: str, hits: list[Hit], history: list[Turn] | None = None) -> Answer:
        final = None
        for piece in self.stream(question, hits, history):
            if isinstance(piece, Answer):
                final = piece
        assert final is not None
        return final

    # ---- follow-ups ---------------------------------------------------------------------------
    def condense(self, question: str, history: list[Turn]) -> str:
        """A standalone question by the LLM; the rule-based resolver when it fails or rambles."""
        question = " ".join(question.split())
        if not history or not self.condense_followups or not is_followup(question):
            return resolve_followup(question, history)
        try:
            text = "".join(self._tokens(condense_prompt(question, history)))
        except Exception as exc:  # noqa: BLE001
            log.warning(
                "LLM %s could not condense %r (%s); using the rule-based resolver",
                self.label,
                question,
                exc,
            )
            return resolve_followup(question, history)
        condensed = _first_question(text)
        if not _plausible(condensed, question, history):
            log.info(
                "LLM condensed %r to %r; not plausible, using the rule-based resolver",
                question,
                condensed,
            )
            return resolve_followup(question, history)
        return condensed


def _first_question(text: str) -> str:
    for line in text.strip().splitlines():
        line = re.sub(r"(?i)^\s*(?:standalone question|question)\s*:\s*", "", line)
        line = line.strip().strip("\"'“”`*").strip()
        if line:
            return line
    return ""


def _plausible(condensed: str, question: str, history: list[Turn]) -> bool:
    """Short, and about the conversation: it shares words with the follow-up or earlier turns."""
    if not condensed or len(condensed) > MAX_CONDENSED_CHARS:
        return False
    terms = set(content_terms(condensed))
    context = set(content_terms(question))
    for turn in history[-2:]:
        context |= set(content_terms(turn.question))
    return bool(terms & context)
