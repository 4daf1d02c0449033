"""The console page of notices: counts per version, for staff only, no recipients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.notices.conftest import Person, Publish, Run, Runtime, Versions, changed, messages
from tests.web.conftest import PASSWORD, log_in
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.mail import FileOutbox, Mailer
from tutela.notices import AudienceSpec
from tutela.notices.jobs import run_fanout
from tutela.policy.models import Declaration
from tutela.staff.service import add_staff
from tutela.storage import make_engine, transaction
from tutela.web.admin.notices import router
from tutela.web.app import create_app


@pytest.fixture
def client(
    engine: Engine,
    clock: FrozenClock,
    tmp_path: Path,
    session_factory: sessionmaker[Session],
) -> Iterator[TestClient]:
    with transaction(session_factory) as session:
        add_staff(
            session,
            email="support@example.org",
            password=PASSWORD,
            role="support",
            display_name="Support Person",
            actor="test",
            clock=clock,
        )
    app = create_app(Settings(data_dir=tmp_path, default_language="en"), engine=engine, clock=clock)
    app.include_router(router)  # the lead registers it in create_app
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.promise("P20")
def test_the_page_counts_sent_notices_per_version(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    outbox: FileOutbox,
    run: Run,
    client: TestClient,
) -> None:
    subscriber("anna@example.org")
    subscriber("ben@example.org")
    runtime()
    use_mailer(outbox)
    assert client.get("/admin/notices", follow_redirects=False).status_code in (303, 401)
    log_in(client, "support@example.org")
    before = client.get("/admin/notices?lang=en").text
    assert "not started yet" in before
    run.queue(versions.second.number)
    run.worker()
    page = client.get("/admin/notices?lang=en")
    assert page.status_code == 200
    row = page.text.split('<tr class="notices-done">')[1].split("</tr>")[0]
    cells = [c.split(">", 1)[1].strip() for c in row.split("<td")[1:]]
    assert cells[0].startswith('<a href="/privacy/v/2?lang=en">2</a>')
    assert "finished" in cells[1]
    assert [c.removesuffix("</td>").strip() for c in cells[4:]] == ["2", "2", "0", "0"]
    assert "anna@example.org" not in page.text


@pytest.mark.promise("P20")
def test_the_page_shows_stopped_notices_and_tables_not_read(
    versions: Versions,
    subscriber: Person,
    runtime: Runtime,
    use_mailer: Callable[[Mailer], None],
    outbox: FileOutbox,
    run: Run,
    publish_version: Publish,
    declaration: Declaration,
    client: TestClient,
    db_url: str,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE newsletter_log (mail VARCHAR(254))"))
    engine.dispose()
    subscriber("anna@example.org")
    installed = runtime(AudienceSpec(name="log", url=db_url, table="newsletter_log", email="mail"))
    use_mailer(outbox)
    run.queue(versions.second.number)
    for _ in range(2):  # subscribers, then the table
        with transaction(session_factory) as session:
            run_fanout(session, version=2, runtime=installed, clock=clock, job_id=0)
    publish_version(changed(declaration, years=5), effective_on=versions.second.effective_at)
    run.worker()
    log_in(client, "support@example.org")
    page = client.get("/admin/notices?lang=en").text
    row = page.split('<tr class="notices-cancelled">')[1].split("</tr>")[0]
    assert "stopped: a later version replaces it" in row
    skipped = page.split('<tr class="notices-skipped">')[1].split("</tr>")[0]
    assert "Not read, so their account holders were not told:" in skipped
    assert "<li>log: audience &#39;log&#39;: the table &#39;newsletter_log&#39; has no" in skipped
    assert messages(outbox) == []
