"""``tutela staff …`` and ``tutela apikey …``: who may use the console and the API."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tutela.cli.console import err, out
from tutela.cli.state import runtime_of

staff_app = typer.Typer(help="Staff accounts for the admin console.")
apikey_app = typer.Typer(help="API keys for the JSON API.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first: str = typer.prompt("Password", hide_input=True)
    second: str = typer.prompt("Repeat password", hide_input=True)
    if first != second:
        from tutela.errors import InvalidInput

        raise InvalidInput("The two passwords differ; nothing was saved.")
    return first


@staff_app.command("add")
def add(
    ctx: typer.Context,
    email: Annotated[str, typer.Option("--email", help="Login e-mail address.")],
    role: Annotated[str, typer.Option("--role", help="admin, dpo or support.")] = "dpo",
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add a staff member (password: at least 12 characters)."""
    from tutela.staff.service import add_staff

    password = _read_password(password_stdin)
    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session, session.begin():
        user = add_staff(
            session,
            email=email,
            password=password,
            role=role,
            display_name=name or email,
            actor="cli",
            clock=runtime.clock,
        )
        out.print(f"added {user.email} with role {user.role}")


@apikey_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="What the key is for.")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", help="policy:read, policy:write, audit:read, staff:admin."),
    ],
) -> None:
    """Create an API key; it is shown once and stored only as a digest."""
    from tutela.staff.service import create_api_key

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session, session.begin():
        key, record = create_api_key(
            session, name=name, scopes=scope, actor="cli", clock=runtime.clock
        )
        err.print(f"created key {record.prefix} ({', '.join(scope)}); store it now:")
    out.print(key)
