"""The pages in a real headless Chromium: statement in both languages and the admin login."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import EXAMPLE, PASSWORD
from tutela.clock import SystemClock
from tutela.config import Settings
from tutela.policy.loader import load_declaration
from tutela.policy.versions import publish
from tutela.staff.service import add_staff
from tutela.storage import make_engine, make_session_factory, upgrade
from tutela.web.app import create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STAFF_EMAIL = "dpo@example.org"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dt.date]]:
    """A real uvicorn server on 127.0.0.1 over a fresh SQLite data directory."""
    import uvicorn

    engine = make_engine(f"sqlite:///{tmp_path / 'tutela.db'}")
    upgrade(engine)
    clock = SystemClock()
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        version = publish(
            session,
            declaration=load_declaration(EXAMPLE),
            source_text=EXAMPLE.read_text(encoding="utf-8"),
            actor="test",
            clock=clock,
        )
        add_staff(
            session,
            email=STAFF_EMAIL,
            password=PASSWORD,
            role="dpo",
            display_name="Dana Beispiel",
            actor="test",
            clock=clock,
        )
    app = create_app(Settings(data_dir=tmp_path), engine=engine, clock=clock)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the uvicorn server did not start within 15 seconds")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", version.effective_at
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("TUTELA_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _need_chromium() -> None:
    if CHROMIUM.exists() and shutil.which(str(CHROMIUM)):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing on CI; install the Debian chromium package")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser test skipped")


def test_statement_and_admin_in_chromium(server: tuple[str, dt.date], screenshots: Path) -> None:
    _need_chromium()
    url, effective = server
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="de-DE", viewport={"width": 1100, "height": 900})
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

            response = page.goto(f"{url}/privacy")
            assert response is not None
            assert response.status == 200
            assert response.headers["content-language"] == "de"
            expect(page.locator("html")).to_have_attribute("lang", "de")
            expect(page.locator("h1")).to_have_text("Datenschutzhinweise der Terminfuchs GmbH")
            expect(page.locator("h2").first).to_have_text("Inhalt")
            expect(page.locator("dl.meta")).to_contain_text(_german_date(effective))
            page.screenshot(path=str(screenshots / "privacy-de.png"), full_page=False)

            page.get_by_role("link", name="Read this statement in English").click()
            page.wait_for_url("**/privacy?lang=en")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.locator("h1")).to_have_text("Privacy notice of Terminfuchs GmbH")
            expect(page.locator("h2").first).to_have_text("Contents")
            page.screenshot(path=str(screenshots / "privacy-en.png"), full_page=False)

            page.goto(f"{url}/admin/login")
            expect(page.locator("h1")).to_have_text("Anmelden")
            page.get_by_label("E-Mail-Adresse").fill(STAFF_EMAIL)
            page.get_by_label("Passwort").fill(PASSWORD)
            page.locator("form.stacked button[type=submit]").click()
            page.wait_for_url(f"{url}/admin")
            expect(page.locator("h1")).to_contain_text("Dana Beispiel")
            page.get_by_role("link", name="Versionen", exact=True).click()
            page.wait_for_url(f"{url}/admin/versions")
            first_row = page.locator("table.data tbody tr").first
            expect(first_row.locator("td").first).to_have_text("1")
            expect(first_row).to_contain_text("gültig")
            page.screenshot(path=str(screenshots / "admin-versions.png"), full_page=False)

            page.get_by_role("button", name="Abmelden").click()
            page.wait_for_url(f"{url}/admin/login")
            assert problems == [], f"the browser reported errors: {problems}"
        finally:
            browser.close()


def _german_date(day: dt.date) -> str:
    months = [
        "Januar", "Februar", "März", "April", "Mai", "Juni",
        "Juli", "August", "September", "Oktober", "November", "Dezember",
    ]  # fmt: skip
    return f"{day.day}. {months[day.month - 1]} {day.year}"
