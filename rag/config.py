"""One settings object, read from ``CITEWISE_*`` environment variables and mirrored by CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "all-MiniLM-L6-v2"
SECRET: dict[str, Any] = {"secret": True}  # Field marker: environment only, no CLI flag


class Settings(BaseSettings):
    """Everything a user can configure. CLI flags override environment, which overrides defaults."""

    model_config = SettingsConfigDict(env_prefix="CITEWISE_", env_file=None, extra="ignore")

    # storage
    store: Path = Field(Path(".citewise"),
                        description="store directory (embedded Chroma + BM25 cache)")
    chroma_url: str | None = Field(None, description="Chroma server URL; embedded when unset")
    collection: str = Field("citewise", description="Chroma collection name")
    feedback: bool = Field(True, description="record the answers the server shows, so "
                           "users can rate them (chat, Slack, POST /api/feedback)")
    feedback_db: Path | None = Field(None, description="feedback log (SQLite); default "
                                     "STORE/feedback.sqlite3; replicas share one file")

    # news feeds (ingest/feeds.py, citewise/feeds.py)
    feeds_db: Path | None = Field(None, description="the feeds followed and what their polls "
                                  "learned (SQLite); default STORE/feeds.sqlite3")
    refresh_feeds: str | None = Field(None, description="serve: poll the followed feeds this "
                                      "often, e.g. 30m (one replica at a time does)")
    feed_timeout: float = Field(20.0, gt=0, description="seconds per feed or page request")
    feed_max_mb: float = Field(5.0, gt=0, description="larger feeds and pages are skipped")
    feed_max_items: int = Field(100, ge=1, description="items read per feed and poll")
    feed_max_redirects: int = Field(5, ge=0, description="redirects followed per request")
    feed_allow_private: str = Field("", description="hosts or networks (comma-separated) that "
                                    "feeds may reach on loopback, private or link-local "
                                    "addresses, e.g. 127.0.0.1 or intranet.example; none by "
                                    "default")

    # embeddings and chunking
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="'all-MiniLM-L6-v2' (bundled, verified) or any sentence-transformers name/path",
    )
    embed_batch_size: int = Field(64, ge=1, description="texts per embedding batch")
    embedding_backend: Literal["onnx", "onnx-int8", "torch"] = Field(
        "onnx", description="run the embedding model on onnxruntime (same vectors, no torch at "
        "ask time; exported once from the local weights), on onnxruntime quantized to int8 "
        "(faster, other vectors: a store of its own), or on torch (sentence-transformers); "
        "models onnxruntime cannot run stay on torch")
    # embedding server (OpenAI-compatible /v1/embeddings); in process when unset. The model name
    # sent is embedding_model; chunking counts tokens with its tokenizer, loaded locally.
    embeddings_url: str | None = Field(
        None, description="OpenAI-compatible embedding server, e.g. http://HOST:7997/v1")
    embeddings_api_key: str | None = Field(None, description="embedding server key",
                                           json_schema_extra=SECRET)
    embeddings_tokenizer: str | None = Field(None, description="local tokenizer folder/name for "
                                             "chunking; default: embedding_model's own")
    embeddings_concurrency: int = Field(4, ge=1, description="embedding requests in flight")
    embeddings_timeout: float = Field(60.0, gt=0, description="embedding request timeout (s)")
    embeddings_max_retries: int = Field(3, ge=0, description="retries of a failed embedding "
                                        "request")
    chunk_tokens: int = Field(200, ge=16, le=510, description="max tokens per chunk")
    chunk_overlap: int = Field(30, ge=0, description="max tokens of whole sentences repeated")
    max_file_mb: float = Field(25.0, gt=0, description="larger files are refused")

    # distributed ingest on Ray (ingest/ray_pipeline.py, `citewise ingest --ray`)
    ray_embed_actors: int = Field(2, ge=1, description="Embedding actors (one model each)")
    ray_batch_size: int = Field(16, ge=1, description="Documents per embedding batch on Ray")
    ray_actor_cpus: float = Field(1.0, gt=0, description="CPUs reserved per embedding actor")

    # retrieval and answering
    k: int = Field(5, ge=1, le=50, description="passages an answer is drawn from")
    generator: str = Field("extractive", description="answer backend (rag/answer/registry.py)")
    rerank: bool = Field(False, description="order the first passages again by the learned "
                         "re-ranker (rag/retrieval/rerank.py) before answering")
    abstain_threshold: float | None = Field(
        None, description="override the answer scorer's calibrated threshold")
    aliases_file: Path | None = Field(
        None, description="JSON file of short names your readers use and the names they stand "
        "for, e.g. {\"msft\": \"Microsoft\"} (examples/news-aliases.json); none by default")

    # LLM backend (issue 6)
    llm_provider: str = Field("openai", description="LLM provider (rag/answer/llm/models.py)")
    llm_model: str = Field("", description="LLM model name")
    llm_base_url: str | None = Field(None, description="LLM server URL")
    llm_api_key: str | None = Field(None, description="LLM key", json_schema_extra=SECRET)
    llm_api_version: str | None = Field(None, description="Azure OpenAI API version")
    llm_deployment: str | None = Field(None, description="Azure OpenAI deployment")
    llm_temperature: float = Field(0.0, description="LLM sampling temperature")
    llm_max_tokens: int = Field(512, description="LLM answer length limit, in tokens")
    llm_timeout: float = Field(60.0, description="seconds for a whole LLM answer")
    llm_max_retries: int = Field(1, ge=0, description="retries of a failed LLM request")
    llm_condense: bool = Field(True, description="let the LLM rewrite follow-up questions")
    llm_completions: bool = Field(
        False, description="use the text-completions API (base models without a chat template)"
    )
    # the offline model (issue 14): rag/answer/llm/local.py
    llm: str | None = Field(
        None, description="'local': start the bundled Qwen2.5-Coder-1.5B (make llm) and use it"
    )
    llm_ctx: int = Field(2048, ge=512, description="context size of the local model's server")
    llm_threads: int = Field(0, ge=0, description="threads of the local model (0: all cores)")
    llm_small_prompt: bool = Field(
        False, description="prompt for small models: best sentences only, quote first, short"
    )

    # server
    host: str = Field("127.0.0.1", description="server bind address")
    port: int = Field(7860, description="server port")
    max_upload_mb: float = Field(25.0, gt=0, description="largest upload accepted, per file")
    chat_ui: bool = Field(True, description="serve the browser chat at /; off, the server "
                          "answers over the API, Slack and MCP only and never loads Gradio "
                          "(about 100 MiB less memory)")

    # sign-in and roles (ui/auth.py, citewise/access.py)
    auth: Literal["none", "token", "proxy"] | None = Field(
        None, description="who may use the server: 'token' (API tokens and accounts), 'proxy' "
        "(a trusted sign-in proxy's headers) or 'none'; unset: none on 127.0.0.1, else refuse "
        "to start")
    insecure_open: bool = Field(False, description="serve on a non-loopback address with "
                                "auth=none anyway (anyone who reaches it may delete documents)")
    auth_db: Path | None = Field(None, description="tokens, accounts, sessions and audit log "
                                 "(SQLite); default STORE/auth.sqlite3; replicas share one file")
    session_hours: float = Field(12.0, gt=0, description="browser sign-in lifetime")
    proxy_ips: str = Field("127.0.0.1,::1", description="addresses or networks (comma-separated) "
                           "the sign-in proxy connects from; its headers are ignored from others")
    proxy_user_header: str = Field("X-Forwarded-Email", description="the proxy's header naming "
                                   "the signed-in user (X-Forwarded-User is read when it is absent)")
    proxy_groups_header: str = Field("X-Forwarded-Groups", description="the proxy's header "
                                     "listing the user's groups (comma-separated)")
    proxy_roles: str = Field("", description="group=role pairs, comma-separated, e.g. "
                             "'admins=admin,newsroom=editor'; the highest matching role wins")
    proxy_default_role: str = Field("reader", description="role of a proxy user in no mapped "
                                    "group ('none' refuses them)")
    rate_ask: str = Field("120/minute", description="asks per token, user or (open) address")
    rate_upload: str = Field("30/minute", description="uploads, replaces and deletes per token, "
                             "user or (open) address")
    rate_signin: str = Field("10/minute", description="failed sign-ins per address before "
                             "further tries are refused for a while")

    # Slack
    slack_signing_secret: str | None = Field(None, description="Slack signing secret (webhook)",
                                             json_schema_extra=SECRET)
    slack_bot_token: str | None = Field(None, description="Slack bot token (xoxb-…)",
                                        json_schema_extra=SECRET)
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API address")
    slack_app_token: str | None = Field(
        None, description="app-level token (xapp-…): Socket Mode, no public URL needed",
        json_schema_extra=SECRET)

    @staticmethod
    def env_var(name: str) -> str:
        """The environment variable of the setting ``name`` (``k`` -> ``CITEWISE_K``)."""
        return f"CITEWISE_{name.upper()}"

    @classmethod
    def is_secret(cls, name: str) -> bool:
        """Keys and tokens: read from the environment only, never from a command line (which
        other users of the machine can see in the process list)."""
        extra = cls.model_fields[name].json_schema_extra
        return isinstance(extra, dict) and bool(extra.get("secret"))

    def to_env(self) -> dict[str, str]:
        """These settings as ``CITEWISE_*`` variables, for a child process (``citewise serve``
        started by the bench) to read back the same settings."""
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is not None:
                env[self.env_var(name)] = str(value).lower() if isinstance(value, bool) else str(value)
        return env

    def updated(self, **overrides: object) -> Settings:
        """Copy with CLI-flag overrides applied (None means: not given)."""
        data = {k: v for k, v in overrides.items() if v is not None}
        return self.model_copy(update=data)
