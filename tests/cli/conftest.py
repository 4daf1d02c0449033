"""Run the ``tutela`` command in process and capture what it prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tutela.cli.app import main

EXAMPLE = Path(__file__).parents[2] / "src" / "tutela" / "policy" / "examples" / "example.yaml"


@dataclass
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    def invoke(*args: str, stdin: str | None = None) -> Result:
        if stdin is not None:
            import io

            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Result(code=code, out=captured.out, err=captured.err)

    return invoke


@pytest.fixture
def db_args(db_url: str, tmp_path: Path) -> list[str]:
    """Global options pointing the command at a fresh, migrated database."""
    return ["--data-dir", str(tmp_path / "data"), "--database-url", db_url]
