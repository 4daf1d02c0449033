"""Retention sweep benchmark (not a test): Tutela's sweep next to one hand-written DELETE.

One table ``events`` (integer key, an index on ``created``) holds
:data:`EXPIRED` rows older than the 7 days the example declaration gives server
logs, and :data:`RECENT` newer ones, in time order like a log. On each backend —
an SQLite file, and PostgreSQL in a throwaway cluster (``tests.pgcluster``) — the
table is built once and copied (file copy; ``CREATE DATABASE … TEMPLATE``), then:

* **tutela**: ``run_sweep`` as ``tutela retention sweep`` does it — rules from the
  published declaration and ``retention.yaml``, the counts before, chunks of
  :data:`CHUNK` rows each in its own store transaction with its checkpoint and
  audit entries in Tutela's own database (same backend), the counts after;
* **delete**: ``DELETE FROM events WHERE created <= :cutoff`` in one transaction, on
  an identical copy.

The two alternate round by round (the order flips each round) so load on the
shared machine hits both alike. Reported: seconds per run, the medians and the
ratio of speeds (DELETE's time / Tutela's time; target ≥ 0.5), with machine facts,
in ``bench/results/retention.json``. ``BENCH_RETENTION_ROWS`` (default 5,000,000),
``BENCH_RETENTION_ROUNDS`` (default 3) and ``BENCH_RETENTION_CHUNK`` change the size.
Run alone with ``python bench/retention.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.pgcluster import find_bindir, running_cluster  # noqa: E402

RESULTS = ROOT / "bench" / "results"
EXAMPLE = ROOT / "src" / "tutela" / "policy" / "examples" / "example.yaml"
EXPIRED = int(os.environ.get("BENCH_RETENTION_ROWS", "5000000"))
RECENT = max(EXPIRED // 10, 1000)
ROUNDS = int(os.environ.get("BENCH_RETENTION_ROUNDS", "3"))
CHUNK = int(os.environ.get("BENCH_RETENTION_CHUNK", "100000"))
TARGET_RATIO = 0.5
AS_OF = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
CUTOFF = (AS_OF - dt.timedelta(days=7)).replace(tzinfo=None)
DATASET = """\
name: logs
tables:
  events:
    erase: delete_row
    fields:
      id: {category: user.unique_id, identity: customer_id, strategy: keep, reason: the row key}
      ip: {category: user.device.ip_address}
      path: {category: user.behavior.browsing_history}
"""
MAPPING = "logs:\n  events: {purposes: [server_logs], dates: {collection: created}}\n"
CREATE = (
    "CREATE TABLE events (id INTEGER PRIMARY KEY, created TIMESTAMP NOT NULL, "
    "ip VARCHAR(45) NOT NULL, path VARCHAR(100) NOT NULL)"
)
INDEX = "CREATE INDEX ix_events_created ON events (created)"
DELETE = "DELETE FROM events WHERE created <= :cutoff"


def machine() -> dict[str, object]:
    postgres = find_bindir()
    version = (
        subprocess.run([str(postgres / "postgres"), "--version"], capture_output=True, text=True)
        if postgres
        else None
    )
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": version.stdout.strip() if version else None,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
    }


def _created(row: int) -> dt.datetime:
    """Expired rows spread over 60 to 8 days before AS_OF, recent ones over the last 6 days."""
    start = AS_OF.replace(tzinfo=None)
    if row <= EXPIRED:
        return start - dt.timedelta(days=60) + dt.timedelta(seconds=row * 52 * 86400 / EXPIRED)
    return start - dt.timedelta(days=6) + dt.timedelta(seconds=(row - EXPIRED) % (5 * 86400))


# ---------------------------------------------------------------- building the tables


def build_sqlite(path: Path) -> float:
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(CREATE)
    step = 200_000
    total = EXPIRED + RECENT
    with conn:
        for first in range(1, total + 1, step):
            conn.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?)",
                (
                    (
                        n,
                        _created(n).strftime("%Y-%m-%d %H:%M:%S.%f"),
                        f"203.0.113.{n % 256}",
                        f"/p{n % 997}",
                    )
                    for n in range(first, min(total, first + step - 1) + 1)
                ),
            )
        conn.execute(INDEX)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - started


def build_postgres(url: str) -> float:
    from sqlalchemy import text

    from tutela.storage import make_engine

    started = time.perf_counter()
    start = AS_OF.replace(tzinfo=None)
    engine = make_engine(url)
    seconds = 52 * 86400 / EXPIRED
    with engine.begin() as conn:
        conn.execute(text(CREATE))
        conn.execute(
            text(
                "INSERT INTO events SELECT g, :old + g * make_interval(secs => :step), "
                "'203.0.113.' || (g % 256), '/p' || (g % 997) FROM generate_series(1, :expired) g"
            ),
            {"old": start - dt.timedelta(days=60), "step": seconds, "expired": EXPIRED},
        )
        conn.execute(
            text(
                "INSERT INTO events SELECT g, :recent + ((g - :expired) % 432000) * "
                "interval '1 second', '203.0.113.' || (g % 256), '/p' || (g % 997) "
                "FROM generate_series(:expired + 1, :total) g"
            ),
            {
                "recent": start - dt.timedelta(days=6),
                "expired": EXPIRED,
                "total": EXPIRED + RECENT,
            },
        )
        conn.execute(text(INDEX))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE events"))
    engine.dispose()
    return time.perf_counter() - started


# ---------------------------------------------------------------- Tutela's own database


def tutela_database(url: str) -> Any:
    from tutela.clock import FrozenClock
    from tutela.policy.loader import load_declaration
    from tutela.policy.versions import publish
    from tutela.storage import make_engine, make_session_factory, upgrade

    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        publish(
            session,
            declaration=load_declaration(EXAMPLE),
            source_text=EXAMPLE.read_text(encoding="utf-8"),
            actor="bench",
            clock=FrozenClock(AS_OF - dt.timedelta(days=400)),
        )
    return factory


def sweep_with_tutela(factory: Any, store_url: str) -> tuple[float, int]:
    from tutela.clock import FrozenClock
    from tutela.connectors import parse_dataset
    from tutela.crypto import MasterKey
    from tutela.retention import SweepContext, SweepStore, parse_mapping, run_report, run_sweep

    master = MasterKey(bytes(range(32)))
    started = time.perf_counter()
    store = SweepStore.sql(
        name="logs", url=store_url, dataset=parse_dataset(DATASET), master=master
    )
    context = SweepContext(stores=[store], mapping=parse_mapping(MAPPING), master=master)
    try:
        run_id = run_sweep(  # 91 % of the table is expired: the sweep must be told it may
            factory,
            context=context,
            clock=FrozenClock(AS_OF),
            actor="bench",
            chunk_size=CHUNK,
            confirmed=["logs.events"],
        )
    finally:
        context.close()
    elapsed = time.perf_counter() - started
    with factory() as session:
        report = run_report(session, run_id=run_id)
    if report.run.status != "done":
        raise RuntimeError(f"the sweep ended {report.run.status}: {report.steps}")
    return elapsed, report.rows_done


def delete_by_hand(store_url: str) -> tuple[float, int]:
    from sqlalchemy import text

    from tutela.storage import make_engine

    engine = make_engine(store_url)
    try:
        started = time.perf_counter()
        with engine.begin() as conn:
            rows = conn.execute(text(DELETE), {"cutoff": CUTOFF}).rowcount
        return time.perf_counter() - started, int(rows)
    finally:
        engine.dispose()


def remaining(store_url: str) -> int:
    from sqlalchemy import text

    from tutela.storage import make_engine

    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())
    finally:
        engine.dispose()


# ---------------------------------------------------------------- rounds


def alternate(
    copy: Callable[[str], str], factory: Any, drop: Callable[[str], None]
) -> dict[str, Any]:
    """Alternate Tutela and the DELETE on fresh copies; times and row counts."""
    times: dict[str, list[float]] = {"tutela": [], "delete": []}
    rows: dict[str, int] = {}
    for number in range(ROUNDS):
        order = ("tutela", "delete") if number % 2 == 0 else ("delete", "tutela")
        for name in order:
            url = copy(f"{name}_{number}")
            try:
                if name == "tutela":
                    seconds, done = sweep_with_tutela(factory, url)
                else:
                    seconds, done = delete_by_hand(url)
                left = remaining(url)
            finally:
                drop(url)
            if left != RECENT or done != EXPIRED:
                raise RuntimeError(f"{name}: removed {done}, {left} left; expected {EXPIRED}")
            times[name].append(round(seconds, 3))
            rows[name] = done
    tutela, delete = statistics.median(times["tutela"]), statistics.median(times["delete"])
    return {
        "seconds": times,
        "median_s": {"tutela": round(tutela, 3), "delete": round(delete, 3)},
        "rows_removed": rows,
        "rows_per_s": {"tutela": round(EXPIRED / tutela), "delete": round(EXPIRED / delete)},
        "ratio_of_speed": round(delete / tutela, 3),
    }


def bench_sqlite(folder: Path) -> dict[str, Any]:
    template = folder / "template.db"
    built = build_sqlite(template)
    factory = tutela_database(f"sqlite:///{folder / 'tutela.db'}")

    def copy(name: str) -> str:
        target = folder / f"{name}.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"

    def drop(url: str) -> None:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    result = alternate(copy, factory, drop)
    result["build_s"] = round(built, 1)
    return result


def bench_postgres() -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    with running_cluster() as admin_url:
        base = admin_url.rsplit("/", 1)[0]
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")

        def run(statement: str) -> None:
            with admin.connect() as conn:
                conn.execute(text(statement))

        run('CREATE DATABASE "template_events"')
        run('CREATE DATABASE "tutela"')
        built = build_postgres(f"{base}/template_events")
        factory = tutela_database(f"{base}/tutela")

        def copy(name: str) -> str:
            run(f'CREATE DATABASE "{name}" TEMPLATE "template_events"')
            return f"{base}/{name}"

        def drop(url: str) -> None:
            run(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

        try:
            result = alternate(copy, factory, drop)
        finally:
            factory.kw["bind"].dispose()
            admin.dispose()
        result["build_s"] = round(built, 1)
        return result


def run_all() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tutela-bench-retention-") as folder:
        sqlite_result = bench_sqlite(Path(folder))
    postgres_result: dict[str, Any]
    if find_bindir() is None:
        postgres_result = {"skipped": "PostgreSQL binaries not installed"}
    else:
        postgres_result = bench_postgres()
    met = {
        name: result.get("ratio_of_speed", 0) >= TARGET_RATIO
        for name, result in (("sqlite", sqlite_result), ("postgresql", postgres_result))
        if "skipped" not in result
    }
    return {
        "benchmark": "retention: sweep of expired rows vs one hand-written DELETE",
        "setup": {
            "expired_rows": EXPIRED,
            "recent_rows": RECENT,
            "chunk_size": CHUNK,
            "rounds": ROUNDS,
            "table": "events(id integer primary key, created timestamp indexed, ip, path)",
            "rule": "server_logs: 7 days after collection (example declaration)",
        },
        "results": {"sqlite": sqlite_result, "postgresql": postgres_result},
        "target": {"ratio_of_speed_at_least": TARGET_RATIO},
        "targets_met": met,
        "machine": machine(),
    }


def write(document: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    document["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = RESULTS / "retention.json"
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def main() -> None:
    written = write(run_all())
    print(f"{written.relative_to(ROOT)}: {written.read_text(encoding='utf-8')}")


if __name__ == "__main__":
    main()
