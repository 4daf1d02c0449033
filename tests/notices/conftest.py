"""Fixtures for the notice tests: two published versions, subscribers, a store, a worker."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.mail.conftest import Inbox, SmtpServer, free_port, smtp_server  # noqa: F401
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.consent import Proof, record
from tutela.crypto import MasterKey
from tutela.jobs import Worker, registry
from tutela.mail import FileOutbox, MailDelivery, Mailer, install_delivery
from tutela.notices import (
    AudienceSpec,
    NoticeCampaign,
    NoticeRuntime,
    install_runtime,
    queue_notices,
)
from tutela.notices.jobs import POLL
from tutela.policy.loader import load_declaration
from tutela.policy.models import Declaration
from tutela.policy.models_db import PolicyVersion
from tutela.policy.versions import publish
from tutela.storage import transaction
from tutela.subjects import Subject, SubjectVault, get_or_create_subject

EXAMPLE = Path(__file__).resolve().parents[2] / "src/tutela/policy/examples/example.yaml"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
BASE_URL = "https://shop.example.org"
RETENTION_EN = "New retention period for the purpose “Newsletter” (newsletter): 4 years"
RETENTION_DE = "Neue Speicherdauer für den Zweck „Newsletter“ (newsletter): 4 Jahre"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(scope="session")
def master() -> MasterKey:
    return MasterKey(bytes(range(32)))


@pytest.fixture(scope="session")
def declaration() -> Declaration:
    return load_declaration(EXAMPLE)


def changed(declaration: Declaration, *, years: int = 4, **update: Any) -> Declaration:
    """The example with a longer newsletter retention (a material change)."""
    data = declaration.model_dump(mode="json")
    for purpose in data["purposes"]:
        if purpose["id"] == "newsletter":
            purpose["retention"]["period"] = f"P{years}Y"
    data.update(update)
    return Declaration.model_validate(data)


Publish = Callable[..., PolicyVersion]


@pytest.fixture
def publish_version(session_factory: sessionmaker[Session], clock: FrozenClock) -> Publish:
    def run(chosen: Declaration, effective_on: dt.date | None = None) -> PolicyVersion:
        with transaction(session_factory) as session:
            version = publish(
                session,
                declaration=chosen,
                source_text="# test\n",
                actor="test",
                clock=clock,
                effective_on=effective_on,
            )
            session.expunge(version)
            return version

    return run


@dataclass
class Versions:
    first: PolicyVersion
    second: PolicyVersion


@pytest.fixture
def versions(publish_version: Publish, declaration: Declaration) -> Versions:
    """Version 1 in effect today, version 2 (longer newsletter retention) upcoming."""
    return Versions(publish_version(declaration), publish_version(changed(declaration)))


Person = Callable[..., Subject]


@pytest.fixture
def subscriber(
    session_factory: sessionmaker[Session], master: MasterKey, clock: FrozenClock
) -> Person:
    """A subject with consent events for ``purpose`` (committed)."""

    def run(
        address: str,
        *,
        language: str = "de",
        purpose: str = "newsletter",
        actions: tuple[str, ...] = ("given", "confirmed"),
    ) -> Subject:
        with transaction(session_factory) as session:
            subject, _ = get_or_create_subject(
                session, kind="email", value=address, master=master, clock=clock, actor="test"
            )
            for action in actions:
                record(
                    session,
                    subject=subject,
                    purpose_id=purpose,
                    action=action,
                    proof=Proof(channel="web_form", language=language),
                    master=master,
                    clock=clock,
                    actor="test",
                )
            session.expunge(subject)
            return subject

    return run


Row = tuple[int, str | None, str | None]
StoreFactory = Callable[[Sequence[Row]], AudienceSpec]


@pytest.fixture
def store(tmp_path: Path) -> StoreFactory:
    """A separate SQLite store with an ``accounts`` table; returns its audience entry."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"

    def build(rows: Sequence[Row]) -> AudienceSpec:
        engine = sa.create_engine(url)
        meta = sa.MetaData()
        accounts = sa.Table(
            "accounts",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("mail", sa.String(254)),
            sa.Column("locale", sa.String(10)),
        )
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                accounts.insert(), [{"id": i, "mail": m, "locale": loc} for i, m, loc in rows]
            )
        engine.dispose()
        return AudienceSpec(
            name="shop-accounts", url=url, table="accounts", email="mail", language="locale"
        )

    return build


@pytest.fixture
def outbox(tmp_path: Path) -> FileOutbox:
    return FileOutbox(tmp_path / "outbox")


InstallMailer = Callable[[Mailer], None]


@pytest.fixture
def use_mailer(master: MasterKey) -> Iterator[InstallMailer]:
    previous: list[MailDelivery | None] = []

    def install(mailer: Mailer) -> None:
        delivery = MailDelivery(
            mailer=mailer,
            vault=SubjectVault(master),
            sender="Terminfuchs GmbH <datenschutz@example.de>",
            message_id_domain="example.de",
        )
        previous.append(install_delivery(delivery))

    yield install
    if previous:
        install_delivery(previous[0])


Runtime = Callable[..., NoticeRuntime]


@pytest.fixture
def runtime(master: MasterKey, tmp_path: Path) -> Iterator[Runtime]:
    previous: list[NoticeRuntime | None] = []

    def install(*audience: AudienceSpec, language: str = "de") -> NoticeRuntime:
        settings = Settings(data_dir=tmp_path, base_url=BASE_URL, default_language=language)
        installed = NoticeRuntime(master=master, settings=settings, audience=tuple(audience))
        previous.append(install_runtime(installed))
        return installed

    yield install
    if previous:
        install_runtime(previous[0])


@dataclass
class Run:
    """Queue the notices of a version and run the worker until the campaign settles."""

    factory: sessionmaker[Session]
    clock: FrozenClock
    master: MasterKey

    def queue(self, version: int, **options: Any) -> NoticeCampaign:
        with transaction(self.factory) as session:
            campaign = queue_notices(
                session,
                version=version,
                master=self.master,
                clock=self.clock,
                actor="test",
                **options,
            )
            session.flush()
            session.expunge(campaign)
            return campaign

    def worker(self, *, rounds: int = 50, step: dt.timedelta = POLL) -> int:
        """Run due jobs, moving the clock by ``step`` while jobs wait; return jobs run."""
        worker = Worker(self.factory, clock=self.clock, registry=registry, worker_id="test")
        total = 0
        for _ in range(rounds):
            ran = worker.run_until_idle(max_jobs=500)
            total += ran
            if ran == 0 and not self._waiting():
                break
            self.clock.advance(step)
        return total

    def _waiting(self) -> bool:
        with self.factory() as session:
            return bool(
                session.scalar(
                    sa.text("SELECT count(*) FROM jobs WHERE status IN ('queued', 'failed')")
                )
            )


@pytest.fixture
def run(session_factory: sessionmaker[Session], clock: FrozenClock, master: MasterKey) -> Run:
    return Run(session_factory, clock, master)


def messages(box: FileOutbox) -> list[EmailMessage]:
    """Every mail in the outbox, oldest first."""
    found: list[EmailMessage] = []
    for path in sorted(box.directory.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append(parsed)
    return found


def body(message: EmailMessage) -> str:
    """The plain-text part with its lines joined (the layout wraps them at 72 characters)."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return " ".join(str(part.get_content()).split())
