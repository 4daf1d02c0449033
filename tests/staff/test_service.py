"""Staff accounts, logins, sessions and API keys against both databases."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tutela.audit import entries, verify
from tutela.clock import FrozenClock
from tutela.errors import Conflict, InvalidInput, NotFound, PermissionDenied, VerificationFailed
from tutela.staff.apikeys import Scope
from tutela.staff.models import ApiKey, StaffSession, StaffUser
from tutela.staff.service import (
    add_staff,
    authenticate,
    close_session,
    create_api_key,
    list_api_keys,
    open_session,
    require_scope,
    revoke_api_key,
    session_for_token,
    verify_api_key,
)

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PASSWORD = "a long enough passphrase"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def alice(session: Session, clock: FrozenClock) -> StaffUser:
    user = add_staff(
        session,
        email=" Alice@Example.ORG ",
        password=PASSWORD,
        role="dpo",
        display_name="Alice Example",
        actor="cli",
        clock=clock,
    )
    session.commit()
    return user


@pytest.mark.promise("P19")
def test_add_staff_stores_a_hash_and_records_an_event(session: Session, alice: StaffUser) -> None:
    assert alice.email == "alice@example.org"
    assert alice.role == "dpo"
    assert alice.active
    assert alice.password_hash.startswith("$argon2id$")
    assert PASSWORD not in alice.password_hash
    (event,) = entries(session, action="staff.added")
    assert event.target == f"staff:{alice.id}"
    assert event.actor == "cli"
    assert "alice" not in event.payload


def test_add_staff_refuses_bad_input(
    session: Session, alice: StaffUser, clock: FrozenClock
) -> None:
    base = {"password": PASSWORD, "role": "support", "display_name": "B", "actor": "cli"}
    with pytest.raises(InvalidInput, match="email: 'not-an-address'"):
        add_staff(session, email="not-an-address", clock=clock, **base)
    with pytest.raises(InvalidInput, match="role: 'boss'"):
        add_staff(session, email="b@example.org", clock=clock, **{**base, "role": "boss"})
    with pytest.raises(InvalidInput, match="password: it has 5 characters"):
        add_staff(session, email="b@example.org", clock=clock, **{**base, "password": "short"})
    with pytest.raises(Conflict, match=r"alice@example\.org exists already"):
        add_staff(session, email="ALICE@example.org", clock=clock, **base)


@pytest.mark.promise("P19")
def test_authenticate_accepts_the_right_password_and_records_the_login(
    session: Session, alice: StaffUser, clock: FrozenClock
) -> None:
    user = authenticate(session, email="ALICE@example.org", password=PASSWORD, clock=clock)
    session.commit()
    assert user.id == alice.id
    assert user.last_login_at == START
    assert [e.target for e in entries(session, action="staff.login_succeeded")] == [
        f"staff:{alice.id}"
    ]


@pytest.mark.promise("P19")
def test_wrong_password_unknown_user_and_inactive_account_fail_alike(
    session: Session, alice: StaffUser, clock: FrozenClock
) -> None:
    messages = []
    for email, password in [
        ("alice@example.org", "wrong passphrase!!"),
        ("nobody@example.org", PASSWORD),
    ]:
        with pytest.raises(VerificationFailed) as caught:
            authenticate(session, email=email, password=password, clock=clock)
        messages.append(caught.value.problem())
    alice.active = False
    with pytest.raises(VerificationFailed) as caught:
        authenticate(session, email="alice@example.org", password=PASSWORD, clock=clock)
    messages.append(caught.value.problem())
    assert messages[0] == messages[1] == messages[2]
    assert messages[0]["detail"] == "Wrong e-mail address or password"
    session.commit()
    failures = entries(session, action="staff.login_failed")
    assert len(failures) == 3
    for failure in failures:
        assert "passphrase" not in failure.payload
        assert PASSWORD not in failure.payload
        assert "example.org" not in failure.payload
    assert verify(session).ok


def test_login_rehashes_a_hash_with_old_parameters(
    session: Session, alice: StaffUser, clock: FrozenClock
) -> None:
    from argon2 import PasswordHasher

    alice.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    old = alice.password_hash
    authenticate(session, email="alice@example.org", password=PASSWORD, clock=clock)
    assert alice.password_hash != old
    assert alice.password_hash.startswith("$argon2id$v=19$m=65536")


@pytest.mark.promise("P19")
def test_session_token_is_stored_only_as_digest_and_expires(
    session_factory: sessionmaker[Session], alice: StaffUser, clock: FrozenClock
) -> None:
    with session_factory() as session, session.begin():
        user = session.get(StaffUser, alice.id)
        assert user is not None
        token, row = open_session(session, staff=user, lifetime=dt.timedelta(hours=8), clock=clock)
        assert row.expires_at == START + dt.timedelta(hours=8)
    with session_factory() as session:
        stored = session.scalars(select(StaffSession)).one()
        assert token not in (stored.token_digest, stored.csrf_secret)
        assert len(stored.token_digest) == 64
    clock.advance(dt.timedelta(hours=7, minutes=59))
    with session_factory() as session, session.begin():
        live = session_for_token(session, token=token, clock=clock)
        assert live is not None
        assert live.staff.email == "alice@example.org"
    with session_factory() as session:
        assert session.scalars(select(StaffSession)).one().last_seen_at == clock.now()
    clock.advance(dt.timedelta(minutes=1))
    with session_factory() as session:
        assert session_for_token(session, token=token, clock=clock) is None
        assert session_for_token(session, token="", clock=clock) is None
        assert session_for_token(session, token=token + "x", clock=clock) is None


@pytest.mark.promise("P19")
def test_closed_session_is_dead(session: Session, alice: StaffUser, clock: FrozenClock) -> None:
    token, row = open_session(session, staff=alice, lifetime=dt.timedelta(hours=1), clock=clock)
    close_session(session, staff_session=row, clock=clock)
    close_session(session, staff_session=row, clock=clock)
    session.commit()
    assert session_for_token(session, token=token, clock=clock) is None
    assert len(entries(session, action="staff.logged_out")) == 1


def test_inactive_staff_loses_open_sessions(
    session: Session, alice: StaffUser, clock: FrozenClock
) -> None:
    token, _row = open_session(session, staff=alice, lifetime=dt.timedelta(hours=1), clock=clock)
    alice.active = False
    session.flush()
    assert session_for_token(session, token=token, clock=clock) is None


@pytest.mark.promise("P19")
def test_api_key_lifecycle(session: Session, clock: FrozenClock) -> None:
    key, row = create_api_key(
        session, name="website build", scopes=["policy:read"], actor="cli", clock=clock
    )
    session.commit()
    assert key.startswith(f"tut_{row.prefix}_")
    stored = session.scalars(select(ApiKey)).one()
    assert key.split("_")[2] not in stored.secret_digest
    assert json.loads(stored.scopes) == ["policy:read"]
    clock.advance(dt.timedelta(minutes=5))
    found = verify_api_key(session, key=key, clock=clock)
    assert found.id == row.id
    assert found.last_used_at == clock.now()
    require_scope(found, Scope.POLICY_READ)
    with pytest.raises(PermissionDenied, match="lacks the scope audit:read"):
        require_scope(found, Scope.AUDIT_READ)
    revoke_api_key(session, prefix=row.prefix, actor="cli", clock=clock)
    revoke_api_key(session, prefix=key, actor="cli", clock=clock)
    session.commit()
    with pytest.raises(VerificationFailed):
        verify_api_key(session, key=key, clock=clock)
    assert [k.prefix for k in list_api_keys(session)] == [row.prefix]
    actions = [e.action for e in entries(session) if e.action.startswith("apikey.")]
    assert actions == ["apikey.revoked", "apikey.created"]


def test_wrong_or_malformed_keys_fail_alike(session: Session, clock: FrozenClock) -> None:
    key, _row = create_api_key(
        session, name="reader", scopes=[Scope.POLICY_READ], actor="cli", clock=clock
    )
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    unknown_prefix = "tut_" + "z" * 12 + key[16:]
    details = set()
    for attempt in (tampered, unknown_prefix, "tut_short", "", "Bearer " + key):
        with pytest.raises(VerificationFailed) as caught:
            verify_api_key(session, key=attempt, clock=clock)
        details.add(caught.value.detail)
    assert len(details) == 1


def test_api_key_input_errors(session: Session, clock: FrozenClock) -> None:
    with pytest.raises(InvalidInput, match="name:"):
        create_api_key(session, name=" ", scopes=["policy:read"], actor="cli", clock=clock)
    with pytest.raises(InvalidInput, match="scopes:"):
        create_api_key(session, name="x", scopes=["root"], actor="cli", clock=clock)
    with pytest.raises(NotFound, match="prefix: there is no API key"):
        revoke_api_key(session, prefix="nope", actor="cli", clock=clock)


def test_last_used_is_kept_to_the_minute(session: Session, clock: FrozenClock) -> None:
    """A busy key does not write on every request: last_used_at moves once a minute."""
    from tutela.staff.service import LAST_USED_STEP, create_api_key, verify_api_key

    key, _row = create_api_key(
        session, name="busy", scopes=["consent:read"], actor="test", clock=clock
    )
    first = verify_api_key(session, key=key, clock=clock).last_used_at
    assert first == clock.now()
    clock.advance(LAST_USED_STEP / 2)
    assert verify_api_key(session, key=key, clock=clock).last_used_at == first
    clock.advance(LAST_USED_STEP)
    assert verify_api_key(session, key=key, clock=clock).last_used_at == clock.now()
