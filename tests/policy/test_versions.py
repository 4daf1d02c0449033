"""Published versions: immutable, hashed, numbered, effective only after the notice period."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tutela.audit import AuditEntry
from tutela.calendar import effective_after_notice
from tutela.clock import FrozenClock
from tutela.errors import Conflict, InvalidInput, NotFound, PolicyViolation
from tutela.policy import versions
from tutela.policy.loader import parse_declaration
from tutela.policy.models import Declaration
from tutela.policy.versions import (
    PolicyVersion,
    canonical_json,
    content_hash,
    current_version,
    get_version,
    latest_version,
    list_versions,
    publish,
    upcoming_version,
)

BASE_YAML = """\
# A small declaration that passes the lint.
schema_version: 1
controller:
  name: Beispiel GmbH
  address: {street: Hauptstraße 1, postal_code: "80331", city: München, country: DE, state: BY}
  contacts: {email: datenschutz@example.de}
supervisory_authority:
  name: {de: Landesamt für Datenschutzaufsicht, en: Data Protection Authority}
  address: {street: Promenade 18, postal_code: "91522", city: Ansbach, country: DE, state: BY}
data_categories:
  - key: user.contact.email
  - key: user.name
purposes:
  - id: contract
    data_use: essential.service
    name: {de: Vertragserfüllung, en: Performing the contract}
    description: {de: Wir liefern Ihre Bestellung., en: We deliver your order.}
    legal_basis: contract
    categories: {required: [user.contact.email, user.name]}
    retention: {period: P3Y, after: contract_end}
    recipients: [mailer]
    provision:
      requirement: contract_prerequisite
      consequences: {de: Sonst kein Vertrag., en: Otherwise no contract.}
recipients:
  - id: mailer
    name: Post AG
    role: processor
    country: DE
    service: {de: Versand von E-Mails, en: Sending e-mails}
    contract_date: 2024-01-15
rights_channels:
  - kind: email
change_notice: {days: 30, unit: werktage, states: [BY]}
"""

MONDAY = dt.datetime(2025, 12, 1, 10, 0, tzinfo=dt.UTC)  # law notes § 2.5, W-T1


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(BASE_YAML)
    return data


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _parse(source: str) -> Declaration:
    return parse_declaration(source, source="test.yaml")


def _changed(**notice: Any) -> str:
    """BASE_YAML with a longer retention, and the change notice updated by ``notice``."""
    data = _data()
    data["purposes"][0]["retention"]["period"] = "P5Y"
    data["change_notice"].update(notice)
    return _yaml(data)


def _publish(session: Session, source: str, clock: FrozenClock, **kwargs: Any) -> PolicyVersion:
    return publish(
        session, declaration=_parse(source), source_text=source, actor="staff:1", clock=clock,
        **kwargs,
    )  # fmt: skip


def _count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY)


def test_first_version_takes_effect_at_once(session: Session, clock: FrozenClock) -> None:
    version = _publish(session, BASE_YAML, clock, note="first publication")
    session.commit()
    assert version.number == 1
    assert version.effective_at == version.notice_on == dt.date(2025, 12, 1)
    assert version.published_at == MONDAY
    assert version.published_by == "staff:1"
    assert version.note == "first publication"
    assert version.source_text == BASE_YAML
    assert version.document == canonical_json(_parse(BASE_YAML))
    assert version.content_hash == content_hash(_parse(BASE_YAML))
    assert len(version.content_hash) == 64
    stored = get_version(session, 1)
    assert stored.declaration() == _parse(BASE_YAML)
    assert content_hash(stored.declaration()) == stored.content_hash


@pytest.mark.promise("P20")
def test_later_version_waits_30_werktage(session: Session, clock: FrozenClock) -> None:
    _publish(session, BASE_YAML, clock)
    second = _publish(session, _changed(), clock)
    session.commit()
    # W-T1: notice on Mon 2025-12-01, 30 Werktage in Bavaria end on Fri 2026-01-09.
    assert second.number == 2
    assert second.notice_on == dt.date(2025, 12, 1)
    assert second.effective_at == dt.date(2026, 1, 10)


@pytest.mark.promise("P20")
def test_notice_unit_and_states_come_from_the_new_declaration(
    session: Session, clock: FrozenClock
) -> None:
    _publish(session, BASE_YAML, clock)
    second = _publish(session, _changed(unit="arbeitstage"), clock)
    # W-T1: 30 Arbeitstage in Bavaria end on Fri 2026-01-16.
    assert second.effective_at == dt.date(2026, 1, 17)
    clock.advance(dt.timedelta(days=1))
    third = _publish(session, _changed(unit="calendar_days", days=10), clock)
    # 10 calendar days would end on 2025-12-12, but version 2 promised 30 Arbeitstage:
    # a new version cannot shorten the notice already promised.
    promised = effective_after_notice(dt.date(2025, 12, 2), 30, unit="arbeitstage", states=["BY"])
    assert third.effective_at == promised
    assert third.effective_at > dt.date(2025, 12, 13)


@pytest.mark.promise("P20")
def test_a_new_version_cannot_shorten_the_promised_notice(
    session: Session, clock: FrozenClock
) -> None:
    _publish(session, BASE_YAML, clock)
    clock.advance(dt.timedelta(days=1))
    second = _publish(session, _changed(days=30), clock)
    session.commit()
    clock.set(MONDAY)
    shortened = _data()
    shortened["purposes"][0]["retention"]["period"] = "P6Y"
    shortened["change_notice"]["days"] = 0
    third = _publish(session, _yaml(shortened), clock)
    # Version 2 (in effect or upcoming) promised 30 Werktage: W-T1 ends on 2026-01-09.
    assert third.effective_at == dt.date(2026, 1, 10)
    assert second.number == 2


@pytest.mark.promise("P20")
def test_effective_date_before_the_notice_period_ends_is_refused(
    session: Session, clock: FrozenClock
) -> None:
    _publish(session, BASE_YAML, clock)
    session.commit()
    audit_rows = _count(session, AuditEntry)
    with pytest.raises(PolicyViolation, match="earliest allowed date is 2026-01-10") as caught:
        _publish(session, _changed(), clock, effective_on=dt.date(2026, 1, 9))
    assert caught.value.extra["earliest"] == "2026-01-10"
    session.rollback()
    assert _count(session, PolicyVersion) == 1
    assert _count(session, AuditEntry) == audit_rows
    later = _publish(session, _changed(), clock, effective_on=dt.date(2026, 2, 1))
    assert later.effective_at == dt.date(2026, 2, 1)


def test_first_version_cannot_take_effect_in_the_past(session: Session, clock: FrozenClock) -> None:
    with pytest.raises(PolicyViolation, match="cannot take effect in the past"):
        _publish(session, BASE_YAML, clock, effective_on=dt.date(2025, 11, 30))
    planned = _publish(session, BASE_YAML, clock, effective_on=dt.date(2025, 12, 24))
    assert planned.effective_at == dt.date(2025, 12, 24)


def test_lint_errors_refuse_publication_and_write_nothing(
    session: Session, clock: FrozenClock
) -> None:
    data = _data()
    data["purposes"][0]["legal_basis"] = "legitimate_interests"  # without the interest
    source = _yaml(data)
    with pytest.raises(PolicyViolation, match="cannot be published") as caught:
        _publish(session, source, clock)
    errors = caught.value.extra["errors"]
    assert errors
    assert all(e["path"].startswith("purposes[0]") for e in errors)
    assert all(f"{e['id']} at {e['path']}" in caught.value.detail for e in errors)
    session.rollback()
    assert _count(session, PolicyVersion) == 0
    assert _count(session, AuditEntry) == 0


def test_identical_content_is_refused_whatever_the_layout(
    session: Session, clock: FrozenClock
) -> None:
    _publish(session, BASE_YAML, clock)
    session.commit()
    relaid = "# the same content, laid out anew\n" + _yaml(_data())
    assert relaid != BASE_YAML
    with pytest.raises(Conflict, match="identical to version 1"):
        _publish(session, relaid, clock)
    session.rollback()
    assert _count(session, PolicyVersion) == 1


def test_the_module_offers_no_way_to_change_a_version() -> None:
    public = {name for name in dir(versions) if not name.startswith("_")}
    verbs = ("update", "delete", "remove", "edit", "change", "replace", "set_")
    assert not [name for name in public if name.startswith(verbs)]


def test_the_database_refuses_updates_and_deletes(session: Session, clock: FrozenClock) -> None:
    _publish(session, BASE_YAML, clock)
    session.commit()
    for statement in (
        "UPDATE policy_versions SET note = 'changed'",
        "UPDATE policy_versions SET effective_at = effective_at",
        "DELETE FROM policy_versions",
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            session.execute(text(statement))
        session.rollback()
    version = get_version(session, 1)
    version.note = "changed through the ORM"
    with pytest.raises(DBAPIError, match="immutable"):
        session.flush()
    session.rollback()
    assert get_version(session, 1).note is None


def test_publication_is_recorded_in_the_audit_trail(session: Session, clock: FrozenClock) -> None:
    first = _publish(session, BASE_YAML, clock, note="initial")
    second = _publish(session, _changed(), clock)
    session.commit()
    rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.sequence)))
    assert [(r.action, r.target, r.actor) for r in rows] == [
        ("policy.published", "policy_version:1", "staff:1"),
        ("policy.published", "policy_version:2", "staff:1"),
    ]
    assert rows[0].reason == "initial"
    assert json.loads(rows[1].payload) == {
        "number": 2,
        "content_hash": second.content_hash,
        "effective_at": "2026-01-10",
        "notice_on": "2025-12-01",
        "previous": 1,
    }
    assert json.loads(rows[0].payload)["content_hash"] == first.content_hash


@pytest.mark.promise("P20")
def test_current_and_upcoming_version_by_date(session: Session, clock: FrozenClock) -> None:
    assert current_version(session, on=dt.date(2025, 12, 1)) is None
    _publish(session, BASE_YAML, clock)
    _publish(session, _changed(), clock)
    session.commit()

    def numbers(on: dt.date) -> tuple[int | None, int | None]:
        cur, up = current_version(session, on=on), upcoming_version(session, on=on)
        return (cur.number if cur else None, up.number if up else None)

    assert numbers(dt.date(2025, 11, 30)) == (None, 1)
    assert numbers(dt.date(2025, 12, 1)) == (1, 2)
    assert numbers(dt.date(2026, 1, 9)) == (1, 2)
    assert numbers(dt.date(2026, 1, 10)) == (2, None)
    assert [v.number for v in list_versions(session)] == [2, 1]
    latest = latest_version(session)
    assert latest is not None
    assert latest.number == 2


def test_a_later_version_supersedes_one_planned_further_ahead(
    session: Session, clock: FrozenClock
) -> None:
    _publish(session, BASE_YAML, clock)
    _publish(session, _changed(), clock, effective_on=dt.date(2026, 6, 1))
    _publish(session, _changed(days=20), clock)  # effective 2025-12-25
    cur = current_version(session, on=dt.date(2026, 7, 1))
    assert cur is not None
    assert cur.number == 3
    up = upcoming_version(session, on=dt.date(2025, 12, 2))
    assert up is not None
    assert up.number == 3


def test_unknown_version_numbers_say_what_exists(session: Session, clock: FrozenClock) -> None:
    with pytest.raises(NotFound, match="no declaration version has been published yet"):
        get_version(session, 1)
    _publish(session, BASE_YAML, clock)
    with pytest.raises(NotFound, match="numbered 1 to 1"):
        get_version(session, 7)


def test_actor_must_be_named(session: Session, clock: FrozenClock) -> None:
    with pytest.raises(InvalidInput, match="actor"):
        publish(
            session, declaration=_parse(BASE_YAML), source_text=BASE_YAML, actor=" ",
            clock=clock,
        )  # fmt: skip


def test_a_taken_number_is_a_conflict_to_retry(
    session: Session, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _publish(session, BASE_YAML, clock)
    session.commit()
    monkeypatch.setattr(versions, "latest_version", lambda _session: None)  # a stale read
    with pytest.raises(Conflict, match="try again"):
        _publish(session, _changed(), clock)
    session.rollback()
    assert [v.number for v in list_versions(session)] == [1]


def test_concurrent_publications_never_share_a_number(
    session_factory: sessionmaker[Session], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    if session_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; see test_sqlite_publications_wait_their_turn")
    with session_factory() as setup, setup.begin():
        _publish(setup, BASE_YAML, clock)
    first = session_factory()
    first.begin()
    _publish(first, _changed(), clock)  # number 2, not yet committed
    read_done = threading.Event()
    original = versions.latest_version

    def latest_then_signal(session: Session) -> PolicyVersion | None:
        found = original(session)
        read_done.set()
        return found

    monkeypatch.setattr(versions, "latest_version", latest_then_signal)
    outcome: list[BaseException | int] = []

    def second() -> None:
        with session_factory() as other:
            try:
                with other.begin():
                    outcome.append(_publish(other, _changed(days=40), clock).number)
            except BaseException as exc:  # handed over to the test thread
                outcome.append(exc)

    worker = threading.Thread(target=second)
    worker.start()
    assert read_done.wait(10)
    threading.Event().wait(0.3)  # let the second publication reach its insert
    first.commit()
    first.close()
    worker.join(15)
    assert len(outcome) == 1
    assert isinstance(outcome[0], Conflict)
    assert "try again" in str(outcome[0])
    with session_factory() as check:
        assert [v.number for v in list_versions(check)] == [2, 1]


def test_sqlite_publications_wait_their_turn(
    session_factory: sessionmaker[Session], clock: FrozenClock
) -> None:
    """On SQLite a second publication waits for the first to commit, then numbers on."""
    if session_factory.kw["bind"].dialect.name != "sqlite":
        pytest.skip("PostgreSQL interleaves; see test_concurrent_publications_never_share_a_number")
    with session_factory() as setup, setup.begin():
        _publish(setup, BASE_YAML, clock)
    first = session_factory()
    first.begin()
    _publish(first, _changed(), clock)
    outcome: list[BaseException | int] = []

    def second() -> None:
        with session_factory() as other:
            try:
                with other.begin():
                    outcome.append(_publish(other, _changed(days=40), clock).number)
            except BaseException as exc:  # handed over to the test thread
                outcome.append(exc)

    worker = threading.Thread(target=second)
    worker.start()
    threading.Event().wait(0.3)
    assert outcome == []  # still waiting for the first writer
    first.commit()
    first.close()
    worker.join(15)
    assert outcome == [3]
    with session_factory() as check:
        assert [v.number for v in list_versions(check)] == [3, 2, 1]


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: _shuffled(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    comment=st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs"]), max_size=40),
    flow=st.booleans(),
)
def test_hash_ignores_key_order_comments_and_layout(seed: int, comment: str, flow: bool) -> None:
    data = _shuffled(_data(), random.Random(seed))
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=flow)
    source = f"# {comment}\n{body}\n# end\n"
    assert content_hash(_parse(source)) == content_hash(_parse(BASE_YAML))


def test_hash_changes_with_content_and_json_is_canonical() -> None:
    base = _parse(BASE_YAML)
    assert content_hash(_parse(_changed())) != content_hash(base)
    document = canonical_json(base)
    assert document == json.dumps(
        json.loads(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert "München" in document
    assert "\n" not in document


@pytest.mark.parametrize("number", [0, -1, 2**31, 10**30])
def test_impossible_version_numbers_are_not_found(
    session: Session, clock: FrozenClock, number: int
) -> None:
    _publish(session, BASE_YAML, clock)
    with pytest.raises(NotFound, match="numbered 1 to 1"):
        get_version(session, number)
