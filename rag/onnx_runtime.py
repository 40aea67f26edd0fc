"""How citewise opens an onnxruntime session: the embedder's (rag/storage/embeddings_onnx.py)
and the reader's (rag/answer/reader.py).

Worker threads sleep between runs instead of spinning. onnxruntime's default keeps a session's
idle threads busy-waiting for the next run; an ask alternates two small models (the query and
its candidate sentences through the embedder, the candidate pairs through the reader), so one
session's spinning threads took the cores from the other's work: on 2 cores a warm ask on the
RealTime QA store spent 212 ms of CPU for 107 ms of wall time, and 128 ms for 85 ms without the
spinning (BENCHMARKS.md, "Threads that sleep between runs").

No memory arena: onnxruntime's CPU arena keeps the largest intermediate tensors of every batch
shape it has seen; with it off they go back to malloc, which the server trims (citewise/memory.py).
A process asking 60 news questions held 466 MiB with the arenas and 426 without, at the same
speed (BENCHMARKS.md, "Sessions without a memory arena").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # onnxruntime is imported when a model is loaded, not with this module
    import onnxruntime as ort

ALLOW_SPINNING = "session.intra_op.allow_spinning"


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Options for a CPU session: ``threads`` intra-op threads (None or 0: onnxruntime's
    default, one per core), no busy-waiting between runs, no memory arena, warnings only."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.add_session_config_entry(ALLOW_SPINNING, "0")
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3
    return options
