"""Mail about requests: rendered in the request's language, sent only to the channel on file.

V-2: an answer goes to the address Tutela already holds for the person (the
matched email identity, or the person's oldest email address when the request
named a customer number or phone), never to an address given in the request.
The one exception is the neutral "no data held under this address" answer,
which goes to the address the request named: only its owner reads it.

Mail is sent from the job that decided to send it (no second queue): the
rendered text never rests in the database, and a failed send rolls the job's
work back and retries it. A send that succeeded in a job that then failed to
commit is repeated with a fresh link; the first link was never stored, so it
does not work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.config import Settings
from tutela.connectors import Connector
from tutela.consent.declarations import CurrentPolicy, current_policy
from tutela.crypto import MasterKey
from tutela.dsr.envelope import open_identity
from tutela.dsr.models import DsrRequest
from tutela.dsr.queue import Notice
from tutela.dsr.terms import Jurisdiction
from tutela.errors import Conflict, InvalidInput
from tutela.mail import OutboundMail, build_message, installed_delivery, render_mail, sender_domain
from tutela.subjects import IdentityKind, Subject, identities, index_of, normalize

__all__ = [
    "Directory",
    "DsrRuntime",
    "OnFile",
    "PolicyFacts",
    "address_on_file",
    "find_on_file",
    "notice_context",
    "policy_facts",
    "send_mail",
    "template_of",
]


@dataclass(frozen=True, slots=True)
class OnFile:
    """Whether a store holds the identity, and the email address it holds for the person."""

    known: bool
    address: str | None = None


class Directory(Protocol):
    """A store of the operator's that can say whom it holds (connected stores plug in here).

    ``on_file`` gets the normalised identity of a request and answers whether the
    store holds that person and, if so, the email address it holds for them. It is
    asked only by the intake and notice jobs, never in the request path.
    """

    def on_file(self, *, kind: str, value: str) -> OnFile: ...


@dataclass(frozen=True, kw_only=True)
class DsrRuntime:
    """What the request jobs of this process need.

    ``directories`` are asked, after Tutela's own subjects, whether they hold the
    person and under which address; without them only people Tutela itself knows
    are found.
    """

    master: MasterKey
    settings: Settings
    directories: tuple[Directory, ...] = ()
    stores: tuple[Connector, ...] = ()
    """The connected stores requests are carried out in (see :mod:`tutela.dsr.stores`)."""


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """What notices take from the declaration in effect (with fallbacks without one)."""

    controller: str
    contact: str
    authority: dict[str, str]
    dpo_address: str | None


_TEMPLATES: Final = {notice: f"dsr_{notice.value}" for notice in Notice}


def template_of(notice: Notice) -> str:
    return _TEMPLATES[notice]


def policy_facts(session: Session, *, settings: Settings, clock: Clock) -> PolicyFacts:
    """Controller name, public contact, supervisory authority and DPO address."""
    try:
        policy: CurrentPolicy | None = current_policy(session, clock=clock)
    except Conflict:
        policy = None
    if policy is None:
        return PolicyFacts(
            controller=sender_domain(settings.mail_from),
            contact=settings.mail_from,
            authority={},
            dpo_address=None,
        )
    declaration = policy.declaration
    controller = declaration.controller
    dpo = declaration.dpo
    authority = declaration.supervisory_authority.name
    return PolicyFacts(
        controller=controller.name,
        contact=str(controller.contacts.email),
        authority={"de": authority.de, "en": authority.en},
        dpo_address=str(dpo.email)
        if dpo is not None and dpo.email
        else str(controller.contacts.email),
    )


def address_on_file(
    session: Session, *, request: DsrRequest, subject: Subject, master: MasterKey
) -> str | None:
    """The email address held for ``subject`` that answers to ``request`` (V-2), else ``None``."""
    emails = [
        value
        for kind, value in identities(session, subject=subject, master=master)
        if kind is IdentityKind.EMAIL
    ]
    if not emails:
        return None
    if request.identity_kind == IdentityKind.EMAIL.value:
        for value in emails:
            if index_of(master, IdentityKind.EMAIL, value) == request.identity_index:
                return value
    return emails[0]


def _clean(address: str | None) -> str | None:
    """A store's address in canonical form, or ``None`` if it is not a usable address."""
    if not address:
        return None
    try:
        return normalize(IdentityKind.EMAIL, address)
    except InvalidInput:
        return None


def find_on_file(
    session: Session, *, request: DsrRequest, subject: Subject | None, runtime: DsrRuntime
) -> OnFile:
    """Who holds the request's identity and the address to answer at (subjects, then stores)."""
    if subject is not None and subject.erased_at is None:
        address = address_on_file(session, request=request, subject=subject, master=runtime.master)
        if address is not None:
            return OnFile(known=True, address=address)
    known = subject is not None
    if runtime.directories:
        value = open_identity(request, master=runtime.master)
        if value is not None:
            for directory in runtime.directories:
                answer = directory.on_file(kind=request.identity_kind, value=value)
                address = _clean(answer.address) if answer.known else None
                if address is not None:
                    return OnFile(known=True, address=address)
                known = known or answer.known
    return OnFile(known=known, address=None)


def notice_context(request: DsrRequest, facts: PolicyFacts, **extra: Any) -> dict[str, Any]:
    """The template context shared by every mail about ``request``."""
    return {
        "controller": facts.controller,
        "contact": facts.contact,
        "reference": request.reference,
        "request_type": request.request_type,
        "due_on": request.due_on,
        "legal_deadline": request.legal_deadline,
        "extended_until": request.extended_until,
        "reason": request.outcome_reason or request.extension_reason or "",
        "authority": facts.authority.get(request.language),
        "ccpa": request.jurisdiction == Jurisdiction.CCPA.value,
        **extra,
    }


def send_mail(
    *, to: str, template: str, language: str, context: dict[str, Any], clock: Clock
) -> str:
    """Render and send one transactional mail now; return its Message-ID."""
    delivery = installed_delivery()
    subject, text, html = render_mail(
        template, language=language, context=context, category="transactional"
    )
    message = build_message(
        OutboundMail(to=to, subject=subject, text=text, html=html),
        sender=delivery.sender,
        message_id_domain=delivery.message_id_domain,
        clock=clock,
    )
    return delivery.mailer.send(message)


def valid_hours(lifetime: dt.timedelta) -> int:
    return max(1, round(lifetime.total_seconds() / 3600))


def valid_minutes(lifetime: dt.timedelta) -> int:
    return max(1, round(lifetime.total_seconds() / 60))
