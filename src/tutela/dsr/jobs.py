"""Job handlers of requests; importing this module registers them on :data:`tutela.jobs.registry`.

The process that runs a worker gives them the master key and the settings once::

    install_runtime(DsrRuntime(master=master_key, settings=settings))

* ``dsr.intake`` looks the person up (only here, never in the request path, V-6)
  and, for a request that needs verification, mails a one-time link to the
  address on file; an unknown address gets the neutral "no data held" answer and
  the request is closed. A flagged request, or a person without an address on
  file, gets no mail and waits for staff.
* ``dsr.notice`` mails one notice about a request to the channel on file.
* ``dsr.sweep`` expires unverified requests on their deadline day, mails the DPO
  the near-due and overdue ones and queues tomorrow's sweep.
"""

from __future__ import annotations

import threading
from typing import Any, Final

from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.calendar import german_date
from tutela.clock import Clock
from tutela.dsr.assertion_models import prune_used_assertions
from tutela.dsr.envelope import open_identity
from tutela.dsr.events import (
    DigestSent,
    NoticeSent,
    RequestHeld,
    VerificationSent,
)
from tutela.dsr.matching import accept_verified, match_subject
from tutela.dsr.models import DsrRequest
from tutela.dsr.notices import (
    DsrRuntime,
    PolicyFacts,
    find_on_file,
    notice_context,
    policy_facts,
    send_mail,
    template_of,
    valid_hours,
    valid_minutes,
)
from tutela.dsr.package_models import sweep_packages
from tutela.dsr.queue import INTAKE_JOB, NOTICE_JOB, SWEEP_JOB, Notice, ensure_sweep
from tutela.dsr.terms import Method, Status
from tutela.dsr.verification import (
    CODE_LIFETIME,
    LINK_LIFETIME,
    issue_code,
    issue_link,
    may_send_code,
    verification_url,
)
from tutela.dsr.workflow import SYSTEM_ACTOR, close_without_data, due, expire_unverified, move
from tutela.errors import ConfigurationError, InvalidInput
from tutela.jobs import JobContext, registry
from tutela.subjects import IdentityKind, Subject

__all__ = [
    "DsrRuntime",
    "install_runtime",
    "installed_runtime",
    "run_intake",
    "run_notice",
    "run_sweep",
]

HELD_REPEATED: Final = "repeated_submissions"
HELD_NO_CHANNEL: Final = "no_channel_on_file"

_lock = threading.Lock()
_runtime: DsrRuntime | None = None


def install_runtime(runtime: DsrRuntime | None) -> DsrRuntime | None:
    """Give the request jobs of this process their master key and settings; return the old."""
    global _runtime
    with _lock:
        previous, _runtime = _runtime, runtime
    return previous


def _installed() -> DsrRuntime:
    runtime = _runtime
    if runtime is None:
        raise ConfigurationError(
            "The privacy-request jobs need the master key and settings; call "
            "tutela.dsr.jobs.install_runtime(DsrRuntime(master=..., settings=...)) when "
            "starting the worker."
        )
    return runtime


def installed_runtime() -> DsrRuntime:
    """The runtime given by :func:`install_runtime` (ConfigurationError without one)."""
    return _installed()


def _request_id(payload: dict[str, Any]) -> int:
    try:
        return int(payload["request_id"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(
            "The job payload needs a request_id; queue it with tutela.dsr.queue."
        ) from None


def _hold(session: Session, request: DsrRequest, why: str, clock: Clock) -> None:
    move(request, Status.AWAITING_VERIFICATION)
    event = RequestHeld(request_id=request.id, subject_id=request.subject_id, why=why)
    emit(session, event, actor=SYSTEM_ACTOR, clock=clock)


def _send(
    request: DsrRequest,
    *,
    to: str,
    notice: Notice,
    facts: PolicyFacts,
    clock: Clock,
    **extra: Any,
) -> str:
    return send_mail(
        to=to,
        template=template_of(notice),
        language=request.language,
        context=notice_context(request, facts, **extra),
        clock=clock,
    )


def _notice_sent(
    session: Session, request: DsrRequest, notice: Notice, message_id: str | None, clock: Clock
) -> None:
    event = NoticeSent(
        request_id=request.id,
        notice=notice.value,
        delivered=message_id is not None,
        message_id=message_id,
    )
    emit(session, event, actor=SYSTEM_ACTOR, clock=clock)


def run_intake(session: Session, *, request_id: int, runtime: DsrRuntime, clock: Clock) -> None:
    """Look the person up and mail the channel on file (see the module text)."""
    request = session.get(DsrRequest, request_id)
    if request is None or request.status not in (Status.RECEIVED.value, Status.VERIFIED.value):
        return
    if request.status == Status.VERIFIED.value:
        accept_verified(session, request=request, clock=clock)
        return
    subject = match_subject(session, request)
    if request.flag is not None:
        _hold(session, request, HELD_REPEATED, clock)
        return
    on_file = find_on_file(session, request=request, subject=subject, runtime=runtime)
    facts = policy_facts(session, settings=runtime.settings, clock=clock)
    if on_file.address is None:
        named = open_identity(request, master=runtime.master)
        if on_file.known or request.identity_kind != IdentityKind.EMAIL.value or named is None:
            _hold(session, request, HELD_NO_CHANNEL, clock)
            return
        message_id = _send(request, to=named, notice=Notice.NO_DATA, facts=facts, clock=clock)
        close_without_data(session, request=request, actor=SYSTEM_ACTOR, clock=clock)
        _notice_sent(session, request, Notice.NO_DATA, message_id, clock)
        return
    verification_id, token = issue_link(session, request=request, clock=clock)
    message_id = _send(
        request,
        to=on_file.address,
        notice=Notice.VERIFY,
        facts=facts,
        clock=clock,
        verify_url=verification_url(runtime.settings.base_url, token),
        valid_hours=valid_hours(LINK_LIFETIME),
    )
    move(request, Status.AWAITING_VERIFICATION)
    sent = VerificationSent(
        request_id=request.id,
        verification_id=verification_id,
        method=Method.LINK.value,
        subject_id=request.subject_id,
        message_id=message_id,
    )
    emit(session, sent, actor=SYSTEM_ACTOR, clock=clock)


def run_notice(
    session: Session, *, request_id: int, notice: Notice, runtime: DsrRuntime, clock: Clock
) -> None:
    """Mail one notice about the request to the channel on file (or record that there is none).

    For a code, the request's row is locked first (``SELECT … FOR UPDATE``; SQLite's
    writers take the database lock at ``BEGIN``): two workers cannot both count the
    codes issued so far and both pass the limits of :func:`may_send_code`.
    """
    wants_code = notice is Notice.CODE
    request = session.get(DsrRequest, request_id, with_for_update=True if wants_code else None)
    if request is None:
        return
    if wants_code and not may_send_code(session, request=request, clock=clock):
        return
    subject = None if request.subject_id is None else session.get(Subject, request.subject_id)
    on_file = find_on_file(session, request=request, subject=subject, runtime=runtime)
    message_id = None
    if on_file.address is not None:
        facts = policy_facts(session, settings=runtime.settings, clock=clock)
        extra: dict[str, Any] = {}
        if notice is Notice.CODE:
            _row, code = issue_code(session, request=request, master=runtime.master, clock=clock)
            extra = {"code": code, "valid_minutes": valid_minutes(CODE_LIFETIME)}
        elif notice is Notice.EXTENDED:
            extra = {"reason": request.extension_reason or ""}
        elif notice is Notice.DENIED:
            extra = {"reason": request.outcome_reason or ""}
        message_id = _send(
            request, to=on_file.address, notice=notice, facts=facts, clock=clock, **extra
        )
    _notice_sent(session, request, notice, message_id, clock)


def run_sweep(session: Session, *, runtime: DsrRuntime, clock: Clock) -> int:
    """Expire unverified requests, mail the DPO digest, queue the next sweep; return expired."""
    expired = expire_unverified(session, clock=clock)
    alerts = [
        item for item in due(session, clock=clock, limit=1000) if item.near_due or item.overdue
    ]
    facts = policy_facts(session, settings=runtime.settings, clock=clock)
    if alerts and facts.dpo_address is not None:
        today = german_date(clock.now())
        items = [
            {
                "reference": item.request.reference,
                "request_type": item.request.request_type,
                "status": item.request.status,
                "due_on": item.due_on,
                "overdue": item.overdue,
            }
            for item in alerts
        ]
        overdue = sum(1 for item in alerts if item.overdue)
        message_id = send_mail(
            to=facts.dpo_address,
            template="dsr_digest",
            language=runtime.settings.default_language,
            context={
                "controller": facts.controller,
                "day": today,
                "items": items,
                "overdue": overdue,
                "near": len(alerts) - overdue,
            },
            clock=clock,
        )
        event = DigestSent(
            day=today, near_due=len(alerts) - overdue, overdue=overdue, message_id=message_id
        )
        emit(session, event, actor=SYSTEM_ACTOR, clock=clock)
    sweep_packages(session, packages_dir=runtime.settings.packages_dir, clock=clock)
    prune_used_assertions(session, clock=clock)
    ensure_sweep(session, clock=clock)
    return expired


@registry.handler(INTAKE_JOB)
def intake_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    run_intake(session, request_id=_request_id(payload), runtime=_installed(), clock=ctx.clock)


@registry.handler(NOTICE_JOB)
def notice_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    try:
        notice = Notice(str(payload.get("notice")))
    except ValueError:
        raise InvalidInput(
            f"The {NOTICE_JOB} job names an unknown notice; use one of "
            f"{', '.join(n.value for n in Notice)}."
        ) from None
    run_notice(
        session,
        request_id=_request_id(payload),
        notice=notice,
        runtime=_installed(),
        clock=ctx.clock,
    )


@registry.handler(SWEEP_JOB)
def sweep_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    run_sweep(session, runtime=_installed(), clock=ctx.clock)
