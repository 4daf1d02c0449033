"""The privacy center in a real headless Chromium: submit, confirm from the mail, download."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import tutela.dsr.fulfil_job  # noqa: F401  (registers the dsr.fulfil job)
from tests.web.conftest import EXAMPLE
from tests.web.test_banner_browser import CHROMIUM, CHROMIUM_ARGS, _free_port, _need_chromium
from tests.web.test_newsletter_routes import mails
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.crypto import load_or_create_master_key
from tutela.dsr import DsrRequest, DsrRuntime
from tutela.dsr.jobs import install_runtime
from tutela.jobs import Worker, registry
from tutela.mail import FileOutbox, MailDelivery, install_delivery
from tutela.policy.loader import load_declaration
from tutela.policy.versions import publish
from tutela.storage import make_session_factory
from tutela.subjects import SubjectVault, get_or_create_subject
from tutela.web.app import create_app

pytestmark = pytest.mark.browser

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ADDRESS = "anna.beispiel@example.org"
VERIFY = re.compile(r"/requests/verify/([A-Za-z0-9_-]+)")
DOWNLOAD = re.compile(r"/requests/download/([A-Za-z0-9_-]+)")


@dataclass
class Site:
    url: str
    factory: sessionmaker[Session]
    clock: FrozenClock
    outbox: FileOutbox

    def run_jobs(self) -> int:
        worker = Worker(self.factory, clock=self.clock, registry=registry, worker_id="test")
        return worker.run_until_idle()

    def link(self, pattern: re.Pattern[str]) -> str:
        for message in reversed(mails(self.outbox)):
            body = message.get_body(preferencelist=("plain",))
            found = pattern.search(str(body.get_content())) if body is not None else None
            if found:
                return found.group(1)
        raise AssertionError(f"no mail with {pattern.pattern}")


@pytest.fixture
def site(tmp_path: Path, engine: Engine) -> Iterator[Site]:
    """A uvicorn server over the test database (SQLite and PostgreSQL), a known person,
    the outbox and the request runtime."""
    _need_chromium()
    import uvicorn

    clock = FrozenClock(START)
    factory = make_session_factory(engine)
    port = _free_port()
    settings = Settings(data_dir=tmp_path, base_url=f"http://127.0.0.1:{port}")
    master = load_or_create_master_key(settings.data_dir, None)
    with factory() as session, session.begin():
        publish(
            session,
            declaration=load_declaration(EXAMPLE),
            source_text=EXAMPLE.read_text(encoding="utf-8"),
            actor="test",
            clock=FrozenClock(START - dt.timedelta(days=30)),
        )
        get_or_create_subject(
            session, kind="email", value=ADDRESS, master=master, clock=clock, actor="test"
        )
    outbox = FileOutbox(settings.outbox_dir)
    delivery = MailDelivery(
        mailer=outbox,
        vault=SubjectVault(master),
        sender="privacy@example.org",
        message_id_domain="example.org",
    )
    previous_delivery = install_delivery(delivery)
    previous_runtime = install_runtime(DsrRuntime(master=master, settings=settings))
    app = create_app(settings, engine=engine, clock=clock)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the uvicorn server did not start within 15 seconds")
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", factory, clock, outbox)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        install_runtime(previous_runtime)
        install_delivery(previous_delivery)


@pytest.fixture
def browser() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def status(site: Site) -> str:
    with site.factory() as session:
        return session.scalars(select(DsrRequest.status)).one()


@pytest.mark.promise("P03")
def test_a_person_asks_for_their_data_confirms_and_downloads_it(
    site: Site, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{site.url}/requests?lang=en")
    page.check("#type-access")
    page.fill("#identity", ADDRESS)
    page.select_option("#language", "en")
    page.click("button[type=submit]")
    page.wait_for_selector("#received-title")
    reference = re.search(r"DSR-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", page.inner_text("main"))
    assert reference
    site.run_jobs()
    page.goto(f"{site.url}/requests/verify/{site.link(VERIFY)}?lang=en")
    assert reference.group(0) in page.inner_text("main")
    assert status(site) == "awaiting_verification"  # opening the link confirms nothing
    page.click("button[type=submit]")
    page.wait_for_selector("text=is confirmed")
    site.run_jobs()
    assert status(site) == "completed"
    page.goto(f"{site.url}/requests/download/{site.link(DOWNLOAD)}?lang=en")
    with page.expect_download() as waiting:
        page.click("button[type=submit]")
    download = waiting.value
    assert download.suggested_filename == f"{reference.group(0)}.zip"
    saved = tmp_path / "package.zip"
    download.save_as(saved)
    with zipfile.ZipFile(io.BytesIO(saved.read_bytes())) as archive:
        names = archive.namelist()
        assert "tutela.json" in names
        assert ADDRESS in archive.read("tutela.json").decode("utf-8")
    context.close()
