"""Build the LangChain chat model that settings name (CITEWISE_LLM_*).

Providers: ``openai`` (ChatOpenAI; with ``llm_base_url`` any OpenAI-compatible server),
``openai-compatible`` / ``llamacpp`` / ``vllm`` (the same, no key needed), ``azure``
(AzureChatOpenAI), ``ollama`` (ChatOllama), and any other ``init_chat_model`` provider when the
``langchain`` package is installed. Imports happen here, on first use, never at import time;
constructing a model opens no connection. ``llm_completions`` switches the OpenAI providers to
the text-completions API (langchain-openai's ``OpenAI``) for base models without a chat template.

A provider is one factory ``(settings) -> chat model`` registered by name in :data:`PROVIDERS`
(rag/plugins.py): here for the built-ins, through the ``citewise.llm_providers`` entry-point
group for other packages.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from rag.config import Settings
from rag.errors import ConfigError
from rag.plugins import Registry

ChatModelFactory = Callable[[Settings], Any]


def _factory(obj: object) -> ChatModelFactory:
    if not callable(obj):
        raise TypeError(f"expected a factory (settings) -> chat model, got {obj!r}")
    return obj


PROVIDERS: Registry[ChatModelFactory] = Registry(
    "LLM provider", "citewise.llm_providers", setting="CITEWISE_LLM_PROVIDER", coerce=_factory
)


def describe(settings: Settings) -> str:
    """'provider:model', for notes and logs."""
    return f"{settings.llm_provider}:{settings.llm_model or settings.llm_deployment or '?'}"


def _need_model(settings: Settings) -> None:
    if not settings.llm_model:
        raise ConfigError(
            "The llm generator needs a model: set CITEWISE_LLM_MODEL "
            "(e.g. gpt-4o-mini, llama3.2, or the name a local server serves)."
        )


def _chat_only(settings: Settings) -> None:
    """The text-completions switch exists for the OpenAI-style providers only."""
    if settings.llm_completions:
        raise ConfigError(
            "CITEWISE_LLM_COMPLETIONS works with the openai and openai-compatible "
            f"providers only, not {settings.llm_provider!r}."
        )


@PROVIDERS.register("openai")
def _openai_provider(settings: Settings) -> Any:
    _need_model(settings)
    return _openai(settings, compatible=False)


@PROVIDERS.register(
    "openai-compatible", "openai_compatible", "llamacpp", "llama.cpp", "llama-cpp", "vllm", "lmstudio"
)
def _openai_compatible(settings: Settings) -> Any:
    """Any OpenAI-compatible server (llama.cpp, vLLM, LM Studio): no key needed."""
    _need_model(settings)
    return _openai(settings, compatible=True)


def _openai(settings: Settings, compatible: bool) -> Any:
    from langchain_openai import ChatOpenAI, OpenAI

    if settings.llm_completions:  # a base model: /v1/completions, where max_tokens is honoured
        return OpenAI(**_openai_kwargs(settings, compatible))
    kwargs = _openai_kwargs(settings, compatible)
    if compatible or settings.llm_base_url:
        # ChatOpenAI sends max_tokens as max_completion_tokens, which llama.cpp's server and
        # other OpenAI-compatible servers ignore; send the classic field too.
        kwargs["extra_body"] = {"max_tokens": settings.llm_max_tokens}
    return ChatOpenAI(**kwargs)


def _openai_kwargs(settings: Settings, compatible: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "model": settings.llm_model,
        "temperature": settings.llm_temperature,
        "max_tokens": settings.llm_max_tokens,
        "timeout": settings.llm_timeout,
        "max_retries": settings.llm_max_retries,
    }
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    key = settings.llm_api_key or os.environ.get("OPENAI_API_KEY")
    if not key:
        if not compatible and not settings.llm_base_url:
            raise ConfigError(
                "The OpenAI provider needs an API key: set CITEWISE_LLM_API_KEY "
                "(or OPENAI_API_KEY), or CITEWISE_LLM_BASE_URL for a local server."
            )
        key = "not-needed"  # local servers accept any key
    kwargs["api_key"] = key
    return kwargs


@PROVIDERS.register("azure", "azure_openai", "azure-openai")
def _azure(settings: Settings) -> Any:
    from langchain_openai import AzureChatOpenAI

    if not settings.llm_model and not settings.llm_deployment:
        _need_model(settings)
    _chat_only(settings)

    endpoint = settings.llm_base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
    deployment = settings.llm_deployment or settings.llm_model
    version = settings.llm_api_version or os.environ.get("OPENAI_API_VERSION")
    key = settings.llm_api_key or os.environ.get("AZURE_OPENAI_API_KEY")
    missing = [
        name
        for name, value in [
            ("CITEWISE_LLM_BASE_URL (the endpoint)", endpoint),
            ("CITEWISE_LLM_DEPLOYMENT", deployment),
            ("CITEWISE_LLM_API_VERSION", version),
            ("CITEWISE_LLM_API_KEY", key),
        ]
        if not value
    ]
    if missing:
        raise ConfigError(f"Azure OpenAI needs {', '.join(missing)}.")
    return AzureChatOpenAI(
        azure_endpoint=endpoint,
        azure_deployment=deployment,
        api_version=version,
        api_key=key,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )


@PROVIDERS.register("ollama")
def _ollama(settings: Settings) -> Any:
    _need_model(settings)
    _chat_only(settings)
    from langchain_ollama import ChatOllama

    kwargs: dict[str, Any] = {
        "model": settings.llm_model,
        "temperature": settings.llm_temperature,
        "num_predict": settings.llm_max_tokens,
        "client_kwargs": {"timeout": settings.llm_timeout},
    }
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    return ChatOllama(**kwargs)


def _init_chat_model(settings: Settings, provider: str) -> Any:
    """Any other provider LangChain's ``init_chat_model`` knows (needs the langchain package)."""
    _need_model(settings)
    _chat_only(settings)
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise ConfigError(
            f"Unknown LLM provider {provider!r}: use one of {', '.join(PROVIDERS)}, "
            "or `pip install langchain` and the provider's package for init_chat_model."
        ) from None
    kwargs: dict[str, Any] = {
        "temperature": settings.llm_temperature,
        "max_tokens": settings.llm_max_tokens,
        "timeout": settings.llm_timeout,
        "max_retries": settings.llm_max_retries,
    }
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    if settings.llm_api_key:
        kwargs["api_key"] = settings.llm_api_key
    return init_chat_model(settings.llm_model, model_provider=provider, **kwargs)


def make_chat_model(settings: Settings) -> Any:
    """The configured chat model (a langchain_core BaseChatModel); ConfigError when unusable."""
    provider = settings.llm_provider.strip().lower()
    try:
        if provider in PROVIDERS:
            return PROVIDERS[provider](settings)
        return _init_chat_model(settings, provider)
    except ConfigError:
        raise
    except Exception as exc:  # pydantic validation, a missing provider package, ...
        raise ConfigError(f"Cannot set up the LLM {describe(settings)}: {exc}") from exc
