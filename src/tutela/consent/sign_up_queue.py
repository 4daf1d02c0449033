"""Answer a sign-up at once and carry it out in a job, so its timing reveals nothing.

Carrying out a sign-up takes longer for a new address (a person, a key, ledger
rows, a mail) than for a known one; answering only afterwards would tell anyone
with a stopwatch which addresses are subscribed. :func:`request_sign_up`
therefore checks only what the caller must hear about — the language, a
declaration in effect, the purpose and its double opt-in, the address's syntax
and the proof fields — and never looks the address up. It seals the details
with the time of the request and a random sign-up id (AES-256-GCM under the
master key's ``sign_up`` sub-key, the id bound into the associated data) and
queues a ``consent.sign_up`` job whose idempotency key carries that id: every
address costs the same statements, one read of the version in effect and the
insert of the job.

The job payload holds nothing but the sealed bytes, so nobody reading the job
table sees an address; sealed bytes copied into another job do not open there.
The job opens them and runs :func:`~tutela.consent.double_opt_in.sign_up`, with
its idempotency, resend limits and suppression; the confirmation link expires
counted from the request, not from the run. Only two outcomes end the job
without a mail, quietly: the purpose left the declaration in effect (or lost
its double opt-in) in the meantime, or the link would already have expired
(a job run long after the request). Every other error fails the job, which is
tried again (up to :data:`MAX_ATTEMPTS` times, with growing pauses) under an
error text that names the cause's class, never the person. Once the sign-up is
carried out or dropped, the job's payload is emptied in the same transaction.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.config import Settings
from tutela.consent.declarations import current_policy
from tutela.consent.double_opt_in import DEFAULT_EXPIRY, check_language, doi_purpose, sign_up
from tutela.consent.proof import Proof
from tutela.consent.terms import Channel
from tutela.crypto import DecryptionError, MasterKey, decrypt, encrypt, random_token
from tutela.errors import ConfigurationError, InvalidInput, NotFound, TutelaError
from tutela.jobs import Job, JobContext, enqueue, registry
from tutela.subjects import IdentityKind, normalize

__all__ = [
    "MAX_ATTEMPTS",
    "SIGN_UP_JOB",
    "QueuedSignUp",
    "SignUpDetails",
    "SignUpJobError",
    "install_sign_up_master",
    "open_details",
    "request_sign_up",
    "seal_details",
    "sign_up_job",
]

SIGN_UP_JOB: Final = "consent.sign_up"
MAX_ATTEMPTS: Final = 20
"""Tries of one sign-up job: with the queue's doubling pauses (capped at an hour) a
database outage of several hours loses no sign-up."""
_KEY_PREFIX: Final = f"{SIGN_UP_JOB}:"
_CONTEXT: Final = b"tutela/v1/consent/sign-up"
_FORMAT: Final = 2
_ID_BYTES: Final = 16
_UNREADABLE: Final = (
    "The sealed sign-up of this job does not open: it was altered, copied from another job, "
    "or sealed under another master key. It cannot be carried out; delete the job (the person "
    "can sign up again)."
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignUpDetails:
    """One checked sign-up as sealed into its job (``email`` normalised, ``ip`` shortened).

    ``sign_up_id`` is random and names the job (its idempotency key); ``requested_at``
    is when the person asked, the start of the confirmation link's validity.
    """

    sign_up_id: str
    requested_at: dt.datetime
    email: str
    purpose_id: str
    language: str
    shown_version: int
    actor: str
    channel: str
    ip: str | None = None
    user_agent: str | None = None
    form_url: str | None = None
    expiry_seconds: int = int(DEFAULT_EXPIRY.total_seconds())


@dataclass(frozen=True, slots=True)
class QueuedSignUp:
    """What the caller learns: the job, the purpose and the version shown; never the outcome."""

    job_id: int
    purpose_id: str
    shown_version: int


class SignUpJobError(RuntimeError):
    """A sign-up job failed and is tried again; the text names the cause's class, not the
    person (the cause's own text may hold the address or its domain)."""


def _context(sign_up_id: str) -> bytes:
    return _CONTEXT + b"/" + sign_up_id.encode("utf-8")


def seal_details(master: MasterKey, details: SignUpDetails) -> str:
    """``details`` as URL-safe base64 of AES-256-GCM ciphertext bound to its sign-up id."""
    document = {
        "format": _FORMAT,
        **dataclasses.asdict(details),
        "requested_at": details.requested_at.isoformat(),
    }
    plaintext = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
    sealed = encrypt(master.subkey("sign_up"), plaintext, context=_context(details.sign_up_id))
    return base64.urlsafe_b64encode(sealed).decode("ascii")


def open_details(master: MasterKey, sealed: object, *, sign_up_id: str | None) -> SignUpDetails:
    """The details sealed by :func:`seal_details` for ``sign_up_id``.

    Anything else — another id, another key, altered or made-up text — raises
    :class:`DecryptionError` with one text that never repeats the sealed text or
    anything inside it.
    """
    if not isinstance(sealed, str) or not sign_up_id:
        raise DecryptionError(_UNREADABLE)
    try:
        blob = base64.urlsafe_b64decode(sealed.encode("ascii"))
        plaintext = decrypt(master.subkey("sign_up"), blob, context=_context(sign_up_id))
    except (binascii.Error, ValueError, DecryptionError):
        raise DecryptionError(_UNREADABLE) from None
    try:
        document = json.loads(plaintext)
        if document.pop("format") != _FORMAT:
            raise ValueError("unknown format")
        requested_at = dt.datetime.fromisoformat(document.pop("requested_at"))
        details = SignUpDetails(**document, requested_at=requested_at)
    except (ValueError, TypeError, KeyError, AttributeError):
        raise DecryptionError(_UNREADABLE) from None
    if details.sign_up_id != sign_up_id or requested_at.tzinfo is None:
        raise DecryptionError(_UNREADABLE)
    return details


def request_sign_up(
    session: Session,
    *,
    email: str,
    purpose_id: str,
    language: str,
    master: MasterKey,
    clock: Clock,
    actor: str,
    channel: Channel | str = Channel.WEB_FORM,
    ip: str | None = None,
    user_agent: str | None = None,
    form_url: str | None = None,
    expiry: dt.timedelta = DEFAULT_EXPIRY,
) -> QueuedSignUp:
    """Check a sign-up and queue it for the worker; the same work for every address.

    Raises what :func:`~tutela.consent.double_opt_in.sign_up` raises for the
    request itself: :class:`InvalidInput` naming ``language``, ``purpose`` (no
    double opt-in), ``email``, ``channel``, ``ip`` or ``form_url``;
    :class:`NotFound` naming an unknown purpose; :class:`Conflict` when no
    declaration is in effect. Whether the address is known is never looked up.
    """
    check_language(language)
    policy = current_policy(session, clock=clock)
    purpose = doi_purpose(policy, purpose_id)
    address = normalize(IdentityKind.EMAIL, email)
    proof = Proof(
        channel=channel, language=language, ip=ip, user_agent=user_agent, form_url=form_url
    ).checked()
    details = SignUpDetails(
        sign_up_id=random_token(_ID_BYTES),
        requested_at=clock.now(),
        email=address,
        purpose_id=purpose.id,
        language=language,
        shown_version=policy.number,
        actor=actor,
        channel=str(proof.channel),
        ip=proof.ip,
        user_agent=proof.user_agent,
        form_url=proof.form_url,
        expiry_seconds=int(expiry.total_seconds()),
    )
    job = enqueue(
        session,
        kind=SIGN_UP_JOB,
        payload={"sealed": seal_details(master, details)},
        clock=clock,
        idempotency_key=_KEY_PREFIX + details.sign_up_id,
        max_attempts=MAX_ATTEMPTS,
    )
    return QueuedSignUp(job.id, purpose.id, policy.number)


_lock = threading.Lock()
_master: MasterKey | None = None
_settings: Settings | None = None


def install_sign_up_master(
    master: MasterKey | None, settings: Settings | None = None
) -> tuple[MasterKey | None, Settings | None]:
    """Give the ``consent.sign_up`` job of this process its master key and settings.

    The settings supply the confirmation link's base URL and the sender's domain.
    Returns the pair installed before.
    """
    global _master, _settings
    with _lock:
        previous = (_master, _settings)
        _master, _settings = master, settings
    return previous


@registry.handler(SIGN_UP_JOB)
def sign_up_job(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    """Carry out one sealed sign-up (payload ``sealed``), then empty the payload."""
    master, settings = _master, _settings
    if master is None or settings is None:
        raise ConfigurationError(
            f"The {SIGN_UP_JOB} job needs the master key and the settings; call "
            "tutela.consent.sign_up_queue.install_sign_up_master(master, settings) when "
            "starting the worker."
        )
    job = session.get(Job, ctx.job_id)
    key = job.idempotency_key if job is not None else None
    sign_up_id = key.removeprefix(_KEY_PREFIX) if key and key.startswith(_KEY_PREFIX) else None
    details = open_details(master, payload.get("sealed"), sign_up_id=sign_up_id)
    try:
        dropped = _carry_out(session, details, master=master, clock=ctx.clock, settings=settings)
    except ConfigurationError:
        raise  # an instruction to whoever runs the worker; it names no one
    except Exception as exc:
        raise _scrubbed(exc).with_traceback(exc.__traceback__) from None
    if dropped is not None:
        log.info("job %s: sign-up dropped (%s)", ctx.job_id, dropped)
    if job is not None:
        job.payload = "{}"  # the details are no longer needed; nor kept
        session.flush()


def _carry_out(
    session: Session, details: SignUpDetails, *, master: MasterKey, clock: Clock, settings: Settings
) -> str | None:
    """Carry out the sign-up; ``None``, or why it was dropped without a mail."""
    policy = current_policy(session, clock=clock)
    try:
        doi_purpose(policy, details.purpose_id)
    except (NotFound, InvalidInput) as exc:
        # The purpose left the declaration or lost its double opt-in: retrying cannot help.
        return f"purpose {exc.code}"
    expiry = dt.timedelta(seconds=details.expiry_seconds)
    left = min(expiry, details.requested_at + expiry - clock.now())
    if left <= dt.timedelta(0):
        return "the link would already have expired"
    sign_up(
        session,
        email=details.email,
        purpose_id=details.purpose_id,
        language=details.language,
        master=master,
        clock=clock,
        settings=settings,
        actor=details.actor,
        channel=details.channel,
        ip=details.ip,
        user_agent=details.user_agent,
        form_url=details.form_url,
        expiry=left,
        shown_version=details.shown_version,
    )
    return None


def _scrubbed(exc: Exception) -> SignUpJobError:
    """``exc`` told by its class (and code and field), without its text."""
    cause = type(exc).__name__
    if isinstance(exc, TutelaError):
        cause += f", code {exc.code}"
        field = exc.extra.get("field")
        if isinstance(field, str) and field.isidentifier():
            cause += f", field {field}"
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        cause += f", driver {type(exc.orig).__name__}"
    return SignUpJobError(
        f"The sign-up was not carried out ({cause}); the job tries again later. The cause's "
        "own text is left out, as it may name the person."
    )
