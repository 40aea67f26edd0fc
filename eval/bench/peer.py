"""The peer citewise is measured against: the LangChain RAG tutorial's pipeline (issue 27).

RecursiveCharacterTextSplitter (1000 characters, 200 overlap), ``Chroma.from_documents`` with a
HuggingFaceEmbeddings-equivalent wrapper of the same sentence-transformers weights (langchain-
huggingface itself pins huggingface_hub<2, which conflicts with sentence-transformers 6), top-k
similarity search. Its dependencies are the ``peer`` extra (`pip install -e ".[peer]"`), not the
product's. ``citewise bench`` runs it beside citewise on the same corpus and questions; alone:

    python -m eval.bench.peer FEED.jsonl MODEL_PATH [--questions Q.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import ConfigError


@dataclass
class PeerResult:
    chunks: int
    tokens_embedded: int  # within the model's window
    truncated: int  # chunks longer than the window
    ingest_secs: float
    hit4: float  # of the gold source among its top 4 (what the tutorial retrieves)
    hit5: float


def run_peer(model_path: str, feed: Path, questions: list[tuple[str, str]],
             workdir: Path) -> PeerResult:
    """Ingest ``feed`` (JSONL: id, text) the tutorial's way and retrieve for ``questions``
    ((question, gold source))."""
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_core.documents import Document as LCDocument
        from langchain_core.embeddings import Embeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter
    except ImportError as exc:
        raise ConfigError(f"the peer pipeline needs the 'peer' extra ({exc}); install it with "
                          "`pip install -e \".[peer]\"`, or run the bench with --no-peer") from exc
    from sentence_transformers import SentenceTransformer

    class HFEmbeddings(Embeddings):
        """What langchain-huggingface's HuggingFaceEmbeddings does with default kwargs."""

        def __init__(self) -> None:
            self.client = SentenceTransformer(model_path, device="cpu")

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            vectors: list[list[float]] = self.client.encode(texts, show_progress_bar=False).tolist()
            return vectors

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    emb = HFEmbeddings()
    started = time.perf_counter()
    docs = []
    with feed.open(encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            docs.append(LCDocument(page_content=obj["text"],
                                   metadata={"source": str(obj.get("id") or obj.get("source"))}))
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    client = chromadb.PersistentClient(path=str(workdir / "peer"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    store: Any = Chroma.from_documents(splits, emb, client=client, collection_name="peer")
    secs = time.perf_counter() - started
    tok = emb.client.tokenizer([d.page_content for d in splits], add_special_tokens=True,
                               truncation=False)["input_ids"]
    window = emb.client.max_seq_length
    hit4 = hit5 = 0
    for q, gold in questions:
        found = [d.metadata["source"] for d in store.similarity_search(q, k=5)]
        hit4 += gold in found[:4]
        hit5 += gold in found
    n = max(len(questions), 1)
    return PeerResult(len(splits), sum(min(len(t), window) for t in tok),
                      sum(len(t) > window for t in tok), secs, hit4 / n, hit5 / n)


def main(argv: list[str] | None = None) -> int:
    import tempfile

    p = argparse.ArgumentParser(prog="python -m eval.bench.peer", description=__doc__)
    p.add_argument("feed", type=Path)
    p.add_argument("model", help="sentence-transformers model folder or name")
    p.add_argument("--questions", type=Path, help="JSONL with question and sources")
    args = p.parse_args(argv)
    qs = []
    if args.questions:
        for line in args.questions.read_text(encoding="utf-8").splitlines():
            if line.strip() and (row := json.loads(line)).get("sources"):
                qs.append((row["question"], row["sources"][0]))
    with tempfile.TemporaryDirectory(prefix="citewise-peer-") as tmp:
        res = run_peer(args.model, args.feed, qs, Path(tmp))
    sys.stdout.write(json.dumps(res.__dict__) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
