"""``tutela logs``: anonymize access logs, count what they show, purge the raw ones."""

from __future__ import annotations

import typer

from tutela.cli import logs_anonymize, logs_stats

app = typer.Typer(
    help="Access logs: shorten client addresses, report aggregate statistics, purge raw logs.",
    no_args_is_help=True,
)
logs_anonymize.register(app)
logs_stats.register(app)
