"""Answer backends by name, in the manner of simonw/llm's model registry.

A backend registers a factory ``(settings, embedder) -> Generator``; settings pick one by name
(``CITEWISE_GENERATOR``). Built-ins register here; other packages through the
``citewise.generators`` entry-point group (rag/plugins.py). Factories import lazily so nothing
heavy loads at import time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from rag.answer.generator import Generator
from rag.config import Settings
from rag.errors import CitewiseError, PluginError
from rag.plugins import Registry
from rag.storage.embeddings import Embedder

Factory = Callable[[Settings, Embedder], Generator]


def _factory(obj: object) -> Factory:
    if not callable(obj):
        raise TypeError(f"expected a factory (settings, embedder) -> Generator, got {obj!r}")
    return obj


GENERATORS: Registry[Factory] = Registry(
    "answer backend", "citewise.generators", setting="CITEWISE_GENERATOR or --generator",
    coerce=_factory,
)
register = GENERATORS.register


def generator_names() -> list[str]:
    return sorted(GENERATORS)


def make_generator(settings: Settings, embedder: Embedder) -> Generator:
    factory = GENERATORS.lookup(settings.generator)
    try:
        return factory(settings, embedder)
    except CitewiseError:
        raise
    except Exception as exc:  # a plugin's bug: say whose
        raise PluginError(f"The answer backend {settings.generator!r} failed to start "
                          f"({type(exc).__name__}: {exc}); check its settings or pick another "
                          "with CITEWISE_GENERATOR.") from exc


@functools.cache
def _extractive_class() -> type:
    """The extractive answerer (imported on first use)."""
    from rag.answer.extractive import ExtractiveGenerator

    return ExtractiveGenerator


@register("extractive")
def _extractive(settings: Settings, embedder: Embedder) -> Generator:
    gen: Generator = _extractive_class()(embedder=embedder, threshold=settings.abstain_threshold)
    return gen


@register("llm")
def _llm(settings: Settings, embedder: Embedder) -> Generator:
    from rag.answer.llm import LLMGenerator

    return LLMGenerator.from_settings(settings, embedder)
