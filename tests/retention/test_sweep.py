"""Sweeps end to end on SQLite and PostgreSQL: what goes, what stays, and why."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.retention.conftest import MASTER, make_context
from tests.retention.store import HELD_EMAIL, contents
from tutela.audit import AuditEntry
from tutela.clock import FrozenClock
from tutela.policy.models import Declaration
from tutela.retention import (
    SweepContext,
    place_records_hold,
    place_subject_hold,
    plan,
    recent_runs,
    run_sweep,
)
from tutela.retention.models import StepStatus, SweepStep
from tutela.storage import transaction

pytestmark = pytest.mark.usefixtures("published")


def _sweep(
    factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
    **kwargs: Any,
) -> dict[str, SweepStep]:
    run_id = run_sweep(factory, context=context, clock=clock, actor="test", **kwargs)
    with factory() as session:
        report = next(r for r in recent_runs(session) if r.run.id == run_id)
        return {step.rule: step for step in report.steps}


def _ids(rows: list[tuple[Any, ...]]) -> set[int]:
    return {int(row[0]) for row in rows}


@pytest.mark.promise("P18")
def test_sweep_removes_what_outlived_every_purpose(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
    store_url: str,
) -> None:
    steps = _sweep(session_factory, context, clock, chunk_size=7)
    after = contents(store_url)
    assert {s.status for s in steps.values()} == {StepStatus.DONE.value}
    # visits: 7 days after collection; 32 of the 60 regular visits and the four old ones
    assert len(after["visits"]) == 28
    assert all(row[2] > dt.datetime(2026, 2, 23, 9, 0) for row in after["visits"])
    # customers: 5 (closed 45 days, children gone first) and 6 (no hold here) go;
    # 2 (closed 60 days) stays while its invoice and contract refer to it
    assert _ids(after["customers"]) == {1, 2, 4}
    assert steps["crm.customers:customer_account"].rows_done == 2
    # tickets: 2 years after closing the address is pseudonymised and the text masked
    ticket = after["tickets"][0]
    assert ticket[2].startswith("erased-")
    assert ticket[3] == "[erased]"
    assert after["tickets"][1][2:4] == ("t2@example.org", "question 2")
    assert after["tickets"][2][2:4] == ("t3@example.org", "question 3")


@pytest.mark.promise("P11")
def test_vat_ip_evidence_is_kept_for_the_contract_term_only(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
    store_url: str,
) -> None:
    _sweep(session_factory, context, clock)
    ips = {row[0]: row[5] for row in contents(store_url)["contracts"]}
    assert ips[1] == "192.0.2.1"  # running since 2023: far beyond the 7 days of server logs
    assert ips[5] == "192.0.2.5"  # ends today: kept until the day after
    assert ips[4] is None  # ended yesterday: gone today
    assert ips[2] is None
    assert ips[3] is None
    clock.advance(dt.timedelta(days=1))
    _sweep(session_factory, context, clock)
    assert contents(store_url)["contracts"][4][5] is None


@pytest.mark.promise("P18")
def test_plan_counts_match_what_the_sweep_finds(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
    store_url: str,
) -> None:
    before = contents(store_url)
    with session_factory() as session:
        dry = plan(session, context=context, clock=clock)
    assert contents(store_url) == before  # a dry run changes nothing
    planned = {p.rule.id: p.counts for p in dry.rules}
    steps = _sweep(session_factory, context, clock, chunk_size=5)
    for rule, counts in planned.items():
        assert counts is not None
        step = steps[rule]
        if rule.startswith("crm.customers"):
            # the plan counts today's data: customer 5 is still referenced by its visits
            assert (counts.would_go, counts.referenced) == (0, 3)
            assert (step.before, step.referenced) == (2, 1)
            continue
        assert step.before == counts.would_go == step.rows_done, rule
        assert step.held_statutory == counts.held_statutory, rule
        assert step.after == 0


@pytest.mark.promise("P18")
def test_statutory_holds_keep_rows_until_the_end_of_the_year(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
    store_url: str,
) -> None:
    steps = _sweep(session_factory, context, clock)
    invoices = steps["crm.invoices:invoicing"]
    assert (invoices.held_statutory, invoices.rows_done) == (2, 1)
    assert invoices.held_until == dt.date(2032, 12, 31)
    after = contents(store_url)
    assert _ids(after["invoices"]) == {1, 3}  # 2024 and 2018 kept, 2017 gone
    assert all(row[4] is None for row in after["invoices"])  # still in use: not restricted
    contract = steps["crm.contracts:contract"]
    assert (contract.held_statutory, contract.held_until) == (1, dt.date(2030, 12, 31))
    assert contract.restricted == 1
    rows = {row[0]: row for row in after["contracts"]}
    assert rows[3][2] == "plan-3"
    assert rows[3][6] == dt.date(2030, 12, 31)
    assert rows[2][2] == "[erased]"
    assert rows[2][6] is None
    # on 1 January 2033 the 2024 invoice is free (and with it every invoice left)
    clock.set(dt.datetime(2033, 1, 1, 9, 0, tzinfo=dt.UTC))
    _sweep(session_factory, context, clock, confirmed=["crm.invoices"])
    assert _ids(contents(store_url)["invoices"]) == set()


@pytest.mark.promise("P18")
def test_legal_holds_keep_a_person_and_a_record_set(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
    store_url: str,
) -> None:
    with transaction(session_factory) as session:
        place_subject_hold(
            session,
            kind="email",
            value=HELD_EMAIL,
            reason="Dispute about invoice 17",
            until=None,
            master=MASTER,
            clock=clock,
            actor="dpo",
        )
        place_records_hold(  # the two visits on /dispute
            session,
            store="crm",
            table="visits",
            column="id",
            low="41",
            high="42",
            reason="Attack under investigation",
            until=dt.date(2026, 6, 30),
            clock=clock,
            actor="dpo",
            stores=context.stores,
        )
    steps = _sweep(session_factory, context, clock)
    after = contents(store_url)
    assert 6 in _ids(after["customers"])
    assert {102, 103, 41, 42} <= _ids(after["visits"])
    assert steps["crm.visits:server_logs"].held_legal == 4
    assert steps["crm.customers:customer_account"].held_legal == 1
    assert len(after["visits"]) == 32
    # once the record-set hold runs out, those rows go
    clock.set(dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC))
    _sweep(session_factory, context, clock)
    remaining = _ids(contents(store_url)["visits"])
    assert {41, 42}.isdisjoint(remaining)
    assert {102, 103} <= remaining


def test_a_parent_row_waits_for_the_rows_that_refer_to_it(
    session_factory: sessionmaker[Session], clock: FrozenClock, make_store: Callable[..., str]
) -> None:
    url = make_store()
    only_customers = (
        "crm:\n  customers: {purposes: [customer_account], dates: {account_closed: closed_on}}\n"
    )
    context = make_context(url, only_customers)
    try:
        steps = _sweep(session_factory, context, clock)
    finally:
        context.close()
    step = steps["crm.customers:customer_account"]
    # 2, 5 and 6 have expired; every one of them is still referred to
    assert (step.referenced, step.rows_done, step.status) == (3, 0, "done")
    assert _ids(contents(url)["customers"]) == {1, 2, 4, 5, 6}


def test_a_rule_that_would_erase_every_row_needs_confirmation(
    session_factory: sessionmaker[Session], clock: FrozenClock, make_store: Callable[..., str]
) -> None:
    url = make_store()
    everything = "crm:\n  visits: {purposes: [server_logs], dates: {collection: at}}\n"
    clock.advance(dt.timedelta(days=30))  # every visit is older than 7 days now
    context = make_context(url, everything)
    try:
        steps = _sweep(session_factory, context, clock)
        refused = steps["crm.visits:server_logs"]
        assert refused.status == StepStatus.REFUSED.value
        assert "--confirm-everything crm.visits" in (refused.note or "")
        assert len(contents(url)["visits"]) == 64
        with session_factory() as session:
            assert recent_runs(session)[0].run.status == "errors"
        steps = _sweep(session_factory, context, clock, confirmed=["crm.visits"])
    finally:
        context.close()
    assert steps["crm.visits:server_logs"].rows_done == 64
    assert contents(url)["visits"] == []


def test_chunks_are_checkpointed(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
) -> None:
    seen: list[tuple[str, int]] = []
    run_sweep(
        session_factory,
        context=context,
        clock=clock,
        actor="test",
        chunk_size=5,
        observe=lambda o: (
            seen.append((o.event, o.rows)) if o.rule.startswith("crm.visits") else None
        ),
    )
    chunks = [rows for event, rows in seen if event == "chunk"]
    assert chunks == [5, 5, 5, 5, 5, 5, 2, 4]  # key ranges of 5: 29-33 … 59-63, 100-104
    with session_factory() as session:
        step = session.scalars(
            sa.select(SweepStep).where(SweepStep.rule == "crm.visits:server_logs")
        ).one()
    assert (step.chunks, step.rows_done, json.loads(step.last_key or "[]")) == (8, 36, [104])


def test_a_chunk_redone_after_a_lost_checkpoint_changes_nothing_more(
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    make_store: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store's chunk commits, the checkpoint does not: the resumed run ends the same."""
    import tutela.retention.chunk as chunk_module
    import tutela.retention.sweep as sweep_module

    reference, broken = make_store(), make_store()
    quiet = make_context(reference)
    try:
        _sweep(session_factory, quiet, clock, chunk_size=4)
    finally:
        quiet.close()
    with session_factory() as session:  # a fresh database state for the second run
        assert recent_runs(session)[0].run.status == "done"
    real = chunk_module.dump_key
    calls = {"n": 0}

    def crash_on_third(key: tuple[Any, ...]) -> str:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the process died after the store committed")
        return real(key)

    monkeypatch.setattr(sweep_module, "dump_key", crash_on_third)
    context = make_context(broken)
    try:
        with pytest.raises(RuntimeError):
            run_sweep(session_factory, context=context, clock=clock, actor="t", chunk_size=4)
        monkeypatch.setattr(sweep_module, "dump_key", real)
        steps = _sweep(session_factory, context, clock, chunk_size=4)
    finally:
        context.close()
    assert contents(broken) == contents(reference)
    assert all(step.after == 0 for step in steps.values())


def test_every_sweep_is_audited_with_counts_only(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
) -> None:
    _sweep(session_factory, context, clock)
    with session_factory() as session:
        entries = list(
            session.scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.action.like("retention.%"))
                .order_by(AuditEntry.sequence)
            )
        )
    actions = [e.action for e in entries]
    assert actions[0] == "retention.sweep_started"
    assert actions[-1] == "retention.sweep_finished"
    assert actions.count("retention.rule_swept") == 6
    visits = next(json.loads(e.payload) for e in entries if "crm.visits" in e.payload)
    assert (visits["before"], visits["rows_done"], visits["after"]) == (36, 36, 0)
    text = " ".join(e.payload for e in entries)
    for value in ("example.org", "203.0.113", "192.0.2", "Customer"):
        assert value not in text


def test_a_second_sweep_finds_nothing_more(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
    store_url: str,
) -> None:
    _sweep(session_factory, context, clock)
    first = contents(store_url)
    steps = _sweep(session_factory, context, clock)
    assert contents(store_url) == first
    assert all(step.before == 0 and step.rows_done == 0 for step in steps.values())


def test_the_declaration_period_decides(
    session_factory: sessionmaker[Session],
    context: SweepContext,
    clock: FrozenClock,
    published: Declaration,
) -> None:
    """Nothing in the mapping says how long: a day later, more visits have expired."""
    first = _sweep(session_factory, context, clock)["crm.visits:server_logs"].rows_done
    clock.advance(dt.timedelta(days=1))
    second = _sweep(session_factory, context, clock)["crm.visits:server_logs"].rows_done
    assert (first, second) == (36, 4)
    assert published.purpose("server_logs") is not None


def test_a_store_that_is_down_fails_its_rules_and_the_run_says_so(
    session_factory: sessionmaker[Session], clock: FrozenClock, tmp_path: Path
) -> None:
    context = make_context(f"sqlite:///{tmp_path / 'missing-folder' / 'crm.db'}")
    try:
        steps = _sweep(session_factory, context, clock)
    finally:
        context.close()
    assert {step.status for step in steps.values()} == {StepStatus.FAILED.value}
    assert all("cannot be reached" in (step.note or "") for step in steps.values())
    with session_factory() as session:
        assert recent_runs(session)[0].run.status == "errors"
