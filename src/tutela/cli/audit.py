"""``tutela audit …``: verify the hash chain, export it as JSON lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tutela.cli.console import err, out
from tutela.cli.state import runtime_of

app = typer.Typer(help="Check and export the tamper-evident audit trail.")


@app.command()
def verify(ctx: typer.Context) -> None:
    """Recompute every hash of the audit chain.

    Exit 0 when intact; 1 naming the first bad sequence when any entry was altered,
    deleted, inserted or reordered.
    """
    from tutela.audit import verify as run_verify

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session:
        result = run_verify(session)
    if result.ok:
        out.print(f"audit trail intact: {result.checked} entries verified")
        return
    err.print(
        f"[bold red]audit trail broken[/] at sequence {result.first_bad_sequence}: {result.reason}"
    )
    raise typer.Exit(1)


@app.command()
def export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    since: Annotated[
        int | None, typer.Option("--since", help="Only entries after this sequence number.")
    ] = None,
) -> None:
    """Write the audit trail as JSON lines (one entry per line, chain fields included)."""
    from tutela.audit import export_jsonl

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session:
        if output is None:
            count = export_jsonl(session, sys.stdout, since=since)
        else:
            tmp = output.with_name(output.name + ".tmp")
            try:
                with tmp.open("w", encoding="utf-8") as handle:
                    count = export_jsonl(session, handle, since=since)
                tmp.replace(output)
            except OSError as exc:
                from tutela.errors import ConfigurationError

                tmp.unlink(missing_ok=True)
                raise ConfigurationError(
                    f"Cannot write {output}: {exc.strerror}; choose a writable file path."
                ) from exc
    err.print(f"exported {count} entries")
