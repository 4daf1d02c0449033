"""``tutela db …``: schema migrations."""

from __future__ import annotations

import typer

from tutela.cli.console import out
from tutela.cli.state import runtime_of

app = typer.Typer(help="Database schema: upgrade and inspect.")


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Apply every pending migration (safe to run repeatedly)."""
    revision = runtime_of(ctx).migrate()
    out.print(f"database schema at {revision}")


@app.command()
def current(ctx: typer.Context) -> None:
    """Show the schema revision of the database and of this release.

    Exit 1 when the database is behind.
    """
    from tutela.storage import current_revision, head_revision

    runtime = runtime_of(ctx)
    now = current_revision(runtime.engine)
    head = head_revision()
    out.print(f"database: {now or 'empty'}\nrelease:  {head}")
    if now != head:
        out.print("run `tutela db upgrade` to bring the database up to date")
        raise typer.Exit(1)
