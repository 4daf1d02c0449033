"""Fixtures for the request tests: keys, clock, settings, a published declaration, mail outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.harness import APP_KEY, BASE, KNOWN, START
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.crypto import MasterKey
from tutela.dsr import DsrRuntime, Receipt, submit
from tutela.dsr.jobs import install_runtime
from tutela.mail import FileOutbox, MailDelivery, install_delivery
from tutela.policy.loader import load_declaration
from tutela.policy.versions import publish
from tutela.staff.models import StaffUser
from tutela.storage import transaction
from tutela.subjects import SubjectVault, add_identity, get_or_create_subject

EXAMPLE = Path(__file__).resolve().parents[2] / "src/tutela/policy/examples/example.yaml"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(scope="session")
def master() -> MasterKey:
    return MasterKey(bytes(range(32)))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        base_url=BASE,
        controller_state="BY",
        app_assertion_key=APP_KEY,
        mail_from="privacy@example.org",
    )


@pytest.fixture
def outbox(tmp_path: Path) -> FileOutbox:
    return FileOutbox(tmp_path / "outbox")


@pytest.fixture
def runtime(master: MasterKey, settings: Settings, outbox: FileOutbox) -> Iterator[DsrRuntime]:
    """The mail delivery and the request jobs' runtime, installed for the test."""
    delivery = MailDelivery(
        mailer=outbox,
        vault=SubjectVault(master),
        sender="Terminfuchs GmbH <privacy@example.org>",
        message_id_domain="example.org",
    )
    previous_delivery = install_delivery(delivery)
    installed = DsrRuntime(master=master, settings=settings)
    previous_runtime = install_runtime(installed)
    yield installed
    install_runtime(previous_runtime)
    install_delivery(previous_delivery)


@pytest.fixture
def published(session_factory: sessionmaker[Session], clock: FrozenClock) -> None:
    with transaction(session_factory) as session:
        publish(
            session,
            declaration=load_declaration(EXAMPLE),
            source_text=EXAMPLE.read_text(encoding="utf-8"),
            actor="test",
            clock=FrozenClock(START - dt.timedelta(days=60)),
        )


@pytest.fixture
def person(
    session_factory: sessionmaker[Session], master: MasterKey, clock: FrozenClock
) -> Callable[..., int]:
    """Create a subject with an email (and optionally a customer id); return its id."""

    def run(address: str = KNOWN, customer_id: str | None = None) -> int:
        with transaction(session_factory) as session:
            subject, _ = get_or_create_subject(
                session, kind="email", value=address, master=master, clock=clock, actor="test"
            )
            if customer_id is not None:
                add_identity(
                    session,
                    subject=subject,
                    kind="customer_id",
                    value=customer_id,
                    master=master,
                    clock=clock,
                    actor="test",
                )
            return subject.id

    return run


@pytest.fixture
def staff(session_factory: sessionmaker[Session], clock: FrozenClock) -> Callable[[str], int]:
    """Create an active staff member with ``role``; return the id."""
    counter = iter(range(1, 1000))

    def run(role: str) -> int:
        with transaction(session_factory) as session:
            user = StaffUser(
                email=f"staff{next(counter)}@example.org",
                display_name="Staff",
                role=role,
                password_hash="not-a-real-hash",
                active=True,
                created_at=clock.now(),
            )
            session.add(user)
            session.flush()
            return user.id

    return run


@pytest.fixture
def file_request(
    session_factory: sessionmaker[Session],
    master: MasterKey,
    clock: FrozenClock,
    settings: Settings,
) -> Callable[..., Receipt]:
    """Submit a request in its own committed transaction."""

    def run(
        address: str = KNOWN,
        request_type: str = "access",
        kind: str = "email",
        **extra: Any,
    ) -> Receipt:
        with transaction(session_factory) as session:
            return submit(
                session,
                request_type=request_type,
                identity_kind=kind,
                identity_value=address,
                language=extra.pop("language", "en"),
                master=master,
                clock=clock,
                settings=settings,
                **extra,
            )

    return run
