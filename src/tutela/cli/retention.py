"""``tutela retention …``: plan and run sweeps, list them, and manage legal holds.

* ``plan`` — the dry run: per store, table and rule, how many rows would go, how
  many a statutory or legal hold keeps, how many other rows still refer to;
* ``sweep`` — run (or resume) a sweep with a progress bar; a rule that would erase
  every row of its table, or almost every row (at least 90 % and more than 1,000
  rows in one sweep), runs only with ``--confirm-everything STORE.TABLE``;
* ``runs`` — the recent sweeps with their counts per rule;
* ``hold add | list | release`` — manual legal holds per person or record set;
* ``schedule`` — queue the daily sweep (the worker runs it at 03:00 German time).

Rules come from the declaration in effect and ``retention.yaml`` next to the
stores file (see docs/retention.md).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutela.cli.console import err, out
from tutela.cli.state import runtime_of

if TYPE_CHECKING:
    from tutela.cli.runtime import Runtime
    from tutela.retention import Plan, SweepContext

app = typer.Typer(
    help="Retention: what has outlived its purpose in the connected stores, and legal holds."
)
hold_app = typer.Typer(help="Legal holds: keep a person's rows or a record set out of sweeps.")
app.add_typer(hold_app, name="hold")

Actor = Annotated[str, typer.Option("--actor", help="Who acts, for the audit trail.")]


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


@contextmanager
def _context(runtime: Runtime) -> Iterator[SweepContext]:
    from tutela.retention import SweepContext, load_mapping, sweep_stores

    runtime.require_current_schema()
    master = runtime.master_key
    context = SweepContext(
        stores=sweep_stores(runtime.settings, master=master),
        mapping=load_mapping(runtime.settings),
        master=master,
    )
    try:
        yield context
    finally:
        context.close()


def _plan_rows(found: Plan) -> list[dict[str, Any]]:
    rows = []
    for item in found.rules:
        counts = item.counts
        row: dict[str, Any] = {
            "rule": item.rule.id,
            "store": item.rule.store,
            "table": item.rule.table,
            "action": item.action,
            "notes": list(item.notes),
            "error": item.error,
        }
        if counts is not None:
            row.update(
                rows=counts.total,
                would_go=counts.would_go,
                kept_statutory=counts.held_statutory,
                kept_until=counts.held_until.isoformat() if counts.held_until else None,
                kept_legal=counts.held_legal,
                referenced=counts.referenced,
                undated=counts.undated,
                needs_confirmation=counts.needs_confirmation,
            )
        rows.append(row)
    return rows


@app.command()
def plan(
    ctx: typer.Context,
    output: Annotated[
        Format, typer.Option("--format", help="text (default) or json.")
    ] = Format.TEXT,
) -> None:
    """Show what a sweep would do now, per store, table and rule; change nothing."""
    from tutela.retention import plan as make_plan

    runtime = runtime_of(ctx)
    with _context(runtime) as context, runtime.session_factory() as session:
        found = make_plan(session, context=context, clock=runtime.clock)
    rows = _plan_rows(found)
    if output is Format.JSON:
        document = {
            "as_of": found.as_of.isoformat(),
            "policy_version": found.policy_version,
            "rules": rows,
        }
        out.print(json.dumps(document, indent=2))
        return
    out.print(
        f"Retention plan as of {found.as_of:%Y-%m-%d %H:%M} UTC, declaration version "
        f"{found.policy_version}:"
    )
    if not rows:
        out.print("  no table is mapped in retention.yaml; nothing would be swept.")
    for row in rows:
        out.print(f"\n[bold]{row['rule']}[/]  ({row['action']})")
        if row["error"]:
            out.print(f"  [red]cannot be counted:[/] {row['error']}")
        elif "would_go" in row:
            out.print(f"  {row['would_go']} of {row['rows']} rows would go")
            if row["kept_statutory"]:
                out.print(
                    f"  {row['kept_statutory']} kept by a statutory hold until "
                    f"{row['kept_until'] or 'unknown'} at the latest"
                )
            if row["kept_legal"]:
                out.print(f"  {row['kept_legal']} kept by a legal hold")
            if row["referenced"]:
                out.print(f"  {row['referenced']} still referred to by other rows")
            if row["undated"]:
                out.print(f"  {row['undated']} without a date for the event (not expired)")
            if row["needs_confirmation"]:
                what = "empties" if row["would_go"] == row["rows"] else "almost empties"
                out.print(
                    f"  [yellow]this {what} the table: a sweep needs "
                    f"--confirm-everything {row['store']}.{row['table']}[/]"
                )
        for note in row["notes"]:
            out.print(f"  note: {note}")


@app.command()
def sweep(
    ctx: typer.Context,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            "--chunk-size", help="Rows per chunk and transaction (default 100000).", min=1
        ),
    ] = None,
    confirm_everything: Annotated[
        list[str] | None,
        typer.Option(
            "--confirm-everything",
            help=(
                "STORE.TABLE whose rule may erase every row or almost every row (at least "
                "90 % and more than 1,000 rows); repeat for several."
            ),
            show_default=False,
        ),
    ] = None,
    actor: Actor = "cli",
) -> None:
    """Run a sweep now, or resume the one that was interrupted; show its progress.

    Resuming retries rules that failed and re-runs refused rules confirmed now.
    Exit 0 when every rule ran; 1 when a rule failed or was refused.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from tutela.retention import DEFAULT_CHUNK, StepOutcome, SweepRun, run_report, run_sweep

    runtime = runtime_of(ctx)
    tasks: dict[str, Any] = {}
    with (
        _context(runtime) as context,
        Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err
        ) as progress,
    ):

        def opened(run: SweepRun, resumed: bool) -> None:
            verb = "resuming" if resumed else "started"
            progress.console.print(
                f"{verb} sweep {run.id} as of {run.as_of:%Y-%m-%d %H:%M} UTC "
                f"(declaration version {run.policy_version})"
            )

        def observe(outcome: StepOutcome) -> None:
            task = tasks.get(outcome.rule)
            if task is None:
                task = tasks[outcome.rule] = progress.add_task(outcome.rule, total=outcome.before)
            if outcome.event == "chunk":
                progress.advance(task, outcome.rows)
            elif outcome.event == "ended":
                progress.update(
                    task,
                    completed=outcome.before,
                    description=(f"{outcome.rule} ({outcome.status})"),
                )

        run_id = run_sweep(
            runtime.session_factory,
            context=context,
            clock=runtime.clock,
            actor=actor,
            chunk_size=chunk_size or DEFAULT_CHUNK,
            confirmed=confirm_everything or [],
            observe=observe,
            opened=opened,
        )
    with runtime.session_factory() as session:
        report = run_report(session, run_id=run_id)
    for step in report.steps:
        line = f"{step.rule}: {step.status}, {step.rows_done} of {step.before} rows"
        if step.held_statutory:
            line += f", {step.held_statutory} kept by a statutory hold"
        if step.held_legal:
            line += f", {step.held_legal} kept by a legal hold"
        out.print(line)
        if step.note:
            out.print(f"  {step.note}")
    out.print(f"sweep {run_id}: {report.run.status}, {report.rows_done} rows erased")
    if report.problems:
        raise typer.Exit(1)


@app.command()
def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", help="How many sweeps.", min=1)] = 5,
) -> None:
    """List the recent sweeps, newest first, with the counts of each rule."""
    from tutela.retention import recent_runs

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session:
        reports = recent_runs(session, limit=limit)
    if not reports:
        out.print("no sweep has run yet")
    for report in reports:
        run = report.run
        out.print(
            f"sweep {run.id} ({run.trigger}, {run.status}) as of {run.as_of:%Y-%m-%d %H:%M} UTC: "
            f"{report.rows_done} rows"
        )
        if run.error:
            out.print(f"  error: {run.error}")
        for step in report.steps:
            after = "-" if step.after is None else step.after
            out.print(
                f"  {step.rule}: {step.status}; before {step.before}, done {step.rows_done}, "
                f"after {after}; statutory {step.held_statutory}, legal {step.held_legal}"
            )


@app.command()
def schedule(ctx: typer.Context) -> None:
    """Queue the daily sweep (03:00 German time); the worker runs it and queues the next."""
    from tutela.retention.jobs import ensure_daily_sweep, next_daily_at

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session, session.begin():
        added = ensure_daily_sweep(session, clock=runtime.clock)
    when = next_daily_at(runtime.clock.now())
    state = "queued" if added else "already queued"
    out.print(f"daily sweep {state} for {when:%Y-%m-%d %H:%M} UTC")


def _day(text: str | None) -> dt.date | None:
    if text is None:
        return None
    from tutela.errors import InvalidInput

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--until {text!r} is not a date; write YYYY-MM-DD.") from None


@hold_app.command("add")
def hold_add(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why the rows must be kept.")],
    email: Annotated[str | None, typer.Option("--email", help="A person's e-mail.")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="A person's phone.")] = None,
    customer_id: Annotated[
        str | None, typer.Option("--customer-id", help="A person's customer id.")
    ] = None,
    store: Annotated[str | None, typer.Option("--store", help="Record set: store.")] = None,
    table: Annotated[str | None, typer.Option("--table", help="Record set: table.")] = None,
    column: Annotated[
        str | None,
        typer.Option(
            "--column", help="Record set: a column that is not personal data (a key, a date)."
        ),
    ] = None,
    value: Annotated[str | None, typer.Option("--value", help="Rows with this value.")] = None,
    low: Annotated[str | None, typer.Option("--from", help="Range start (inclusive).")] = None,
    high: Annotated[str | None, typer.Option("--to", help="Range end (inclusive).")] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Last day held (YYYY-MM-DD); default: until released."),
    ] = None,
    actor: Actor = "cli",
) -> None:
    """Place a legal hold on a person (--email, --phone or --customer-id) or a record set."""
    from tutela.errors import InvalidInput
    from tutela.retention import place_records_hold, place_subject_hold, sweep_stores

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    person = {"email": email, "phone": phone, "customer_id": customer_id}
    given = {kind: text for kind, text in person.items() if text is not None}
    records = store is not None or table is not None or column is not None
    if len(given) + int(records) != 1:
        raise InvalidInput(
            "Hold either one person (--email, --phone or --customer-id) or one record set "
            "(--store, --table, --column with --value or --from/--to)."
        )
    day = _day(until)
    with runtime.session_factory() as session, session.begin():
        if given:
            ((kind, text),) = given.items()
            hold = place_subject_hold(
                session,
                kind=kind,
                value=text,
                reason=reason,
                until=day,
                master=runtime.master_key,
                clock=runtime.clock,
                actor=actor,
                default_country_code=runtime.settings.default_phone_country_code,
            )
        else:
            if store is None or table is None or column is None:
                raise InvalidInput("A record set needs --store, --table and --column.")
            hold = place_records_hold(
                session,
                store=store,
                table=table,
                column=column,
                value=value,
                low=low,
                high=high,
                reason=reason,
                until=day,
                clock=runtime.clock,
                actor=actor,
                stores=sweep_stores(runtime.settings, master=runtime.master_key),
            )
        hold_id = hold.id
    out.print(f"legal hold {hold_id} placed")


@hold_app.command("list")
def hold_list(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include released holds.")] = False,
) -> None:
    """List legal holds (a person's hold shows its subject id and kind, never the value)."""
    from tutela.retention import list_holds

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session:
        holds = list_holds(session, include_released=show_all)
    if not holds:
        out.print("no legal holds")
    for hold in holds:
        if hold.kind == "subject":
            what = f"person (subject {hold.subject_id}, by {hold.identity_kind})"
        elif hold.value is not None:
            what = f"{hold.store}.{hold.table_name} where {hold.column_name} = {hold.value}"
        else:
            what = (
                f"{hold.store}.{hold.table_name} where {hold.column_name} from "
                f"{hold.low or '…'} to {hold.high or '…'}"
            )
        until = hold.until.isoformat() if hold.until else "released"
        state = f"released {hold.released_at:%Y-%m-%d}" if hold.released_at else f"until {until}"
        out.print(f"{hold.id}: {what}; {state}; by {hold.created_by}: {hold.reason}")


@hold_app.command("release")
def hold_release(
    ctx: typer.Context,
    hold_id: Annotated[int, typer.Argument(help="The hold's number (see `hold list`).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the hold ends.")],
    actor: Actor = "cli",
) -> None:
    """End a legal hold; its rows go with the next sweep if they have expired."""
    from tutela.retention import release_hold

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session, session.begin():
        release_hold(session, hold_id=hold_id, reason=reason, clock=runtime.clock, actor=actor)
    out.print(f"legal hold {hold_id} released")
