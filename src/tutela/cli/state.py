"""Per-invocation state shared by the command groups through ``ctx.obj``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from tutela.cli.runtime import Runtime
from tutela.errors import ConfigurationError


@dataclass
class State:
    data_dir: Path | None = None
    database_url: str | None = None
    _runtime: Runtime | None = field(default=None, repr=False)

    def runtime(self) -> Runtime:
        if self._runtime is None:
            from pydantic import ValidationError

            from tutela.config import Settings

            overrides: dict[str, Any] = {}
            if self.data_dir is not None:
                overrides["data_dir"] = self.data_dir
            if self.database_url is not None:
                overrides["database_url"] = self.database_url
            try:
                settings = Settings(**overrides)
            except ValidationError as exc:
                first = exc.errors()[0]
                name = "TUTELA_" + "_".join(str(p) for p in first["loc"]).upper()
                raise ConfigurationError(
                    f"The setting {name} is not valid: {first['msg']}."
                ) from exc
            self._runtime = Runtime(settings=settings)
        return self._runtime

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


def state_of(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def runtime_of(ctx: typer.Context) -> Runtime:
    return state_of(ctx).runtime()
