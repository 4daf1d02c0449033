"""Fixtures for the consent tests: a published example declaration, a master key, subjects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tutela.clock import FrozenClock
from tutela.consent import ConsentEvent, Proof, record
from tutela.crypto import MasterKey
from tutela.policy.loader import load_declaration
from tutela.policy.models import Declaration
from tutela.policy.models_db import PolicyVersion
from tutela.policy.versions import publish
from tutela.subjects import Subject, get_or_create_subject

EXAMPLE = Path(__file__).resolve().parents[2] / "src/tutela/policy/examples/example.yaml"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(scope="session")
def master() -> MasterKey:
    return MasterKey(bytes(range(32)))


@pytest.fixture(scope="session")
def declaration() -> Declaration:
    return load_declaration(EXAMPLE)


@pytest.fixture
def publish_declaration(
    session: Session, clock: FrozenClock
) -> Callable[[Declaration], PolicyVersion]:
    """Publish a declaration (committed) and return the version."""

    def run(chosen: Declaration) -> PolicyVersion:
        with session.begin():
            return publish(
                session,
                declaration=chosen,
                source_text=EXAMPLE.read_text(encoding="utf-8"),
                actor="test",
                clock=clock,
            )

    return run


@pytest.fixture
def published(
    publish_declaration: Callable[[Declaration], PolicyVersion], declaration: Declaration
) -> PolicyVersion:
    return publish_declaration(declaration)


@pytest.fixture
def person(session: Session, master: MasterKey, clock: FrozenClock) -> Callable[..., Subject]:
    """Create (or find) the subject holding an identity; committed."""

    def run(value: str = "anna@example.org", kind: str = "email") -> Subject:
        with session.begin():
            subject, _created = get_or_create_subject(
                session, kind=kind, value=value, master=master, clock=clock, actor="test"
            )
        return subject

    return run


@pytest.fixture
def note(session: Session, master: MasterKey, clock: FrozenClock) -> Callable[..., ConsentEvent]:
    """Record one event in its own committed transaction."""

    def run(subject: Subject, purpose: str, action: str, **proof: Any) -> ConsentEvent:
        proof.setdefault("channel", "web_form")
        with session.begin():
            return record(
                session,
                subject=subject,
                purpose_id=purpose,
                action=action,
                proof=Proof(**proof),
                master=master,
                clock=clock,
                actor="test",
            )

    return run
