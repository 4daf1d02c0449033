"""Finding recipients in chunks: resumable, deduplicated, sealed, batched sending."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.notices.conftest import Person, Run, Runtime, StoreFactory, Versions
from tutela.clock import FrozenClock
from tutela.crypto import MasterKey
from tutela.mail import Mailer
from tutela.notices import NoticeCampaign, NoticeDelivery
from tutela.notices.audience import AudienceReader
from tutela.notices.recipients import FANOUT_CHUNK, fan_out_chunk
from tutela.notices.sealing import open_address, unwrapped_key
from tutela.storage import transaction


class Collecting:
    """A mailer that keeps what it is given (the boundary to the mail server)."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        self.sent.append(message)
        return str(message["Message-ID"])


def chunk(
    factory: sessionmaker[Session],
    reader: AudienceReader,
    master: MasterKey,
    clock: FrozenClock,
    limit: int,
) -> bool:
    with transaction(factory) as session:
        campaign = session.scalars(select(NoticeCampaign)).one()
        return fan_out_chunk(
            session,
            campaign=campaign,
            reader=reader,
            master=master,
            given_counts=frozenset(),
            default_language="de",
            clock=clock,
            limit=limit,
        )


def count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(NoticeDelivery)) or 0)


@pytest.mark.promise("P20")
def test_chunks_resume_and_never_queue_a_person_twice(
    versions: Versions,
    subscriber: Person,
    store: StoreFactory,
    run: Run,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    master: MasterKey,
) -> None:
    for name in ("anna", "ben", "carl"):
        subscriber(f"{name}@example.org")
    spec = store(
        [(i, f"user{i}@example.org", "en") for i in range(1, 6)] + [(9, "ben@example.org", "en")]
    )
    run.queue(versions.second.number)
    reader = AudienceReader([spec])
    try:
        assert not chunk(session_factory, reader, master, clock, limit=2)  # anna, ben
        assert count(session_factory) == 2
        assert not chunk(session_factory, reader, master, clock, limit=2)  # carl (end of stage 0)
        assert count(session_factory) == 3
        assert not chunk(session_factory, reader, master, clock, limit=2)  # user1, user2
        with transaction(session_factory) as session:  # as if that chunk's commit was lost
            campaign = session.scalars(select(NoticeCampaign)).one()
            assert (campaign.stage, campaign.cursor) == (1, "2")
            campaign.cursor = None
        while not chunk(session_factory, reader, master, clock, limit=2):
            pass
    finally:
        reader.close()
    assert count(session_factory) == 8  # 3 subscribers + 5 users; ben once
    with session_factory() as session:
        rows = session.scalars(select(NoticeDelivery).order_by(NoticeDelivery.id)).all()
        ben = [r for r in rows if r.subject_id is not None][1]
        assert (ben.source, ben.language) == ("consent", "de")
        campaign = session.scalars(select(NoticeCampaign)).one()
        assert campaign.wrapped_key is not None
        key = unwrapped_key(master, campaign.wrapped_key, version=2)
        users = [r for r in rows if r.subject_id is None]
        assert all(r.address_sealed is not None for r in users)
        assert all(b"example.org" not in (r.address_sealed or b"") for r in users)  # sealed
        first = users[0]
        assert first.address_sealed is not None
        address = open_address(
            key, first.address_sealed, version=2, recipient_key=first.recipient_key
        )
        assert address == "user1@example.org"


@pytest.mark.promise("P20")
def test_many_recipients_go_out_in_chunks_and_batches(
    versions: Versions,
    store: StoreFactory,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    run: Run,
    session_factory: sessionmaker[Session],
) -> None:
    total = FANOUT_CHUNK + 150
    spec = store(
        [(i, f"person{i}@example.org", "de" if i % 2 else "en") for i in range(1, total + 1)]
    )
    runtime(spec)
    mailer = Collecting()
    use_mailer(mailer)
    run.queue(versions.second.number)
    run.worker(rounds=100)
    assert len(mailer.sent) == total
    assert len({str(m["To"]) for m in mailer.sent}) == total
    assert len({str(m["Message-ID"]) for m in mailer.sent}) == total
    with session_factory() as session:
        campaign = session.scalars(select(NoticeCampaign)).one()
        assert campaign.status == "done"
        assert session.scalar(select(func.count()).where(NoticeDelivery.status == "sent")) == total
