"""``tutela requests …``: the manual tasks of a request, and closing them from the shell.

``tasks`` lists a request's manual tasks (a store Tutela cannot reach, handled by
staff); ``confirm-task`` closes one with evidence of what was done and
``task-not-done`` with the reason it could not be done. The request is answered
by the worker once no task is open. Evidence and reasons stay in the audit trail
for good: write them without personal data (a file or ticket number instead of a
name or address); text with an e-mail address or the request's identity is refused.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from tutela.cli.console import out
from tutela.cli.state import runtime_of

app = typer.Typer(
    help="Data-subject requests: list a request's manual tasks and confirm them (with "
    "evidence) or mark them as not done (with the reason)."
)

Reference = Annotated[
    str, typer.Argument(help="The request's reference, such as DSR-ABCD-EFGH-JKLM.")
]
Store = Annotated[str, typer.Option("--store", help="The manual store whose task is closed.")]
Actor = Annotated[
    str, typer.Option("--actor", help="Who closes the task, for the audit trail (e.g. staff:3).")
]


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


@app.command()
def tasks(
    ctx: typer.Context,
    reference: Reference,
    output: Annotated[
        Format, typer.Option("--format", help="text (default) or json.")
    ] = Format.TEXT,
) -> None:
    """List the manual tasks of a request: store, operation, state and what to do.

    Exit 0; 2 when no request has this reference.
    """
    from tutela.dsr import get_request
    from tutela.dsr.tasks import tasks_of

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session:
        found = get_request(session, reference=reference)
        listed = tasks_of(found)
        status, name = found.status, found.reference
    if output is Format.JSON:
        rows = [
            {
                "store": t.store,
                "operation": t.operation,
                "state": t.state,
                "task": t.text,
                "by": t.by,
                "at": t.at,
                "note": t.note,
            }
            for t in listed
        ]
        out.print(json.dumps({"reference": name, "status": status, "tasks": rows}, indent=2))
        return
    if not listed:
        out.print(f"{name} ({status}): no manual tasks.")
        return
    open_count = sum(1 for t in listed if t.is_open)
    out.print(f"{name} ({status}): {open_count} of {len(listed)} manual task(s) open.")
    for t in listed:
        closed = f" by {t.by} on {(t.at or '')[:10]}: {t.note}" if not t.is_open else ""
        out.print(f"- {t.store} ({t.operation}): {t.state}{closed}")
        if t.is_open:
            out.print(f"  {t.text}")


def _close(
    ctx: typer.Context,
    reference: str,
    store: str,
    actor: str,
    *,
    evidence: str | None = None,
    reason: str = "",
) -> str:
    """Close the task in one transaction (confirmed with ``evidence``, else not done)."""
    from tutela.dsr import get_request
    from tutela.dsr.tasks import confirm_task, task_not_done, tasks_of
    from tutela.errors import InvalidInput

    who = actor.strip()
    if not who:
        raise InvalidInput("actor: say who closes the task (for example staff:3).", field="actor")
    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    master, clock = runtime.master_key, runtime.clock
    with runtime.session_factory() as session, session.begin():
        found = get_request(session, reference=reference)
        if evidence is not None:
            confirm_task(
                session,
                request=found,
                store=store.strip(),
                evidence=evidence,
                actor=who,
                master=master,
                clock=clock,
            )
        else:
            task_not_done(
                session,
                request=found,
                store=store.strip(),
                reason=reason,
                actor=who,
                master=master,
                clock=clock,
            )
        left = [t.store for t in tasks_of(found) if t.is_open]
        name = found.reference
    if left:
        return f"{name}: {len(left)} manual task(s) still open ({', '.join(left)})."
    return f"{name}: no manual task is open; the worker now answers the request."


@app.command("confirm-task")
def confirm_task_command(
    ctx: typer.Context,
    reference: Reference,
    store: Store,
    evidence: Annotated[
        str,
        typer.Option(
            "--evidence",
            help="What was done and where, 10 to 2,000 characters, without personal data.",
        ),
    ],
    actor: Actor,
) -> None:
    """Confirm that staff carried out a manual task, with evidence.

    Exit 0 when recorded; 1 when the task or the request is closed already; 2 for
    unusable input or an unknown request or store.
    """
    out.print(_close(ctx, reference, store, actor, evidence=evidence))


@app.command("task-not-done")
def task_not_done_command(
    ctx: typer.Context,
    reference: Reference,
    store: Store,
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="Why it cannot be done (the person is told), without personal data.",
        ),
    ],
    actor: Actor,
) -> None:
    """Mark a manual task as not done; the request then ends partially fulfilled.

    Exit 0 when recorded; 1 when the task or the request is closed already; 2 for
    unusable input or an unknown request or store.
    """
    out.print(_close(ctx, reference, store, actor, reason=reason))
