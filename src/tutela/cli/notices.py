"""``tutela notices …``: where the policy-change notices stand, start them, read one.

``status`` lists each version's notices (last sending day, counts per outcome,
language and source); ``send`` starts the notices of a version that has none
yet — the worker (``tutela serve`` or ``tutela worker``) finds the recipients and
sends; ``preview`` prints the mail of a version in one language. Starting after
the last sending day is refused and audited; ``--accept-late`` sends knowingly late.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutela.cli.console import err, out
from tutela.cli.state import runtime_of

if TYPE_CHECKING:
    from tutela.notices import VersionNotices

app = typer.Typer(
    help="Policy-change notices: status per version, start the notices, preview the mail."
)

VersionArgument = Annotated[
    int | None,
    typer.Argument(help="Version number; default: every upcoming version.", show_default=False),
]


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


class Language(StrEnum):
    DE = "de"
    EN = "en"


def _today(ctx: typer.Context) -> dt.date:
    from tutela.calendar import german_date

    return german_date(runtime_of(ctx).clock.now())


def _counts(values: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(values.items())) or "none"


_STOPPED = {
    "superseded": "a later version replaces it before it takes effect",
    "in_effect": "it took effect before every notice went out",
}


def _line(item: VersionNotices) -> str:
    send_by = item.send_by.isoformat() if item.send_by else "-"
    late = " LATE" if item.late else ""
    why = _STOPPED.get(item.cancelled_because or "")
    state = f"{item.state} ({why})" if why else item.state
    head = (
        f"version {item.version}: {state}{late}, effective {item.effective_on.isoformat()}, "
        f"send by {send_by}"
    )
    lines = [head]
    if item.by_status or item.skipped:
        lines.append(f"  recipients {item.recipients} ({_counts(item.by_status)})")
        lines.append(
            f"  languages: {_counts(item.by_language)}; sources: {_counts(item.by_source)}; "
            f"unusable addresses skipped: {item.skipped}"
        )
    for name, reason in item.tables_skipped:
        lines.append(f"  NOT READ (its account holders were not told): {name}: {reason}")
    return "\n".join(lines)


def _as_json(item: VersionNotices) -> dict[str, Any]:
    data = asdict(item)
    for name in ("effective_on", "send_by"):
        value = data[name]
        data[name] = value.isoformat() if value is not None else None
    data["recipients"] = item.recipients
    return data


@app.command()
def status(
    ctx: typer.Context,
    version: VersionArgument = None,
    output: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.TEXT,
) -> None:
    """Show each version's notices: state, last sending day and counts (no recipients).

    Exit 0; 1 when a version's notices are late or refused, or an audience table could
    not be read; 2 for an unknown version.
    """
    from tutela.notices import notices_of, overview

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    today = _today(ctx)
    with runtime.session_factory() as session:
        if version is None:
            items = overview(session, today=today)
        else:
            items = [notices_of(session, version=version, today=today)]
    if output is Format.JSON:
        out.print(json.dumps([_as_json(item) for item in items], indent=2))
    elif not items:
        out.print("No version is upcoming and no notices were sent.")
    for item in items if output is Format.TEXT else ():
        out.print(_line(item), markup=False, highlight=False)
    if any(item.late or item.state == "refused" or item.tables_skipped for item in items):
        raise typer.Exit(1)


@app.command()
def send(
    ctx: typer.Context,
    version: VersionArgument = None,
    accept_late: Annotated[
        bool,
        typer.Option(
            "--accept-late",
            help="Send although the last sending day has passed (audited as late).",
        ),
    ] = False,
    actor: Annotated[
        str, typer.Option("--actor", help="Who starts the notices (for the audit trail).")
    ] = "cli",
) -> None:
    """Start the notices of a version (default: every upcoming version that needs them).

    Starting twice does nothing the second time. Exit 1 when it is too late.
    """
    from tutela.notices import PlanState, plan_for, queue_notices, too_late
    from tutela.notices.campaign import upcoming_versions
    from tutela.policy.versions import get_version

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    today = _today(ctx)
    refused: list[int] = []
    with runtime.session_factory() as session, session.begin():
        if version is None:
            chosen = [
                v.number
                for v in upcoming_versions(session, today=today)
                if plan_for(session, version=v, today=today).state is PlanState.DUE
            ]
        else:
            chosen = [get_version(session, version).number]
        campaigns = []
        for number in chosen:
            campaign = queue_notices(
                session,
                version=number,
                master=runtime.master_key,
                clock=runtime.clock,
                actor=actor,
                allow_late=accept_late,
            )
            campaigns.append(campaign)
            if campaign.status == "refused":
                refused.append(number)
        errors = [too_late(c, today=today) for c in campaigns if c.status == "refused"]
        lines = [
            f"version {c.version}: {c.status}{' (late)' if c.late else ''}, send by "
            f"{c.send_by.isoformat()}"
            for c in campaigns
        ]
    if not chosen:
        out.print("No upcoming version needs notices.")
    for line in lines:
        out.print(line)
    if lines and not refused:
        out.print("The worker (tutela serve or tutela worker) finds the recipients and sends.")
    for error in errors:
        err.print(f"[bold red]error:[/] {error.detail}", highlight=False)
    if refused:
        raise typer.Exit(1)


@app.command()
def preview(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(help="The version announced.")],
    lang: Annotated[Language, typer.Option("--lang", help="Language of the mail.")] = Language.DE,
) -> None:
    """Print the notice mail of a version (subject and text) as people will receive it."""
    from tutela.errors import Conflict
    from tutela.notices import compose, plan_for
    from tutela.policy.versions import get_version

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session:
        announced = get_version(session, version)
        plan = plan_for(session, version=announced, today=_today(ctx))
        if plan.previous is None:
            raise Conflict(
                f"version {version}: there is no earlier version it replaces "
                f"({plan.state.value}), so there is no notice to show."
            )
        text = compose(
            version=announced,
            previous=get_version(session, plan.previous),
            language=lang.value,
            base_url=runtime.settings.base_url,
        )
    out.print(f"Subject: {text.subject}\n")
    out.print(text.text, markup=False)
