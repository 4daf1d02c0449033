"""Constants and helpers of the request tests: the outbox, row counts, stored text."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

import tutela.dsr.fulfil_job  # noqa: F401 - registers the fulfilment job and handlers
from tutela.clock import FrozenClock
from tutela.dsr import DsrRequest
from tutela.jobs import Worker, registry
from tutela.mail import FileOutbox
from tutela.storage.metadata import target_metadata
from tutela.subjects import Subject

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday
BASE = "https://privacy.example.org"
APP_KEY = "app-signing-key-for-tests-0123456789abcdef"
KNOWN = "anna.beispiel@example.org"
UNKNOWN = "nobody.here@example.org"
LINK = re.compile(re.escape(BASE) + r"/requests/verify/([A-Za-z0-9_-]+)")


def run_jobs(factory: sessionmaker[Session], clock: FrozenClock) -> int:
    return Worker(factory, clock=clock, registry=registry, worker_id="test").run_until_idle()


def load(factory: sessionmaker[Session], reference: str) -> DsrRequest:
    with factory() as session:
        request = session.scalars(select(DsrRequest).where(DsrRequest.reference == reference)).one()
        session.expunge(request)
        return request


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str

    @property
    def flat(self) -> str:
        """The body with line breaks folded into single spaces (for phrase checks)."""
        return " ".join(self.body.split())


def mails(outbox: FileOutbox) -> list[Mail]:
    """Every mail in the outbox, oldest first."""
    found: list[Mail] = []
    if not outbox.directory.exists():
        return found
    paths = sorted(outbox.directory.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    for path in paths:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        part = message.get_body(("plain",))
        assert part is not None
        found.append(Mail(str(message["To"]), str(message["Subject"]), part.get_content()))
    return found


def link_token(mail: Mail) -> str:
    found = LINK.search(mail.body)
    assert found is not None, mail.body
    return found.group(1)


def row_counts(factory: sessionmaker[Session]) -> dict[str, int]:
    """Rows per table (every table of the schema)."""
    with factory() as session:
        return {
            name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in target_metadata.tables.items()
        }


def all_text(factory: sessionmaker[Session]) -> str:
    """Every stored value of every table as text (bytes decoded leniently)."""
    parts: list[str] = []
    with factory() as session:
        for name in target_metadata.tables:
            for row in session.execute(text(f'SELECT * FROM "{name}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value).decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def subject_row(factory: sessionmaker[Session], subject_id: int) -> Subject:
    with factory() as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        session.expunge(subject)
        return subject
