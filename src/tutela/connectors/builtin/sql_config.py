"""Settings of the ``sql`` connector and its factory for the registry."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutela.connectors.builtin.sql import SqlConnector
from tutela.connectors.dataset import Dataset, load_dataset
from tutela.crypto import MasterKey
from tutela.errors import ConfigurationError

__all__ = ["SqlConfig", "create_sql"]


class SqlConfig(BaseModel):
    """Settings of a SQL connector, as given to ``create("sql", config)``."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, populate_by_name=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    url: str = Field(min_length=1)
    dataset: Dataset | Path | str
    overrides: Path | str | None = None
    dataset_key: str | None = None
    master_key: MasterKey | None = None
    db_schema: str | None = Field(default=None, alias="schema")
    chunk_size: int = Field(default=500, ge=1, le=10_000)
    batch_size: int = Field(default=1000, ge=1, le=100_000)


def create_sql(config: Mapping[str, Any]) -> SqlConnector:
    """The ``sql`` factory: build a connector from ``config`` (see :class:`SqlConfig`)."""
    try:
        parsed = SqlConfig.model_validate(dict(config))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ConfigurationError(
            f"The sql connector settings are not valid ({problems}); give at least name, url "
            "and dataset.",
            field="connectors",
        ) from None
    dataset = parsed.dataset
    if not isinstance(dataset, Dataset):
        dataset = load_dataset(dataset, overrides=parsed.overrides, key=parsed.dataset_key)
    return SqlConnector(
        name=parsed.name,
        url=parsed.url,
        dataset=dataset,
        master_key=parsed.master_key,
        schema=parsed.db_schema,
        chunk_size=parsed.chunk_size,
        batch_size=parsed.batch_size,
    )
