"""Settings: the only reader of the environment (prefix ``TUTELA_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("tutela-data")


class Settings(BaseSettings):
    """Runtime configuration; build one explicitly in tests."""

    model_config = SettingsConfigDict(env_prefix="TUTELA_", extra="forbid")

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Directory for the embedded database, the master key and outboxes.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to SQLite in the data directory.",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Base64 32-byte master key; generated into the data directory when unset.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public address used in links and cookies.",
    )
    declaration_path: Path | None = Field(
        default=None,
        description="Declaration YAML served before any version is published.",
    )
    default_language: Literal["de", "en"] = "de"
    session_hours: int = Field(default=8, ge=1, le=168)
    run_worker: bool = Field(default=True, description="Run the job worker inside `serve`.")

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tutela.db').resolve()}"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")
