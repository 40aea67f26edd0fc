"""The Documents tab's "Replace…": a new version of one stored document, after a confirmation.

Uploading a file whose name is taken keeps both documents (``notes (2).txt``); this is the
explicit way to say "this file is the new version of that document". Choosing a row of the
Documents table picks its document here. The work is ui.replace's, shared with the API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import CitewiseError
from ui import render
from ui.replace import check_replaceable, replace_document

log = logging.getLogger(__name__)

#: the question's frame, as the delete confirmation's (kept here: one place for this panel)
_FRAME = "border: 1px solid #b91c1c; border-radius: 6px; padding: 6px 10px;"


def _file_name(file: Any) -> str:
    return Path(file if isinstance(file, str) else getattr(file, "name", str(file))).name


class ReplaceHandlers:
    """Event handlers, apart from the layout so they can be tested without a browser."""

    def __init__(self, citewise: Any, writer: Callable[[Any], Any] | None = None) -> None:
        self.citewise = citewise
        # the signed-in user's audited writes, or a refusal message (ui/chat.py ChatUI.writer)
        self.writer = writer or (lambda request: citewise)

    def choices(self, current: str | None):
        """The dropdown's documents, keeping the current choice while it is still stored."""
        try:
            sources = [d.source for d in self.citewise.documents()]
        except CitewiseError:
            sources = []
        return gr.update(choices=sources, value=current if current in sources else None)

    @staticmethod
    def pick_row(evt: gr.SelectData):
        """A click on a row of the Documents table picks that row's document."""
        row = getattr(evt, "row_value", None) or []
        return gr.update(value=row[1]) if len(row) > 1 and row[1] else gr.update()

    def confirm(self, source: str | None, file: Any):
        """First step: check what can be checked, then ask (confirm row, its text, status)."""
        hidden = gr.update(visible=False)
        if not source:
            return hidden, "", render.error_html("Choose the document to replace.")
        if not file:
            return hidden, "", render.error_html(
                f"Choose the file with the new version of {source}.")
        name = _file_name(file)
        try:
            check_replaceable(source, name)
        except CitewiseError as exc:
            return hidden, "", render.error_html(str(exc))
        question = (f'<div class="cw-confirm-text" role="alert" style="{_FRAME}">Replace the content of '
                    f"<b>{render.esc(source)}</b> with <b>{render.esc(name)}</b>? Its current "
                    "passages will no longer be searched or cited; answers will quote the new "
                    "file under the same name. This cannot be undone (replace it with the old "
                    "file to restore it).</div>")
        return gr.update(visible=True), question, ""

    @staticmethod
    def cancel():
        return gr.update(visible=False), "", '<div class="cw-replaced">Nothing was replaced.</div>'

    def replace(self, source: str | None, file: Any, request: gr.Request | None = None):
        """Second step, after Yes: (status html, the file box emptied on success)."""
        writer = self.writer(request)
        if isinstance(writer, str):
            return render.error_html(writer), file
        if not source or not file:
            return render.error_html("Choose the document to replace and its new file."), file
        name = _file_name(file)
        path = Path(file if isinstance(file, str) else getattr(file, "name", str(file)))
        try:
            result = replace_document(writer, source, path, name)
        except CitewiseError as exc:
            return render.error_html(str(exc)), file
        except Exception as exc:
            log.exception("replacing %s failed", source)
            return render.error_html(f"Something went wrong ({type(exc).__name__}); nothing was "
                                     "replaced. See the server log."), file
        text = render.esc(result.detail[:1].upper() + result.detail[1:]) + "."
        return f'<div class="cw-replaced" role="status">{text}</div>', None


def build_replace_panel(
    citewise: Any, table: gr.Dataframe, refresh: Callable[..., Any], refresh_outputs: list[Any],
    writer: Callable[[Any], Any] | None = None,
) -> None:
    """Lay out "Replace…" where it is called (inside the Documents tab) and wire it to the
    table: its choices follow the table, and after a replace the tab is refreshed with
    ``refresh`` -> ``refresh_outputs``."""
    h = ReplaceHandlers(citewise, writer)
    gr.Markdown("### Replace a document with a new version", elem_id="cw-replace-heading")
    with gr.Row(elem_id="cw-replace-panel"):
        with gr.Column():
            file = gr.File(file_count="single", label="New version (the same kind of file)",
                           elem_id="cw-replace-file", type="filepath")
        with gr.Column():
            pick = gr.Dropdown(label="Document to replace (or click its row above)",
                               elem_id="cw-replace-pick", choices=[], value=None,
                               interactive=True)
            ask = gr.Button("Replace…", elem_id="cw-replace", variant="secondary")
            with gr.Column(visible=False, elem_id="cw-replace-confirm") as confirm:
                question = gr.HTML("", elem_id="cw-replace-question", js_on_load=None)
                with gr.Row():
                    yes = gr.Button("Yes, replace it", variant="stop", elem_id="cw-replace-yes")
                    no = gr.Button("Cancel", elem_id="cw-replace-no")
            status = gr.HTML("", elem_id="cw-replace-status", js_on_load=None)

    table.change(h.choices, [pick], pick, api_name=False)
    table.select(h.pick_row, None, pick, api_name=False)
    ask.click(h.confirm, [pick, file], [confirm, question, status], api_name=False)
    no.click(h.cancel, None, [confirm, question, status], api_name=False)
    yes.click(lambda: (gr.update(visible=False), ""), None, [confirm, question],
              api_name=False).then(
        h.replace, [pick, file], [status, file], concurrency_limit=2, api_name=False).then(
        refresh, None, refresh_outputs, api_name=False).then(
        h.choices, [pick], pick, api_name=False)
