"""One settings object, read from ``CITEWISE_*`` environment variables and mirrored by CLI flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Everything a user can configure. CLI flags override environment, which overrides defaults."""

    model_config = SettingsConfigDict(env_prefix="CITEWISE_", env_file=None, extra="ignore")

    # storage
    store: Path = Field(Path(".citewise"), description="Directory of the embedded store and caches")
    chroma_url: str | None = Field(None, description="Chroma server URL; embedded when unset")
    collection: str = Field("citewise", description="Chroma collection name")

    # embeddings and chunking
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="'all-MiniLM-L6-v2' (bundled, verified) or any sentence-transformers name/path",
    )
    embed_batch_size: int = Field(64, ge=1)
    # embedding server (OpenAI-compatible /v1/embeddings); in process when unset. The model name
    # sent is embedding_model; chunking counts tokens with its tokenizer, loaded locally.
    embeddings_url: str | None = Field(None, description="e.g. http://gpu-box:7997/v1")
    embeddings_api_key: str | None = None
    embeddings_tokenizer: str | None = Field(None, description="Local tokenizer folder/name; "
                                             "default: embedding_model's own")
    embeddings_concurrency: int = Field(4, ge=1, description="Requests in flight per process")
    embeddings_timeout: float = Field(60.0, gt=0)
    embeddings_max_retries: int = Field(3, ge=0)
    chunk_tokens: int = Field(200, ge=16, le=510, description="Max tokens per chunk")
    chunk_overlap: int = Field(30, ge=0, description="Max tokens of whole sentences repeated")
    max_file_mb: float = Field(25.0, gt=0, description="Larger files are refused")

    # distributed ingest on Ray (ingest/ray_pipeline.py, `citewise ingest --ray`)
    ray_embed_actors: int = Field(2, ge=1, description="Embedding actors (one model each)")
    ray_batch_size: int = Field(16, ge=1, description="Documents per embedding batch on Ray")
    ray_actor_cpus: float = Field(1.0, gt=0, description="CPUs reserved per embedding actor")

    # retrieval and answering
    k: int = Field(5, ge=1, le=50, description="Passages used to answer")
    generator: str = Field("extractive", description="Answer backend name (see rag/registry.py)")
    abstain_threshold: float | None = Field(None, description="Override the calibrated threshold")

    # LLM backend (issue 6)
    llm_provider: str = "openai"
    llm_model: str = ""
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_api_version: str | None = None
    llm_deployment: str | None = None
    llm_temperature: float = 0.0
    llm_max_tokens: int = 512
    llm_timeout: float = 60.0
    llm_max_retries: int = Field(1, ge=0, description="Retries of a failed LLM request")
    llm_condense: bool = Field(True, description="Condense follow-ups into standalone questions")
    llm_completions: bool = Field(
        False, description="Use the text-completions API (base models without a chat template)"
    )
    # the offline model (issue 14): rag/llm/local.py
    llm: str | None = Field(
        None, description="'local': start the bundled Qwen2.5-Coder-1.5B (make llm) and use it"
    )
    llm_ctx: int = Field(2048, ge=512, description="Context size of the local model's server")
    llm_threads: int = Field(0, ge=0, description="Threads of the local model (0: all cores)")
    llm_small_prompt: bool = Field(
        False, description="Prompt for small models: best sentences only, quote first, short"
    )

    # server
    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: float = 25.0

    # Slack
    slack_signing_secret: str | None = None
    slack_bot_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_app_token: str | None = Field(
        None, description="App-level token (xapp-…): Socket Mode, no public URL needed"
    )

    def updated(self, **overrides: object) -> Settings:
        """Copy with CLI-flag overrides applied (None means: not given)."""
        data = {k: v for k, v in overrides.items() if v is not None}
        return self.model_copy(update=data)
