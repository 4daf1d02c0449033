"""Consent benchmarks (not tests): bulk checks, ledger writes and the check over HTTP.

Each number is measured side by side with a baseline in the same run, because
the machine is shared and noisy: quote the medians and the ratios.

* **bulk**: ``check_bulk`` of N identities (default 1,000,000) for one purpose
  against an SQLite file holding N subjects, half of them with a consent state
  and 1 % on the suppression list, next to a baseline that only blind-indexes
  the same N values. It runs in a child process so that its peak memory
  (``ru_maxrss``, and ``tracemalloc`` in an extra run) is its own.
* **writes**: sustained ``record()`` calls, one transaction each, with the hash
  chain, the state row and the audit entry, and sustained ``record_many()``
  calls of 100 events per transaction (same guarantees), next to plain one-row
  inserts into an unchained table of the same shape, one transaction each.
* **http**: ``GET /api/v1/consent/check`` over a real socket (uvicorn in a
  thread, one keep-alive client) next to a no-op endpoint of the same app behind
  the same API-key check, and a bare no-op without it.

Seeding uses SQLite ``executemany`` directly (it is not what is measured).
Run alone with ``python bench/consent.py`` (``BENCH_ROUNDS``, ``BENCH_CONSENT_N``);
``run(rounds)`` returns the document that goes to ``bench/results/consent.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
EXAMPLE = ROOT / "src" / "tutela" / "policy" / "examples" / "example.yaml"
PURPOSE = "newsletter"
BATCH = 100  # events per record_many() transaction in the writes benchmark
TARGETS = {
    "bulk_decisions_per_s": 200_000,
    "bulk_peak_mb": 500,
    "writes_events_per_s": 2_000,
    "http_ratio_to_noop": 0.8,
}


def machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
    }


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def _clock() -> Any:
    from tutela.clock import FrozenClock

    return FrozenClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))


def _database(path: Path) -> tuple[Any, Any, Any]:
    """A migrated SQLite file with the example published: (engine, factory, declaration)."""
    from tutela.policy.loader import load_declaration
    from tutela.policy.versions import publish
    from tutela.storage import make_engine, make_session_factory, upgrade

    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    factory = make_session_factory(engine)
    declaration = load_declaration(EXAMPLE)
    with factory() as session, session.begin():
        publish(
            session,
            declaration=declaration,
            source_text=EXAMPLE.read_text(encoding="utf-8"),
            actor="bench",
            clock=_clock(),
        )
    return engine, factory, declaration


def address(number: int) -> str:
    return f"person{number}@example.org"


# ---------------------------------------------------------------- bulk


def seed_bulk(path: Path, master: Any, count: int) -> float:
    """N subjects with one email each, half with a confirmed grant, 1 % suppressed."""
    from tutela.consent import notice_hash
    from tutela.storage.base import UTCDateTime
    from tutela.subjects import index_many

    engine, _factory, declaration = _database(path)
    to_text = UTCDateTime().bind_processor(engine.dialect)
    now = _clock().now()
    stamp = to_text(now) if to_text is not None else now.isoformat()
    engine.dispose()
    shown = notice_hash(declaration.purpose(PURPOSE), "de")
    started = time.perf_counter()
    connection = sqlite3.connect(path)
    step = 100_000
    with connection:
        for first in range(0, count, step):
            numbers = range(first, min(count, first + step))
            indexes = index_many(master, "email", [address(n) for n in numbers])
            connection.executemany(
                "INSERT INTO subjects (id, public_id, created_at) VALUES (?, ?, ?)",
                ((n + 1, f"b{n:010d}", stamp) for n in numbers),
            )
            connection.executemany(
                "INSERT INTO subject_identities (subject_id, kind, blind_index, "
                "value_ciphertext, created_at) VALUES (?, 'email', ?, x'00', ?)",
                ((n + 1, index, stamp) for n, index in zip(numbers, indexes, strict=True)),
            )
            connection.executemany(
                "INSERT INTO consent_state (subject_id, purpose_id, status, given_at, "
                "confirmed_at, notice_hash, policy_version, last_sequence, updated_at) "
                "VALUES (?, ?, 'confirmed', ?, ?, ?, 1, 0, ?)",
                ((n + 1, PURPOSE, stamp, stamp, shown, stamp) for n in numbers if n % 2 == 0),
            )
            connection.executemany(
                "INSERT INTO suppressions (kind, blind_index, scope, reason, created_at) "
                "VALUES ('email', ?, 'direct_marketing', 'objection', ?)",
                ((index, stamp) for n, index in zip(numbers, indexes, strict=True) if n % 100 == 7),
            )
    connection.execute("ANALYZE")
    connection.close()
    return time.perf_counter() - started


def bulk_inputs(count: int) -> list[str]:
    """The seeded addresses in random order, some in capitals, 0.1 % malformed."""
    order = list(range(count))
    random.Random(7).shuffle(order)
    values = []
    for position, number in enumerate(order):
        if position % 1000 == 999:
            values.append(f"broken line {number}")
        elif position % 5 == 0:
            values.append(address(number).upper())
        else:
            values.append(address(number))
    return values


def bulk_child(path: str, key: str, count: int, rounds: int) -> dict[str, Any]:
    """Runs in its own process: the baseline and the bulk check, then memory."""
    from tutela.consent import check_bulk
    from tutela.crypto import MasterKey
    from tutela.storage import make_engine, make_session_factory
    from tutela.subjects import index_many

    master = MasterKey.from_b64(key)
    factory = make_session_factory(make_engine(f"sqlite:///{path}"))
    clock = _clock()
    values = bulk_inputs(count)

    def baseline() -> float:
        plain = [value.lower() for value in values]  # normalised outside the timing
        started = time.perf_counter()
        index_many(master, "email", plain)
        elapsed = time.perf_counter() - started
        del plain
        return elapsed

    def checked() -> tuple[float, dict[str, int]]:
        tally: dict[str, int] = {}
        started = time.perf_counter()
        with factory() as session, session.begin():
            for result in check_bulk(
                session,
                purpose_id=PURPOSE,
                kind="email",
                values=values,
                master=master,
                clock=clock,
            ):
                reason = result.reason or "error"
                tally[reason] = tally.get(reason, 0) + 1
        return time.perf_counter() - started, tally

    base_times: list[float] = []
    check_times: list[float] = []
    tally: dict[str, int] = {}
    for _ in range(rounds):
        base_times.append(baseline())
        elapsed, tally = checked()
        check_times.append(elapsed)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    checked()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "base_times": base_times,
        "check_times": check_times,
        "tally": tally,
        "ru_maxrss_mb": round(rss_mb, 1),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
    }


def bench_bulk(folder: Path, count: int, rounds: int) -> dict[str, Any]:
    from tutela.crypto import MasterKey

    master = MasterKey.generate()
    path = folder / "bulk.db"
    seconds = seed_bulk(path, master, count)
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--bulk-child",
            str(path),
            master.to_b64(),
            str(count),
            str(rounds),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(child.stdout)
    check_s, base_s = median(data["check_times"]), median(data["base_times"])
    return {
        "identities": count,
        "seed_seconds": round(seconds, 1),
        "rounds": rounds,
        "check_median_s": round(check_s, 3),
        "baseline_blind_index_median_s": round(base_s, 3),
        "decisions_per_s": round(count / check_s),
        "baseline_values_per_s": round(count / base_s),
        "ratio_check_time_to_blind_index_time": round(check_s / base_s, 2),
        "ru_maxrss_mb": data["ru_maxrss_mb"],
        "tracemalloc_peak_mb": data["tracemalloc_peak_mb"],
        "reasons": data["tally"],
    }


# ---------------------------------------------------------------- writes


def bench_writes(folder: Path, rounds: int, events: int) -> dict[str, Any]:
    from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table
    from sqlalchemy import insert as sql_insert

    from tutela.audit import emit
    from tutela.audit import verify as verify_audit
    from tutela.consent import Proof, record, verify_ledger
    from tutela.consent.batch import record_many
    from tutela.consent.events import ConsentRecorded
    from tutela.consent.ledger import LedgerItem
    from tutela.crypto import MasterKey
    from tutela.storage.base import UTCDateTime
    from tutela.subjects import get_or_create_subject

    engine, factory, _declaration = _database(folder / "writes.db")
    master = MasterKey.generate()
    clock = _clock()
    plain = Table(
        "bench_plain_events",
        MetaData(),
        Column("sequence", Integer, primary_key=True),
        Column("subject_id", Integer),
        Column("purpose_id", String(64)),
        Column("action", String(16)),
        Column("occurred_at", UTCDateTime),
        Column("channel", String(32)),
        Column("policy_version", Integer),
        Column("language", String(8)),
        Column("notice_hash", String(64)),
        Column("proof_ciphertext", LargeBinary),
        Column("actor", String(200)),
    )
    plain.create(engine)
    people = []
    with factory() as session, session.begin():
        for number in range(200):
            subject, _ = get_or_create_subject(
                session,
                kind="email",
                value=address(number),
                master=master,
                clock=clock,
                actor="bench",
            )
            people.append(subject)
    counter = {"n": 0}

    def chained() -> float:
        started = time.perf_counter()
        for _ in range(events):
            counter["n"] += 1
            n = counter["n"]
            with factory() as session, session.begin():
                record(
                    session,
                    subject=people[n % len(people)],
                    purpose_id="web_analytics",
                    action="given" if (n // len(people)) % 2 == 0 else "withdrawn",
                    proof=Proof(channel="banner", ip="203.0.113.77", user_agent="Bench/1.0"),
                    master=master,
                    clock=clock,
                    actor="bench",
                )
        return time.perf_counter() - started

    def batched() -> float:
        started = time.perf_counter()
        for _ in range(events // BATCH):
            items = []
            for _ in range(BATCH):
                counter["n"] += 1
                n = counter["n"]
                items.append(
                    LedgerItem(
                        subject=people[n % len(people)],
                        purpose_id="web_analytics",
                        action="given" if (n // len(people)) % 2 == 0 else "withdrawn",
                        proof=Proof(channel="banner", ip="203.0.113.77", user_agent="Bench/1.0"),
                    )
                )
            with factory() as session, session.begin():
                record_many(session, items=items, master=master, clock=clock, actor="bench")
        return time.perf_counter() - started

    def unchained() -> float:
        started = time.perf_counter()
        for _ in range(events):
            counter["n"] += 1
            with factory() as session, session.begin():
                session.execute(
                    sql_insert(plain).values(
                        subject_id=counter["n"] % len(people) + 1,
                        purpose_id="web_analytics",
                        action="given",
                        occurred_at=clock.now(),
                        channel="banner",
                        policy_version=1,
                        language="de",
                        notice_hash="0" * 64,
                        proof_ciphertext=os.urandom(80),
                        actor="bench",
                    )
                )
        return time.perf_counter() - started

    def audit_only() -> float:
        started = time.perf_counter()
        for _ in range(events):
            counter["n"] += 1
            with factory() as session, session.begin():
                event = ConsentRecorded(
                    sequence=counter["n"],
                    subject_id=1,
                    purpose_id="web_analytics",
                    consent_action="given",
                    channel="banner",
                    policy_version=1,
                )
                emit(session, event, actor="bench", clock=clock)
        return time.perf_counter() - started

    chain_times, batch_times, plain_times, audit_times = [], [], [], []
    for _ in range(rounds):
        plain_times.append(unchained())
        audit_times.append(audit_only())
        chain_times.append(chained())
        batch_times.append(batched())
    with factory() as session, session.begin():
        verified = verify_ledger(session)
        audited = verify_audit(session)
    engine.dispose()
    chain_s, plain_s, audit_s = median(chain_times), median(plain_times), median(audit_times)
    batch_s = median(batch_times)
    return {
        "events_per_round": events,
        "rounds": rounds,
        "batch_size": BATCH,
        "record_events_per_s": round(events / chain_s),
        "record_many_events_per_s": round(events / batch_s),
        "plain_inserts_per_s": round(events / plain_s),
        "audit_emit_only_per_s": round(events / audit_s),
        "ratio_record_to_plain_throughput": round(plain_s / chain_s, 2),
        "ratio_record_many_to_plain_throughput": round(plain_s / batch_s, 2),
        "share_of_record_time_in_one_audit_emit": round(audit_s / chain_s, 2),
        "ledger_verified": verified.ok,
        "ledger_events": verified.checked,
        "audit_verified": audited.ok,
    }


# ---------------------------------------------------------------- http


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def bench_http(folder: Path, rounds: int, requests: int) -> dict[str, Any]:
    import httpx
    import uvicorn
    from fastapi import Depends

    from tutela.clock import SystemClock
    from tutela.config import Settings
    from tutela.consent import Proof, record
    from tutela.crypto import MasterKey
    from tutela.staff.apikeys import Scope
    from tutela.staff.service import create_api_key
    from tutela.subjects import get_or_create_subject
    from tutela.web.api.auth import requires
    from tutela.web.app import create_app

    master = MasterKey.generate()
    engine, factory, _declaration = _database(folder / "http.db")
    clock = SystemClock()
    with factory() as session, session.begin():
        key, _row = create_api_key(
            session, name="bench", scopes=["consent:read"], actor="bench", clock=clock
        )
        for number in range(50):
            subject, _ = get_or_create_subject(
                session,
                kind="email",
                value=address(number),
                master=master,
                clock=clock,
                actor="bench",
            )
            for action in ("given", "confirmed"):
                record(
                    session,
                    subject=subject,
                    purpose_id=PURPOSE,
                    action=action,
                    proof=Proof(channel="web_form"),
                    master=master,
                    clock=clock,
                    actor="bench",
                )
    settings = Settings(data_dir=folder, master_key=master.to_b64(), run_worker=False)
    app = create_app(settings, engine=engine, clock=clock)
    reader = Depends(requires(Scope.CONSENT_READ))

    @app.get("/api/v1/bench/noop", dependencies=[reader])
    def noop() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/api/v1/bench/bare")
    def bare() -> dict[str, bool]:
        return {"ok": True}

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.05)
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:

            def timed(make_path: Callable[[int], str]) -> Callable[[], float]:
                def run() -> float:
                    started = time.perf_counter()
                    for number in range(requests):
                        response = client.get(make_path(number))
                        if response.status_code != 200:
                            raise RuntimeError(f"{response.status_code}: {response.text}")
                    return requests / (time.perf_counter() - started)

                return run

            cases = {
                "check": timed(
                    lambda n: f"/api/v1/consent/check?purpose={PURPOSE}&email={address(n % 60)}"
                ),
                "noop_with_key": timed(lambda n: "/api/v1/bench/noop"),
                "noop_bare": timed(lambda n: "/api/v1/bench/bare"),
            }
            for case in cases.values():
                case()  # warm up
            samples: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(rounds):
                for name, case in cases.items():
                    samples[name].append(case())
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
    rates = {name: round(median(values), 1) for name, values in samples.items()}
    return {
        "requests_per_round": requests,
        "rounds": rounds,
        "requests_per_s": rates,
        "ratio_check_to_noop_with_key": round(rates["check"] / rates["noop_with_key"], 2),
        "ratio_check_to_noop_bare": round(rates["check"] / rates["noop_bare"], 2),
    }


# ---------------------------------------------------------------- run


def run(rounds: int) -> dict[str, object]:
    count = int(os.environ.get("BENCH_CONSENT_N", "1000000"))
    bulk_rounds = max(1, min(3, rounds // 10))
    with tempfile.TemporaryDirectory(prefix="tutela-bench-consent-") as tmp:
        folder = Path(tmp)
        bulk = bench_bulk(folder, count, bulk_rounds)
        writes = bench_writes(folder, max(3, rounds // 3), events=1000)
        http = bench_http(folder, max(6, rounds), requests=100)
    met = {
        "bulk_decisions_per_s": bulk["decisions_per_s"] >= TARGETS["bulk_decisions_per_s"],
        "bulk_peak_mb": bulk["ru_maxrss_mb"] <= TARGETS["bulk_peak_mb"],
        "writes_events_per_s": writes["record_many_events_per_s"] >= TARGETS["writes_events_per_s"],
        "writes_single_events_per_s": writes["record_events_per_s"]
        >= TARGETS["writes_events_per_s"],
        "http_ratio_to_noop": http["ratio_check_to_noop_with_key"] >= TARGETS["http_ratio_to_noop"],
    }
    return {
        "benchmark": "consent: bulk check, ledger writes, check over HTTP (SQLite)",
        "results": {"bulk": bulk, "writes": writes, "http": http},
        "targets": TARGETS,
        "targets_met": met,
        "machine": machine(),
    }


def write(document: dict[str, object]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    document["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = RESULTS / "consent.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--bulk-child":
        _flag, db_path, key, count, child_rounds = sys.argv[1:]
        print(json.dumps(bulk_child(db_path, key, int(count), int(child_rounds))))
        return
    rounds = int(os.environ.get("BENCH_ROUNDS", "30"))
    written = write(run(rounds))
    print(f"{written.relative_to(ROOT)}: {written.read_text(encoding='utf-8')}")


if __name__ == "__main__":
    main()
