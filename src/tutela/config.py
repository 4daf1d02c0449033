"""Settings: the only reader of the environment (prefix ``TUTELA_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("tutela-data")

GermanStateCode = Literal[
    "BB", "BE", "BW", "BY", "HB", "HE", "HH", "MV", "NI", "NW", "RP", "SH", "SL", "SN", "ST", "TH"
]
"""A German state as ISO 3166-2:DE code without the ``DE-`` prefix."""


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
    controller_state: GermanStateCode | None = Field(
        default=None,
        description="German state whose public holidays move request deadlines; default: the "
        "state in the declaration's controller address, else only nationwide holidays.",
    )
    app_assertion_key: SecretStr | None = Field(
        default=None,
        description="Shared secret (at least 32 characters) the operator's application signs "
        "in-app privacy requests of signed-in customers with.",
    )
    dsr_submissions_per_day: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Requests per identity and day before further ones are flagged for review.",
    )
    dsr_change_grace_hours: int = Field(
        default=24,
        ge=0,
        le=336,
        description="Hours an erasure or a change of contact data waits after the alert to "
        "the address on file went out, so that the person can have it stopped (0: at once).",
    )

    stores_file: Path | None = Field(
        default=None,
        description="YAML list of the operator's connected stores (name, kind, config); "
        "default: DATA_DIR/stores.yaml. The file must exist: list the stores, or write [] when "
        "none holds personal data.",
    )

    @field_validator("app_assertion_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError(
                "the app assertion key must be at least 32 characters; generate one with: "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return value

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
    def resolved_stores_file(self) -> Path:
        return self.stores_file if self.stores_file is not None else self.data_dir / "stores.yaml"

    @property
    def packages_dir(self) -> Path:
        return self.data_dir / "packages"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")
