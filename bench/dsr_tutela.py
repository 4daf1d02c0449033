"""Tutela for the request benchmark: data directory, server, client, and the export child.

* :func:`prepare` makes a data directory whose stores file names one ``sql`` store on
  the sample database, mapped by Fides' dataset YAML (unchanged) plus an override
  file; it migrates Tutela's own PostgreSQL database, publishes the example
  declaration and creates an API key (``requests:write``, ``requests:read``).
* :class:`TutelaServer` runs ``tutela serve`` as shipped (web server and worker
  thread in one process), or ``tutela serve`` without its worker beside ``workers``
  ``tutela worker`` processes.
* ``python bench/dsr_tutela.py --export-child`` files one in-app access request and
  runs the worker until idle in a process of its own, then prints its peak RSS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "src" / "tutela" / "policy" / "examples" / "example.yaml"
TUTELA = Path(sys.executable).with_name("tutela")
DONE = {"completed", "denied", "expired_unverified"}
# What must go when a customer is erased; the Fides file cannot say it. Without
# these lines Tutela keeps user.unique_id columns (keys that link rows).
OVERRIDES = """\
# Tutela's additions to Fides' postgres_example_test_dataset.yml for the benchmark.
tables:
  customer: {erase: delete_row}         # the person's own row goes, its id with it
  login: {erase: delete_row}            # sign-in times of the person
  payment_card: {erase: delete_row}     # the person's cards
  service_request: {erase: delete_row}  # the person's support tickets
  orders:
    fields:
      customer_id: {strategy: "null"}   # the order stays, no longer linked to the person
"""


@dataclass
class TutelaSetup:
    data_dir: Path
    database_url: str
    master_key: str
    api_key: str = ""
    assertion_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUTELA_")}
        env.update(
            TUTELA_DATA_DIR=str(self.data_dir),
            TUTELA_DATABASE_URL=self.database_url,
            TUTELA_MASTER_KEY=self.master_key,
            TUTELA_APP_ASSERTION_KEY=self.assertion_key,
            # the erasure measured runs at once, not after the 24-hour grace period
            TUTELA_DSR_CHANGE_GRACE_HOURS="0",
        )
        return env

    def assertion(self, email: str) -> str:
        from tutela.dsr import sign_assertion

        now = dt.datetime.now(dt.UTC)
        return sign_assertion(
            self.assertion_key, kind="email", value=email, auth_time=now, issued_at=now
        )


def prepare(data_dir: Path, *, database_url: str, sample_url: str, dataset: Path) -> TutelaSetup:
    """Data directory, stores file, migrated database, published declaration, API key."""
    from tutela.clock import SystemClock
    from tutela.crypto import MasterKey
    from tutela.policy.loader import load_declaration
    from tutela.policy.versions import publish
    from tutela.staff.service import create_api_key
    from tutela.storage import make_engine, make_session_factory, upgrade

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / dataset.name).write_bytes(dataset.read_bytes())  # unchanged
    (data_dir / "overrides.yaml").write_text(OVERRIDES, encoding="utf-8")
    stores = [
        {
            "name": "sample",
            "kind": "sql",
            "config": {"url": sample_url, "dataset": dataset.name, "overrides": "overrides.yaml"},
        }
    ]
    (data_dir / "stores.yaml").write_text(json.dumps(stores, indent=2), encoding="utf-8")
    setup = TutelaSetup(data_dir, database_url, MasterKey.generate().to_b64())
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        clock = SystemClock()
        with factory() as session, session.begin():
            publish(
                session,
                declaration=load_declaration(EXAMPLE),
                source_text=EXAMPLE.read_text(encoding="utf-8"),
                actor="bench",
                clock=clock,
            )
            setup.api_key, _row = create_api_key(
                session,
                name="request benchmark",
                scopes=["requests:write", "requests:read"],
                actor="bench",
                clock=clock,
            )
    finally:
        engine.dispose()
    return setup


class TutelaServer:
    """``tutela serve`` (``workers=0``) or ``serve`` without its worker plus worker processes."""

    def __init__(self, setup: TutelaSetup, *, port: int, workers: int) -> None:
        self.setup, self.port, self.workers = setup, port, workers
        self.process: subprocess.Popen[bytes] | None = None
        self.worker_processes: list[subprocess.Popen[bytes]] = []
        self.http: httpx.Client | None = None

    def _spawn(self, cmd: list[str], name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.setup.data_dir / f"{name}.log").open("ab") as log:
            return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def __enter__(self) -> TutelaServer:
        env = self.setup.env()
        if self.workers:
            env["TUTELA_RUN_WORKER"] = "false"
            self.worker_processes = [
                self._spawn([str(TUTELA), "worker"], f"worker-{n}", self.setup.env())
                for n in range(self.workers)
            ]
        cmd = [str(TUTELA), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        name = "serve" if not self.workers else f"serve-{self.workers}-workers"
        self.process = self._spawn(cmd, name, env)
        self.http = self.new_client()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.__exit__()
                raise RuntimeError(f"tutela serve exited; see {self.setup.data_dir}/{name}.log")
            with contextlib.suppress(httpx.HTTPError):
                self.http.get("/DSR-0000-0000-0000")  # 404 once it listens
                return self
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("tutela serve did not listen within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.http is not None:
            self.http.close()
        for process in [self.process, *self.worker_processes]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        self.worker_processes = []

    def submit(self, request_type: str, email: str, client: httpx.Client | None = None) -> str:
        body = {
            "assertion": self.setup.assertion(email),
            "request_type": request_type,
            "language": "en",
        }
        answer = (client or self.client()).post("/in-app", json=body)
        if answer.status_code != 202:
            raise RuntimeError(f"in-app request refused: {answer.status_code} {answer.text}")
        return str(answer.json()["reference"])

    def status(
        self,
        reference: str,
        client: httpx.Client | None = None,
        *,
        wait: float = 0,
        seen: str | None = None,
    ) -> str:
        """The status; with ``wait``, once it changes from ``seen`` (the API's long poll)."""
        params: dict[str, str] = {}
        if wait > 0:
            params["wait"] = f"{wait:g}"
            if seen is not None:
                params["seen"] = seen
        answer = (client or self.client()).get(f"/{reference}", params=params)
        answer.raise_for_status()
        return str(answer.json()["status"])

    def client(self) -> httpx.Client:
        assert self.http is not None, "enter the server first"  # noqa: S101
        return self.http

    def new_client(self) -> httpx.Client:
        """Another keep-alive connection (one per client thread)."""
        return httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}/api/v1/requests",
            headers={"Authorization": f"Bearer {self.setup.api_key}"},
            timeout=60,
        )


def wait_all(server: TutelaServer, references: list[str], timeout: float) -> dict[str, str]:
    """Wait for every request to close, each with the status API's long poll (``wait``):
    the answer comes when the status changes, so there is no polling interval."""
    final: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    for reference in references:  # requests finish about in order
        seen: str | None = None
        while reference not in final:
            left = deadline - time.monotonic()
            if left <= 0:
                open_ = {r: server.status(r) for r in references if r not in final}
                raise RuntimeError(f"Tutela requests not done after {timeout:.0f} s: {open_}")
            status = server.status(reference, wait=min(10.0, left), seen=seen)
            if status in DONE:
                final[reference] = status
            seen = status
    return final


def export_in_child(setup: TutelaSetup, email: str) -> dict[str, Any]:
    """Run one access request for ``email`` in a fresh process; its timing and peak RSS."""
    try:
        child = subprocess.run(
            [sys.executable, __file__, "--export-child", email],
            env=setup.env(),
            check=False,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.TimeoutExpired:
        return {"failed": "the export did not finish within 15 minutes"}
    if child.returncode != 0:
        return {"failed": " | ".join(child.stderr.strip().splitlines()[-5:])}
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------- child processes


def _runtime() -> Any:
    from tutela.cli.runtime import Runtime
    from tutela.config import Settings

    return Runtime(settings=Settings())


def export_child(email: str) -> dict[str, Any]:
    from tutela.cli.server import install_job_handlers
    from tutela.dsr import submit_in_app
    from tutela.dsr.models import DsrRequest
    from tutela.jobs import Worker, registry
    from tutela.storage import transaction

    runtime = _runtime()
    install_job_handlers(runtime)
    settings = runtime.settings
    if settings.app_assertion_key is None:
        raise SystemExit("TUTELA_APP_ASSERTION_KEY is not set")
    key = settings.app_assertion_key.get_secret_value()
    setup = TutelaSetup(settings.data_dir, "", "", assertion_key=key)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    with transaction(runtime.session_factory) as session:
        receipt = submit_in_app(
            session,
            assertion=setup.assertion(email),
            request_type="access",
            language="en",
            master=runtime.master_key,
            clock=runtime.clock,
            settings=settings,
        )
    jobs = Worker(runtime.session_factory, registry=registry, clock=runtime.clock).run_until_idle()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with runtime.session_factory() as session:
        request = session.query(DsrRequest).filter_by(reference=receipt.reference).one()
        status, results = request.status, json.loads(request.store_results or "[]")
    packages = sorted(settings.packages_dir.glob("*.tpkg"), key=lambda p: p.stat().st_mtime)
    stores = json.loads((settings.data_dir / "stores.yaml").read_text(encoding="utf-8"))
    bare = bare_export(stores[0]["config"]["url"], email, settings.data_dir / "bare.zip")
    return {
        "status": status,
        "jobs_run": jobs,
        "seconds": round(seconds, 2),
        "rows_exported": {k: v for r in results for k, v in r.get("rows", {}).items()},
        "package_bytes": packages[-1].stat().st_size if packages else None,
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(peak, 1),
        "baseline_stream_to_zip_seconds": round(bare, 2),
        "ratio_to_baseline": round(seconds / bare, 2),
    }


def bare_export(url: str, address: str, target: Path) -> float:
    """The floor for any exporter: the visits streamed from PostgreSQL into a zip.

    A server-side cursor; one JSON line per row into a deflated zip entry and one CSV
    line into a scratch file added after it; no other table, no encryption, no
    report. Seconds taken.
    """
    import csv
    import zipfile

    import psycopg

    started = time.perf_counter()
    scratch = target.with_suffix(".csv")
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with (
        psycopg.connect(dsn) as conn,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive,
        scratch.open("w", encoding="utf-8", newline="") as as_csv,
    ):
        writer = csv.writer(as_csv)
        with archive.open("visit.json", "w") as as_json, conn.cursor(name="bare") as cursor:
            cursor.itersize = 1000
            cursor.execute("SELECT * FROM visit WHERE email = %s", (address,))
            names = [d.name for d in cursor.description or ()]
            for row in cursor:
                record = dict(zip(names, row, strict=True))
                as_json.write(json.dumps(record, default=str).encode() + b"\n")
                writer.writerow(row)
        as_csv.flush()
        archive.write(scratch, "visit.csv")
    scratch.unlink()
    target.unlink()
    return time.perf_counter() - started


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--export-child":
        print(json.dumps(export_child(sys.argv[2])))
    else:
        raise SystemExit("usage: dsr_tutela.py --export-child EMAIL")


if __name__ == "__main__":
    main()
