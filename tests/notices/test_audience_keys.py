"""Audience tables with a composite key, or none: later tables are still told."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.notices.conftest import Run, Runtime, Versions, messages
from tutela.audit import entries
from tutela.clock import FrozenClock
from tutela.mail import FileOutbox, Mailer
from tutela.notices import AudienceSpec, notices_of
from tutela.notices.audience import AudienceReader
from tutela.storage import make_engine

MEMBERS = [(1, 1, "m11@example.org"), (1, 2, "m12@example.org"), (2, 1, "m21@example.org")]
MEMBERS += [(2, 2, "m22@example.org"), (3, 1, "m31@example.org")]


@pytest.fixture
def tables(db_url: str) -> Callable[[], tuple[AudienceSpec, ...]]:
    """In the test database: members (composite key), a log without key, accounts."""

    def build() -> tuple[AudienceSpec, ...]:
        engine = make_engine(db_url)
        meta = sa.MetaData()
        members = sa.Table(
            "club_members",
            meta,
            sa.Column("club", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("member", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("mail", sa.String(254)),
        )
        loose = sa.Table("mail_log", meta, sa.Column("mail", sa.String(254)))
        accounts = sa.Table(
            "shop_accounts",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("mail", sa.String(254)),
        )
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                members.insert(), [{"club": c, "member": m, "mail": a} for c, m, a in MEMBERS]
            )
            conn.execute(loose.insert(), [{"mail": "logged@example.org"}])
            conn.execute(accounts.insert(), [{"id": 1, "mail": "buyer@example.org"}])
        engine.dispose()
        return (
            AudienceSpec(name="members", url=db_url, table="club_members", email="mail"),
            AudienceSpec(name="mail-log", url=db_url, table="mail_log", email="mail"),
            AudienceSpec(name="accounts", url=db_url, table="shop_accounts", email="mail"),
        )

    return build


def test_a_composite_key_is_read_page_by_page(
    tables: Callable[[], tuple[AudienceSpec, ...]],
) -> None:
    members = tables()[0]
    reader = AudienceReader([members])
    try:
        pages = []
        after = None
        while True:
            page = reader.chunk(0, after=after, limit=2)
            if not page:
                break
            pages.append([h.email for h in page])
            after = json.loads(json.dumps(page[-1].key))  # the cursor is stored as JSON
    finally:
        reader.close()
    assert pages == [
        ["m11@example.org", "m12@example.org"],
        ["m21@example.org", "m22@example.org"],
        ["m31@example.org"],
    ]


@pytest.mark.promise("P20")
def test_an_unreadable_table_is_skipped_loudly_and_later_tables_are_told(
    versions: Versions,
    tables: Callable[[], tuple[AudienceSpec, ...]],
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    outbox: FileOutbox,
    run: Run,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    runtime(*tables())
    use_mailer(outbox)
    run.queue(versions.second.number)
    run.worker()
    told = Counter(str(m["To"]) for m in messages(outbox))
    assert told == Counter([address for _, _, address in MEMBERS] + ["buyer@example.org"])
    with session_factory() as session:
        status = notices_of(session, version=2, today=clock.now().date())
        skipped = [json.loads(e.payload) for e in entries(session, action="notices.source_skipped")]
    assert status.state == "done"
    assert status.by_source == {"members": 5, "accounts": 1}
    assert [name for name, _ in status.tables_skipped] == ["mail-log"]
    assert "primary key" in status.tables_skipped[0][1]
    assert [(e["version"], e["source"]) for e in skipped] == [(2, "mail-log")]
    assert "key:" in skipped[0]["reason"]
