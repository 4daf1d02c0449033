"""Staff use cases: accounts, logins, browser sessions and API keys.

Every function takes the SQLAlchemy session first and keyword arguments after
it; the caller owns the transaction. State changes emit events to the audit
trail through :func:`tutela.audit.emit`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.errors import Conflict, InvalidInput, NotFound, PermissionDenied, VerificationFailed
from tutela.staff import passwords
from tutela.staff.apikeys import Scope, generate_key, parse_key, parse_scopes, secret_digest
from tutela.staff.events import (
    ApiKeyCreated,
    ApiKeyRevoked,
    LoggedOut,
    LoginFailed,
    LoginSucceeded,
    StaffAdded,
)
from tutela.staff.models import ApiKey, StaffSession, StaffUser
from tutela.staff.roles import Role, parse_role

LOGIN_FAILED = "Wrong e-mail address or password"
KEY_FAILED = "The API key is missing, unknown or revoked; send a valid key as 'Bearer tut_…'."
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+$")
ANONYMOUS_ACTOR = "anonymous"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def staff_actor(user: StaffUser) -> str:
    """How a staff member appears as the actor of audit events."""
    return f"staff:{user.id}"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- accounts ---------------------------------------------------------------------------------


def add_staff(
    session: Session,
    *,
    email: str,
    password: str,
    role: Role | str,
    display_name: str,
    actor: str,
    clock: Clock,
) -> StaffUser:
    """Create an active staff account; InvalidInput/Conflict say which field to fix."""
    address = normalize_email(email)
    if len(address) > 320 or not EMAIL_SHAPE.match(address):
        raise InvalidInput(
            f"email: {email!r} is not an e-mail address; use the form name@example.org.",
            field="email",
        )
    name = display_name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(
            "display_name: give the name colleagues know this person by (1 to 200 characters).",
            field="display_name",
        )
    parsed_role = parse_role(str(role))
    passwords.check_policy(password, email=address)
    if find_staff(session, email=address) is not None:
        raise Conflict(
            f"email: a staff account for {address} exists already; pick another address.",
            field="email",
        )
    user = StaffUser(
        email=address,
        display_name=name,
        role=parsed_role.value,
        password_hash=passwords.hash_password(password),
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    emit(
        session,
        StaffAdded(staff_id=user.id, role=parsed_role.value),
        actor=actor,
        clock=clock,
    )
    return user


def find_staff(session: Session, *, email: str) -> StaffUser | None:
    stmt = select(StaffUser).where(StaffUser.email == normalize_email(email))
    return session.scalars(stmt).one_or_none()


def get_staff(session: Session, *, staff_id: int) -> StaffUser:
    user = session.get(StaffUser, staff_id)
    if user is None:
        raise NotFound(f"staff_id: there is no staff account {staff_id}.", field="staff_id")
    return user


def list_staff(session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.email)))


def check_credentials(session: Session, *, email: str, password: str) -> StaffUser | None:
    """The active account for ``email`` when ``password`` matches it; reads only.

    Unknown address, wrong password and inactive account all give None after the
    same amount of hashing work. Run it in a read-only session, so that the slow
    password hash holds no write lock; then record the outcome with
    :func:`complete_login` or :func:`record_failed_login`.
    """
    address = normalize_email(email)
    user = find_staff(session, email=address)
    if user is None:
        passwords.burn_time(password)
        return None
    if passwords.verify_password(user.password_hash, password) and user.active:
        return user
    return None


def complete_login(session: Session, *, staff_id: int, password: str, clock: Clock) -> StaffUser:
    """Record a successful login (and upgrade an outdated password hash)."""
    user = session.get(StaffUser, staff_id)
    if user is None or not user.active:  # removed or deactivated meanwhile
        record_failed_login(session, staff_id=staff_id, clock=clock)
        raise VerificationFailed(LOGIN_FAILED)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = clock.now()
    emit(session, LoginSucceeded(staff_id=user.id), actor=staff_actor(user), clock=clock)
    return user


def record_failed_login(session: Session, *, staff_id: int | None, clock: Clock) -> None:
    """Record a failed login; what was typed is never stored."""
    emit(session, LoginFailed(staff_id=staff_id), actor=ANONYMOUS_ACTOR, clock=clock)


def authenticate(session: Session, *, email: str, password: str, clock: Clock) -> StaffUser:
    """Check the credentials and record the outcome in one session.

    For callers without concurrency concerns (the CLI, tests). The failure is
    recorded as a ``staff.login_failed`` event in ``session`` before raising,
    so the caller should commit also when this raises.
    """
    user = check_credentials(session, email=email, password=password)
    if user is None:
        known = find_staff(session, email=normalize_email(email))
        record_failed_login(session, staff_id=None if known is None else known.id, clock=clock)
        raise VerificationFailed(LOGIN_FAILED)
    return complete_login(session, staff_id=user.id, password=password, clock=clock)


# --- browser sessions -------------------------------------------------------------------------


def open_session(
    session: Session, *, staff: StaffUser, lifetime: dt.timedelta, clock: Clock
) -> tuple[str, StaffSession]:
    """A new browser session; returns the token (give it to the browser) and the row."""
    if lifetime <= dt.timedelta(0):
        raise InvalidInput("lifetime: a session must last longer than zero.", field="lifetime")
    token = secrets.token_urlsafe(32)
    now = clock.now()
    row = StaffSession(
        token_digest=_token_digest(token),
        staff_id=staff.id,
        csrf_secret=secrets.token_hex(32),
        created_at=now,
        expires_at=now + lifetime,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return token, row


def session_for_token(session: Session, *, token: str, clock: Clock) -> StaffSession | None:
    """The live session for ``token`` (None when unknown, expired, revoked or inactive)."""
    if not token:
        return None
    stmt = select(StaffSession).where(StaffSession.token_digest == _token_digest(token))
    row = session.scalars(stmt).one_or_none()
    now = clock.now()
    if row is None or not row.is_valid(now) or not row.staff.active:
        return None
    row.last_seen_at = now
    return row


def close_session(session: Session, *, staff_session: StaffSession, clock: Clock) -> None:
    """Revoke ``staff_session`` (logging out); closing twice changes nothing."""
    if staff_session.revoked_at is not None:
        return
    staff_session.revoked_at = clock.now()
    emit(
        session,
        LoggedOut(staff_id=staff_session.staff_id),
        actor=staff_actor(staff_session.staff),
        clock=clock,
    )


# --- API keys ---------------------------------------------------------------------------------


def create_api_key(
    session: Session,
    *,
    name: str,
    scopes: list[str] | list[Scope] | tuple[str, ...],
    actor: str,
    clock: Clock,
) -> tuple[str, ApiKey]:
    """A new key; the full key string is returned once and never stored."""
    label = name.strip()
    if not label or len(label) > 200:
        raise InvalidInput(
            "name: say what the key is for, e.g. 'website build' (1 to 200 characters).",
            field="name",
        )
    granted = parse_scopes(list(scopes))
    parts = generate_key()
    key = ApiKey(
        prefix=parts.prefix,
        secret_digest=secret_digest(parts.secret),
        name=label,
        scopes=json.dumps([s.value for s in granted]),
        created_by=actor,
        created_at=clock.now(),
    )
    session.add(key)
    session.flush()
    emit(
        session,
        ApiKeyCreated(
            api_key_id=key.id,
            prefix=key.prefix,
            name=label,
            scopes=tuple(s.value for s in granted),
        ),
        actor=actor,
        clock=clock,
    )
    return str(parts), key


LAST_USED_STEP = dt.timedelta(minutes=1)
"""``last_used_at`` is kept to this resolution, so busy keys do not write on every request."""


def key_needs_touch(row: ApiKey, *, clock: Clock) -> bool:
    """Whether ``last_used_at`` is older than :data:`LAST_USED_STEP` (or unset)."""
    return row.last_used_at is None or clock.now() - row.last_used_at >= LAST_USED_STEP


def touch_api_key(session: Session, *, key_id: int, clock: Clock) -> None:
    """Record that the key was used now (a short write of its own)."""
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=clock.now()))


def verify_api_key(session: Session, *, key: str, clock: Clock, touch: bool = True) -> ApiKey:
    """The live key matching ``key``; VerificationFailed for anything else.

    With ``touch`` the key's ``last_used_at`` is brought up to date (to the minute);
    a read-only caller passes ``touch=False`` and calls :func:`touch_api_key` itself
    when :func:`key_needs_touch` says so.
    """
    parts = parse_key(key)
    if parts is None:
        raise VerificationFailed(KEY_FAILED)
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == parts.prefix)).one_or_none()
    digest = secret_digest(parts.secret)
    expected = row.secret_digest if row is not None else secret_digest("")
    matches = hmac.compare_digest(digest, expected)
    if row is None or not matches or row.revoked_at is not None:
        raise VerificationFailed(KEY_FAILED)
    if touch and key_needs_touch(row, clock=clock):
        row.last_used_at = clock.now()
    return row


def require_scope(key: ApiKey, scope: Scope) -> None:
    """Raise PermissionDenied unless ``key`` carries ``scope``."""
    if scope.value not in key.scope_list:
        raise PermissionDenied(
            f"The API key {key.prefix} lacks the scope {scope.value}; create a key with it.",
            scope=scope.value,
        )


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_api_key(session: Session, *, prefix: str, actor: str, clock: Clock) -> ApiKey:
    """Revoke the key with ``prefix`` (also accepts the full key); revoking twice is harmless."""
    parts = parse_key(prefix)
    wanted = parts.prefix if parts is not None else prefix.strip()
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == wanted)).one_or_none()
    if row is None:
        raise NotFound(
            f"prefix: there is no API key {wanted!r}; `tutela apikey list` shows the prefixes.",
            field="prefix",
        )
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        emit(
            session,
            ApiKeyRevoked(api_key_id=row.id, prefix=row.prefix),
            actor=actor,
            clock=clock,
        )
    return row
