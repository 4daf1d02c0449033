"""``tutela consent suppress | lift | suppressed``: staff keep the suppression list.

An address goes on the list whether or not Tutela knows the person; only its
keyed fingerprint (blind index) is stored, and the commands show an address
back only masked (``a***@example.org``). Listing and lifting are written to the
audit trail with the reason given, never with the address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tutela.cli.console import out
from tutela.cli.state import runtime_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tutela.cli.runtime import Runtime
    from tutela.policy.models import Declaration

LABELS = {"email": "e-mail address", "phone": "phone number", "customer_id": "customer number"}
DIRECT_MARKETING = "direct_marketing"

Email = Annotated[str | None, typer.Option("--email", help="The e-mail address.")]
Phone = Annotated[
    str | None,
    typer.Option("--phone", help="The phone number, best with its country code (+49 …)."),
]
CustomerId = Annotated[str | None, typer.Option("--customer-id", help="The customer number.")]
Scope = Annotated[
    str,
    typer.Option(
        "--scope",
        help="direct_marketing (every direct-marketing purpose) or the id of one purpose "
        "of the version in effect that rests on consent or is direct marketing.",
    ),
]
Actor = Annotated[
    str, typer.Option("--actor", help="Who does this, for the audit trail (e.g. staff:3).")
]


def register(app: typer.Typer) -> None:
    app.command("suppress")(suppress)
    app.command("lift")(lift)
    app.command("suppressed")(suppressed)


def _given(email: str | None, phone: str | None, customer_id: str | None) -> list[tuple[str, str]]:
    return [
        (kind, value)
        for kind, value in (("email", email), ("phone", phone), ("customer_id", customer_id))
        if value is not None
    ]


def _one(email: str | None, phone: str | None, customer_id: str | None) -> tuple[str, str]:
    """The one address given, as (kind, value); InvalidInput when none or several."""
    from tutela.errors import InvalidInput

    given = _given(email, phone, customer_id)
    if len(given) != 1:
        raise InvalidInput(
            "email: name the address by exactly one of --email, --phone or --customer-id.",
            field="email",
        )
    return given[0]


def _reason(reason: str | None, problem: str) -> str:
    from tutela.errors import InvalidInput

    if reason is None or not reason.strip():
        raise InvalidInput(problem, field="reason")
    return reason


def _masked(runtime: Runtime, kind: str, value: str) -> str:
    """The address masked for output; an unusable address raises InvalidInput (exit 2)."""
    from tutela.consent.suppression import masked

    code = runtime.settings.default_phone_country_code
    return f"{LABELS[kind]} {masked(kind, value, default_country_code=code)}"


def _declaration(session: Session, runtime: Runtime) -> Declaration | None:
    """The declaration in effect, or None before the first version takes effect."""
    from tutela.consent import current_policy
    from tutela.errors import Conflict

    try:
        return current_policy(session, clock=runtime.clock).declaration
    except Conflict:
        return None


def suppress(
    ctx: typer.Context,
    email: Email = None,
    phone: Phone = None,
    customer_id: CustomerId = None,
    scope: Scope = DIRECT_MARKETING,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            help="Why the address goes on the list (required), such as 'asked by phone on "
            "3 March never to get offers' or a ticket number. It goes into the audit "
            "trail; leave the address itself out.",
        ),
    ] = None,
    actor: Actor = "cli",
) -> None:
    """Put an address on the suppression list, whether or not Tutela knows the person.

    Use it when someone asks never to get direct marketing, even before they are
    in any list of yours: a later sign-up or import of the address is refused for
    the scope. Give one or more of --email, --phone and --customer-id. Exit 0 when
    the addresses are listed (newly or already); 2 for unusable input.
    """
    from tutela.consent.suppression import check_scope, scope_choices, suppress_address
    from tutela.errors import InvalidInput

    addresses = _given(email, phone, customer_id)
    if not addresses:
        raise InvalidInput(
            "email: name the address to list with --email, --phone or --customer-id (one or more).",
            field="email",
        )
    said = _reason(
        reason,
        "reason: say why the address goes on the suppression list, such as 'asked by phone "
        "never to get offers' or a ticket number; give it with --reason.",
    )
    runtime = runtime_of(ctx)
    shown = [_masked(runtime, kind, value) for kind, value in addresses]
    runtime.require_current_schema()
    with runtime.session_factory() as session, session.begin():
        chosen = check_scope(scope, choices=scope_choices(_declaration(session, runtime)))
        added = [
            suppress_address(
                session,
                kind=kind,
                value=value,
                scope=chosen,
                master=runtime.master_key,
                clock=runtime.clock,
                actor=actor,
                reason=said,
                default_country_code=runtime.settings.default_phone_country_code,
            )
            for kind, value in addresses
        ]
    for label, new in zip(shown, added, strict=True):
        if new:
            out.print(f"{label}: added to the suppression list for {chosen}", markup=False)
        else:
            out.print(f"{label}: was already listed for {chosen}; nothing changed", markup=False)


def lift(
    ctx: typer.Context,
    email: Email = None,
    phone: Phone = None,
    customer_id: CustomerId = None,
    scope: Scope = DIRECT_MARKETING,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            help="Why the address may be used again (required), such as 'written request "
            "of 3 March to get the newsletter again' or 'listed by mistake, ticket 4711'. "
            "It goes into the audit trail; leave the address itself out.",
        ),
    ] = None,
    actor: Actor = "cli",
) -> None:
    """Take an address off the suppression list again: a serious decision with a reason.

    Lift only when the person asks to get your mail again (keep their request) or
    when the entry was a mistake; an objection to direct marketing is otherwise
    for good. Only the address given is lifted: other addresses of the same
    person stay listed and keep covering it. Exit 0 when lifted; 1 when the
    address was not listed for the scope; 2 for unusable input.
    """
    from tutela.consent.suppression import (
        check_scope,
        lift_suppression,
        listing_of,
        scope_choices,
    )

    kind, value = _one(email, phone, customer_id)
    said = _reason(
        reason,
        "reason: lifting needs a reason for the audit trail, such as the person's written "
        "request to get mail again or 'listed by mistake'; give it with --reason.",
    )
    runtime = runtime_of(ctx)
    label = _masked(runtime, kind, value)
    code = runtime.settings.default_phone_country_code
    runtime.require_current_schema()
    with runtime.session_factory() as session, session.begin():
        master = runtime.master_key
        listing = listing_of(
            session, kind=kind, value=value, master=master, default_country_code=code
        )
        choices = dict.fromkeys((*scope_choices(_declaration(session, runtime)), *listing.own))
        chosen = check_scope(scope, choices=list(choices))
        removed = lift_suppression(
            session,
            kind=kind,
            value=value,
            scope=chosen,
            master=master,
            clock=runtime.clock,
            actor=actor,
            reason=said,
            default_country_code=code,
        )
    if chosen in listing.through_person:
        out.print(
            f"note: another address of the same person is listed for {chosen} and still "
            "covers this one",
            markup=False,
        )
    if removed:
        out.print(f"{label}: lifted from the suppression list for {chosen}", markup=False)
        return
    others = ", ".join(listing.own) or "no scope"
    out.print(
        f"{label}: was not listed for {chosen}; nothing was lifted (listed for: {others})",
        markup=False,
    )
    raise typer.Exit(1)


def suppressed(
    ctx: typer.Context,
    email: Email = None,
    phone: Phone = None,
    customer_id: CustomerId = None,
) -> None:
    """Is an address on the suppression list, and for which scopes?

    Answers "why does this address get no mail from us?". An address also counts
    as listed when another address of the same person is listed. Exit 0: listed;
    1: not listed; 2 for unusable input.
    """
    from tutela.consent.suppression import listing_of

    kind, value = _one(email, phone, customer_id)
    runtime = runtime_of(ctx)
    label = _masked(runtime, kind, value)
    runtime.require_current_schema()
    with runtime.session_factory() as session, session.begin():
        listing = listing_of(
            session,
            kind=kind,
            value=value,
            master=runtime.master_key,
            default_country_code=runtime.settings.default_phone_country_code,
        )
    if not listing.listed:
        out.print(f"{label}: not on the suppression list", markup=False)
        raise typer.Exit(1)
    if listing.own:
        out.print(f"{label}: listed for {', '.join(listing.own)}", markup=False)
    if listing.through_person:
        scopes = ", ".join(listing.through_person)
        out.print(
            f"{label}: covered through another address of the same person, listed for {scopes}",
            markup=False,
        )
