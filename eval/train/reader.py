"""Train the reader (rag/answer/reader.py): a cross-encoder over (question, candidate sentence).

    python -m eval.train.reader --squad ../shared/datasets/squad-v1.1-dev/dev-v1.1.json \\
        --reserved ../shared/datasets/squad-v1.1-dev/reserved-titles.txt \\
        --squad2 ../shared/datasets/squad-v2.0-train-subset/train-v2.0-subset.json \\
        --out rag/answer/reader --max-pairs 24000 --epochs 1 --seed 0

Starts from the bundled all-MiniLM-L6-v2 weights (a fresh one-logit head on top), so nothing is
downloaded. Data, all from the tune parts only (eval/splits.py; the reserved SQuAD articles and
the measure parts are never read for training):

* SQuAD v1.1 dev, the tune articles: the sentence holding the answer is a positive; up to three
  other sentences of its paragraph and the closest sentence of another paragraph of the same
  article (most shared words) are negatives;
* the same questions' near-miss variants (eval/nearmiss.py: another name, number or date, a
  flipped time qualifier) paired with the gold sentence: negatives - the sentence fits the
  question's shape but not its subject;
* SQuAD 2.0 train subset, the tune articles: answerable questions as above, and for each
  unanswerable one the two sentences of its paragraph that share most words with it;
* TAT-QA dev (``--tatqa-store S``: a store holding the excerpts as ``python -m eval.external
  tatqa --format md`` writes them), the span and multi-span questions of its **tune** excerpts
  only (eval/tatqa.py's split, recomputed here, so a measure excerpt is never read): each
  question asked over its own excerpt, the answer units (sentences and table rows, with the
  context the answerer gives them) that hold a gold span are positives; the four best-scored
  other units (the answerer's own confusions) and one more at random are negatives; the tune
  questions' near-miss variants paired with a positive are negatives. This is the reader's only
  report text: "we", definitions, reasons and rows;
* RealTime QA (``--realtimeqa REPO``, past/2023-2026 only, never the weeks of the measure files
  named by ``--realtimeqa-exclude``): news-quiz questions over their own search results. The
  sentence that names the correct choice (and no wrong one) and shares most words with the
  question is a positive (``--news-positives N``: the N best); the sentence that best matches
  the question while naming a wrong choice (the quiz's own distractors) and the best-matching
  sentence naming neither (``--news-negatives N``: the N best, the sentences that repeat the
  question without answering it) are negatives. This is the reader's only news: quiz questions
  with a preamble, paraphrase, and headlines.

WikiQA (research licence) and RealTime QA are not used for the weights. Runs on CPU (2 cores:
about 25 pairs/s) or on a GPU when one is there. Writes ``model.onnx`` (int8, dynamic,
per-channel), ``tokenizer.json`` and ``reader.json`` (sha256, data, seed, figures) to ``--out``.
``--dump-pairs`` and ``--trained`` split the run for a machine that has only torch and
transformers (eval/train/reader_fit.py, scripts/gpu_reader.sh).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from eval.external import SHARED
from eval.metrics import mentions
from eval.nearmiss import make_near_misses
from eval.records import EvalSample
from eval.splits import SQUAD2_MEASURE_ARTICLES, hard_titles, read_reserved, split_titles
from eval.train.reader_fit import MAX_LENGTH, fit, info_path, load_shards, write_pairs
from rag.answer.reader import CONTEXT_CHARS, MANIFEST, Reader, pair_text
from rag.language.text import quote_spans
from rag.language.textrules import content_terms

log = logging.getLogger(__name__)

NEAR_MISS_KINDS = ("entity", "number", "date", "time_qualifier")


@dataclass(frozen=True)
class Pair:
    question: str
    text: str  # pair_text(...)
    label: int
    kind: str  # positive | same_paragraph | other_paragraph | near_miss | unanswerable


@dataclass(frozen=True)
class Sentence:
    text: str
    before: str
    title: str
    terms: frozenset[str]

    @property
    def pair(self) -> str:
        return pair_text(self.text, self.before, self.title)


def sentences_of(context: str, title: str) -> list[tuple[int, int, Sentence]]:
    """The paragraph's candidate sentences as the answerer cuts them, with their context."""
    out = []
    prev = ""
    for s, e in quote_spans(context):
        text = context[s:e]
        out.append((s, e, Sentence(text, prev[-CONTEXT_CHARS:], title,
                                   frozenset(content_terms(text)))))
        prev = text
    return out


def _overlap(question_terms: set[str], sentence: Sentence) -> int:
    return len(question_terms & sentence.terms)


def squad_pairs(data: dict[str, Any], titles: set[str], rng: random.Random,
                negatives: int = 3) -> tuple[list[Pair], dict[str, Sentence], list[EvalSample],
                                             dict[str, str]]:
    """Pairs from SQuAD-format articles whose title is in ``titles``; also the gold sentence
    per question id, the answerable samples and the corpus (for near-miss variants)."""
    pairs: list[Pair] = []
    gold: dict[str, Sentence] = {}
    samples: list[EvalSample] = []
    corpus: dict[str, str] = {}
    for article in data["data"]:
        title = str(article["title"])
        if title not in titles:
            continue
        shown = title.replace("_", " ")
        paragraphs = [sentences_of(p["context"], shown) for p in article["paragraphs"]]
        for p_i, para in enumerate(article["paragraphs"]):
            source = f"{title}#{p_i}"
            corpus[source] = para["context"]
            sents = paragraphs[p_i]
            if not sents:
                continue
            for qa in para["qas"]:
                question = str(qa["question"]).strip()
                qterms = set(content_terms(question))
                if qa.get("is_impossible"):
                    ranked = sorted(sents, key=lambda x: -_overlap(qterms, x[2]))[:2]
                    pairs += [Pair(question, s.pair, 0, "unanswerable") for _, _, s in ranked]
                    continue
                answer = qa["answers"][0]
                a_start = int(answer["answer_start"])
                a_end = a_start + len(answer["text"])
                idx = next((i for i, (s, e, _) in enumerate(sents) if s <= a_start < e), None)
                if idx is None or a_end > sents[idx][1]:
                    continue  # the answer crosses sentences: no single positive
                pos = sents[idx][2]
                pairs.append(Pair(question, pos.pair, 1, "positive"))
                gold[str(qa["id"])] = pos
                others = [s for i, (_, _, s) in enumerate(sents) if i != idx]
                for s in rng.sample(others, min(negatives, len(others))):
                    pairs.append(Pair(question, s.pair, 0, "same_paragraph"))
                elsewhere = [s for j, para_s in enumerate(paragraphs) if j != p_i
                             for _, _, s in para_s]
                if elsewhere:
                    best = max(elsewhere, key=lambda s: _overlap(qterms, s))
                    pairs.append(Pair(question, best.pair, 0, "other_paragraph"))
                samples.append(EvalSample(id=str(qa["id"]), question=question,
                                          references=[str(answer["text"])], sources=[source]))
    return pairs, gold, samples, corpus


def near_miss_pairs(samples: list[EvalSample], corpus: dict[str, str],
                    gold: dict[str, Sentence], seed: int) -> list[Pair]:
    """Each near-miss variant with its original's gold sentence: a negative."""
    variants = make_near_misses(samples, corpus, seed=seed, kinds=NEAR_MISS_KINDS)
    return [Pair(v.question, gold[v.near_miss["original_id"]].pair, 0, "near_miss")
            for v in variants if v.near_miss.get("original_id") in gold]


WEEK_NOTE = re.compile(r"\bweek (\d{4})-(\d{2})-(\d{2})\b")


def excluded_weeks(files: Sequence[Path]) -> set[str]:
    """Weeks (YYYYMMDD) of the questions in built RealTime QA measure files (their notes say
    "week YYYY-MM-DD"): never read for training."""
    weeks: set[str] = set()
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                m = WEEK_NOTE.search(str(json.loads(line).get("notes", "")))
                if m:
                    weeks.add("".join(m.groups()))
    return weeks


def news_question_pairs(question: str, correct: str, distractors: Sequence[str],
                        sentences: Sequence[Sentence], positives: int = 1,
                        negatives: int = 1) -> list[Pair]:
    """Up to ``positives`` sentences naming the right choice, the best one naming a wrong
    choice and up to ``negatives`` of the best naming neither, for one quiz question (see the
    module doc); none when no sentence names the correct choice and shares a word with the
    question."""
    qterms = set(content_terms(question))
    scored = sorted(sentences, key=lambda s: -_overlap(qterms, s))
    # (sentence, names the right choice, names a wrong one), as the RealTime QA set counts it
    named = [(s, mentions(s.text, correct), any(mentions(s.text, d) for d in distractors))
             for s in scored]
    # the metric never credits a sentence that also names a wrong choice
    right = [s for s, ok, bad in named if ok and not bad and _overlap(qterms, s) > 0]
    if not right:
        return []
    pairs = [Pair(question, s.pair, 1, "positive") for s in _distinct(right)[:positives]]
    wrong = next((s for s, ok, bad in named if not ok and bad), None)
    if wrong is not None:
        pairs.append(Pair(question, wrong.pair, 0, "distractor"))
    other = [s for s, ok, bad in named if not ok and not bad]
    pairs += [Pair(question, s.pair, 0, "same_results") for s in _distinct(other)[:negatives]]
    return pairs


def _distinct(sentences: Sequence[Sentence]) -> list[Sentence]:
    """Each sentence text once (a wire story is in several results)."""
    seen: set[str] = set()
    out = []
    for s in sentences:
        if s.text not in seen:
            seen.add(s.text)
            out.append(s)
    return out


def realtimeqa_pairs(repo: Path, exclude: set[str], progress: bool = True,
                     positives: int = 1, negatives: int = 1) -> tuple[list[Pair], dict[str, Any]]:
    """Pairs from every allowed RealTime QA week not in ``exclude``."""
    from tqdm import tqdm

    from eval.external import RepoReader, list_weeks, read_questions, read_results
    from ingest.clean import clean_article

    reader = RepoReader(repo)
    weeks = [w for w in list_weeks(reader) if w not in exclude]
    pairs: list[Pair] = []
    questions = 0
    for week in tqdm(weeks, desc="realtimeqa weeks", unit="week", file=sys.stderr,
                     disable=not progress or None):
        results = read_results(reader, week, None)
        cache: dict[str, list[Sentence]] = {}
        for q in read_questions(reader, week):
            sentences: list[Sentence] = []
            for item in results.get(q.id, []):
                url = str(item.get("url", "") or "")
                if url not in cache:
                    title = " ".join(str(item.get("title", "") or "").split())
                    clean = clean_article(str(item.get("text", "") or ""))[1]
                    cache[url] = [s for _, _, s in sentences_of(clean, title)]
                sentences += cache[url]
            got = news_question_pairs(q.question, q.correct, q.distractors, sentences,
                                      positives, negatives)
            questions += bool(got)
            pairs += got
    return pairs, {"realtimeqa_weeks": len(weeks), "realtimeqa_excluded_weeks": len(exclude),
                   "realtimeqa_questions": questions}


def _gold_spans(answers: Sequence[str]) -> list[str]:
    """Gold spans worth matching: a bare year or a span of one character says nothing about
    which unit holds the answer."""
    from rag.language.text import normalize
    from rag.language.textrules import is_year

    out = [normalize(a) for a in answers]
    return [a for a in out if len(a) > 1 and not is_year(a)]


def tatqa_pairs(tatqa_json: Path, store: Path, seed: int, max_positives: int = 3,
                hard: int = 4, progress: bool = True) -> tuple[list[Pair], dict[str, Any]]:
    """Pairs from the tune excerpts of TAT-QA dev, read through the answerer's own units."""
    from tqdm import tqdm

    from citewise import Citewise
    from eval.tatqa import build_parts, read_tatqa
    from rag.answer.extractive import ExtractiveGenerator
    from rag.config import Settings
    from rag.language.text import normalize
    from rag.records import Filters

    rng = random.Random(seed)
    parts, _, _ = build_parts(read_tatqa(tatqa_json), "md", seed)
    app = Citewise(Settings(store=str(store)))
    stored = set(app.index.records())
    gen = app.generator
    if not isinstance(gen, ExtractiveGenerator):
        raise SystemExit("error: TAT-QA pairs are read through the extractive answerer's units; "
                         "unset CITEWISE_GENERATOR")
    pairs: list[Pair] = []
    gold: dict[str, str] = {}
    samples: list[EvalSample] = []
    used = 0
    for row in tqdm(parts["tune"], desc="tatqa tune", unit="q", file=sys.stderr,
                    disable=not progress or None):
        source = row["sources"][0]
        if source not in stored:
            raise SystemExit(f"error: {source} is not in {store}: ingest the excerpts first "
                             "(python -m eval.external tatqa --format md --out D; citewise "
                             f"ingest D/corpus --store {store})")
        spans = _gold_spans(row["answers"])
        if not spans:
            continue
        question = row["question"]
        hits = app.retrieve(question, None, Filters(sources=[source]), None)
        units = gen.candidates(question, hits)
        positive = [c for c in units if any(a in normalize(c.text) for a in spans)]
        if not positive or len(positive) > max_positives:
            continue  # no unit holds the answer, or too many do to say which
        text = {id(c): pair_text(c.text, c.before, c.hit.title) for c in units}
        pairs += [Pair(question, text[id(c)], 1, "tatqa_positive") for c in positive]
        others = [c for c in units if c not in positive]
        chosen = others[:hard]
        rest = others[hard:]
        if rest:
            chosen.append(rng.choice(rest))
        pairs += [Pair(question, text[id(c)], 0, "tatqa_other_unit") for c in chosen]
        gold[row["id"]] = text[id(positive[0])]
        samples.append(EvalSample(id=row["id"], question=question,
                                  references=list(row["answers"]), sources=[source]))
        used += 1
    corpus = {name: app.index.document(name).text for name in {s.sources[0] for s in samples}}
    variants = make_near_misses(samples, corpus, seed=seed, kinds=NEAR_MISS_KINDS)
    pairs += [Pair(v.question, gold[v.near_miss["original_id"]], 0, "tatqa_near_miss")
              for v in variants if v.near_miss.get("original_id") in gold]
    return pairs, {"tatqa_tune_excerpts": len({s.sources[0] for s in samples}),
                   "tatqa_tune_questions": used}


def build_pairs(squad: Path, reserved: Path, squad2: Path | None, seed: int,
                max_pairs: int | None, news: list[Pair] | None = None
                ) -> tuple[list[Pair], dict[str, Any]]:
    """SQuAD pairs (at most ``max_pairs``), then every ``news`` pair, shuffled together."""
    rng = random.Random(seed)
    data = json.loads(squad.read_text(encoding="utf-8"))
    tune, _ = split_titles([a["title"] for a in data["data"]], read_reserved(reserved), seed)
    pairs, gold, samples, corpus = squad_pairs(data, set(tune), rng)
    pairs += near_miss_pairs(samples, corpus, gold, seed)
    info: dict[str, Any] = {"squad_v1_tune_articles": len(tune)}
    if squad2 is not None:
        data2 = json.loads(squad2.read_text(encoding="utf-8"))
        tune2, _ = split_titles([a["title"] for a in data2["data"]], set(), seed,
                                SQUAD2_MEASURE_ARTICLES, hard_titles(data2))
        p2, gold2, samples2, corpus2 = squad_pairs(data2, set(tune2), rng)
        pairs += p2 + near_miss_pairs(samples2, corpus2, gold2, seed)
        info["squad_v2_tune_articles"] = len(tune2)
    rng.shuffle(pairs)
    if max_pairs is not None and len(pairs) > max_pairs:
        pairs = pairs[:max_pairs]
    if news:
        pairs += news
        rng.shuffle(pairs)
    kinds: dict[str, int] = {}
    for p in pairs:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    info.update(pairs=len(pairs), kinds=kinds)
    return pairs, info


# ---------------------------------------------------------------- training


def train(pairs: Sequence[Pair], out: Path, epochs: int, batch_size: int, lr: float, seed: int,
          threads: int | None) -> dict[str, Any]:
    """Fine-tune (eval/train/reader_fit.py), export to ONNX and quantize to int8; returns
    training figures."""
    from rag.bundled import bundled_model_path

    rows = [(p.question, p.text, p.label) for p in pairs]
    model, tok, info = fit(rows, bundled_model_path(), epochs, batch_size, lr, seed, threads)
    export(model, tok, out)
    info.pop("pairs", None)
    return info


def export(model: Any, tok: Any, out: Path) -> None:
    """ONNX (fp32) through torch's exporter, then dynamic int8 per channel; the fp32 file is not
    kept."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.mkdir(parents=True, exist_ok=True)
    enc = tok(["a question"], ["a sentence [SEP] a title"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "reader-fp32.onnx"
        torch.onnx.export(model, tuple(enc[n] for n in names), str(fp32), input_names=names,
                          output_names=["logits"], opset_version=17, dynamo=False,
                          dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names},
                                        "logits": {0: "batch"}})
        quantize_dynamic(str(fp32), str(out / "model.onnx"), per_channel=True,
                         weight_type=QuantType.QInt8)
    tok.backend_tokenizer.save(str(out / "tokenizer.json"))


def write_manifest(out: Path, info: dict[str, Any]) -> None:
    from rag.bundled import sha256_file

    manifest = {"model": "model.onnx", "tokenizer": "tokenizer.json",
                "sha256": sha256_file(out / "model.onnx"), "max_length": MAX_LENGTH,
                "version": date.today().isoformat(), **info}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- measuring


def choice_figures(reader: Reader, data: dict[str, Any], titles: Iterable[str],
                   embed: Any = None, limit: int = 600, seed: int = 0) -> dict[str, float]:
    """Given the gold paragraph, how often each scorer ranks the answer's sentence first:
    the reader, bi-encoder cosine (when ``embed`` is given) and shared content words."""
    rng = random.Random(seed)
    wanted = set(titles)
    items = []
    for article in data["data"]:
        if article["title"] not in wanted:
            continue
        for para in article["paragraphs"]:
            sents = sentences_of(para["context"], article["title"].replace("_", " "))
            if len(sents) < 2:
                continue
            for qa in para["qas"]:
                if qa.get("is_impossible") or not qa["answers"]:
                    continue
                a = int(qa["answers"][0]["answer_start"])
                idx = next((i for i, (s, e, _) in enumerate(sents) if s <= a < e), None)
                if idx is not None:
                    items.append((str(qa["question"]).strip(), sents, idx))
    rng.shuffle(items)
    items = items[:limit]
    hits = {"reader": 0, "cosine": 0, "overlap": 0}
    for question, sents, idx in items:
        scores = reader.score(question, [s.pair for _, _, s in sents])
        hits["reader"] += int(int(np.argmax(scores)) == idx)
        qterms = set(content_terms(question))
        hits["overlap"] += int(int(np.argmax([_overlap(qterms, s) for _, _, s in sents])) == idx)
        if embed is not None:
            q = np.asarray(embed.embed_query(question))
            m = np.asarray(embed.embed_documents([s.text for _, _, s in sents]))
            hits["cosine"] += int(int(np.argmax(m @ q)) == idx)
    n = max(len(items), 1)
    figures = {f"choice_{k}": round(v / n, 3) for k, v in hits.items()
               if k != "cosine" or embed is not None}
    figures["choice_questions"] = len(items)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="python -m eval.train.reader", description=__doc__)
    p.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1 dev JSON")
    p.add_argument("--reserved", type=Path, required=True, help="reserved-titles.txt")
    p.add_argument("--squad2", type=Path, default=None, help="SQuAD 2.0 train subset JSON")
    p.add_argument("--realtimeqa", type=Path, default=None,
                   help="a copy of github realtimeqa/realtimeqa_public: add its news-quiz pairs")
    p.add_argument("--realtimeqa-exclude", type=Path, nargs="*", default=[],
                   help="built RealTime QA measure files whose weeks are never read")
    p.add_argument("--news-positives", type=int, default=1,
                   help="sentences naming a quiz question's right choice, as positives")
    p.add_argument("--news-negatives", type=int, default=1,
                   help="best-matching sentences naming no choice, as negatives")
    p.add_argument("--tatqa", type=Path, default=SHARED / "tatqa" / "tatqa_dataset_dev.json",
                   help="TAT-QA dev JSON")
    p.add_argument("--tatqa-store", type=Path, default=None,
                   help="a store holding the TAT-QA excerpts (md): add the tune excerpts' pairs")
    p.add_argument("--tatqa-repeat", type=int, default=2,
                   help="times each TAT-QA pair is trained on (they are few beside SQuAD's)")
    p.add_argument("--out", type=Path, default=Path("rag/answer/reader"))
    p.add_argument("--max-pairs", type=int, default=24000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--measure-limit", type=int, default=600,
                   help="measure-part questions for the sentence-choice figures")
    p.add_argument("--dump-pairs", type=Path, default=None,
                   help="write the training pairs here (JSONL, .gz to compress) and stop: "
                        "`python -m eval.train.reader_fit fit` trains from them elsewhere")
    p.add_argument("--trained", type=Path, default=None,
                   help="a folder `python -m eval.train.reader_fit fit` wrote: export, measure "
                        "and write that model instead of training here")
    args = p.parse_args(argv)
    for path in (args.squad, args.reserved, args.squad2, *args.realtimeqa_exclude):
        if path is not None and not path.is_file():
            sys.stderr.write(f"error: {path}: no such file (see ../shared/datasets/README.md)\n")
            return 2
    if args.trained is not None:
        return _write(args, _trained_info(args.trained), None)
    news: list[Pair] = []
    news_info: dict[str, Any] = {}
    if args.realtimeqa is not None:
        if args.realtimeqa_exclude:
            exclude = excluded_weeks(args.realtimeqa_exclude)
        else:
            sys.stderr.write("error: --realtimeqa needs --realtimeqa-exclude MEASURE.jsonl "
                             "(the measure weeks must never be trained on)\n")
            return 2
        news, news_info = realtimeqa_pairs(args.realtimeqa, exclude,
                                           positives=args.news_positives,
                                           negatives=args.news_negatives)
    if args.tatqa_store is not None:
        if not args.tatqa.is_file():
            sys.stderr.write(f"error: {args.tatqa}: no such file (see "
                             "../shared/datasets/README.md)\n")
            return 2
        report, report_info = tatqa_pairs(args.tatqa, args.tatqa_store, args.seed)
        news += report * max(1, args.tatqa_repeat)
        report_info["tatqa_repeat"] = max(1, args.tatqa_repeat)
        news_info.update(report_info)
    pairs, info = build_pairs(args.squad, args.reserved, args.squad2, args.seed, args.max_pairs,
                              news)
    info.update(news_info)
    log.info("training pairs: %s", info)
    if args.dump_pairs is not None:
        write_pairs([(p.question, p.text, p.label, p.kind) for p in pairs], args.dump_pairs)
        info_path(args.dump_pairs).write_text(json.dumps(info, indent=2) + "\n",
                                              encoding="utf-8")
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return 0
    return _write(args, info, pairs)


def _trained_info(folder: Path) -> dict[str, Any]:
    """The data and training figures of a model `reader_fit fit` trained elsewhere."""
    path = folder / "pairs.info.json"
    info: dict[str, Any] = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    info["trained_elsewhere"] = True
    return info


def _write(args: argparse.Namespace, info: dict[str, Any], pairs: list[Pair] | None) -> int:
    """Train here (``pairs``) or take ``args.trained``, export, measure, write ``args.out``."""
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "reader"
        if pairs is None:
            from rag.bundled import bundled_model_path

            model, tok = load_shards(args.trained, bundled_model_path())
            export(model, tok, staging)
            info["training"] = json.loads((args.trained / "training.json").read_text("utf-8"))
        else:
            info["training"] = train(pairs, staging, args.epochs, args.batch_size, args.lr,
                                     args.seed, args.threads)
        write_manifest(staging, info)
        reader = Reader(staging)
        data = json.loads(args.squad.read_text(encoding="utf-8"))
        _, measure = split_titles([a["title"] for a in data["data"]],
                                  read_reserved(args.reserved), args.seed)
        from rag.storage.embeddings import SentenceTransformerEmbedder

        info["measure_squad_v1"] = choice_figures(reader, data, measure,
                                                  SentenceTransformerEmbedder(),
                                                  args.measure_limit, args.seed)
        if args.squad2 is not None:
            data2 = json.loads(args.squad2.read_text(encoding="utf-8"))
            _, measure2 = split_titles([a["title"] for a in data2["data"]], set(), args.seed,
                                       SQUAD2_MEASURE_ARTICLES, hard_titles(data2))
            info["measure_squad_v2"] = choice_figures(reader, data2, measure2, None,
                                                      args.measure_limit, args.seed)
        write_manifest(staging, info)
        args.out.mkdir(parents=True, exist_ok=True)
        for name in ("model.onnx", "tokenizer.json", MANIFEST):
            shutil.copyfile(staging / name, args.out / name)
    sys.stdout.write(json.dumps(info, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
