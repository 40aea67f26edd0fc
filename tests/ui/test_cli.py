"""The `citewise` CLI: ingest summaries and exit codes, incremental runs, prune, docs, and the
`ask` interface contract that other tools depend on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_DIR
from ui.cli import COMMANDS, main

QUESTION = "What stake does Microsoft hold in OpenAI Group PBC?"
CONTRACT = {"id", "question", "answer", "abstained", "citations", "contexts", "latency_ms"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(SAMPLE_DIR, root)
    (root / "notes").mkdir()
    (root / "notes" / "quokka.txt").write_text(
        "Quokkas live on Rottnest Island off Western Australia. They weigh about three kilograms.\n",
        encoding="utf-8")
    return root


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "store")


def test_ingest_is_incremental_replaces_changed_files_and_prunes_deleted_ones(capsys, corpus, store):
    code, out, _ = run(capsys, "ingest", str(corpus), "--store", store)
    assert code == 0
    assert out.startswith("added 2, updated 0, unchanged 0, removed 0, failed 0")

    code, out, _ = run(capsys, "ingest", str(corpus), "--store", store)
    assert code == 0
    assert "added 0, updated 0, unchanged 2, removed 0, failed 0 — 0 chunks embedded" in out

    (corpus / "notes" / "quokka.txt").write_text(
        "Quokkas live on Rottnest Island. A quokka eats leaves, grasses and stems.\n", encoding="utf-8")
    code, out, _ = run(capsys, "ingest", str(corpus), "--store", store, "--json")
    report = json.loads(out)
    assert code == 0 and report["updated"] == ["notes/quokka.txt"] and report["unchanged"]
    assert 0 < report["chunks_embedded"] <= 2  # only the changed file was embedded again

    code, out, _ = run(capsys, "ask", "--json", "How much does a quokka weigh?", "--store", store)
    assert "three kilograms" not in out  # the old version is gone, never cited
    code, out, _ = run(capsys, "ask", "--json", "What does a quokka eat?", "--store", store)
    ans = json.loads(out)
    assert not ans["abstained"] and ans["citations"][0]["source"] == "notes/quokka.txt"

    (corpus / "notes" / "quokka.txt").unlink()
    code, out, _ = run(capsys, "ingest", str(corpus), "--store", store, "--prune")
    assert code == 0 and "removed 1" in out
    code, out, _ = run(capsys, "docs", "--store", store, "--json")
    assert [d["source"] for d in json.loads(out)] == ["microsoft-openai-partnership.txt"]
    code, out, _ = run(capsys, "ask", "--json", "What does a quokka eat?", "--store", store)
    assert all(c["source"] != "notes/quokka.txt" for c in json.loads(out)["citations"])


def test_a_bad_file_is_reported_by_name_and_the_rest_is_ingested(capsys, corpus, store):
    (corpus / "junk.txt").write_bytes(bytes(range(256)) * 64)
    (corpus / "feed.jsonl").write_text(
        '{"id": "n1", "title": "Kiwi", "text": "The kiwi is a flightless bird of New Zealand."}\n'
        '{"title": "no text"}\n', encoding="utf-8")
    code, out, _ = run(capsys, "ingest", str(corpus), "--store", store)
    assert code == 1  # something failed
    assert "added 3," in out and "failed 2" in out
    assert f"FAILED {corpus / 'junk.txt'}: binary file" in out
    assert f"FAILED {corpus / 'feed.jsonl'}:2: missing 'text'" in out
    code, out, _ = run(capsys, "docs", "--store", store)
    header, *rows = [line.split("\t") for line in out.splitlines()]
    assert header == ["SOURCE", "TITLE", "CHUNKS", "PUBLISHED"]
    assert [r[0] for r in rows] == ["microsoft-openai-partnership.txt", "n1", "notes/quokka.txt"]
    assert all(r[1] and r[2].isdigit() for r in rows)  # a title for every row (a .txt's: its name)


def test_a_broken_pdf_is_reported_once_in_the_summary(tmp_path):
    """In a fresh process (the real logging setup): the failure is in the summary on stdout,
    and neither citewise's log nor pypdf's own warning repeats it on stderr (they are at -v)."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\n"
                                        b"trailer<< /Root 1 0 R >>\n")
    (folder / "ok.txt").write_text("The kiwi is a flightless bird.\n", encoding="utf-8")

    def cli(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ui.cli", "ingest", str(folder), "--store",
                               str(tmp_path / f"s{len(extra)}"), *extra],
                              capture_output=True, text=True, timeout=300, cwd=ROOT)

    done = cli()
    assert done.returncode == 1 and done.stdout.count("broken.pdf") == 1, done.stdout
    assert "FAILED" in done.stdout and "1 chunk embedded" in done.stdout
    assert "broken.pdf" not in done.stderr and "EOF marker" not in done.stderr, done.stderr
    verbose = cli("-v")
    assert "EOF marker not found" in verbose.stderr and "skipped" in verbose.stderr


def test_docs_on_a_missing_store_exits_2_like_ask(capsys, tmp_path):
    for argv in (["docs"], ["docs", "--json"], ["ask", "Who?"]):
        code, out, err = run(capsys, *argv, "--store", str(tmp_path / "nowhere"))
        assert code == 2 and out == "" and "Ingest documents first" in err


def test_help_is_for_users_and_each_flag_is_offered_once(capsys):
    def helped(*argv: str) -> str:
        with pytest.raises(SystemExit) as done:
            main([*argv, "--help"])
        assert done.value.code == 0
        return capsys.readouterr().out

    out = helped()
    assert "quotes its sources exactly" in out and "CitewiseError" not in out
    out = helped("ask")
    assert "the question, in quotes" in out and "--as-of" in out
    out = helped("ingest")
    assert "--ray-embed-actors" in out and "--ray-actors" not in out
    assert "--slack-api-url" not in out and "--rate-ask" not in out and "--k " not in out


def test_each_command_offers_the_flags_of_the_settings_it_reads(capsys):
    from rag.config import Settings
    from ui.flags import COMMAND_TOPICS, TOPICS, command_fields

    named = [n for names in TOPICS.values() for n in names]
    assert sorted(named) == sorted(Settings.model_fields)  # every setting under one topic
    assert set(COMMAND_TOPICS) == set(COMMANDS)

    def flags(*argv: str) -> set[str]:
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        return set(re.findall(r"^\s+(--[a-z0-9-]+)", capsys.readouterr().out, re.M))

    docs, ask, serve = flags("docs"), flags("ask"), flags("serve")
    assert {"--store", "--chroma-url", "--embedding-model"} <= docs
    assert not docs & {"--ray-embed-actors", "--slack-api-url", "--llm-model", "--k", "--port"}
    assert {"--k", "--llm-model", "--as-of"} <= ask and "--ray-batch-size" not in ask
    assert {"--port", "--auth", "--slack-api-url", "--refresh-feeds", "--llm"} <= serve
    assert "--proxy-roles" in flags("token", "create") and "--k" not in flags("audit")
    for writer in ("ingest", "watch", "remove"):  # their writes go to the audit log
        assert "--auth-db" in flags(writer) and "--proxy-roles" not in flags(writer)
    assert len(command_fields("docs")) < len(command_fields()) / 3
    for secret in ("--slack-app-token", "--slack-bot-token", "--llm-api-key"):
        assert secret not in serve  # keys and tokens: the environment only


def test_settings_lists_every_setting_with_secrets_masked(capsys, monkeypatch):
    from rag.config import Settings

    monkeypatch.setenv("CITEWISE_SLACK_APP_TOKEN", "xapp-very-secret")
    monkeypatch.setenv("CITEWISE_K", "7")
    code, out, _ = run(capsys, "settings", "--json")
    rows = {r["name"]: r for r in map(json.loads, out.splitlines())}
    assert code == 0 and set(rows) == set(Settings.model_fields)
    assert rows["k"]["value"] == "7" and rows["k"]["flag"] == "--k"
    assert rows["slack_app_token"] == {**rows["slack_app_token"], "value": "set", "flag": "",
                                       "secret": True}
    code, out, _ = run(capsys, "settings")
    assert "xapp-very-secret" not in out and "CITEWISE_SLACK_APP_TOKEN  (environment only)" in out


def test_ask_json_follows_the_contract_with_exact_quotes(capsys, sample_citewise):
    store = str(sample_citewise.settings.store)
    code, out, _ = run(capsys, "ask", "--json", QUESTION, "--store", store, "--k", "3")
    ans = json.loads(out)
    assert code == 0 and CONTRACT <= set(ans)
    assert not ans["abstained"] and "[1]" in ans["answer"] and len(ans["contexts"]) <= 3
    for c in ans["citations"]:
        assert {"n", "source", "title", "url", "quote", "start", "end"} <= set(c)
        text = sample_citewise.document_text(c["source"])
        assert text[c["start"] : c["end"]] == c["quote"]
    assert {"source", "title", "text", "score"} <= set(ans["contexts"][0])


def test_ask_prints_the_answer_with_numbered_sources(capsys, sample_citewise):
    code, out, _ = run(capsys, "ask", QUESTION, "--store", str(sample_citewise.settings.store))
    assert code == 0
    assert "Sources:" in out and "  [1] " in out and "27 per cent" in out


def test_ask_file_answers_every_line_in_order(capsys, sample_citewise, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "a", "question": QUESTION},
        {"id": 7, "question": "What is the capital of Peru?"},
        {"id": "c", "question": "and until when?",
         "history": [{"question": "Does Microsoft keep Azure API exclusivity?",
                      "answer": "Microsoft retains Azure API exclusivity until AGI. [1]"}]},
    ]) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "ask", "--json", "--file", str(questions),
                       "--store", str(sample_citewise.settings.store))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["id"] for r in rows] == ["a", 7, "c"]
    assert all(CONTRACT <= set(r) for r in rows)
    assert rows[1]["abstained"] and rows[1]["citations"] == []
    assert rows[2]["standalone_question"] != "and until when?"


def test_ask_as_of_a_day_from_the_flag_or_each_line(capsys, sample_citewise, tmp_path):
    store = str(sample_citewise.settings.store)
    code, out, _ = run(capsys, "ask", "--json", QUESTION, "--store", store, "--as-of", "2025-11-01")
    assert code == 0 and json.loads(out)["as_of"] == "2025-11-01"
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": 1, "question": QUESTION, "as_of": "2025-12-01"}) + "\n"
                         + json.dumps({"id": 2, "question": QUESTION}) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "ask", "--file", str(questions), "--store", store,
                       "--as-of", "2025-11-01")
    assert code == 0
    assert [json.loads(line)["as_of"] for line in out.splitlines()] == ["2025-12-01", "2025-11-01"]
    code, _, err = run(capsys, "ask", QUESTION, "--store", store, "--as-of", "1 May")
    assert code == 2 and "--as-of '1 May' is not a date in YYYY-MM-DD form" in err


def test_bad_questions_exit_2_with_a_message(capsys, sample_citewise, tmp_path):
    store = str(sample_citewise.settings.store)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "question": "ok?"}\n{not json\n', encoding="utf-8")
    code, out, err = run(capsys, "ask", "--json", "--file", str(bad), "--store", store)
    # the bad line is reported by number, the good one is still answered, the exit is non-zero
    assert code == 2 and f"{bad}:2: invalid JSON" in err
    assert [json.loads(line)["id"] for line in out.splitlines()] == [1]
    code, _, err = run(capsys, "ask", "   ", "--store", store)
    assert code == 2 and "question is empty" in err
    code, _, err = run(capsys, "remove", "nope.txt", "--store", store)
    assert code == 1 and "No document 'nope.txt'" in err


# Runs the CLI in a fresh interpreter and reports which heavy libraries it imported.
_PROBE = """import sys
from ui.cli import COMMANDS, main
code = main(sys.argv[1:])
heavy = [m for m in ("torch", "transformers", "sentence_transformers", "langchain_core")
         if m in sys.modules]
sys.stderr.write(f"heavy={heavy}\\n")
sys.exit(code)
"""


def test_docs_and_remove_do_not_load_the_embedding_model(make_citewise, tmp_path):
    """Listing and removing need the store, not the model (6-12 s to load, issue 16): nothing
    of torch/transformers is imported, and stderr has no "Loading weights" bar."""
    store = tmp_path / "store"
    make_citewise(store).ingest([SAMPLE_DIR])

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", _PROBE, *argv, "--store", str(store), "-v"],
                              capture_output=True, text=True, timeout=300, cwd=ROOT)

    for argv, shown in ((["docs"], "microsoft-openai-partnership.txt\t"),
                        (["remove", "microsoft-openai-partnership.txt"], "removed "),
                        (["docs"], "No documents stored yet")):
        done = cli(*argv)
        assert done.returncode == 0 and shown in done.stdout, (argv, done.stdout, done.stderr)
        assert "heavy=[]" in done.stderr, (argv, done.stderr)
        assert "Loading weights" not in done.stderr and "loaded embedding model" not in done.stderr


# ---- settings: one flag per field, named in the README ------------------------------------------
def _subcommands() -> dict:
    import argparse

    from ui.cli import build_parser

    def commands(parser: argparse.ArgumentParser, prefix: str) -> dict:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
                   None)
        if sub is None:
            return {prefix.strip(): parser}
        out: dict = {}
        for name, child in sub.choices.items():  # `feedback list`, ...: the leaves
            out.update(commands(child, f"{prefix} {name}"))
        return out

    return commands(build_parser(), "")


def test_every_setting_has_a_flag_on_the_commands_that_read_it_and_a_readme_row():
    from rag.config import Settings
    from ui.flags import command_fields, flag_name

    rows = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
            if line.startswith("| `CITEWISE_")]
    commands = _subcommands()
    assert set(commands) >= {"ingest", "docs", "remove", "ask", "serve", "eval", "bench",
                             "feedback list", "feedback review", "feedback export",
                             "token create", "user add", "audit"}
    for name in Settings.model_fields:
        env, flag = Settings.env_var(name), flag_name(name)
        [row] = [r for r in rows if r.startswith(f"| `{env}` |")] or [None]
        assert row, f"README.md has no settings row for {env}"
        for command, parser in commands.items():
            action = parser._option_string_actions.get(flag)
            if Settings.is_secret(name):
                assert action is None, f"{command} {flag}: secrets come from the environment"
                continue
            if name not in command_fields(command.split()[0]):
                assert action is None or action.dest != name, f"citewise {command} offers {flag}"
                continue
            assert action is not None and action.dest == name, f"citewise {command} lacks {flag}"
            assert env in action.help, f"citewise {command} {flag}: help must name {env}"
        assert Settings.is_secret(name) or any(name in command_fields(c) for c in commands), \
            f"no command offers {flag}"
        if not Settings.is_secret(name):
            assert f"`{flag}`" in row, f"README row of {env} must give its flag {flag}"


def test_flags_override_the_environment_and_booleans_have_a_no_form(monkeypatch):
    from ui.cli import build_parser
    from ui.flags import settings_from

    monkeypatch.setenv("CITEWISE_GENERATOR", "llm")
    monkeypatch.setenv("CITEWISE_CHUNK_TOKENS", "150")
    args = build_parser().parse_args(["ask", "Q?", "--store", "/tmp/s", "--no-llm-condense",
                                      "--embed-batch-size", "8", "--abstain-threshold", "0.4"])
    s = settings_from(args)
    assert (str(s.store), s.generator, s.chunk_tokens) == ("/tmp/s", "llm", 150)
    assert (s.llm_condense, s.embed_batch_size, s.abstain_threshold) == (False, 8, 0.4)
    args = build_parser().parse_args(["ask", "Q?", "--generator", "extractive", "--llm-condense"])
    assert (settings_from(args).generator, settings_from(args).llm_condense) == ("extractive", True)


def test_bench_and_eval_receive_the_settings_of_their_flags(monkeypatch, tmp_path):
    """`citewise bench` used to ignore --store, --generator and --embedding-model."""
    import eval.bench.run
    import eval.harness

    seen = {}

    def fake_run_bench(args, settings):
        seen["bench"] = settings
        raise KeyboardInterrupt  # stop before any measuring

    monkeypatch.setattr(eval.bench.run, "run_bench", fake_run_bench)
    monkeypatch.setattr(eval.harness, "run_from_args",
                        lambda args, settings: seen.setdefault("eval", settings) and 0)
    squad = tmp_path / "dev.json"
    squad.write_text("{}", encoding="utf-8")
    flags = ["--store", str(tmp_path / "s"), "--generator", "llm", "--embedding-model", "m"]
    assert main(["bench", "--squad", str(squad), *flags]) == 130
    assert main(["eval", str(squad), *flags]) == 0
    for command in ("bench", "eval"):
        s = seen[command]
        assert (s.store, s.generator, s.embedding_model) == (tmp_path / "s", "llm", "m"), command


def test_bench_refuses_a_store_that_is_not_empty(tmp_path):
    import argparse

    from eval.bench.run import _bench_settings
    from rag.config import Settings
    from rag.errors import InputError

    work = tmp_path / "work"
    s = _bench_settings(Settings(generator="llm"), argparse.Namespace(store=None), work)
    assert (s.store, s.generator, s.chroma_url) == (work / "store", "llm", None)
    used = tmp_path / "used"
    (used / "chroma").mkdir(parents=True)
    with pytest.raises(InputError, match="fresh ingest"):
        _bench_settings(Settings(store=used), argparse.Namespace(store=used), work)
    fresh = _bench_settings(Settings(store=tmp_path / "new"),
                            argparse.Namespace(store=tmp_path / "new"), work)
    assert fresh.store == tmp_path / "new"
