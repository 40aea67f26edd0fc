"""Both ONNX sessions (the embedder's and the reader's) are opened with threads that sleep
between runs; the reader's without a memory arena (rag/onnx_runtime.py)."""

from __future__ import annotations

from rag.answer.reader import bundled_reader
from rag.onnx_runtime import ALLOW_SPINNING, session_options
from rag.storage.embedders import load_onnx_embedder


def test_options_turn_spinning_off_and_keep_the_thread_count():
    options = session_options(3)
    assert options.get_session_config_entry(ALLOW_SPINNING) == "0"
    assert options.intra_op_num_threads == 3
    assert options.enable_cpu_mem_arena and not session_options(arena=False).enable_cpu_mem_arena
    assert session_options().intra_op_num_threads == 0  # onnxruntime's default: one per core


def test_the_reader_and_the_embedder_sessions_do_not_spin():
    reader = bundled_reader()
    assert reader is not None
    embedder = load_onnx_embedder()
    embedder.embed_query("warm up")  # the session opens on first use
    for session in (reader._session, embedder._session):
        assert session.get_session_options().get_session_config_entry(ALLOW_SPINNING) == "0"
    assert not reader._session.get_session_options().enable_cpu_mem_arena
    assert embedder._session.get_session_options().enable_cpu_mem_arena  # an ingest needs it
