"""Access requests end to end: from submission through the job to the encrypted package."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

import tutela.dsr.fulfil_job  # noqa: F401  (registers the dsr.fulfil job)
from tests.dsr.conftest import EXAMPLE
from tests.dsr.harness import BASE, link_token, load, mails, row_counts, run_jobs
from tests.dsr.test_stores import shop_database, shop_store
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.connectors import IdentitySet
from tutela.connectors.sample import customer_email
from tutela.crypto import MasterKey
from tutela.dsr import DsrRuntime, Receipt, consume_link
from tutela.dsr.jobs import install_runtime
from tutela.dsr.package import open_download, peek_download
from tutela.dsr.package_models import DsrPackage, sweep_packages
from tutela.dsr.package_report import ReportFacts, render_report
from tutela.dsr.queue import ensure_sweep
from tutela.dsr.stores import StoreDirectory
from tutela.errors import NotFound
from tutela.policy.loader import load_declaration
from tutela.storage import transaction

DOWNLOAD = re.compile(re.escape(BASE) + r"/requests/download/([A-Za-z0-9_-]+)")
ART_15_DE = (
    "(a) Zwecke der Verarbeitung",
    "(b) Kategorien personenbezogener Daten",
    "(c) Empfänger",
    "(d) Wie lange wir die Daten speichern",
    "(e) Ihre Rechte",
    "(f) Beschwerderecht",
    "(g) Woher die Daten stammen",
    "(h) Automatisierte Entscheidungsfindung",
)
ART_15_EN = (
    "(a) Purposes of the processing",
    "(b) Categories of personal data",
    "(c) Recipients",
    "(d) How long we store the data",
    "(e) Your rights",
    "(f) Right to lodge a complaint",
    "(g) Where the data come from",
    "(h) Automated decision-making",
)
FORMULA = '=HYPERLINK("http://evil.example")'


@pytest.fixture
def shop_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with shop_database(db_url, request, tmp_path) as url:
        yield url


@pytest.fixture
def shop_runtime(runtime: DsrRuntime, shop_url: str) -> Iterator[DsrRuntime]:
    store = shop_store(shop_url)
    installed = DsrRuntime(
        master=runtime.master,
        settings=runtime.settings,
        stores=(store,),
        directories=(StoreDirectory([store]),),
    )
    previous = install_runtime(installed)
    yield installed
    install_runtime(previous)
    store.close()


def _shop(url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _card_holder(url: str) -> int:
    rows = _shop(url, "SELECT customer_id FROM payment_cards ORDER BY customer_id")
    return int(str(rows[0][0]))


def _download_token(outbox_mails: list[object]) -> str:
    for mail in reversed(outbox_mails):
        found = DOWNLOAD.search(getattr(mail, "body"))  # noqa: B009
        if found is not None:
            return found.group(1)
    raise AssertionError("no download link was mailed")


def _fetch(factory: sessionmaker[Session], token: str, clock: FrozenClock) -> zipfile.ZipFile:
    with transaction(factory) as session:
        _info, stream = open_download(session, token=token, clock=clock, actor="public:download")
        data = b"".join(stream)
    return zipfile.ZipFile(io.BytesIO(data))


def _submit_and_verify(
    factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    outbox: object,
    clock: FrozenClock,
    address: str,
    language: str = "de",
) -> str:
    reference = file_request(address, "access", language=language).reference
    run_jobs(factory, clock)
    verify = mails(outbox)[-1]  # type: ignore[arg-type]
    assert verify.to == address
    with transaction(factory) as session:
        consume_link(session, token=link_token(verify), clock=clock)
    run_jobs(factory, clock)
    return reference


@pytest.mark.promise("P16")
@pytest.mark.promise("P23")
def test_an_access_request_ends_in_a_package_of_every_table_and_nothing_else(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    shop_runtime: DsrRuntime,
    shop_url: str,
    published: None,
    outbox: object,
    clock: FrozenClock,
) -> None:
    holder = _card_holder(shop_url)
    address = customer_email(holder)
    _shop(shop_url, "UPDATE customers SET first_name = :v WHERE id = :i", v=FORMULA, i=holder)
    secrets = [
        str(value)
        for row in _shop(
            shop_url, "SELECT psp_token FROM payment_cards WHERE customer_id = :i", i=holder
        )
        + _shop(
            shop_url,
            "SELECT password_hash, mfa_secret FROM logins WHERE customer_id = :i",
            i=holder,
        )
        for value in row
        if value
    ]
    assert secrets
    with transaction(session_factory) as session:
        ensure_sweep(session, clock=clock)  # the daily sweep is not part of a request's rows
    before = row_counts(session_factory)

    reference = _submit_and_verify(session_factory, file_request, outbox, clock, address)

    after = row_counts(session_factory)
    added = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    assert sum(added.values()) <= 10, added
    request = load(session_factory, reference)
    assert (request.status, request.outcome, request.last_error) == ("completed", "fulfilled", None)
    results = json.loads(request.store_results or "[]")
    assert results[0]["store"] == "shop"
    assert results[0]["status"] == "done"
    assert address not in (request.store_results or "")

    package_mail = mails(outbox)[-1]  # type: ignore[arg-type]
    assert package_mail.to == address
    archive = _fetch(session_factory, _download_token(mails(outbox)), clock)  # type: ignore[arg-type]
    names = set(archive.namelist())
    with shop_store(shop_url).access(IdentitySet.of(email=address)) as direct:
        for _record in direct:
            pass
        tables = set(direct.rows)
    assert {f"stores/shop/{t}.json" for t in tables} | {
        f"stores/shop/{t}.csv" for t in tables
    } <= names
    assert {"tutela.json", "withheld.json", "report.html"} <= names
    everything = b"".join(archive.read(name) for name in names).decode("utf-8")
    others = [customer_email(i) for i in range(1, 5) if i != holder]
    assert not [other for other in others if other in everything]
    assert not [secret for secret in secrets if secret in everything]
    customers = json.loads(archive.read("stores/shop/customers.json"))
    assert customers[0]["email"] == address
    assert customers[0]["first_name"] == FORMULA
    csv_text = archive.read("stores/shop/customers.csv").decode("utf-8")
    assert "'=HYPERLINK" in csv_text
    assert ",=HYPERLINK" not in csv_text
    withheld = json.loads(archive.read("withheld.json"))
    fields = {(entry["table"], entry["field"]) for entry in withheld if not entry["masked"]}
    assert {("payment_cards", "psp_token"), ("logins", "password_hash")} <= fields
    report = archive.read("report.html").decode("utf-8")
    assert all(heading in report for heading in ART_15_DE)
    assert "Adressverlag Beispiel KG" in report  # a source not collected from the person (P23)


def test_the_report_is_in_english_and_escapes_store_names() -> None:
    facts = ReportFacts(
        reference="DSR-TEST",
        request_type="access",
        language="en",
        generated_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        reports=[],
        withheld=[],
        files=(),
    )
    html = render_report(facts, load_declaration(EXAMPLE))
    assert all(heading in html for heading in ART_15_EN)
    assert "Zwecke" not in html
    from tutela.connectors import Withheld

    evil = ReportFacts(
        reference="<script>alert(1)</script>",
        request_type="access",
        language="de",
        generated_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        reports=[],
        withheld=[("<b>shop</b>", Withheld("t<i>", "f", "<img src=x>"))],
        files=(),
    )
    html = render_report(evil, None)
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;b&gt;shop" in html


def test_the_download_link_works_once_and_expires_and_a_tampered_one_is_unknown(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    shop_runtime: DsrRuntime,
    published: None,
    outbox: object,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    address = customer_email(1)
    reference = _submit_and_verify(session_factory, file_request, outbox, clock, address, "en")
    token = _download_token(mails(outbox))  # type: ignore[arg-type]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    messages = set()
    for bad in (tampered, "short", "x" * 43):
        with session_factory() as session, pytest.raises(NotFound) as caught:
            peek_download(session, token=bad, clock=clock)
        messages.add(caught.value.detail)
    with session_factory() as session:
        info = peek_download(session, token=token, clock=clock)
    assert info.reference == reference
    assert info.download_name == f"{reference}.zip"
    assert info.expires_at == clock.now() + dt.timedelta(days=7)
    archive = _fetch(session_factory, token, clock)
    assert len(b"".join(archive.read(n) for n in archive.namelist())) > 0
    assert info.size > 0
    with session_factory() as session, pytest.raises(NotFound) as caught:
        peek_download(session, token=token, clock=clock)
    messages.add(caught.value.detail)
    assert len(messages) == 1
    # the stored file is encrypted: the zip's own bytes do not appear in it
    with session_factory() as session:
        package = session.scalars(select(DsrPackage)).one()
        stored = (settings.packages_dir / package.file_name).read_bytes()
    assert b"PK\x03\x04" not in stored
    assert address.encode() not in stored
    assert token not in str(package.token_digest)


def test_an_unused_link_expires_after_seven_days_and_the_sweep_deletes_it(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    shop_runtime: DsrRuntime,
    published: None,
    outbox: object,
    clock: FrozenClock,
    settings: Settings,
) -> None:
    _submit_and_verify(session_factory, file_request, outbox, clock, customer_email(2))
    token = _download_token(mails(outbox))  # type: ignore[arg-type]
    clock.advance(dt.timedelta(days=7))
    with session_factory() as session, pytest.raises(NotFound):
        peek_download(session, token=token, clock=clock)
    with transaction(session_factory) as session:
        assert sweep_packages(session, packages_dir=settings.packages_dir, clock=clock) == 1
    with session_factory() as session:
        assert session.scalars(select(DsrPackage)).all() == []
    assert [p for p in settings.packages_dir.iterdir() if p.suffix == ".tpkg"] == []


def test_a_master_key_that_differs_cannot_open_a_package(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    shop_runtime: DsrRuntime,
    published: None,
    outbox: object,
    clock: FrozenClock,
) -> None:
    _submit_and_verify(session_factory, file_request, outbox, clock, customer_email(3))
    token = _download_token(mails(outbox))  # type: ignore[arg-type]
    other = DsrRuntime(master=MasterKey(bytes(32)), settings=shop_runtime.settings)
    previous = install_runtime(other)
    try:
        with transaction(session_factory) as session, pytest.raises(NotFound):
            open_download(session, token=token, clock=clock, actor="public:download")
    finally:
        install_runtime(previous)
