"""Settings come from the environment (TUTELA_ prefix) or from explicit values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tutela.config import Settings


def test_defaults_use_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'tutela.db').resolve()}"
    assert settings.secure_cookies is False


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TUTELA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TUTELA_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("TUTELA_BASE_URL", "https://privacy.example.com")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.resolved_database_url == "postgresql+psycopg://u@h/db"
    assert settings.secure_cookies is True


def test_invalid_value_names_the_field() -> None:
    with pytest.raises(ValidationError, match="session_hours"):
        Settings(session_hours=0)


def test_unknown_field_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(no_such_setting=1)  # type: ignore[call-arg]
