"""``tutela notices status|send|preview`` in process, on both databases."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from sqlalchemy.orm import Session, sessionmaker

from tests.notices.conftest import EXAMPLE, changed
from tutela.calendar import german_date
from tutela.cli import app as cli_app
from tutela.cli import notices as notices_commands
from tutela.clock import FrozenClock, SystemClock
from tutela.policy.loader import load_declaration
from tutela.policy.versions import publish
from tutela.storage import make_engine, make_session_factory, transaction


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    args: list[str]
    factory: sessionmaker[Session]
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        try:
            cli_app.main([*self.args, "notices", *args])
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def publish_two(self, *, days_ago: int = 0) -> None:
        """Versions 1 and 2, published ``days_ago`` days ago (2 at the earliest date)."""
        clock = FrozenClock(SystemClock().now() - dt.timedelta(days=days_ago))
        declaration = load_declaration(EXAMPLE)
        for chosen in (declaration, changed(declaration)):
            with transaction(self.factory) as session:
                publish(session, declaration=chosen, source_text="#\n", actor="t", clock=clock)


@pytest.fixture
def cli(
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Cli]:
    """The root command with only the notices group (the lead registers it in cli/app.py)."""
    root = typer.Typer(pretty_exceptions_enable=False)
    root.callback()(cli_app.root)
    root.add_typer(notices_commands.app, name="notices")
    monkeypatch.setattr(cli_app, "app", root)
    (tmp_path / "stores.yaml").write_text("[]\n", encoding="utf-8")
    engine = make_engine(db_url)
    yield Cli(
        ["--data-dir", str(tmp_path), "--database-url", db_url],
        make_session_factory(engine),
        capsys,
    )
    engine.dispose()


@pytest.mark.promise("P20")
def test_send_starts_the_notices_once_and_status_counts_them(cli: Cli) -> None:
    cli.publish_two()
    before = cli("status")
    assert before.code == 0
    assert "version 2: not_queued" in before.out
    first = cli("send")
    assert first.code == 0, first.err
    today = german_date(SystemClock().now()).isoformat()
    assert f"version 2: planning, send by {today}" in first.out
    assert "worker" in first.out
    again = cli("send", "2")
    assert again.code == 0
    assert "version 2: planning" in again.out
    shown = cli("status", "2", "--format", "json")
    (item,) = json.loads(shown.out)
    assert (item["version"], item["state"], item["send_by"], item["late"]) == (
        2,
        "planning",
        today,
        False,
    )


@pytest.mark.promise("P20")
def test_send_after_the_last_day_is_refused_loudly(cli: Cli) -> None:
    cli.publish_two(days_ago=2)
    refused = cli("send", "2")
    assert refused.code == 1
    assert "version 2: refused" in refused.out
    assert "error:" in refused.err
    assert "nothing was sent" in refused.err
    assert cli("status").code == 1
    accepted = cli("send", "2", "--accept-late")
    assert accepted.code == 0
    assert "version 2: planning (late)" in accepted.out


def test_preview_prints_the_mail(cli: Cli) -> None:
    cli.publish_two()
    german = cli("preview", "2", "--lang", "de")
    assert german.code == 0
    assert german.out.startswith("Subject: ")
    assert "Neue Speicherdauer für den Zweck „Newsletter“" in german.out
    assert cli("preview", "1").code == 1  # nothing before version 1
    unknown = cli("status", "9")
    assert unknown.code == 2
    assert "version 9" in unknown.err


def test_status_names_stopped_notices_and_tables_not_read() -> None:
    from tutela.notices import VersionNotices

    item = VersionNotices(
        version=2,
        effective_on=dt.date(2026, 4, 14),
        state="cancelled",
        send_by=dt.date(2026, 3, 2),
        by_status={"cancelled": 3, "sent": 1},
        tables_skipped=(("log", "audience 'log': the table 'log' has no primary key; ..."),),
        cancelled_because="superseded",
    )
    text = notices_commands._line(item)
    assert text.startswith(
        "version 2: cancelled (a later version replaces it before it takes effect)"
    )
    assert "  NOT READ (its account holders were not told): log: audience 'log'" in text
