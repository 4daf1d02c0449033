"""The ``tutela`` command: builds the Typer app and turns errors into one clear sentence."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tutela import __version__
from tutela.cli import audit as audit_commands
from tutela.cli import consent as consent_commands
from tutela.cli import db as db_commands
from tutela.cli import logs as logs_commands
from tutela.cli import notices as notices_commands
from tutela.cli import policy as policy_commands
from tutela.cli import requests as requests_commands
from tutela.cli import retention as retention_commands
from tutela.cli import ropa as ropa_commands
from tutela.cli import server as server_commands
from tutela.cli import staff as staff_commands
from tutela.cli.console import err
from tutela.cli.state import State
from tutela.errors import TutelaError

app = typer.Typer(
    name="tutela",
    help="Tutela keeps the promises of a privacy statement: declare once, publish, prove.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
app.add_typer(policy_commands.app, name="policy")
app.add_typer(audit_commands.app, name="audit")
app.add_typer(consent_commands.app, name="consent")
app.add_typer(db_commands.app, name="db")
app.add_typer(logs_commands.app, name="logs")
app.add_typer(notices_commands.app, name="notices")
app.add_typer(requests_commands.app, name="requests")
app.add_typer(retention_commands.app, name="retention")
app.add_typer(ropa_commands.app, name="ropa")
app.add_typer(staff_commands.staff_app, name="staff")
app.add_typer(staff_commands.apikey_app, name="apikey")
server_commands.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tutela {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Data directory (database, master key). "
            "Default: $TUTELA_DATA_DIR or ./tutela-data.",
            show_default=False,
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. "
            "Default: $TUTELA_DATABASE_URL or SQLite in the data directory.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Tutela keeps the promises of a privacy statement: declare once, publish, prove."""
    state = State(data_dir=data_dir, database_url=database_url)
    ctx.obj = state
    ctx.call_on_close(state.close)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; a TutelaError becomes one sentence and a non-zero exit."""
    try:
        result = app(args=argv, standalone_mode=False, obj=None)
        code = result if isinstance(result, int) else 0
    except TutelaError as exc:
        code = report(exc)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        err.print("Aborted.")
        code = 130
    except KeyboardInterrupt:
        code = 130
    except typer.TyperException as exc:  # usage errors: bad option values, missing arguments
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {exc}")
        code = int(getattr(exc, "exit_code", 2))
    sys.exit(code)


def report(exc: TutelaError) -> int:
    """Print ``exc`` as one sentence on standard error; returns the exit code for it."""
    err.print(f"[bold red]error:[/] {exc.detail}", highlight=False)
    return exc_exit_code(exc)


def exc_exit_code(exc: TutelaError) -> int:
    """1 for findings and failed checks, 2 for unusable input or configuration."""
    from tutela.errors import (
        ConfigurationError,
        InvalidInput,
        NotFound,
        StorageUnavailable,
    )

    if isinstance(exc, InvalidInput | ConfigurationError | StorageUnavailable | NotFound):
        return 2
    return 1
