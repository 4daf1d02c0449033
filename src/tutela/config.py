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
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for outgoing mail; without it mail goes to DATA_DIR/outbox.",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls, tls (implicit) or none (local relays only)"
    )
    mail_from: str = Field(
        default="privacy@example.com", description="Sender address of mail Tutela sends."
    )
    default_phone_country_code: str = Field(
        default="49",
        pattern=r"^[1-9][0-9]{0,2}$",
        description="Country calling code for phone numbers written without one.",
    )

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
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")
