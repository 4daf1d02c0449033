"""Data-subject requests, Tutela next to Fides 2.78.2, on one PostgreSQL sample, in one run.

Set-up (not timed): a throwaway PostgreSQL cluster; Fides' own sample database
(``postgres_sample.sql`` from the ethyca-fides 2.78.2 package) plus
:data:`CUSTOMERS` generated customers (:data:`dsr_fides.GENERATED`) in the one
database both tools read; Redis with a password; Fides in a cached throwaway
virtualenv, configured through its REST API as fides.md §5 says (verification and
manual approval off, eager mode); Tutela with a stores file naming one ``sql``
store mapped by Fides' dataset YAML as it is plus an override file
(:data:`dsr_tutela.OVERRIDES`), its own database in the same cluster, an API key
and the in-app assertion key: Tutela's requests are verified at intake, Fides' not.

Measured, the same customers for both, Tutela and Fides alternating:

1. access latency, HTTP submit to "completed" (medians over ``BENCH_DSR_ROUNDS``),
   with ``tutela serve`` as shipped (web server and worker thread in one process) and
   with ``tutela serve`` plus two ``tutela worker`` processes (its own worker off);
2. a burst of 50 access requests from 8 client threads until all are completed
   (Fides eager; Fides with a Celery worker unless ``BENCH_DSR_FIDES_WORKER=0``);
3. rows written per access request in each tool's own database (every table);
4. erasure completeness: the dataset's ``user.*`` fields, over every row its
   identities and references reach from the customer, still holding their value
   after one erasure (Tutela: in-app erasure; Fides: ``default_erasure_policy``);
5. Tutela only: peak RSS of a process exporting a subject with 1,000,000 visits.

If Fides cannot be installed or started, Tutela's side still runs and the results
say ``"fides": {"skipped": …}`` (``BENCH_DSR_FIDES=0`` skips it on purpose). Run
alone with ``python bench/dsr.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import dsr_fides as fides  # noqa: E402
import dsr_tutela as tutela  # noqa: E402
from dsr_fides import Graph, connect, email  # noqa: E402
from dsr_report import SEPARATE, SHIPPED, TARGETS, compare, conclude, headline, summary  # noqa: E402
from tests.pgcluster import running_cluster  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CACHE = ROOT / ".bench-cache"
CUSTOMERS = 200_000
EXPORT_ROWS = 1_000_000
BURST = 50
THREADS = 8
POLL = 0.01
STATS_FLUSH = 11.0  # PostgreSQL 15 flushes an idle backend's table statistics within 10 s
OneRequest = Callable[[str, str], tuple[float, float, str]]
"""(request type or policy, address) -> (seconds to completion, seconds to submit, status)"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def machine() -> dict[str, object]:
    redis = shutil.which("redis-server")
    version = (
        subprocess.run([redis, "--version"], capture_output=True, text=True) if redis else None
    )
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "redis": version.stdout.split(" sha=")[0] if version else None,
    }


# ---------------------------------------------------------------- rows written


def table_stats(port: int, dbname: str) -> dict[str, tuple[int, int, int, int]]:
    """Per table: exact row count and the inserted, updated, deleted counters."""
    with connect(port, dbname) as conn:
        stats = {
            str(name): (int(ins), int(upd), int(dele))
            for name, ins, upd, dele in conn.execute(
                "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
                "WHERE schemaname = 'public'"
            )
        }
        counts = {}
        for name, numbers in stats.items():
            query = f'SELECT count(*) FROM public."{name}"'  # noqa: S608 (catalog names)
            row = conn.execute(query).fetchone()
            counts[name] = (int(row[0]) if row else 0, *numbers)
        return counts


def rows_written(port: int, runs: dict[str, Callable[[], object]]) -> dict[str, Any]:
    """Run one request per database; what each wrote there (statistics settle first)."""
    time.sleep(STATS_FLUSH)
    before = {dbname: table_stats(port, dbname) for dbname in runs}
    for run in runs.values():
        run()
    time.sleep(STATS_FLUSH)
    result: dict[str, Any] = {}
    for dbname in runs:
        after = table_stats(port, dbname)
        delta = {
            table: [
                a - b
                for a, b in zip(after[table], before[dbname].get(table, (0,) * 4), strict=True)
            ]
            for table in after
        }
        changed = {t: d for t, d in sorted(delta.items()) if any(d)}
        result[dbname] = {
            "rows_inserted": sum(d[1] for d in changed.values()),
            "rows_updated": sum(d[2] for d in changed.values()),
            "rows_deleted": sum(d[3] for d in changed.values()),
            "net_new_rows": sum(d[0] for d in changed.values()),
            "per_table_net_ins_upd_del": changed,
            "tables_in_database": len(after),
        }
    return result


# ---------------------------------------------------------------- the two tools


class Bench:
    """The two tools side by side; Fides calls become a recorded skip if Fides fails."""

    def __init__(self, port: int, rounds: int, dataset: Path) -> None:
        self.port, self.rounds, self.dataset = port, rounds, dataset
        self.server: tutela.TutelaServer | None = None
        self.fides: fides.FidesClient | None = None
        self.fides_setup: fides.FidesSetup | None = None
        self.fides_error: str | None = None

    def tutela_one(self, request_type: str, address: str) -> tuple[float, float, str]:
        """Seconds to completion, seconds for the submit itself, final status."""
        server = self.server
        assert server is not None  # noqa: S101
        started = time.perf_counter()
        reference = server.submit(request_type, address)
        submitted = time.perf_counter() - started
        status = tutela.wait_all(server, [reference], 120)[reference]
        return time.perf_counter() - started, submitted, status

    def fides_one(self, policy: str, address: str) -> tuple[float, float, str]:
        client = self.fides
        assert client is not None  # noqa: S101
        started = time.perf_counter()
        ids = client.submit(policy, [address])
        submitted = time.perf_counter() - started
        status = fides.wait_all(client, ids, 300, POLL)[ids[0]]
        return time.perf_counter() - started, submitted, status

    def lost(self, error: BaseException) -> None:
        """Fides failed: note why and go on without it."""
        self.fides_error = f"Fides failed: {type(error).__name__}: {error}"
        print(f"dsr: {self.fides_error}", flush=True)
        if self.fides is not None:
            self.fides.close()
        self.fides = None

    def guarded(self, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if self.fides is None:
            return {"skipped": self.fides_error or "Fides is not running"}
        try:
            return run()
        except fides.ERRORS as error:
            self.lost(error)
            return {"skipped": self.fides_error}

    def fides_quietly(self, run: Callable[[], object]) -> None:
        if self.fides is not None:
            try:
                run()
            except fides.ERRORS as error:
                self.lost(error)

    def latency(self, numbers: range, *, jitter: float) -> dict[str, Any]:
        """Alternating single requests; a random pause of up to ``jitter`` s before each.

        The pause keeps the two tools' requests from falling into a fixed rhythm.
        """
        pause = random.Random(7)
        cases: list[tuple[str, OneRequest, str]] = [("tutela", self.tutela_one, "access")]
        if self.fides is not None:
            cases.append(("fides", self.fides_one, fides.ACCESS_POLICY))
        warm_up = email(numbers[0] + 90_000)  # not counted
        self.tutela_one("access", warm_up)
        self.fides_quietly(lambda: self.fides_one(fides.ACCESS_POLICY, warm_up))
        total: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        submit: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        statuses: dict[str, set[str]] = {name: set() for name, _, _ in cases}
        for position, number in enumerate(numbers):
            for name, case, kind in cases if position % 2 == 0 else cases[::-1]:
                if name == "fides" and self.fides is None:
                    continue
                time.sleep(pause.uniform(0, jitter))
                try:
                    seconds, submitted, status = case(kind, email(number))
                except fides.ERRORS as error:
                    if name != "fides":
                        raise
                    self.lost(error)
                    continue
                total[name].append(seconds)
                submit[name].append(submitted)
                statuses[name].add(status)
        result: dict[str, Any] = {}
        if self.fides is None:
            total.pop("fides", None)
        for name in total:
            result[name] = {
                **summary(total[name]),
                "submit_median_ms": round(statistics.median(submit[name]) * 1000, 1),
                "statuses": sorted(statuses[name]),
            }
        if "fides" in total:
            result["vs_fides"] = compare(
                result["tutela"]["median_ms"], result["fides"]["median_ms"]
            )
        else:
            result["fides"] = {"skipped": self.fides_error}
        return result

    def burst_tutela(self, numbers: range) -> dict[str, Any]:
        server = self.server
        assert server is not None  # noqa: S101
        return burst(
            lambda address, client: server.submit("access", address, client),
            server.new_client,
            [email(n) for n in numbers],
            lambda ids: tutela.wait_all(server, ids, 900),
        )

    def burst_fides(self, numbers: range) -> dict[str, Any]:
        setup, client = self.fides_setup, self.fides
        assert setup is not None  # noqa: S101
        assert client is not None  # noqa: S101
        return burst(
            lambda address, own: own.submit(fides.ACCESS_POLICY, [address])[0],
            lambda: fides.FidesClient(setup),
            [email(n) for n in numbers],
            lambda ids: fides.wait_all(client, ids, 1800, 0.05),
        )

    def tutela_erasure(self, address: str) -> dict[str, Any]:
        server = self.server
        assert server is not None  # noqa: S101
        reference = server.submit("erasure", address)
        try:
            status = tutela.wait_all(server, [reference], 60)[reference]
        except RuntimeError:
            status = server.status(reference)
        with connect(self.port, "tutela") as conn:
            row = conn.execute(
                "SELECT outcome, last_error, store_results FROM dsr_requests WHERE reference = %s",
                (reference,),
            ).fetchone()
        outcome, error, results = row if row is not None else (None, None, None)
        stores = json.loads(results).get("stores", []) if results else []
        return {
            "status": status,
            "outcome": outcome,
            "last_error": error,
            "store_outcomes": [
                f"{o['table']}: {o['action']} {','.join(o['fields']) or 'rows'} ({o['rows']})"
                for store in stores
                for o in store.get("outcomes", [])
            ],
        }

    def rows_and_erasure(self) -> dict[str, Any]:
        runs: dict[str, Callable[[], object]] = {
            "tutela": lambda: self.tutela_one("access", email(150_001))
        }
        if self.fides is not None:
            runs["fides"] = lambda: self.fides_quietly(
                lambda: self.fides_one(fides.ACCESS_POLICY, email(150_002))
            )
        rows = rows_written(self.port, runs)
        if self.fides is None:
            rows["fides"] = {"skipped": self.fides_error}
        graph = Graph(self.dataset)
        request: dict[str, Any] = {}
        with connect(self.port, "postgres_example") as conn:
            erased = {
                "tutela": graph.left_after(
                    conn,
                    email(160_001),
                    lambda: request.update(self.tutela_erasure(email(160_001))),
                )
            }
            erased["tutela"]["request"] = dict(request)
            erased["fides"] = self.guarded(
                lambda: graph.left_after(
                    conn,
                    email(160_002),
                    lambda: request.update(
                        fides=self.fides_one(fides.ERASURE_POLICY, email(160_002))[2]
                    ),
                )
            )
            if "fides" in request:
                erased["fides"]["request"] = {"status": request["fides"]}
        return {"rows_per_access_request": rows, "erasure": erased}


def burst(submit: Callable[[str, Any], str], make_client: Callable[[], Any], emails: list[str],
          wait: Callable[[list[str]], dict[str, str]]) -> dict[str, Any]:  # fmt: skip
    """Submit from THREADS client threads at once, then wait for all; wall time and outcomes."""
    local = threading.local()

    def one(address: str) -> str:
        if not hasattr(local, "client"):
            local.client = make_client()
        return submit(address, local.client)

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        ids = list(pool.map(one, emails))
    submitted = time.perf_counter() - started
    final = wait(ids)
    seconds = time.perf_counter() - started
    outcomes: dict[str, int] = {}
    for status in final.values():
        outcomes[status] = outcomes.get(status, 0) + 1
    return {
        "requests": len(emails),
        "seconds": round(seconds, 2),
        "submit_seconds": round(submitted, 2),
        "per_second": round(len(emails) / seconds, 2),
        "statuses": outcomes,
    }


def phase(bench: Bench, setup: tutela.TutelaSetup, workers: int, first: int) -> dict[str, Any]:
    """Latency and burst with one Tutela deployment (``workers=0``: ``tutela serve`` as shipped).

    The as-shipped phase also runs Fides' eager burst, and counts rows and fields.
    """
    n = bench.rounds
    people = range(first + n, first + n + BURST)
    with tutela.TutelaServer(setup, port=free_port(), workers=workers) as server:
        bench.server = server
        result: dict[str, Any] = {"latency": bench.latency(range(first, first + n), jitter=0.05)}
        result["burst"] = {"tutela": bench.burst_tutela(people)}
        if workers == 0:
            result["burst"]["fides_eager"] = bench.guarded(lambda: bench.burst_fides(people))
            result.update(bench.rows_and_erasure())
        bench.server = None
    return result


def fides_worker_burst(bench: Bench, first: int) -> dict[str, Any]:
    """Fides restarted with ``task_always_eager = false`` and one ``fides worker``."""
    setup = bench.fides_setup
    assert setup is not None  # noqa: S101
    if bench.fides is not None:
        bench.fides.close()
    setup.stop()
    try:
        with fides.running(setup, eager=False) as client:
            bench.fides = client
            return bench.burst_fides(range(first, first + BURST))
    except fides.ERRORS as error:
        return {"skipped": f"Fides with a worker failed: {type(error).__name__}: {error}"}
    finally:
        bench.fides = None


def start_fides(bench: Bench, stack: contextlib.ExitStack, tmp: Path, wheel: Path) -> float:
    """Redis, the Fides webserver (eager) and its configuration; seconds to /health."""
    venv = fides.ensure_installed(CACHE, wheel)
    redis_port = free_port()
    password = stack.enter_context(fides.redis_server(tmp, redis_port))
    bench.fides_setup = setup = fides.FidesSetup(
        venv, tmp / "fides", bench.port, "tutela", redis_port, password, free_port()
    )
    stack.callback(setup.stop)
    started = time.perf_counter()
    setup.start(eager=True)
    seconds = time.perf_counter() - started
    bench.fides = fides.FidesClient(setup)
    stack.callback(lambda: bench.fides.close() if bench.fides else None)
    bench.fides.configure(
        dataset_file=bench.dataset, pg_port=bench.port, pg_user="tutela", dbname="postgres_example"
    )
    return round(seconds, 1)


def run(rounds: int) -> dict[str, Any]:
    setup: dict[str, Any] = {
        "customers_added": CUSTOMERS,
        "per_customer": fides.GENERATED,
        "fides": f"{fides.PACKAGE}, eager mode (webserver only), identity verification and "
        "manual approval off, local storage",
        "tutela": "in-app requests with a signed assertion (verified at intake); its own "
        "database in the same PostgreSQL cluster; the example declaration published; "
        "TUTELA_DSR_CHANGE_GRACE_HOURS=0 so the erasure measured runs at once",
        "tutela_overrides": tutela.OVERRIDES,
        "rounds": rounds,
        "client_threads_in_burst": THREADS,
    }
    results: dict[str, Any] = {}
    document: dict[str, Any] = {
        "benchmark": "data-subject requests: Tutela vs Fides 2.78.2 on Fides' PostgreSQL sample",
        "setup": setup,
        "results": results,
        "targets": TARGETS,
        "machine": machine(),
    }
    with contextlib.ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="tutela-bench-dsr-"))
        stack.callback(shutil.rmtree, tmp, True)
        try:
            wheel = fides.fetch_wheel(CACHE)
        except fides.FidesUnavailable as error:
            document["skipped"] = f"Fides' sample database is not available: {error}"
            return document
        sql, dataset = fides.sample_files(wheel, tmp / "sample")
        try:
            url = stack.enter_context(running_cluster())
        except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
            document["skipped"] = f"no PostgreSQL cluster could be started: {error}"
            return document
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        print("dsr: loading the sample and generating customers", flush=True)
        started = time.perf_counter()
        fides.load_sample(port, sql, CUSTOMERS)
        setup["sample_load_seconds"] = round(time.perf_counter() - started, 1)
        bench = Bench(port, rounds, dataset)
        try:
            if os.environ.get("BENCH_DSR_FIDES", "1") == "0":
                raise fides.FidesUnavailable("turned off with BENCH_DSR_FIDES=0")
            setup["fides_start_seconds"] = start_fides(bench, stack, tmp, wheel)
        except fides.ERRORS as error:
            bench.fides, bench.fides_error = None, f"{type(error).__name__}: {error}"
            results["fides"] = {"skipped": bench.fides_error}
            print(f"dsr: Fides skipped: {error}", flush=True)
        base = f"postgresql+psycopg://tutela@127.0.0.1:{port}"
        own = tutela.prepare(
            tmp / "tutela",
            database_url=f"{base}/tutela",
            sample_url=f"{base}/postgres_example",
            dataset=dataset,
        )
        print("dsr: tutela serve as shipped: latency, burst, rows, erasure", flush=True)
        results[SHIPPED] = phase(bench, own, 0, 1)
        print("dsr: tutela serve with two worker processes: latency, burst", flush=True)
        results[SEPARATE] = phase(bench, own, 2, 1_001)
        print("dsr: export of 1,000,000 rows", flush=True)
        fides.add_visits(port, 170_001, EXPORT_ROWS)
        results["export_1m_rows"] = tutela.export_in_child(own, email(170_001))
        if bench.fides is not None and os.environ.get("BENCH_DSR_FIDES_WORKER", "1") != "0":
            print("dsr: Fides with a Celery worker: burst", flush=True)
            results["fides_celery_worker"] = fides_worker_burst(bench, 180_001)
    if bench.fides_error and "fides" not in results:
        results["fides"] = {"skipped": bench.fides_error}
    document["targets_met"] = conclude(results)
    document["headline"] = headline(results)
    document["machine"]["loadavg_at_end"] = os.getloadavg()
    return document


def write(document: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    document["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = RESULTS / "dsr.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def main() -> None:
    rounds = int(os.environ.get("BENCH_DSR_ROUNDS", "20"))
    written = write(run(rounds))
    document = json.loads(written.read_text(encoding="utf-8"))
    shown = {k: document.get(k) for k in ("skipped", "headline", "targets_met") if k in document}
    if "fides" in document.get("results", {}):
        shown["fides"] = document["results"]["fides"]
    print(f"{written.relative_to(ROOT)}: {json.dumps(shown, indent=1)}")


if __name__ == "__main__":
    main()
