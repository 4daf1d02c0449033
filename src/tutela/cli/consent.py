"""``tutela consent …``: record withdrawals that reached staff, show, check and verify.

A person is named by exactly one of ``--email``, ``--phone`` or ``--customer-id``
and found through the blind index. ``show`` opens the person's records only with
a reason from the fixed list and writes the opening to the audit trail first.
The suppression list commands (``suppress``, ``lift``, ``suppressed``) live in
:mod:`tutela.cli.suppression`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tutela.cli import suppression as suppression_commands
from tutela.cli.console import err, out
from tutela.cli.state import runtime_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tutela.cli.runtime import Runtime
    from tutela.subjects import Subject

app = typer.Typer(
    help="Consent records: record withdrawals received by e-mail, letter, fax or phone; "
    "show a person's history, check a purpose, verify the ledger; list, look up and lift "
    "addresses on the suppression list."
)

UNKNOWN = "No person is known under this {label}; nothing was {done}."
LABELS = {"email": "e-mail address", "phone": "phone number", "customer_id": "customer id"}


class StaffChannel(StrEnum):
    EMAIL = "email"
    LETTER = "letter"
    FAX = "fax"
    PHONE = "phone"


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


Email = Annotated[str | None, typer.Option("--email", help="The person's e-mail address.")]
Phone = Annotated[str | None, typer.Option("--phone", help="The person's phone number.")]
CustomerId = Annotated[
    str | None, typer.Option("--customer-id", help="The person's customer number.")
]
Actor = Annotated[
    str, typer.Option("--actor", help="Who does this, for the audit trail (e.g. staff:3).")
]


def _identity(email: str | None, phone: str | None, customer_id: str | None) -> tuple[str, str]:
    """The one identity given, as (kind, value); InvalidInput when none or several."""
    from tutela.errors import InvalidInput

    given = [
        (kind, value)
        for kind, value in (("email", email), ("phone", phone), ("customer_id", customer_id))
        if value is not None
    ]
    if len(given) != 1:
        raise InvalidInput(
            "email: name the person by exactly one of --email, --phone or --customer-id.",
            field="email",
        )
    return given[0]


def _find(session: Session, runtime: Runtime, kind: str, value: str, done: str) -> Subject:
    """The subject holding the identity; NotFound (exit 2) saying nothing more."""
    from tutela.errors import NotFound
    from tutela.subjects import find_subject

    subject = find_subject(
        session,
        kind=kind,
        value=value,
        master=runtime.master_key,
        default_country_code=runtime.settings.default_phone_country_code,
    )
    if subject is None:
        raise NotFound(UNKNOWN.format(label=LABELS[kind], done=done), field=kind)
    return subject


def _channel(text: str) -> StaffChannel:
    from tutela.errors import InvalidInput

    try:
        return StaffChannel(text.strip().lower())
    except ValueError:
        choices = ", ".join(c.value for c in StaffChannel)
        raise InvalidInput(
            f"channel: {text[:32]!r} is not a way a withdrawal reaches staff; use one of "
            f"{choices}.",
            field="channel",
        ) from None


def _received(text: str, today: dt.date) -> dt.date:
    from tutela.errors import InvalidInput

    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            "received: expected the day the withdrawal arrived as YYYY-MM-DD, such as "
            f"{today.isoformat()}.",
            field="received",
        ) from None
    if day > today:
        raise InvalidInput(
            f"received: {day.isoformat()} lies in the future; give the day the withdrawal "
            "arrived (today or earlier).",
            field="received",
        )
    return day


@app.command()
def withdraw(
    ctx: typer.Context,
    channel: Annotated[
        str, typer.Option("--channel", help="How it arrived: email, letter, fax or phone.")
    ],
    received: Annotated[
        str, typer.Option("--received", help="The day it arrived, YYYY-MM-DD (not in the future).")
    ],
    email: Email = None,
    phone: Phone = None,
    customer_id: CustomerId = None,
    purpose: Annotated[
        list[str] | None,
        typer.Option("--purpose", help="A purpose id to withdraw; repeat for several."),
    ] = None,
    all_marketing: Annotated[
        bool,
        typer.Option(
            "--all-marketing",
            help="Object to all direct marketing: every address of the person goes on the "
            "suppression list.",
        ),
    ] = False,
    note: Annotated[str | None, typer.Option("--note", help="Kept with the proof.")] = None,
    actor: Actor = "cli",
) -> None:
    """Record a withdrawal (or an objection to all direct marketing) that reached staff.

    Exit 0 when recorded; 2 for unusable input or an unknown person.
    """
    from tutela.calendar import german_date
    from tutela.consent import Action, Proof, current_policy, record
    from tutela.consent.unsubscribe import stop_action
    from tutela.errors import InvalidInput

    kind, value = _identity(email, phone, customer_id)
    received_by = _channel(channel)
    if bool(purpose) == all_marketing:
        raise InvalidInput(
            "purpose: give --purpose (once per purpose) or --all-marketing, not both.",
            field="purpose",
        )
    runtime = runtime_of(ctx)
    day = _received(received, german_date(runtime.clock.now()))
    extra: dict[str, Any] = {"received_on": day.isoformat(), "entered_by": actor}
    if note and note.strip():
        extra["note"] = note.strip()
    proof = Proof(
        channel=received_by.value, language=runtime.settings.default_language, extra=extra
    )
    runtime.require_current_schema()
    with runtime.session_factory() as session, session.begin():
        subject = _find(session, runtime, kind, value, "recorded")
        policy = current_policy(session, clock=runtime.clock)
        if all_marketing:
            declared = policy.declaration.purposes
            targets = [(p.id, Action.OBJECTED) for p in declared if p.is_direct_marketing]
        else:
            targets = []
            for pid in dict.fromkeys(purpose or []):
                declared_purpose = policy.declaration.purpose(pid)
                action = (
                    Action.WITHDRAWN if declared_purpose is None else stop_action(declared_purpose)
                )
                targets.append((pid, action))
        for purpose_id, action in targets:
            event = record(
                session,
                subject=subject,
                purpose_id=purpose_id,
                action=action,
                proof=proof,
                master=runtime.master_key,
                clock=runtime.clock,
                actor=actor,
            )
            out.print(f"recorded {action.value} for {purpose_id} (ledger event {event.sequence})")
    if all_marketing:
        out.print("the person's addresses are on the suppression list for direct marketing")


@app.command()
def show(
    ctx: typer.Context,
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="Why the records are opened: request_from_person, support_case (a support "
            "ticket: give its id with --note), technical_problem, suspected_contract_violation "
            "or legal_obligation.",
        ),
    ],
    email: Email = None,
    phone: Phone = None,
    customer_id: CustomerId = None,
    note: Annotated[
        str | None,
        typer.Option("--note", help="A reference such as a ticket id; no personal data."),
    ] = None,
    actor: Actor = "cli",
    fmt: Annotated[
        str, typer.Option("--format", help="text, or json for ISO/IEC TS 27560 receipts.")
    ] = "text",
) -> None:
    """Show a person's consent history; the opening and its reason go to the audit trail."""
    from tutela.consent import receipts
    from tutela.errors import InvalidInput
    from tutela.staff.access import parse_reason, record_access
    from tutela.subjects import subject_by_public_id

    kind, value = _identity(email, phone, customer_id)
    code = parse_reason(reason)
    if fmt not in {f.value for f in Format}:
        raise InvalidInput("format: use text or json.", field="format")
    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session, session.begin():
        subject = _find(session, runtime, kind, value, "opened")
        record_access(
            session, subject_id=subject.id, reason=code, actor=actor, note=note, clock=runtime.clock
        )
        public_id = subject.public_id
    with runtime.session_factory() as session, session.begin():
        found = subject_by_public_id(session, public_id)
        assert found is not None  # noqa: S101 - it was found a moment ago and is never deleted
        if fmt == Format.JSON:
            document = receipts(
                session, subject=found, master=runtime.master_key, clock=runtime.clock
            )
            sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
            return
        _print_history(session, runtime, found)


def _print_history(session: Session, runtime: Runtime, subject: Subject) -> None:
    from tutela.web.admin.consent_records import person_records

    view = person_records(
        session,
        subject=subject,
        master=runtime.master_key,
        clock=runtime.clock,
        language="en",
    )
    lines = [f"person {subject.public_id} (known since {subject.created_at.isoformat()})"]
    if subject.erased_at is not None:
        lines.append(f"erased at {subject.erased_at.isoformat()}")
    lines += [f"  {kind.value}: {text}" for kind, text in view["identities"]]
    scopes = ", ".join(view["scopes"]) or "none"
    lines.append(f"suppression list: {scopes}")
    lines.append("current state:")
    for row in view["current"]:
        status = row["state"].status if row["state"] is not None else "nothing recorded"
        decision = row["decision"]
        answer = ""
        if decision is not None:
            verdict = "allowed" if decision.allowed else "denied"
            answer = f" -> {verdict} ({decision.reason.value})"
        lines.append(f"  {row['id']}: {status}{answer}")
    lines.append("history:")
    for item in view["events"]:
        event = item["event"]
        lines.append(
            f"  #{event.sequence} {event.occurred_at.isoformat()} {event.purpose_id} "
            f"{event.action} via {event.channel} (version {event.policy_version}, "
            f"{event.language}, notice {event.notice_hash or '-'}, by {event.actor})"
        )
        lines += [f"      {name}: {text}" for name, text in item["proof"]]
    out.print("\n".join(lines), markup=False)


@app.command("check")
def check_purpose(
    ctx: typer.Context,
    purpose: Annotated[str, typer.Option("--purpose", help="The purpose id to check.")],
    email: Email = None,
    phone: Phone = None,
    customer_id: CustomerId = None,
) -> None:
    """May the purpose be pursued for this person now? Exit 0: allowed, 1: denied."""
    from tutela.consent import check

    kind, value = _identity(email, phone, customer_id)
    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session, session.begin():
        decision = check(
            session,
            purpose_id=purpose,
            master=runtime.master_key,
            clock=runtime.clock,
            kind=kind,
            value=value,
            default_country_code=runtime.settings.default_phone_country_code,
        )
    verdict = "allowed" if decision.allowed else "denied"
    out.print(f"{verdict}: {decision.reason.value}")
    if not decision.allowed:
        raise typer.Exit(1)


@app.command()
def verify(ctx: typer.Context) -> None:
    """Recompute every hash of the consent ledger.

    Exit 0 when intact; 1 naming the first bad sequence when an event was altered,
    deleted, inserted or reordered.
    """
    from tutela.consent import verify_ledger

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session:
        result = verify_ledger(session)
    if result.ok:
        out.print(f"consent ledger intact: {result.checked} events verified")
        return
    err.print(
        f"[bold red]consent ledger broken[/] at sequence {result.first_bad_sequence}: "
        f"{result.reason}"
    )
    raise typer.Exit(1)


suppression_commands.register(app)
