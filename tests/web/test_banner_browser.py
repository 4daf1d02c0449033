"""The cookie banner in a real headless Chromium, on the demo page with three tagged scripts."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.web.conftest import EXAMPLE
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.policy.duration import Period
from tutela.policy.loader import load_declaration
from tutela.policy.versions import earliest_effective_on, publish
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
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
CATEGORIES = ("functional", "analytics", "marketing")
LOOK = (
    "b => ['backgroundColor', 'color', 'fontSize', 'fontWeight', 'borderTopWidth', "
    "'borderTopColor', 'paddingTop', 'height'].map(p => getComputedStyle(b)[p])"
)
GPC_SCRIPT = "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})"


@dataclass
class Site:
    url: str
    factory: sessionmaker[Session]
    clock: FrozenClock

    def publish_changed_cookie(self) -> None:
        """Publish a version whose analytics cookie lives longer, and move to its effective day."""
        declaration = load_declaration(EXAMPLE)
        cookies = [
            c.model_copy(update={"lifetime": Period(months=24)}) if c.name == "_mtr_id" else c
            for c in declaration.cookies
        ]
        changed = declaration.model_copy(update={"cookies": cookies})
        with self.factory() as session, session.begin():
            day = earliest_effective_on(session, declaration=changed, clock=self.clock)
            publish(
                session,
                declaration=changed,
                source_text="changed",
                actor="test",
                clock=self.clock,
                effective_on=day,
            )
        self.clock.set(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC))


def _need_chromium() -> None:
    if CHROMIUM.exists() and shutil.which(str(CHROMIUM)):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing on CI; install the Debian chromium package")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser test skipped")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A real uvicorn server over a fresh SQLite data directory with the example published."""
    _need_chromium()
    import uvicorn

    engine = make_engine(f"sqlite:///{tmp_path / 'tutela.db'}")
    upgrade(engine)
    clock = FrozenClock(START)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        publish(
            session,
            declaration=load_declaration(EXAMPLE),
            source_text=EXAMPLE.read_text(encoding="utf-8"),
            actor="test",
            clock=clock,
        )
    app = create_app(Settings(data_dir=tmp_path), engine=engine, clock=clock)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the uvicorn server did not start within 15 seconds")
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", factory, clock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("TUTELA_SCREENSHOTS", "")) or tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _context(browser: Any, *, locale: str = "de-DE", gpc: bool = False) -> Any:
    headers = {"Sec-GPC": "1"} if gpc else {}
    context = browser.new_context(
        locale=locale, viewport={"width": 1100, "height": 850}, extra_http_headers=headers
    )
    if gpc:
        context.add_init_script(GPC_SCRIPT)
    return context


def _open(context: Any, url: str) -> tuple[Any, list[str]]:
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, errors


def _wait_until(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll ``expression`` through the DevTools protocol (string predicates would need eval,
    which the demo page's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => !!({expression})"):
        if time.monotonic() > deadline:
            pytest.fail(f"{expression} did not become true within {timeout} seconds")
        page.wait_for_timeout(50)


def _ran(page: Any) -> dict[str, bool]:
    return {c: bool(page.evaluate(f"window.__ran_{c} === true")) for c in CATEGORIES}


def _cookies(context: Any) -> dict[str, str]:
    return {c["name"]: c["value"] for c in context.cookies()}


def _choice(context: Any) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(unquote(_cookies(context)["tutela_consent"]))
    return value


def _decide(page: Any, button: str) -> dict[str, Any]:
    """Click ``button`` and return the body the banner posted (the server must answer 204)."""
    with page.expect_response("**/consent/decision") as answer:
        page.get_by_role("button", name=button, exact=True).click()
    response = answer.value
    assert response.status == 204, response.text()
    body: dict[str, Any] = response.request.post_data_json
    return body


def _consent_updates(page: Any) -> list[dict[str, str]]:
    found: list[dict[str, str]] = page.evaluate(
        "Array.from(window.dataLayer).filter(a => a[0] === 'consent' && a[1] === 'update')"
        ".map(a => a[2])"
    )
    return found


@pytest.mark.promise("P12")
def test_nothing_runs_before_a_choice_and_reject_all_sticks(
    site: Site, browser: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    context = _context(browser)
    requested: list[str] = []
    context.on("request", lambda r: requested.append(r.url))
    page, errors = _open(context, f"{site.url}/demo/banner")
    dialog = page.get_by_role("dialog", name="Ihre Privatsphäre auf dieser Website")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    page.wait_for_timeout(300)
    assert _ran(page) == dict.fromkeys(CATEGORIES, False)
    assert _cookies(context) == {}
    assert not [url for url in requested if "demo-marker.js" in url]
    default = page.evaluate("Array.from(window.dataLayer[0])")
    assert default[:2] == ["consent", "default"]
    assert default[2]["ad_storage"] == default[2]["analytics_storage"] == "denied"
    assert default[2]["ad_user_data"] == default[2]["ad_personalization"] == "denied"
    assert default[2]["security_storage"] == "granted"
    accept = dialog.get_by_role("button", name="Alle akzeptieren")
    reject = dialog.get_by_role("button", name="Alle ablehnen")
    assert accept.evaluate(LOOK) == reject.evaluate(LOOK)
    widths = [box["width"] for box in (accept.bounding_box(), reject.bounding_box()) if box]
    assert len(widths) == 2
    assert abs(widths[0] - widths[1]) < 1
    page.screenshot(path=str(screenshots / "banner-de.png"))

    body = _decide(page, "Alle ablehnen")
    assert body["categories"] == []
    assert body["method"] == "reject_all"
    expect(dialog).to_be_hidden()
    assert set(_cookies(context)) == {"tutela_consent"}
    assert _choice(context)["allowed"] == []
    assert _consent_updates(page)[-1]["analytics_storage"] == "denied"

    page.reload()
    expect(page.get_by_role("button", name="Datenschutz-Einstellungen", exact=True)).to_be_visible()
    page.wait_for_timeout(300)
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert _ran(page) == dict.fromkeys(CATEGORIES, False)
    assert set(_cookies(context)) == {"tutela_consent"}
    assert errors == []
    context.close()


@pytest.mark.promise("P12")
def test_accepting_analytics_runs_only_analytics_and_withdrawal_deletes_its_cookie(
    site: Site, browser: Any
) -> None:
    from playwright.sync_api import expect

    context = _context(browser)
    page, errors = _open(context, f"{site.url}/demo/banner")
    page.get_by_role("button", name="Einstellungen", exact=True).click()
    dialog = page.get_by_role("dialog", name="Datenschutz-Einstellungen")
    expect(dialog).to_be_visible()
    boxes = dialog.get_by_role("checkbox")
    assert [boxes.nth(i).is_checked() for i in range(boxes.count())] == [True, False, False, False]
    expect(dialog.get_by_role("checkbox", name="Notwendig")).to_be_disabled()
    dialog.get_by_role("checkbox", name="Statistik").check()
    body = _decide(page, "Auswahl speichern")
    assert body["categories"] == ["analytics"]
    _wait_until(page, "window.__ran_analytics === true")
    page.wait_for_timeout(300)
    assert _ran(page) == {"functional": False, "analytics": True, "marketing": False}
    assert set(_cookies(context)) == {"tutela_consent", "_mtr_id"}
    update = _consent_updates(page)[-1]
    assert update["analytics_storage"] == "granted"
    assert update["ad_storage"] == "denied"

    page.reload()
    _wait_until(page, "window.__ran_analytics === true")
    assert _ran(page)["marketing"] is False

    page.get_by_role("button", name="Datenschutz-Einstellungen", exact=True).click()
    expect(dialog.get_by_role("checkbox", name="Statistik")).to_be_checked()
    dialog.get_by_role("checkbox", name="Statistik").uncheck()
    with page.expect_navigation():
        _decide(page, "Auswahl speichern")
    page.wait_for_timeout(300)
    assert _ran(page) == dict.fromkeys(CATEGORIES, False)
    assert set(_cookies(context)) == {"tutela_consent"}
    assert errors == []
    context.close()


@pytest.mark.promise("P24")
def test_gpc_keeps_marketing_off_even_after_accept_all(
    site: Site, browser: Any, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    context = _context(browser, locale="en-GB", gpc=True)
    page, errors = _open(context, f"{site.url}/demo/banner?lang=en")
    dialog = page.get_by_role("dialog", name="Your privacy on this website")
    expect(dialog.get_by_text("GPC signal honoured").first).to_be_visible()
    page.screenshot(path=str(screenshots / "banner-en-gpc.png"))
    body = _decide(page, "Accept all")
    assert body["gpc"] is True
    assert sorted(body["categories"]) == ["analytics", "functional"]
    _wait_until(page, "window.__ran_analytics && window.__ran_functional")
    page.wait_for_timeout(300)
    assert _ran(page) == {"functional": True, "analytics": True, "marketing": False}
    assert "adr_click" not in _cookies(context)
    assert _consent_updates(page)[-1]["ad_storage"] == "denied"

    page.get_by_role("button", name="Privacy settings", exact=True).click()
    dialog = page.get_by_role("dialog", name="Privacy settings")
    opt_in = dialog.get_by_role("checkbox", name="Marketing: Allow despite my GPC signal")
    expect(opt_in).not_to_be_checked()
    expect(dialog.get_by_text("Off because of your GPC signal.")).to_be_visible()
    opt_in.check()
    body = _decide(page, "Save selection")
    assert body["gpc_opt_in"] == ["marketing"]
    _wait_until(page, "window.__ran_marketing === true")
    assert errors == []
    context.close()


@pytest.mark.promise("P12")
def test_banner_works_by_keyboard_alone(site: Site, browser: Any) -> None:
    from playwright.sync_api import expect

    context = _context(browser)
    page, errors = _open(context, f"{site.url}/demo/banner")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    inside = "() => !!document.activeElement.closest('[role=dialog]')"
    assert page.evaluate(inside), "focus did not move into the banner"
    for _ in range(15):
        page.keyboard.press("Tab")
        assert page.evaluate(inside), "Tab left the dialog"
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(inside), "Shift+Tab left the dialog"

    label = "() => document.activeElement.textContent"
    for _ in range(10):
        if page.evaluate(label) == "Einstellungen":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Datenschutz-Einstellungen")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Ihre Privatsphäre auf dieser Website")).to_be_visible()

    for _ in range(10):
        if page.evaluate(label) == "Alle ablehnen":
            break
        page.keyboard.press("Tab")
    assert page.evaluate(label) == "Alle ablehnen"
    with page.expect_response("**/consent/decision") as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 204
    expect(dialog).to_be_hidden()
    assert _choice(context)["allowed"] == []
    assert page.evaluate("document.activeElement.textContent") == "Datenschutz-Einstellungen"
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert errors == []
    context.close()


@pytest.mark.promise("P12")
def test_a_changed_cookie_declaration_brings_the_banner_back(site: Site, browser: Any) -> None:
    from playwright.sync_api import expect

    context = _context(browser)
    page, errors = _open(context, f"{site.url}/demo/banner")
    first = page.evaluate("fetch('/consent/config').then(r => r.json()).then(c => c.revision)")
    _decide(page, "Alle ablehnen")
    page.reload()
    page.wait_for_timeout(300)
    expect(page.get_by_role("dialog")).to_be_hidden()

    site.publish_changed_cookie()
    page.reload()
    expect(page.get_by_role("dialog")).to_be_visible()
    second = page.evaluate("fetch('/consent/config').then(r => r.json()).then(c => c.revision)")
    assert second != first
    expect(page.get_by_role("dialog").get_by_text("24 Monate")).to_be_attached()
    assert _ran(page) == dict.fromkeys(CATEGORIES, False)
    assert errors == []
    context.close()
