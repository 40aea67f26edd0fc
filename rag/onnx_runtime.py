"""How citewise opens an onnxruntime session: the embedder's (rag/storage/embeddings_onnx.py)
and the reader's (rag/answer/reader.py).

Worker threads sleep between runs instead of spinning. onnxruntime's default keeps a session's
idle threads busy-waiting for the next run; an ask alternates two small models (the query and
its candidate sentences through the embedder, the candidate pairs through the reader), so one
session's spinning threads took the cores from the other's work: on 2 cores a warm ask on the
RealTime QA store spent 212 ms of CPU for 107 ms of wall time, and 128 ms for 85 ms without the
spinning (BENCHMARKS.md, "Threads that sleep between runs").

The reader's session has no memory arena: onnxruntime's CPU arena keeps the largest
intermediate tensors of every batch shape it has seen; without it they go back to malloc, which
the server trims (citewise/memory.py): 24 MiB less after 60 news asks, same speed. The embedder
keeps its arena (an ingest without it took 42 s instead of 30: its large batches are allocated
again on every run) and shrinks it after an ask's small runs and when an ingest ends
(``shrink_run_options``; BENCHMARKS.md, "The reader without a memory arena", "A server without
the chat").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # onnxruntime is imported when a model is loaded, not with this module
    import onnxruntime as ort

ALLOW_SPINNING = "session.intra_op.allow_spinning"
ARENA_SHRINKAGE = "memory.enable_memory_arena_shrinkage"


def session_options(threads: int | None = None, arena: bool = True) -> ort.SessionOptions:
    """Options for a CPU session: ``threads`` intra-op threads (None or 0: onnxruntime's
    default, one per core), no busy-waiting between runs, onnxruntime's memory arena only with
    ``arena``, warnings only."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.add_session_config_entry(ALLOW_SPINNING, "0")
    options.enable_cpu_mem_arena = arena
    options.log_severity_level = 3
    return options


def shrink_run_options() -> ort.RunOptions:
    """Options for a run that hands what it took from the CPU arena back as it ends (only for
    a session opened with an arena: onnxruntime refuses it otherwise)."""
    import onnxruntime as ort

    options = ort.RunOptions()
    options.add_run_config_entry(ARENA_SHRINKAGE, "cpu:0")
    return options
