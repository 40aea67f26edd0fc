"""The browser UI (Gradio Blocks, mounted in the FastAPI app at ``/``).

Chat tab: streamed answers whose ``[n]`` markers link to a sources panel that shows each
source's title, url, date and the quoted span highlighted in its surrounding text; abstentions
are styled apart and list the closest passages; follow-ups use the conversation.
Documents tab: list (published and ingest dates), upload (with progress and a per-file
result), delete (after a confirmation).

Accessibility (WCAG 2.1 AA, checked with axe-core in tests/ui/test_browser.py): the question box
has a name, text and buttons reach 4.5:1 contrast (theme and CSS below), a question over the
length limit is refused with a message instead of being cut, the Documents table scrolls
sideways on a phone.

Every string from documents or users goes through ui.render (html-escaped) before display.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import gradio as gr

from citewise import MAX_QUESTION_CHARS, CitewiseApp
from rag.config import Settings
from rag.errors import CitewiseError
from rag.records import Answer, Turn
from ui import render
from ui.auth import Audited, Gate, gradio_user, identity_of
from ui.feedback import Recorder
from ui.feeds_panel import build_feeds_panel
from ui.replace_panel import build_replace_panel
from ui.uploads import Upload, ingest_uploads

log = logging.getLogger(__name__)

#: example questions about the sample article, offered only while it is stored: questions about
#: documents the store lacks would only teach a new user that citewise abstains
SAMPLE_SOURCE = "microsoft-openai-partnership.txt"
EXAMPLES = [
    "What stake does Microsoft hold in OpenAI Group PBC?",
    "Until when does Microsoft keep its IP rights for models and products?",
    "Who verifies when OpenAI declares AGI?",
]
PLACEHOLDER = "Ask a question about your documents."

#: seconds between UI updates while an answer streams (coalesces tiny pieces)
STREAM_INTERVAL = 0.05
# an output left as it is (the question box after an answer has started)
KEEP = gr.skip()

CSS = """
/* text colours with at least 4.5:1 contrast on the light and the dark theme (WCAG AA) */
:root { --cw-muted: #52525b; --cw-link: #1d4ed8; --cw-link-accent: #9a3412; }
.dark { --cw-muted: #d4d4d8; --cw-link: #93c5fd; --cw-link-accent: #fdba74; }
.cw-question { white-space: normal; }
.cw-answer { line-height: 1.55; }
a.cw-cite { text-decoration: none; font-weight: 600; font-size: 0.8em; vertical-align: super;
  padding: 0 2px; border-radius: 3px; color: var(--cw-link-accent); cursor: pointer; }
a.cw-cite:hover, a.cw-cite:focus-visible { background: var(--color-accent-soft);
  text-decoration: underline; }
.cw-note, .cw-understood { margin-top: 6px; font-size: 0.8em; color: var(--cw-muted); }
.cw-abstain { border-left: 4px solid #d97706; padding: 4px 10px; background: rgba(217,119,6,0.08);
  border-radius: 4px; }
.cw-abstain-title { font-weight: 700; color: #92400e; margin-bottom: 2px; }
.dark .cw-abstain-title, .dark .cw-related-label { color: #fcd34d; }
.cw-abstain-body { font-style: italic; }
.cw-tagline { color: var(--cw-muted); }
.cw-who { text-align: right; font-size: 0.9em; color: var(--cw-muted); }
.cw-logout { display: inline; margin-left: 8px; }
.cw-logout button { border: 1px solid var(--border-color-primary); border-radius: 4px;
  padding: 2px 8px; background: transparent; color: var(--cw-link); cursor: pointer;
  font-size: inherit; font-weight: 600; }
.cw-feedback-thanks { font-size: 0.85em; color: var(--cw-muted); margin-top: 4px; }
.cw-abstain-hint { font-size: 0.85em; margin-top: 4px; color: var(--cw-muted); }
.cw-error { border-left: 4px solid #dc2626; padding: 4px 10px; color: #b91c1c; }
#cw-sources { max-height: 640px; overflow-y: auto; }
.cw-sources-empty, .cw-empty { color: var(--cw-muted); font-size: 0.9em; padding: 8px; }
.cw-turn-q { font-weight: 600; font-size: 0.9em; color: var(--cw-muted); margin: 4px 0 8px; }
.cw-source, .cw-related { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 8px 10px; margin-bottom: 10px; transition: box-shadow .3s, border-color .3s; }
.cw-source.cw-flash { border-color: var(--color-accent); box-shadow: 0 0 0 3px var(--color-accent-soft); }
.cw-source-head { font-weight: 600; }
.cw-n { color: var(--cw-link-accent); margin-right: 4px; }
.cw-meta { font-size: 0.8em; color: var(--cw-muted); margin: 2px 0 6px; word-break: break-all; }
.cw-meta a { color: var(--cw-link); }
.cw-passage { margin: 0; padding: 4px 8px; border-left: 3px solid var(--border-color-primary);
  font-size: 0.9em; line-height: 1.5; white-space: normal; }
.cw-ctx { color: var(--cw-muted); }
mark.cw-quote { background: #fde68a; color: #1f2937; padding: 0 1px; border-radius: 2px; }
.cw-related-label { font-size: 0.85em; color: #92400e; font-weight: 600; margin-bottom: 6px; }
.cw-turn-abstain .cw-related { border-style: dashed; }
details.cw-older { margin-top: 8px; }
details.cw-older summary { cursor: pointer; font-size: 0.85em; color: var(--cw-muted); }
table.cw-ingest-result { width: 100%; border-collapse: collapse; font-size: 0.9em; }
table.cw-ingest-result td, table.cw-ingest-result th { border-bottom: 1px solid var(--border-color-primary);
  padding: 4px 6px; text-align: left; }
tr.cw-status-failed td, tr.cw-status-skipped td { color: #b91c1c; }
#cw-docs .table-wrap, #cw-docs .table-container { overflow-x: auto; }
/* the Documents table in the page's own font, across the whole width (it scrolls sideways
   below its minimum on a phone) */
#cw-docs table { width: 100% !important; min-width: 760px; }
#cw-docs table, #cw-docs td, #cw-docs th, #cw-docs .cell-wrap, #cw-docs span {
  font-family: var(--font) !important; }
#cw-delete-confirm { border: 1px solid #b91c1c; border-radius: 6px; padding: 6px 10px; }
button[role="tab"][aria-selected="true"] { color: var(--cw-link-accent) !important; }
/* Gradio fades chat text to 80% opacity, which takes muted text below 4.5:1 */
#cw-chat .message-wrap .prose.chatbot.md { opacity: 1; }
"""

# Gradio's default orange is 2.8:1 behind white text; the 700 shades reach 5.2:1 (WCAG AA), and
# subdued text and placeholders are darkened the same way.
THEME = gr.themes.Default().set(
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_dark="*primary_700",
    button_primary_background_fill_hover_dark="*primary_800",
    button_primary_text_color="white",
    button_cancel_background_fill="#b91c1c",  # red-700: 6.5:1 behind white
    button_cancel_background_fill_hover="#991b1b",
    button_cancel_background_fill_dark="#b91c1c",
    button_cancel_background_fill_hover_dark="#991b1b",
    button_cancel_text_color="white",
    button_cancel_text_color_dark="white",
    body_text_color_subdued="*neutral_600",
    input_placeholder_color="*neutral_500",
)


# Citation markers scroll to (and flash) their source, opening a folded earlier answer.
# Gradio marks the chat's example questions role="list" around plain buttons (an ARIA error
# axe-core reports as critical): they become a named group instead.
JS = """
() => {
  const fixExamples = () => document.querySelectorAll('.examples[role="list"]').forEach((el) => {
    el.setAttribute('role', 'group');
    el.setAttribute('aria-label', 'Example questions');
  });
  fixExamples();
  new MutationObserver(fixExamples).observe(document.body, {childList: true, subtree: true});
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a.cw-cite');
    if (!a) return;
    e.preventDefault();
    e.stopPropagation();
    const id = (a.getAttribute('href') || '').slice(1);
    const el = id && document.getElementById(id);
    if (!el) return;
    const det = el.closest('details');
    if (det) det.open = true;
    el.scrollIntoView({behavior: 'smooth', block: 'center'});
    el.classList.add('cw-flash');
    setTimeout(() => el.classList.remove('cw-flash'), 1600);
  }, true);
}
"""


class ChatUI:
    """Event handlers, kept apart from the layout so they can be unit-tested."""

    def __init__(self, citewise: CitewiseApp, settings: Settings,
                 recorder: Recorder | None = None, gate: Gate | None = None) -> None:
        self.citewise = citewise
        self.settings = settings
        self.recorder = recorder
        self.gate = gate

    # ---- chat ---------------------------------------------------------------------------
    def _doc_text(self, source: str) -> str | None:
        try:
            return self.citewise.document_text(source)
        except Exception:
            return None

    def respond(self, message: str, chat: list[dict], state: dict | None, as_of: str = "",
                request: gr.Request | None = None):
        """Stream one answer: yields (textbox, chatbot messages, sources html, state).
        ``as_of`` (YYYY-MM-DD, or empty for today) is the day the question is asked."""
        state = {"turns": [], "sources": []} if not state else state
        chat = list(chat or [])
        question = (message or "").strip()
        if not question:
            yield "", list(chat), render.sources_panel_html(state["sources"]), state
            return
        if len(question) > MAX_QUESTION_CHARS:
            # refused, not cut: the text stays in the box to be shortened
            chat.append({"role": "assistant", "content": render.error_html(
                f"Your question is {len(question):,} characters long; the limit is "
                f"{MAX_QUESTION_CHARS:,}. Shorten it (it is still in the box) and ask again.")})
            yield message, list(chat), render.sources_panel_html(state["sources"]), state
            return
        turn_id = f"t{len(state['turns']) + 1}"
        chat.append({"role": "user", "content": render.question_html(question)})
        chat.append({"role": "assistant", "content": render.streaming_html("…")})
        panel = render.sources_panel_html(state["sources"])
        # the box is cleared once, here: later steps leave it alone, so a follow-up typed
        # while this answer streams is not wiped
        yield "", list(chat), panel, state

        history = [Turn(q, a) for q, a in state["turns"]]
        text, final = "", None
        last = 0.0
        try:
            for piece in self.citewise.stream(question, history=history or None,
                                              as_of=(as_of or "").strip() or None):
                if isinstance(piece, Answer):
                    final = piece
                    break
                text += piece
                now = time.monotonic()
                if now - last >= STREAM_INTERVAL:
                    last = now
                    chat[-1] = {"role": "assistant", "content": render.streaming_html(text)}
                    yield KEEP, list(chat), panel, state
        except CitewiseError as exc:
            chat[-1] = {"role": "assistant", "content": render.error_html(str(exc))}
            yield KEEP, list(chat), panel, state
            return
        except Exception as exc:
            log.exception("chat: answering failed")
            chat[-1] = {"role": "assistant",
                        "content": render.error_html(f"Something went wrong ({type(exc).__name__}).")}
            yield KEEP, list(chat), panel, state
            return
        if final is None:
            chat[-1] = {"role": "assistant", "content": render.error_html("No answer was produced.")}
            yield KEEP, list(chat), panel, state
            return
        chat[-1] = {"role": "assistant", "content": render.answer_html(final, turn_id)}
        answer_id = (self.recorder.record(final, history, "chat", _user(request))
                     if self.recorder else None)
        state = {
            **state,
            "turns": [*state["turns"], (question, final.answer)],
            "sources": [*state["sources"], render.turn_sources_html(final, turn_id, self._doc_text)],
            # which answer each rateable message shows (its index in the chat)
            "ids": {**state.get("ids", {}), str(len(chat) - 1): answer_id},
        }
        yield KEEP, list(chat), render.sources_panel_html(state["sources"]), state

    def welcome(self):
        """The empty chat's examples and placeholder, from what is stored now: the sample
        article's questions while it is there, else none (the placeholder names a few stored
        titles instead, which costs no tab stop on the way to the question box)."""
        try:
            docs = self.citewise.documents()
        except CitewiseError:
            docs = []
        examples = ([{"text": q} for q in EXAMPLES]
                    if any(d.source == SAMPLE_SOURCE for d in docs) else None)
        return gr.update(examples=examples, placeholder=render.chat_placeholder(docs))

    @staticmethod
    def clear():
        return [], render.sources_panel_html([]), {"turns": [], "sources": []}

    # ---- feedback -----------------------------------------------------------------------
    def rate(self, state: dict | None, evt: gr.LikeData, request: gr.Request | None = None):
        """A 👍/👎 on an answer: recorded at once; the comment box opens for a 👎.
        Returns (comment row, status, state)."""
        state = dict(state or {})
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        answer_id = state.get("ids", {}).get(str(index))
        if evt.liked is True or evt.liked is False:
            liked = "up" if evt.liked else "down"
        else:
            liked = {"like": "up", "dislike": "down"}.get(str(evt.liked).lower(), "")
        if not liked:  # a thumb clicked again takes nothing back: the log is append-only
            return gr.update(), "", state
        if self.recorder is None or not answer_id:
            return (gr.update(visible=False),
                    render.error_html("Only answers can be rated, not this message."), state)
        try:
            rating_id = self.recorder.rate(answer_id, liked, user=_user(request), channel="chat")
        except CitewiseError as exc:
            return gr.update(visible=False), render.error_html(str(exc)), state
        state["rating"] = rating_id
        thanks = (f'<div class="cw-feedback-thanks" role="status">Thanks: recorded '
                  f'{"👍" if liked == "up" else "👎"} (feedback #{rating_id}).'
                  + (" What was wrong? A comment helps whoever reviews it." if liked == "down"
                     else "") + "</div>")
        return gr.update(visible=liked == "down"), thanks, state

    def comment(self, text: str, state: dict | None):
        """The comment on the last 👎; returns (comment row, comment box, status)."""
        rating_id = (state or {}).get("rating")
        if self.recorder is None or self.recorder.log is None or not rating_id:
            return gr.update(visible=False), "", ""
        try:
            self.recorder.log.comment(int(rating_id), text)
        except CitewiseError as exc:
            return gr.update(), text, render.error_html(str(exc))
        return (gr.update(visible=False), "",
                f'<div class="cw-feedback-thanks" role="status">Comment saved with feedback '
                f"#{int(rating_id)}.</div>")

    @staticmethod
    def pick_example(evt: gr.SelectData) -> str:
        value = evt.value
        if isinstance(value, dict):
            return str(value.get("text") or value.get("display_text") or "")
        return str(value or "")

    # ---- who is signed in ----------------------------------------------------------------
    def signed_in(self, request: gr.Request | None = None):
        """On page load: who is signed in (with a Sign out button), and the document tools
        shown only to a role that may use them. Returns (header html, and the visibility of
        the upload/delete, the replace and the feed tools)."""
        if self.gate is None or self.gate.mode == "none":
            return "", gr.update(visible=True), gr.update(visible=True), gr.update(visible=True)
        who = identity_of(getattr(request, "username", None))
        html = (f'<div class="cw-who">Signed in as <b>{render.esc(who.name)}</b> '
                f'({render.esc(who.role)})'
                + ('<form method="post" action="/logout" class="cw-logout">'
                   '<button type="submit" id="cw-logout">Sign out</button></form>'
                   if who.kind in ("user", "token") else "") + "</div>")
        tools = gr.update(visible=who.may("editor"))
        return html, tools, tools, tools

    def writer(self, request: gr.Request | None) -> Any:
        """The application object writes go through, audited as the signed-in user; an
        error message instead when their role may not change documents (a forged event)."""
        client = getattr(getattr(request, "client", None), "host", "") or ""
        who = identity_of(getattr(request, "username", None), client)
        if not who.may("editor"):
            return (f"Your role ({who.role}) may not change documents; ask an admin for the "
                    "editor role.")
        if self.gate is None:
            return self.citewise
        return Audited(self.citewise, self.gate.access, who, client)

    # ---- documents ----------------------------------------------------------------------
    def refresh(self):
        try:
            docs = self.citewise.documents()
        except CitewiseError as exc:
            return [], gr.update(choices=[], value=None), render.error_html(str(exc))
        sources = [d.source for d in docs]
        summary = f"{len(docs)} document{'s' if len(docs) != 1 else ''} stored."
        return (render.documents_rows(docs), gr.update(choices=sources, value=None),
                f'<div class="cw-doc-count">{render.esc(summary)}</div>')

    def upload(self, files: list[Any] | None, request: gr.Request | None = None,
               progress: gr.Progress | None = None):
        progress = progress or gr.Progress()
        if not files:
            return (render.ingest_result_html([]), *self.refresh()[:2], None)
        writer = self.writer(request)
        if isinstance(writer, str):
            return (render.error_html(writer), *self.refresh()[:2], None)
        uploads = []
        for f in files:
            path = Path(f if isinstance(f, str) else getattr(f, "name", str(f)))
            uploads.append(Upload(path.name, path))
        progress(0, desc=f"Ingesting {len(uploads)} file(s)…")

        def on_progress(msg: str, done: int, total: int) -> None:
            progress((min(done, total), max(total, 1)), desc=msg)

        try:
            _report, results = ingest_uploads(writer, uploads, on_progress)
            rows = [(r.file, r.status,
                     r.detail or (r.source if r.source and r.source != r.file else ""))
                    for r in results]
            result = render.ingest_result_html(rows)
        except CitewiseError as exc:
            result = render.error_html(str(exc))
        table, dropdown, _count = self.refresh()
        return result, table, dropdown, None

    def confirm_delete(self, source: str | None):
        """First step of Delete: ask before anything is removed (confirm row, its text, status)."""
        if not source:
            return (gr.update(visible=False), "",
                    render.error_html("Choose a document to delete."))
        question = (f'<div class="cw-confirm-text" role="alert">Delete <b>{render.esc(source)}'
                    "</b>? Its passages will no longer be searched or cited. This cannot be "
                    "undone (ingest the file again to restore it).</div>")
        return gr.update(visible=True), question, ""

    @staticmethod
    def cancel_delete():
        return gr.update(visible=False), "", '<div class="cw-deleted">Nothing was deleted.</div>'

    def delete(self, source: str | None, request: gr.Request | None = None):
        writer = self.writer(request)
        if isinstance(writer, str):
            status = render.error_html(writer)
        elif not source:
            status = render.error_html("Choose a document to delete.")
        else:
            try:
                writer.delete(source)
                status = (f'<div class="cw-deleted">Deleted <b>{render.esc(source)}</b>; '
                          "it will not be cited again.</div>")
            except CitewiseError as exc:
                status = render.error_html(str(exc))
        table, dropdown, _count = self.refresh()
        return status, table, dropdown


def _user(request: gr.Request | None) -> str:
    """The signed-in user of a chat event, for the feedback log ("" with sign-in off)."""
    who = identity_of(getattr(request, "username", None))
    return "" if who.kind == "open" else f"{who.kind}:{who.name}"


def build_chat(citewise: CitewiseApp, settings: Settings,
               recorder: Recorder | None = None, gate: Gate | None = None) -> gr.Blocks:
    ui = ChatUI(citewise, settings, recorder, gate)
    rating = recorder is not None and recorder.on
    with gr.Blocks(title="citewise", analytics_enabled=False, fill_width=True) as demo:
        state = gr.State({"turns": [], "sources": []})
        with gr.Row(elem_id="cw-top"):
            gr.HTML('<div id="cw-header"><h2 style="margin:0">citewise</h2>'
                    '<div class="cw-tagline">Answers quote their sources exactly, or say the '
                    "documents don't answer.</div></div>", js_on_load=None)
            who = gr.HTML("", elem_id="cw-who", js_on_load=None)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            elem_id="cw-chat", label="Chat", height=560,
                            examples=None, placeholder=PLACEHOLDER,  # ui.welcome fills them
                            sanitize_html=True, render_markdown=True, allow_tags=False,
                            latex_delimiters=[], buttons=["copy"],
                            feedback_options=("Like", "Dislike") if rating else None,
                            group_consecutive_messages=False, autoscroll=True,
                        )
                        with gr.Row():
                            # no max_length: the browser would cut a long paste silently;
                            # respond() refuses it with a message instead
                            box = gr.Textbox(
                                elem_id="cw-question", label="Question",
                                placeholder="Ask about your documents…", show_label=False,
                                scale=6, autofocus=True, container=False,
                            )
                            send = gr.Button("Ask", elem_id="cw-send", variant="primary",
                                             scale=1, min_width=80)
                            clear = gr.Button("New chat", elem_id="cw-clear", scale=1,
                                              min_width=80)
                        feedback_status = gr.HTML("", elem_id="cw-feedback-status",
                                                  js_on_load=None)
                        with gr.Row(visible=False, elem_id="cw-feedback-comment") as comment_row:
                            comment_box = gr.Textbox(
                                elem_id="cw-feedback-text", label="What was wrong? (optional)",
                                max_lines=3, scale=6)
                            comment_send = gr.Button("Send comment", elem_id="cw-feedback-send",
                                                     scale=1, min_width=80)
                        with gr.Accordion("Answer as of a date", open=False,
                                          elem_id="cw-as-of-panel"):
                            as_of = gr.Textbox(
                                elem_id="cw-as-of", label="As of (YYYY-MM-DD)",
                                placeholder="today", max_lines=1,
                                info="Nothing published later is cited; “this week” or "
                                     "“recently” in a question mean the days before it.",
                            )
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources = gr.HTML(render.sources_panel_html([]), elem_id="cw-sources",
                                          js_on_load=None)
            with gr.Tab("Documents", id="documents") as docs_tab:
                count = gr.HTML("", elem_id="cw-doc-count", js_on_load=None)
                table = gr.Dataframe(
                    headers=list(render.DOCUMENT_COLUMNS), datatype="str",
                    interactive=False, elem_id="cw-docs", wrap=True,
                    column_count=len(render.DOCUMENT_COLUMNS), label="Documents",
                    # fixed widths: at 390 px the table scrolls sideways to every column
                    column_widths=["32%", "29%", "15%", "15%", "9%"],
                )
                with gr.Column(elem_id="cw-editor-tools") as editor_tools, gr.Row():
                    with gr.Column():
                        files = gr.File(file_count="multiple", label="Upload files to ingest",
                                        elem_id="cw-upload", type="filepath")
                        ingest_btn = gr.Button("Ingest", elem_id="cw-ingest", variant="primary")
                        result = gr.HTML("", elem_id="cw-ingest-result", js_on_load=None)
                    with gr.Column():
                        pick = gr.Dropdown(label="Document to delete", elem_id="cw-delete-pick",
                                           choices=[], value=None, interactive=True)
                        delete_btn = gr.Button("Delete…", elem_id="cw-delete", variant="stop")
                        with gr.Column(visible=False, elem_id="cw-delete-confirm") as confirm:
                            confirm_text = gr.HTML("", elem_id="cw-delete-question",
                                                   js_on_load=None)
                            with gr.Row():
                                confirm_yes = gr.Button("Yes, delete it", variant="stop",
                                                        elem_id="cw-delete-yes")
                                confirm_no = gr.Button("Cancel", elem_id="cw-delete-no")
                        deleted = gr.HTML("", elem_id="cw-delete-status", js_on_load=None)
                # "Replace…": a new version of one document, on purpose (ui/replace_panel.py)
                with gr.Column(elem_id="cw-replace-tools") as replace_tools:
                    build_replace_panel(citewise, table, ui.refresh, [table, pick, count],
                                        ui.writer)
                # "News feeds": follow RSS, Atom or sitemap.xml (ui/feeds_panel.py)
                with gr.Column(elem_id="cw-feed-tools") as feed_tools:
                    feeds, feeds_listing = build_feeds_panel(citewise, ui.writer, ui.refresh,
                                                             [table, pick, count])

        outputs = [box, chatbot, sources, state]
        limit = 8
        inputs = [box, chatbot, state, as_of]
        # "always_last": a question sent while the previous answer is still finishing runs
        # right after it (Gradio's default for submit drops it silently)
        ask = {"concurrency_limit": limit, "api_name": False, "trigger_mode": "always_last"}
        box.submit(ui.respond, inputs, outputs, **ask)
        send.click(ui.respond, inputs, outputs, **ask)
        chatbot.example_select(ui.pick_example, None, box, api_name=False).then(
            ui.respond, inputs, outputs, concurrency_limit=limit, api_name=False)
        clear.click(ui.clear, None, [chatbot, sources, state], api_name=False)
        chatbot.clear(ui.clear, None, [chatbot, sources, state], api_name=False)  # its trash icon
        chatbot.like(ui.rate, [state], [comment_row, feedback_status, state], api_name=False)
        comment_send.click(ui.comment, [comment_box, state],
                           [comment_row, comment_box, feedback_status], api_name=False)

        refresh_outputs = [table, pick, count]
        # quiet loads and refreshes: no progress overlay flashes over the page as it opens (and
        # none dims the text while a screen reader or an accessibility check reads it)
        demo.load(ui.refresh, None, refresh_outputs, api_name=False, show_progress="hidden")
        demo.load(ui.welcome, None, chatbot, api_name=False, show_progress="hidden")
        demo.load(ui.signed_in, None, [who, editor_tools, replace_tools, feed_tools],
                  api_name=False, show_progress="hidden")
        docs_tab.select(ui.refresh, None, refresh_outputs, api_name=False, show_progress="hidden")
        docs_tab.select(feeds_listing, None, feeds, api_name=False, show_progress="hidden")
        ingest_btn.click(ui.upload, [files], [result, table, pick, files], concurrency_limit=2,
                         api_name=False).then(ui.refresh, None, refresh_outputs, api_name=False)
        delete_btn.click(ui.confirm_delete, [pick], [confirm, confirm_text, deleted],
                         api_name=False)
        confirm_no.click(ui.cancel_delete, None, [confirm, confirm_text, deleted], api_name=False)
        confirm_yes.click(lambda: gr.update(visible=False), None, confirm, api_name=False).then(
            ui.delete, [pick], [deleted, table, pick], api_name=False).then(
            ui.refresh, None, refresh_outputs, api_name=False)
    return demo


def mount(app: Any, citewise: CitewiseApp, settings: Settings, path: str = "/",
          recorder: Recorder | None = None, gate: Gate | None = None) -> Any:
    """Mount the Gradio UI on ``app`` with everything that would reach the internet off;
    with sign-in on, Gradio knows each request's identity (``request.username``)."""
    demo = build_chat(citewise, settings, recorder, gate)
    signed_in = gate is not None and gate.mode != "none"
    demo.queue(default_concurrency_limit=8)
    return gr.mount_gradio_app(
        app, demo, path=path,
        footer_links=[],
        run_history=False,
        show_error=True,
        ssr_mode=False,
        mcp_server=False,
        auth_dependency=gradio_user if signed_in else None,
        pwa=False,
        max_file_size=int(settings.max_upload_mb * 2**20),
        theme=THEME,
        css=CSS,
        js=JS,
    )
