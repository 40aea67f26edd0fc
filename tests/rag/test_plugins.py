"""One extension pattern: answer backends, LLM providers and metrics from real entry points."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import ConfigError, PluginError
from rag.plugins import Registry, refresh_all
from tests import plugin_dist
from tests.plugin_dist import install


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from plugin_dist.plugin_site(tmp_path, monkeypatch)


PLUGIN = '''
from eval.metrics import Metric
from rag.answer.generator import RuleBasedCondense
from rag.records import Answer


class Echo(RuleBasedCondense):
    """Answers with the question itself: a backend in a dozen lines."""

    name = "echo"

    def generate(self, question, hits, history=None):
        return Answer(question, "You asked: " + question, False, contexts=hits)

    def stream(self, question, hits, history=None):
        yield self.generate(question, hits, history)


def make_echo(settings, embedder):
    return Echo()


def fake_chat_model(settings):
    return ("fake chat model", settings.llm_model)


QUESTIONS = Metric("questions_seen", "custom", lambda records, supports: float(len(records)),
                   "how many questions were asked", gated=False)
NOT_A_METRIC = 42
'''


@pytest.fixture
def toy(plugin_site: Path) -> Path:
    install(plugin_site, "citewise-toy", "citewise_toy", PLUGIN, {
        "citewise.generators": {"echo": "citewise_toy:make_echo",
                                "extractive": "citewise_toy:make_echo"},  # built-in wins
        "citewise.llm_providers": {"fake": "citewise_toy:fake_chat_model"},
        "citewise.metrics": {"questions_seen": "citewise_toy:QUESTIONS",
                             "bad_metric": "citewise_toy:NOT_A_METRIC",
                             "missing": "citewise_toy:no_such_name"},
    })
    refresh_all()
    return plugin_site


def test_an_answer_backend_from_an_entry_point(toy: Path, embedder) -> None:
    from rag.answer.extractive import ExtractiveGenerator
    from rag.answer.registry import generator_names, make_generator

    assert {"echo", "extractive", "llm"} <= set(generator_names())
    echo = make_generator(Settings(generator="echo"), embedder)
    assert echo.generate("why?", []).answer == "You asked: why?"
    assert echo.condense("and Amazon?", []) == "and Amazon?"  # no history: unchanged
    assert isinstance(make_generator(Settings(), embedder), ExtractiveGenerator)


def test_an_unknown_name_lists_built_ins_and_plugins(toy: Path, embedder) -> None:
    from rag.answer.registry import make_generator

    with pytest.raises(ConfigError) as err:
        make_generator(Settings(generator="nope"), embedder)
    message = str(err.value)
    assert "Unknown answer backend 'nope'" in message and "CITEWISE_GENERATOR" in message
    assert "extractive, llm, echo" in message and "citewise.generators" in message


def test_an_llm_provider_from_an_entry_point(toy: Path) -> None:
    from rag.answer.llm.models import PROVIDERS, make_chat_model

    assert "fake" in PROVIDERS and "openai" in PROVIDERS and "vllm" in PROVIDERS
    model = make_chat_model(Settings(llm_provider="Fake", llm_model="tiny"))
    assert model == ("fake chat model", "tiny")


def test_a_metric_from_an_entry_point_and_plugins_that_fail_by_name(toy: Path) -> None:
    from eval.metrics import METRICS, compute_metrics

    assert list(METRICS)[:2] == ["hit@1", "hit@3"]  # built-ins first, in report order
    assert METRICS["questions_seen"].compute([object(), object()], None) == 2.0  # type: ignore[list-item]
    with pytest.raises(PluginError) as err:
        METRICS["bad_metric"]
    assert "metric plugin 'bad_metric' (citewise_toy:NOT_A_METRIC, from the package " \
           "citewise-toy)" in str(err.value) and "expected an eval.metrics.Metric" in str(err.value)
    with pytest.raises(PluginError, match="'missing'.*failed to import.*pip uninstall citewise-toy"):
        METRICS["missing"]
    with pytest.raises(PluginError):
        compute_metrics([], lambda a, b: True)  # a broken metric plugin is not silently skipped


def test_registry_imports_a_plugin_only_when_its_name_is_used(plugin_site: Path) -> None:
    import sys

    install(plugin_site, "citewise-toy-lazy", "citewise_toy_lazy", "VALUE = 'loaded'\n",
            {"citewise.test_lazy": {"lazy": "citewise_toy_lazy:VALUE"}})
    reg: Registry[str] = Registry("thing", "citewise.test_lazy")
    reg.add("builtin", "builtin value")
    assert list(reg) == ["builtin", "lazy"] and "citewise_toy_lazy" not in sys.modules
    assert reg["LAZY"] == "loaded" and "citewise_toy_lazy" in sys.modules
    with pytest.raises(KeyError):
        reg["other"]


CHECK_PLUGIN = """
import re
from dataclasses import dataclass

from rag.answer.constraints import QuestionCheck, Verdict

_DAY = re.compile(r"\\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\\b")


@dataclass
class WeekdayCheck(QuestionCheck):
    '''"What happened on Monday?" is not answered by a sentence about Tuesday.'''

    day: str
    kind: str = "weekday"

    @classmethod
    def make(cls, c):
        m = _DAY.search(c.question.lower())
        return cls(m.group(1)) if m else None

    def check(self, ev):
        return Verdict([] if self.day in ev.s_norm else [f"weekday:{self.day}"])
"""


def test_a_question_check_from_an_entry_point_only_weighs(plugin_site: Path) -> None:
    from rag.answer.checks import VETO_KINDS, failed_kinds, soft_groups
    from rag.answer.constraints import CHECKS
    from rag.answer.question import parse

    install(plugin_site, "citewise-toy-weekday", "citewise_toy_weekday", CHECK_PLUGIN,
            {"citewise.checks": {"weekday": "citewise_toy_weekday:WeekdayCheck"}})
    refresh_all()
    assert list(CHECKS)[-1] == "weekday"  # after the built-ins, in their report order
    c = parse("What did the council decide on Monday?")
    assert [chk.kind for chk in c.checks()] == ["entity", "weekday"]
    check = c.check("The council approved the budget on Tuesday.")
    assert check.failed == ("weekday:monday",)
    kinds = failed_kinds(check)
    assert "weekday" not in VETO_KINDS and soft_groups(kinds) == (0, 0, 1)  # it weighs
    assert c.check("On Monday the council approved the budget.").ok
