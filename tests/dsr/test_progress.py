"""A retry after a store outage keeps what the stores that answered did, and the answer address."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from tests.dsr.fulfil_harness import shop_database, shop_store, snapshot
from tests.dsr.harness import link_token, mails, run_jobs
from tutela.clock import FrozenClock
from tutela.connectors import (
    AccessResult,
    Action,
    Connector,
    IdentitySet,
    Operation,
    Outcome,
    StoreReport,
    create,
)
from tutela.connectors.sample import build_shop, customer_email, example_path
from tutela.crypto import MasterKey
from tutela.dsr import DsrRuntime, Receipt, consume_link, get_request, shred
from tutela.dsr.answers import entry_of
from tutela.dsr.jobs import install_runtime
from tutela.dsr.progress import open_answer_to, report_of, seal_answer_to
from tutela.dsr.stores import StoreDirectory
from tutela.mail import FileOutbox
from tutela.storage import transaction

PERSON = 4
ADDRESS = customer_email(PERSON)


class Watched:
    """A connected store that counts its erasures and can be switched off (down)."""

    def __init__(self, inner: Connector, *, down: bool = False) -> None:
        self.inner, self.down, self.erasures = inner, down, 0

    @property
    def name(self) -> str:
        return self.inner.name

    def check(self) -> None:
        self.inner.check()

    def access(self, identities: IdentitySet) -> AccessResult:
        return self.inner.access(identities)

    def erase(self, identities: IdentitySet, *, today: dt.date) -> StoreReport:
        self.erasures += 1
        if self.down:
            return StoreReport.failure(
                self.name, Operation.ERASE, "connection refused", retryable=True
            )
        return self.inner.erase(identities, today=today)

    def rectify(self, identities: IdentitySet, changes: Mapping[str, object]) -> StoreReport:
        return self.inner.rectify(identities, changes)

    def restrict(self, identities: IdentitySet, *, until: dt.date | None) -> StoreReport:
        return self.inner.restrict(identities, until=until)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def shop(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    admin = None if db_url.startswith("sqlite") else request.getfixturevalue("pg_admin_url")
    with shop_database(db_url, tmp_path, admin) as url:
        yield url


@pytest.mark.promise("P17")
def test_a_retry_skips_the_stores_that_answered_and_answers_at_the_address_found_first(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    master: MasterKey,
    shop: str,
    tmp_path: Path,
) -> None:
    outlet_url = f"sqlite:///{tmp_path / 'outlet.db'}"
    build_shop(outlet_url, customers=8)
    outlet_store = create(
        "sql",
        {
            "name": "outlet",
            "url": outlet_url,
            "dataset": str(example_path("shop.dataset.yaml")),
            "master_key": master,
        },
    )
    first, second = Watched(shop_store(shop, master)), Watched(outlet_store, down=True)
    installed = dataclasses.replace(
        runtime,
        stores=(first, second),
        directories=(StoreDirectory((first.inner,)),),  # only the shop knows the address
    )
    previous = install_runtime(installed)
    try:
        reference = file_request(ADDRESS, "erasure").reference
        run_jobs(session_factory, clock)
        assert mails(outbox)[-1].to == ADDRESS  # the person is known to the shop only
        with transaction(session_factory) as session:
            consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)
        run_jobs(session_factory, clock)

        with session_factory() as session:
            waiting = get_request(session, reference=reference)
            assert (waiting.status, waiting.closed_at) == ("in_progress", None)
            assert "outlet" in (waiting.last_error or "")
            checkpoint = waiting.store_results or ""
        assert ADDRESS not in checkpoint  # the kept address is sealed, never in clear
        assert (first.erasures, second.erasures) == (1, 1)
        assert all(row["email"] != ADDRESS for row in snapshot(shop)["customers"])

        second.down = False
        clock.advance(dt.timedelta(hours=2))
        run_jobs(session_factory, clock)
    finally:
        install_runtime(previous)

    assert (first.erasures, second.erasures) == (1, 2)  # the shop was not asked again
    answers = [mail for mail in mails(outbox) if "carried out" in mail.subject]
    assert [mail.to for mail in answers] == [ADDRESS]  # found before the shop erased it
    kept = json.loads(checkpoint)
    assert kept["kept"] == ["shop"]
    assert kept["answer_to"]["sealed"]
    first_run = next(entry for entry in kept["stores"] if entry["store"] == "shop")
    assert sum(first_run["rows"].values()) > 0
    with session_factory() as session:
        done = get_request(session, reference=reference)
        assert (done.status, done.outcome, done.last_error) == ("completed", "fulfilled", None)
        results = json.loads(done.store_results or "{}")
    assert "answer_to" not in results
    assert "kept" not in results
    stores = {entry["store"]: entry for entry in results["stores"]}
    assert stores["shop"] == first_run  # the first run's report, as it was
    assert stores["outlet"]["status"] == "done"


def test_the_answer_address_is_sealed_under_the_request_key(
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    master: MasterKey,
) -> None:
    one = file_request("someone@example.org", "erasure").reference
    two = file_request("other@example.org", "erasure").reference
    with session_factory() as session:
        first = get_request(session, reference=one)
        second = get_request(session, reference=two)
        sealed = seal_answer_to(first, master=master, address="someone@example.org")
        assert "someone" not in json.dumps(sealed)
        opened = open_answer_to(first, master=master, kept=sealed)
        assert opened is not None
        assert opened.address == "someone@example.org"
        assert open_answer_to(second, master=master, kept=sealed) is None  # another key
        nobody = open_answer_to(
            first, master=master, kept=seal_answer_to(first, master=master, address=None)
        )
        assert nobody is not None
        assert nobody.address is None
        assert open_answer_to(first, master=master, kept={"sealed": "not base64 !"}) is None
        shred(first)
        assert open_answer_to(first, master=master, kept=sealed) is None
        assert seal_answer_to(first, master=master, address="x@example.org") is None


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=20)
_OUTCOMES = st.builds(
    Outcome,
    table=st.text(min_size=1, max_size=12),
    action=st.sampled_from(list(Action)),
    fields=st.lists(st.text(min_size=1, max_size=8), max_size=3).map(tuple),
    rows=st.integers(min_value=0, max_value=10_000),
    until=st.none() | st.dates(),
    rule=st.none() | _TEXT,
    reason=st.none() | _TEXT,
)


@given(
    store=st.text(min_size=1, max_size=20),
    operation=st.sampled_from(list(Operation)),
    outcomes=st.lists(_OUTCOMES, max_size=4),
    rows=st.dictionaries(st.text(min_size=1, max_size=8), st.integers(0, 10**6), max_size=3),
    error=st.none() | st.text(min_size=1, max_size=30),
    retryable=st.booleans(),
    task=st.none() | st.text(min_size=1, max_size=30),
)
def test_a_kept_report_reads_back_as_it_was_written(
    store: str,
    operation: Operation,
    outcomes: list[Outcome],
    rows: dict[str, int],
    error: str | None,
    retryable: bool,
    task: str | None,
) -> None:
    report = StoreReport.build(
        store, operation, outcomes, rows=rows, error=error, retryable=retryable, task=task
    )
    entry = json.loads(json.dumps(entry_of(report)))  # as stored in store_results
    assert report_of(entry) == report
