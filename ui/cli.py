"""The `citewise` command line: ingest, docs, remove, ask, serve, eval.

This is the edge where CitewiseErrors become messages on stderr and exit codes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import Settings
from rag.errors import CitewiseError, InputError, NotFoundError
from rag.records import Answer, IngestReport
from ui.flags import add_settings_flags, settings_from

if TYPE_CHECKING:
    from citewise.protocols import CitewiseApp
    from rag.records import Filters

log = logging.getLogger("citewise")
OWN_PACKAGES = frozenset({"citewise", "rag", "ingest", "ui", "eval"})


def _own_warnings(record: logging.LogRecord) -> bool:
    """Without -v, stderr shows citewise's own warnings and anyone's errors; a library's
    warnings (pypdf's "EOF marker not found" about a file the summary already reports) go to
    the log at -v only."""
    return record.name.split(".")[0] in OWN_PACKAGES or record.levelno >= logging.ERROR


def _common(parser: argparse.ArgumentParser) -> None:
    # a flag per setting the command reads (ui/flags.py); "citewise feedback list" -> feedback
    add_settings_flags(parser, parser.prog.split()[1])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The CLI's parser. The eval and bench options import eval/ (about 0.2 s), so they are
    added only when ``argv`` names that command (or is not given: help, tests)."""
    command = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    parser = argparse.ArgumentParser(
        prog="citewise", description="Ask questions of your documents; every answer quotes "
        "its sources exactly, or says the documents don't answer. `citewise COMMAND --help` "
        "shows a command's flags; `citewise settings` lists every setting.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="ingest files, folders and news feeds into the store")
    p.add_argument("paths", nargs="*", type=Path)
    p.add_argument("--feed", action="append", default=[], metavar="URL",
                   help="follow an RSS, Atom or sitemap.xml feed and ingest its items' pages "
                   "now (repeatable; `citewise watch` keeps them fresh)")
    p.add_argument("--prune", action="store_true",
                   help="remove stored documents whose files under PATHS are gone, or whose "
                   "items left their --feed")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS", help="run on a Ray cluster "
                   "(default: RAY_ADDRESS or a local one) into a Chroma server; citewise[ray]")
    _common(p)

    p = sub.add_parser("watch", help="poll the followed feeds every interval and ingest "
                       "what is new (one process per store refreshes at a time)")
    p.add_argument("--every", default="30m", metavar="INTERVAL",
                   help="how often: 30m, 2h, 90s, 1d (default 30m)")
    p.add_argument("--feed", action="append", default=[], metavar="URL",
                   help="follow this feed too (repeatable)")
    p.add_argument("--prune", action="store_true",
                   help="remove stored documents whose items left their feed")
    p.add_argument("--once", action="store_true", help="poll once and exit (for cron)")
    _common(p)

    p = sub.add_parser("feeds", help="list the followed feeds and how their polls went")
    p.add_argument("--json", action="store_true")
    p.add_argument("--remove", metavar="URL", action="append", default=[],
                   help="stop following a feed (its documents stay)")
    _common(p)

    p = sub.add_parser("docs", help="list stored documents")
    p.add_argument("--json", action="store_true")
    _common(p)

    p = sub.add_parser("remove", help="delete documents by source id")
    p.add_argument("sources", nargs="+")
    _common(p)

    p = sub.add_parser("ask", help="answer a question from the stored documents")
    p.add_argument("question", nargs="?",
                   help="the question, in quotes (or --file for many)")
    p.add_argument("--json", action="store_true", help="print one JSON object per question")
    p.add_argument("--file", type=Path,
                   help="JSONL of {id, question[, history, as_of]}; implies --json")
    p.add_argument("--source", action="append", dest="sources", help="restrict to a source id")
    p.add_argument("--date-from", help="only documents published on/after (YYYY-MM-DD)")
    p.add_argument("--date-to", help="only documents published on/before (YYYY-MM-DD)")
    p.add_argument("--as-of", help="answer as of this day (YYYY-MM-DD; default today): nothing "
                   "published later is cited, and 'this week' or 'recently' mean before it")
    _common(p)

    p = sub.add_parser("serve", help="serve the chat, Slack webhook and JSON API")
    p.add_argument("--ingest", type=Path, action="append", help="ingest PATH before serving")
    _common(p)

    p = sub.add_parser("feedback", help="ratings users gave answers: list, review, export as "
                       "eval cases")
    fsub = p.add_subparsers(dest="feedback_command", required=True)
    q = fsub.add_parser("list", help="list ratings, oldest first")
    q.add_argument("--rating", choices=["up", "down"], help="only this rating")
    q.add_argument("--pending", action="store_true", help="only 👎 not reviewed yet")
    q.add_argument("--json", action="store_true", help="one JSON object per rating")
    _common(q)
    q = fsub.add_parser("review", help="show a rating's answer and candidate sentences, or "
                        "say what was right")
    q.add_argument("id", type=int, help="the rating's number (`feedback list`)")
    verdict = q.add_mutually_exclusive_group()
    verdict.add_argument("--abstain", action="store_true",
                         help="the documents don't answer it: citewise should have abstained")
    verdict.add_argument("--pick", type=int, metavar="N",
                         help="the right sentence is candidate N of the passages retrieved then")
    verdict.add_argument("--quote", metavar="TEXT",
                         help="the right sentence is TEXT, exactly as in document --source")
    q.add_argument("--source", help="the document --quote is in (`citewise docs`)")
    q.add_argument("--reviewer", default="", help="who reviewed it (kept with the review)")
    _common(q)
    q = fsub.add_parser("export", help="write rated answers as cases of the eval harness")
    q.add_argument("file", type=Path, help="JSONL to write (`citewise eval FILE` runs it)")
    q.add_argument("--gate", type=Path, metavar="BASELINE",
                   help="also write a baseline every case must pass (`citewise eval FILE "
                        "--baseline BASELINE` exits 1 until they do)")
    _common(q)

    p = sub.add_parser("token", help="API tokens for a server with sign-in (CITEWISE_AUTH)")
    tsub = p.add_subparsers(dest="token_command", required=True)
    q = tsub.add_parser("create", help="create a token and print it (once)")
    q.add_argument("--role", required=True, choices=["reader", "editor", "admin"])
    q.add_argument("--name", required=True, help="who or what uses it, e.g. ci-bot")
    _common(q)
    q = tsub.add_parser("list", help="list tokens (never their secrets)")
    _common(q)
    q = tsub.add_parser("revoke", help="revoke a token by id or name")
    q.add_argument("token", help="the token's id or name (`token list`)")
    _common(q)

    p = sub.add_parser("user", help="accounts for the browser sign-in")
    usub = p.add_subparsers(dest="user_command", required=True)
    q = usub.add_parser("add", help="add an account (asks for its password)")
    q.add_argument("name")
    q.add_argument("--role", required=True, choices=["reader", "editor", "admin"])
    q.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input instead of asking")
    _common(q)
    q = usub.add_parser("list", help="list accounts")
    _common(q)
    q = usub.add_parser("remove", help="remove an account (its sessions end)")
    q.add_argument("name")
    _common(q)

    p = sub.add_parser("audit", help="who uploaded, replaced or deleted what, and token and "
                       "account changes")
    p.add_argument("--since", help="only entries on or after this day (YYYY-MM-DD)")
    p.add_argument("--json", action="store_true", help="one JSON object per entry")
    _common(p)

    p = sub.add_parser("settings", help="list every setting: its variable, flag, default and "
                       "the value this environment gives it")
    p.add_argument("--json", action="store_true", help="one JSON object per setting")
    _common(p)

    p = sub.add_parser("eval", help="score a question set; exit 1 on a regression")
    if command in (None, "eval"):
        from eval.harness import add_arguments

        add_arguments(p)
    _common(p)

    p = sub.add_parser("bench", help="measure ingest and ask speed; writes BENCHMARKS.md rows")
    if command in (None, "bench"):
        from eval.bench.run import add_arguments as bench_arguments

        bench_arguments(p)
    _common(p)
    return parser


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def format_answer(ans: Answer) -> str:
    from ui.render import same_words

    lines = [ans.answer, ""]
    if ans.citations:
        lines.append("Sources:")
        for c in ans.citations:
            where = c.title or c.source
            where += f" › {c.section}" if c.section and not same_words(c.section, where) else ""
            lines.append(f"  [{c.n}] {where} ({c.source}, chars {c.start}-{c.end})")
            if c.table:  # what the quoted row's cells mean
                lines.append(f"      table: {c.table}")
            lines.append(f"      \"{c.quote}\"")
    elif ans.related:
        lines.append("Related passages:")
        for h in ans.related:
            title = h.title or h.chunk.source
            text = " ".join(h.chunk.text.split())
            if text.startswith(title):  # a first passage opens with its headline: say it once
                text = text[len(title):].lstrip(" :.-—")
            lines.append(f"  - {title}: {text[:160]}…")
    if ans.note:
        lines += ["", f"Note: {ans.note}"]
    return "\n".join(lines)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from citewise import Citewise

    if not args.paths and not args.feed:
        raise InputError("Name files or folders to ingest, or a feed with --feed URL.")
    if args.feed and args.ray is not None:
        raise InputError("--ray ingests files; ingest feeds without it.")
    if args.ray is not None:
        from ingest.ray_pipeline import preflight

        settings = settings.updated(ray_embed_actors=args.ray_embed_actors,
                                    ray_batch_size=args.ray_batch_size)
        preflight(settings)
    cw = Citewise.from_settings(settings)
    bar = tqdm(desc="ingesting", unit="doc", file=sys.stderr, disable=None)

    def progress(docs: int, chunks: int) -> None:
        bar.n = docs
        bar.set_postfix(chunks_embedded=chunks, refresh=False)
        bar.refresh()

    run = None
    if args.ray is not None:
        from ingest.ray_pipeline import ray_ingest

        report = ray_ingest(cw.index, settings, args.paths, address=args.ray or None,
                            prune=args.prune, progress=progress)
    else:
        writer = _audited(cw, settings)
        report = IngestReport()
        if args.paths:
            report = writer.ingest(args.paths, prune=args.prune, progress=progress)
        if args.feed:
            run = writer.ingest_feeds(args.feed, prune=args.prune, progress=progress)
            report = _merged(report, run.report) if args.paths else run.report
    bar.close()
    if args.json:
        _out(json.dumps(run.to_dict() if run and not args.paths else report.to_dict(),
                        ensure_ascii=False))
    else:
        _print_report(report, run.requests if run else None)
    return 0 if report.ok else 1


def _merged(a: IngestReport, b: IngestReport) -> IngestReport:
    return IngestReport(a.added + b.added, a.updated + b.updated, a.unchanged + b.unchanged,
                        a.removed + b.removed, a.failed + b.failed,
                        a.chunks_embedded + b.chunks_embedded,
                        a.tokens_embedded + b.tokens_embedded, a.seconds + b.seconds)


def _print_report(report: IngestReport, requests: int | None = None) -> None:
    fetched = f", {requests} request{'' if requests == 1 else 's'}" if requests is not None else ""
    _out(f"added {len(report.added)}, updated {len(report.updated)}, unchanged "
         f"{len(report.unchanged)}, removed {len(report.removed)}, failed {len(report.failed)}"
         f" — {report.chunks_embedded} chunk{'' if report.chunks_embedded == 1 else 's'}"
         f" embedded in {report.seconds:.1f}s{fetched}")
    for where, reason in report.failed:
        _out(f"  FAILED {where}: {reason}")


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """Poll the followed feeds until interrupted (or once); a failing feed is logged and
    retried with backoff, and does not stop the others."""
    from citewise import Citewise
    from citewise.feeds import Refresher, parse_every

    every = parse_every(args.every)
    cw = Citewise.from_settings(settings)
    writer = _audited(cw, settings)
    if args.feed:
        _print_report(writer.ingest_feeds(args.feed, prune=args.prune).report)
        if args.once:
            return 0
    if not cw.feeds():
        raise InputError("No feed is followed yet; add one with --feed URL (or `citewise "
                         "ingest --feed URL`).")
    refresher = Refresher(writer, every, prune=args.prune)
    if args.once:
        run = refresher.run_once()
        if run is None:
            _err("another process is refreshing this store's feeds; nothing polled.")
            return 1
        _print_report(run.report, run.requests)
        return 0 if run.report.ok else 1
    _err(f"watching {len(cw.feeds())} feed(s) every {args.every}; Ctrl-C stops")
    refresher.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        refresher.stop()


def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    from citewise import Citewise

    cw = Citewise.from_settings(settings)
    for url in args.remove:
        cw.unfollow_feed(url)
        _out(f"stopped following {url} (its documents stay; `citewise remove` deletes them)")
    if args.remove:
        return 0
    feeds = cw.feeds()
    if args.json:
        _out(json.dumps([f.to_dict() for f in feeds], ensure_ascii=False))
        return 0
    if not feeds:
        _out("No feed is followed; add one with: citewise ingest --feed URL")
        return 0
    _out("URL\tITEMS\tLAST OK\tFAILURES\tLAST ERROR")
    for f in feeds:
        d = f.to_dict()
        _out(f"{f.url}\t{f.items}\t{d['ok_at'] or '-'}\t{f.failures}\t{f.last_error or '-'}")
    return 0


def _store_missing(settings: Settings) -> str:
    """Why reading this store is pointless ("" when it exists): reads never create a store."""
    if settings.chroma_url or (Path(settings.store) / "chroma").is_dir():
        return ""
    return (f"No store at {settings.store}: nothing has been ingested there yet. Ingest "
            f"documents first: citewise ingest PATH --store {settings.store}")


def _how_to_ingest(settings: Settings) -> str:
    return (f"No documents stored yet in {settings.chroma_url or settings.store}. Add some "
            f"with: citewise ingest PATH --store {settings.store}")


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    from citewise import Citewise
    from rag.errors import NotFoundError
    from ui.render import display_title

    missing = _store_missing(settings)
    if missing:
        raise NotFoundError(missing)  # as `ask` does: exit 2, how to ingest on stderr
    docs = Citewise.from_settings(settings).documents()
    if args.json:
        _out(json.dumps([d.to_dict() for d in docs], ensure_ascii=False))
        return 0
    if not docs:
        _out(_how_to_ingest(settings))
        return 0
    _out("SOURCE\tTITLE\tCHUNKS\tPUBLISHED")
    for d in docs:
        _out(f"{d.source}\t{display_title(d.title, d.source)}\t{d.chunks}\t"
             f"{(d.published or '')[:10] or '-'}")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from citewise import Citewise

    cw = _audited(Citewise.from_settings(settings), settings)
    status = 0
    for source in args.sources:
        try:
            cw.delete(source)
            _out(f"removed {source}")
        except CitewiseError as exc:
            _err(str(exc))
            status = 1
    return status


def _questions(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, question object) per non-blank line, or (line number, what is wrong)."""
    from rag.errors import InputError

    try:
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot read the question file {path}: {exc.strerror or exc}. Give a "
                         "JSON Lines file with one {\"id\", \"question\"} object per line.") from None
    with fh:
        try:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield lineno, f"invalid JSON ({exc.msg}, column {exc.colno})"
                    continue
                if not isinstance(obj, dict) or not str(obj.get("question") or "").strip():
                    yield lineno, 'each line needs a "question"'
                    continue
                history = obj.get("history") or []
                if not isinstance(history, list) or not all(
                        isinstance(t, dict) and set(t) <= {"question", "answer"}
                        and isinstance(t.get("question"), str) for t in history):
                    yield lineno, ('"history" must be a list of {"question", "answer"} objects')
                    continue
                yield lineno, obj
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8.") from None


def _ask_file(cw: CitewiseApp, path: Path, k: int | None, filters: Filters | None,
              as_of: str | None = None) -> int:
    """Answer every good line (one JSON object each, in order); report bad lines by number on
    stderr and exit 2 at the end when there were any."""
    from rag.errors import InputError, StoreError
    from rag.records import Turn

    bad = answered = 0
    for lineno, item in _questions(path):
        if isinstance(item, str):
            _err(f"{path}:{lineno}: {item}; skipped")
            bad += 1
            continue
        history = [Turn(str(t["question"]), str(t.get("answer") or ""))
                   for t in item.get("history") or []]
        try:
            ans = cw.ask(str(item["question"]), history=history, k=k, filters=filters,
                         as_of=str(item.get("as_of") or "") or as_of)
        except StoreError:
            raise  # the store is down: no later line would fare better
        except CitewiseError as exc:
            _err(f"{path}:{lineno}: {exc}; skipped")
            bad += 1
            continue
        ans.id = item.get("id")
        _out(json.dumps(ans.to_dict(), ensure_ascii=False))
        sys.stdout.flush()
        answered += 1
    if bad:
        _err(f"{bad} line{'s' if bad > 1 else ''} of {path} could not be answered (see above); "
             f"{answered} answered.")
        return InputError.exit_code
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from citewise import Citewise
    from rag.errors import InputError, NotFoundError
    from rag.records import Filters
    from rag.retrieval.filters import parse_day

    if not args.question and not args.file:
        raise InputError("Give a question, or --file Q.jsonl.")
    if args.file and not args.file.is_file():
        raise InputError(f"No question file {args.file}. Give a JSON Lines file with one "
                         "{\"id\", \"question\"} object per line.")
    missing = _store_missing(settings)
    if missing:
        raise NotFoundError(missing)
    cw = Citewise.from_settings(settings)
    if not cw.documents():
        raise NotFoundError(_how_to_ingest(settings))
    filters, _note = cw.validate(args.k, Filters(args.sources, args.date_from, args.date_to))
    as_of = parse_day(args.as_of, "--as-of") if args.as_of else None
    if args.file:
        return _ask_file(cw, args.file, args.k, filters, as_of)
    ans = cw.ask(args.question, k=args.k, filters=filters, as_of=as_of)
    _out(json.dumps(ans.to_dict(), ensure_ascii=False) if args.json else format_answer(ans))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from ui.server import serve

    serve(settings, ingest=args.ingest)
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from eval.bench.run import run_from_args

    return run_from_args(args, settings)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from eval.harness import run_from_args

    return run_from_args(args, settings)


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from citewise.feedback import FeedbackLog, case_of, gate_baseline
    from ui.feedback import feedback_path, list_lines

    path = feedback_path(settings)
    if not path.exists():
        raise NotFoundError(f"No feedback log at {path}: nobody has rated an answer yet "
                            "(`citewise serve`: 👍/👎 in the chat, Slack or POST /api/feedback).")
    fb = FeedbackLog(path)
    if args.feedback_command == "list":
        items = fb.items(rating={"up": 1, "down": -1}.get(args.rating or ""),
                         unreviewed=args.pending)
        if args.pending:
            items = [i for i in items if i.rating < 0]
        if args.json:
            for it in items:
                _out(json.dumps({"id": it.id, "rating": "up" if it.rating > 0 else "down",
                                 "question": it.question, "comment": it.comment,
                                 "answer": it.answer.get("answer", ""),
                                 "review": it.review.verdict if it.review else None},
                                ensure_ascii=False))
        else:
            _out("\n".join(list_lines(items)) if items else "No ratings yet.")
        return 0
    if args.feedback_command == "review":
        return _review(args, settings, fb)
    items = fb.items()
    cases = [c for c in (case_of(i) for i in items) if c is not None]
    args.file.parent.mkdir(parents=True, exist_ok=True)
    args.file.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases),
                         encoding="utf-8")
    pending = sum(1 for i in items if i.rating < 0 and i.review is None)
    _out(f"Wrote {len(cases)} case(s) to {args.file}"
         + (f"; {pending} 👎 not reviewed yet (`citewise feedback list --pending`)"
            if pending else "") + ".")
    if args.gate and cases:
        args.gate.parent.mkdir(parents=True, exist_ok=True)
        args.gate.write_text(json.dumps(gate_baseline(cases), indent=2) + "\n", encoding="utf-8")
        _out(f"Wrote {args.gate}: `citewise eval {args.file} --baseline {args.gate}` fails "
             "until every case passes.")
    return 0


def _review(args: argparse.Namespace, settings: Settings, fb: Any) -> int:
    from ui.feedback import review_lines

    item = fb.get(args.id)
    if args.source and not args.quote:
        raise InputError("--source goes with --quote TEXT (the right sentence in that document).")
    if args.abstain:
        fb.review(item.id, "abstain", reviewer=args.reviewer)
        _out(f"Feedback #{item.id}: citewise should have abstained.")
        return 0
    if args.pick is not None:
        candidates = item.candidates()
        if not 1 <= args.pick <= len(candidates):
            raise InputError(f"--pick must be 1-{len(candidates)}; `citewise feedback review "
                             f"{item.id}` lists the candidates.")
        c = candidates[args.pick - 1]
        fb.review(item.id, "sentence", c.source, c.start, c.end, c.quote, args.reviewer)
        _out(f"Feedback #{item.id}: the right sentence is {c.source} {c.start}-{c.end}.")
        return 0
    if args.quote:
        if not args.source:
            raise InputError("--quote needs --source: the document the sentence is in.")
        from citewise import Citewise

        text = Citewise.from_settings(settings).document_text(args.source)
        start = text.find(args.quote)
        if start < 0:
            raise InputError(f"{args.source} has no text {args.quote!r}; copy the sentence "
                             "exactly as stored (GET /api/documents/SOURCE shows it).")
        fb.review(item.id, "sentence", args.source, start, start + len(args.quote), args.quote,
                  args.reviewer)
        _out(f"Feedback #{item.id}: the right sentence is {args.source} {start}-"
             f"{start + len(args.quote)}.")
        return 0
    _out("\n".join(review_lines(item)))
    return 0


def _access(settings: Settings) -> tuple[Any, Any]:
    """The sign-in store and the identity the CLI's changes are audited as."""
    import getpass

    from citewise.access import AccessStore, Identity
    from ui.auth import auth_path

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return AccessStore(auth_path(settings)), Identity(user, "admin", "cli", user)


def _audited(cw: Any, settings: Settings) -> Any:
    """``cw`` with its writes recorded in the audit log as this machine's user."""
    from ui.auth import Audited

    store, me = _access(settings)
    return Audited(cw, store, me, "cli")


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    store, me = _access(settings)
    if args.token_command == "create":
        info, secret = store.create_token(args.name, args.role)
        store.audit(me, "token-create", f"{info.id} {info.name}", "", info.role, "cli")
        _out(secret)
        sys.stderr.write(f"Token {info.id} ({info.name}, {info.role}) created. This is the only "
                         "time it is shown: send it as `Authorization: Bearer TOKEN`.\n")
        return 0
    if args.token_command == "revoke":
        info = store.revoke_token(args.token)
        store.audit(me, "token-revoke", f"{info.id} {info.name}", info.role, "revoked", "cli")
        _out(f"Revoked token {info.id} ({info.name}); requests with it are refused now.")
        return 0
    tokens = store.tokens()
    _out(f"{'ID':12}  {'NAME':20}  {'ROLE':6}  {'CREATED':16}  STATE")
    for t in tokens:
        when = dt.datetime.fromtimestamp(t.created).strftime("%Y-%m-%d %H:%M")
        _out(f"{t.id:12}  {t.name[:20]:20}  {t.role:6}  {when:16}  "
             f"{'revoked' if t.revoked else 'live'}")
    return 0


def cmd_user(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    store, me = _access(settings)
    if args.user_command == "add":
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"Password for {args.name}: ")
            if getpass.getpass("Again: ") != password:
                raise InputError("The passwords differ; nothing was added.")
        store.add_user(args.name, args.role, password)
        store.audit(me, "user-add", args.name, "", args.role, "cli")
        _out(f"Added {args.name} ({args.role}); they sign in at /login.")
        return 0
    if args.user_command == "remove":
        store.remove_user(args.name)
        store.audit(me, "user-remove", args.name, "", "removed", "cli")
        _out(f"Removed {args.name}; their sessions have ended.")
        return 0
    for name, role in store.users():
        _out(f"{name}  {role}")
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from citewise.access import day_start

    store, _ = _access(settings)
    entries = store.audit_log(day_start(args.since or "", "--since"))
    for e in entries:
        if args.json:
            _out(json.dumps(e.to_dict(), ensure_ascii=False))
            continue
        when = dt.datetime.fromtimestamp(e.at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        hashes = f" {e.before[:8] or '-'} -> {e.after[:8] or '-'}" if e.before or e.after else ""
        _out(f"{when}  {e.who} ({e.role})  {e.action}  {e.target}{hashes}  from {e.client}")
    if not entries and not args.json:
        _out("No audit entries" + (f" since {args.since}." if args.since else "."))
    return 0


def cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    """Every setting, with the value the environment gives it (keys and tokens: set or unset)."""
    from ui.flags import TOPICS, flag_name, topic_of

    rows: list[dict[str, Any]] = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        secret = Settings.is_secret(name)
        shown = ("set" if value else "unset") if secret else \
            ("unset" if value in (None, "") else str(value))
        default = field.default if field.default not in (None, "") else "unset"
        rows.append({"name": name, "topic": topic_of(name), "variable": Settings.env_var(name),
                     "flag": "" if secret else flag_name(name), "default": str(default),
                     "value": shown, "secret": secret, "description": field.description or ""})
    rows.sort(key=lambda r: list(TOPICS).index(str(r["topic"])))  # stable: model order within
    if args.json:
        for row in rows:
            _out(json.dumps(row, ensure_ascii=False))
        return 0
    topic = ""
    for row in rows:
        if row["topic"] != topic:
            topic = row["topic"]
            _out(f"\n[{topic}]")
        flag = row["flag"] or "(environment only)"
        _out(f"  {row['variable']}  {flag}  = {row['value']}  (default {row['default']})")
        _out(f"      {row['description']}")
    return 0


def _err(text: str) -> None:
    sys.stderr.write(f"citewise: {text}\n")


COMMANDS = {"ingest": cmd_ingest, "watch": cmd_watch, "feeds": cmd_feeds, "docs": cmd_docs, "remove": cmd_remove, "ask": cmd_ask,
            "serve": cmd_serve, "eval": cmd_eval, "bench": cmd_bench, "feedback": cmd_feedback,
            "token": cmd_token, "user": cmd_user, "audit": cmd_audit, "settings": cmd_settings}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)  # a library's warnings.warn goes through logging too
    if not args.verbose and args.command != "serve":  # a server's log keeps every warning
        for handler in logging.getLogger().handlers:
            handler.addFilter(_own_warnings)
    try:
        settings = settings_from(args)
        if settings.llm and args.command in ("ask", "eval"):  # serve starts its own
            from rag.answer.llm.local import local_llm

            with local_llm(settings) as settings:
                return COMMANDS[args.command](args, settings)
        return COMMANDS[args.command](args, settings)
    except CitewiseError as exc:
        _err(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted; the store is consistent, re-run the command to finish.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
