"""Answer backends by name, in the manner of simonw/llm's model registry.

A backend registers a factory ``(settings, embedder) -> Generator``; settings pick one by name
(``CITEWISE_GENERATOR``). Factories import lazily so nothing heavy loads at import time.
"""

from __future__ import annotations

from collections.abc import Callable

from rag.config import Settings
from rag.embeddings import Embedder
from rag.errors import ConfigError
from rag.generator import Generator

Factory = Callable[[Settings, Embedder], Generator]
_GENERATORS: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    def wrap(factory: Factory) -> Factory:
        _GENERATORS[name] = factory
        return factory

    return wrap


def generator_names() -> list[str]:
    return sorted(_GENERATORS)


def make_generator(settings: Settings, embedder: Embedder) -> Generator:
    try:
        factory = _GENERATORS[settings.generator]
    except KeyError:
        raise ConfigError(
            f"Unknown generator {settings.generator!r}; choose one of {', '.join(generator_names())} "
            "(CITEWISE_GENERATOR or --generator)."
        ) from None
    return factory(settings, embedder)


@register("extractive")
def _extractive(settings: Settings, embedder: Embedder) -> Generator:
    from rag.extractive import ExtractiveGenerator

    return ExtractiveGenerator(embedder=embedder, threshold=settings.abstain_threshold)


@register("llm")
def _llm(settings: Settings, embedder: Embedder) -> Generator:
    from rag.llm import LLMGenerator

    return LLMGenerator.from_settings(settings, embedder)
