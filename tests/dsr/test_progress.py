"""A retry after a store outage keeps what the stores that answered did, and the answer address."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, event
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
    StoreError,
    StoreReport,
    create,
)
from tutela.connectors.sample import build_shop, customer_email, example_path
from tutela.crypto import MasterKey
from tutela.dsr import DsrRequest, DsrRuntime, Receipt, consume_link, get_request, shred
from tutela.dsr.answers import Run, entry_of
from tutela.dsr.fulfilment import FULFIL_JOB, Fulfilment
from tutela.dsr.jobs import install_runtime
from tutela.dsr.notices import send_mail as real_send_mail
from tutela.dsr.progress import (
    Progress,
    merge_checkpoint,
    open_answer_to,
    report_of,
    run_stores,
    seal_answer_to,
)
from tutela.dsr.stores import StoreDirectory
from tutela.jobs.models import Job
from tutela.jobs.queue import complete as real_complete
from tutela.mail import FileOutbox
from tutela.storage import make_session_factory, transaction

PERSON = 4
ADDRESS = customer_email(PERSON)


class Watched:
    """A connected store that counts its erasures and can be switched off (down)."""

    def __init__(
        self, inner: Connector, *, down: bool = False, error: Exception | None = None
    ) -> None:
        self.inner, self.down, self.erasures = inner, down, 0
        self.error = error

    @property
    def name(self) -> str:
        return self.inner.name

    def check(self) -> None:
        self.inner.check()

    def access(self, identities: IdentitySet) -> AccessResult:
        return self.inner.access(identities)

    def erase(self, identities: IdentitySet, *, today: dt.date) -> StoreReport:
        self.erasures += 1
        if self.error is not None:
            raise self.error
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


def _outlet(tmp_path: Path, master: MasterKey) -> Connector:
    """A second shop database (SQLite) that does not know the person."""
    url = f"sqlite:///{tmp_path / 'outlet.db'}"
    build_shop(url, customers=8)
    dataset = str(example_path("shop.dataset.yaml"))
    return create("sql", {"name": "outlet", "url": url, "dataset": dataset, "master_key": master})


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
    first, second = Watched(shop_store(shop, master)), Watched(_outlet(tmp_path, master), down=True)
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


# --- work done before any failure survives it ---------------------------------------------------

MATCHES_TWO = (
    "The identities given match more than one record of table 'customers'; they do not name "
    "one person. Staff must decide which record the request is about."
)


@contextlib.contextmanager
def _failing_once(
    failure: str, monkeypatch: pytest.MonkeyPatch, factory: sessionmaker[Session]
) -> Iterator[None]:
    """Make the next fulfilment fail once, after the shop erased the person."""
    fired: list[str] = []
    if failure == "mail":

        def send_mail(**kwargs: Any) -> str:
            if not fired:
                fired.append(failure)
                raise OSError("the mail server refused the connection")
            return real_send_mail(**kwargs)

        monkeypatch.setattr("tutela.dsr.answers.send_mail", send_mail)
    elif failure == "lease":

        def complete(session: Session, **kwargs: Any) -> bool:
            job = session.get(Job, kwargs["job_id"])
            if job is not None and job.kind == FULFIL_JOB and not fired:
                fired.append(failure)
                return False  # another worker took the job over
            return real_complete(session, **kwargs)

        monkeypatch.setattr("tutela.jobs.worker.complete", complete)
    if failure != "commit":
        yield
        return

    def note(session: Session, _context: object) -> None:
        answered = [item for item in session.dirty if isinstance(item, DsrRequest)]
        if any(item.status == "completed" for item in answered):
            session.info["answered"] = True

    def refuse(session: Session) -> None:
        if session.info.pop("answered", False) and not fired:
            fired.append(failure)
            raise RuntimeError("could not serialize access due to concurrent update")

    event.listen(factory, "after_flush", note)
    event.listen(factory, "before_commit", refuse)
    try:
        yield
    finally:
        event.remove(factory, "before_commit", refuse)
        event.remove(factory, "after_flush", note)


@pytest.mark.promise("P17")
@pytest.mark.parametrize("failure", ["store_error", "mail", "commit", "lease"])
def test_what_the_stores_did_survives_any_failure_of_the_run(
    failure: str,
    session_factory: sessionmaker[Session],
    file_request: Callable[..., Receipt],
    published: None,
    runtime: DsrRuntime,
    outbox: FileOutbox,
    clock: FrozenClock,
    master: MasterKey,
    shop: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = Watched(shop_store(shop, master))
    stores: list[Watched] = [first]
    if failure == "store_error":  # a later store stops the run with an error, not an outage
        stores.append(Watched(_outlet(tmp_path, master), error=StoreError(MATCHES_TWO)))
    installed = dataclasses.replace(
        runtime,
        stores=tuple(stores),
        directories=(StoreDirectory((first.inner,)),),  # only the shop knows the address
    )
    previous = install_runtime(installed)
    try:
        reference = file_request(ADDRESS, "erasure").reference
        run_jobs(session_factory, clock)
        with transaction(session_factory) as session:
            consume_link(session, token=link_token(mails(outbox)[-1]), clock=clock)
        with _failing_once(failure, monkeypatch, session_factory):
            run_jobs(session_factory, clock)
            with session_factory() as session:
                failed = get_request(session, reference=reference)
                assert failed.status in ("verified", "in_progress")
                assert failed.closed_at is None
                checkpoint = failed.store_results or ""
            assert all(row["email"] != ADDRESS for row in snapshot(shop)["customers"])
            for store in stores:
                store.error = None
            clock.advance(dt.timedelta(hours=2))  # past the back-off and the lost lease
            run_jobs(session_factory, clock)
    finally:
        install_runtime(previous)

    assert first.erasures == 1  # the retry did not ask the shop again
    answers = [mail for mail in mails(outbox) if "carried out" in mail.subject]
    sent_before = 1 if failure in ("commit", "lease") else 0  # the mail left before it failed
    assert [mail.to for mail in answers] == [ADDRESS] * (sent_before + 1)  # sealed before
    kept = json.loads(checkpoint or "{}")
    assert kept["kept"] == ["shop"]
    assert kept["answer_to"]["sealed"]
    assert ADDRESS not in checkpoint
    first_run = next(entry for entry in kept["stores"] if entry["store"] == "shop")
    rows = sum(first_run["rows"].values())
    assert rows > 0
    assert f"shop: we looked for your data and erased what we found ({rows} records" in (
        answers[-1].flat
    )
    with session_factory() as session:
        done = get_request(session, reference=reference)
        assert (done.status, done.outcome, done.last_error) == ("completed", "fulfilled", None)
        results = json.loads(done.store_results or "{}")
    assert {entry["store"]: entry for entry in results["stores"]}["shop"] == first_run


class _Quiet:
    """A store that erases nothing (this test is about the checkpoint, not the stores)."""

    name = "quiet"


def _verified_request(factory: sessionmaker[Session], file_request: Callable[..., Receipt]) -> str:
    reference = file_request("quiet@example.org", "erasure").reference
    with transaction(factory) as session:
        get_request(session, reference=reference).status = "verified"
    return reference


def test_the_checkpoint_is_written_only_when_the_jobs_own_transaction_ends_uncommitted(
    session_factory: sessionmaker[Session],
    engine: Engine,
    file_request: Callable[..., Receipt],
    runtime: DsrRuntime,
    clock: FrozenClock,
) -> None:
    reader = make_session_factory(engine, read_only=True)

    def stored(reference: str) -> str | None:
        with reader() as session:
            return get_request(session, reference=reference).store_results

    def fulfilment(session: Session, reference: str) -> Fulfilment:
        return Fulfilment(
            session=session,
            request=get_request(session, reference=reference),
            stores=[_Quiet()],  # type: ignore[list-item]
            runtime=runtime,
            clock=clock,
            today=dt.date(2026, 3, 2),
        )

    def work(session: Session, reference: str) -> Callable[[Connector], list[StoreReport]]:
        def run(store: Connector) -> list[StoreReport]:
            with contextlib.suppress(ValueError), session.begin_nested():
                raise ValueError("a savepoint rolled back inside the job")
            assert stored(reference) is None  # nothing written beside the open job
            return [StoreReport.build(store.name, Operation.ERASE, [])]

        return run

    committed = _verified_request(session_factory, file_request)
    with session_factory() as session:
        with session.begin():
            run_stores(fulfilment(session, committed), Progress(), Run(), work(session, committed))
        session.begin()
        session.rollback()  # a later transaction of the same session keeps nothing
    assert stored(committed) is None

    failed = _verified_request(session_factory, file_request)

    def failing_run() -> None:
        with session_factory() as session, session.begin():
            run_stores(fulfilment(session, failed), Progress(), Run(), work(session, failed))
            raise RuntimeError("the run failed after the store answered")

    with pytest.raises(RuntimeError, match="after the store answered"):
        failing_run()
    written = json.loads(stored(failed) or "{}")
    assert written["kept"] == ["quiet"]
    assert [entry["status"] for entry in written["stores"]] == ["done"]


_NAMES = st.sampled_from(["shop", "crm", "mailer", "outlet"])


def _entry(store: str, rows: int) -> dict[str, Any]:
    return entry_of(StoreReport.build(store, Operation.ERASE, [], rows={"customers": rows}))


@given(
    now_kept=st.sets(_NAMES),
    ours_kept=st.sets(_NAMES),
    sealed_now=st.booleans(),
    fields=st.dictionaries(_NAMES, st.lists(st.text(max_size=5), max_size=2)),
)
def test_a_checkpoint_adds_its_stores_and_never_overwrites_what_was_written_meanwhile(
    now_kept: set[str], ours_kept: set[str], sealed_now: bool, fields: dict[str, list[str]]
) -> None:
    current: dict[str, Any] = {
        "stores": [_entry(name, 1) for name in sorted(now_kept)],
        "kept": sorted(now_kept),
        "rectified": {name: ["now"] for name in now_kept},
        "tasks": [{"store": "crm", "state": "done"}],
    }
    if sealed_now:
        current["answer_to"] = {"sealed": "now"}
    ours = {
        "stores": [_entry(name, 2) for name in sorted(ours_kept)],
        "kept": sorted(ours_kept),
        "rectified": fields,
        "answer_to": {"sealed": "ours"},
        "tasks": [],
    }
    merged = json.loads(merge_checkpoint(json.dumps(current), json.dumps(ours)))
    assert merged["kept"] == sorted(now_kept | ours_kept)
    rows = {entry["store"]: entry["rows"]["customers"] for entry in merged["stores"]}
    assert rows == {name: 1 if name in now_kept else 2 for name in now_kept | ours_kept}
    assert merged["answer_to"] == {"sealed": "now" if sealed_now else "ours"}
    assert merged["tasks"] == current["tasks"]
    expected = {name: ["now"] for name in now_kept}
    expected.update({k: v for k, v in fields.items() if k in ours_kept - now_kept})
    assert merged["rectified"] == expected
    assert json.loads(merge_checkpoint(None, json.dumps(ours)))["kept"] == sorted(ours_kept)
