"""Fides 2.78.2 and its sample database for the request benchmark.

Everything follows the Fides anchor report (§5, "Running Fides here for a
benchmark"): a throwaway virtualenv (cached in ``.bench-cache/``, never
committed), PostgreSQL and Redis on 127.0.0.1,
``fides.toml`` with verification and manual approval off, and the REST calls
token → connection → secret → dataset upsert → datasetconfig. One deviation: the
webserver is started like ``fides webserver`` does it, but bound to 127.0.0.1
instead of 0.0.0.0.

The sample database is Fides' own (``postgres_sample.sql`` from the package) with
generated customers added; :class:`Graph` walks it from the dataset YAML to count
what an erasure left, trusting neither tool's walk.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml

VERSION = "2.78.2"
PACKAGE = f"ethyca-fides=={VERSION}"
SAMPLE_SQL = "fides/data/sample_project/postgres_sample.sql"
SAMPLE_DATASET = "fides/data/sample_project/sample_resources/postgres_example_test_dataset.yml"
CONNECTION = "bench_postgres"
ACCESS_POLICY = "default_access_policy"
ERASURE_POLICY = "default_erasure_policy"
DONE = {"complete", "error", "canceled", "denied"}
Row = dict[str, Any]
SERVE = (
    "import sys, uvicorn\n"
    "from fides.api.main import app, check_required_webserver_config_values, CONFIG\n"
    "check_required_webserver_config_values(config=CONFIG)\n"
    "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')\n"
)


class FidesUnavailable(RuntimeError):
    """Fides cannot run here; the message says why (it goes into the results)."""


ERRORS = (FidesUnavailable, httpx.HTTPError, OSError, ValueError, KeyError, IndexError)
"""What a failing Fides raises; the benchmark records it and goes on without Fides."""


def _tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    kept = [line for line in text if not line.startswith("WARNING: Location")]
    return " | ".join(kept[-lines:])


def fetch_wheel(cache: Path) -> Path:
    """The ethyca-fides wheel (5.6 MB, cached): the sample SQL and dataset come from it."""
    folder = cache / "wheels"
    found = sorted(folder.glob(f"ethyca_fides-{VERSION}-*.whl"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    log = cache / "pip-download.log"
    with log.open("w", encoding="utf-8") as out:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(folder), PACKAGE],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    found = sorted(folder.glob(f"ethyca_fides-{VERSION}-*.whl"))
    if result.returncode != 0 or not found:
        raise FidesUnavailable(f"pip download {PACKAGE} failed: {_tail(log)}")
    return found[0]


def sample_files(wheel: Path, target: Path) -> tuple[Path, Path]:
    """Extract Fides' sample schema (SQL) and its dataset YAML from the wheel, unchanged."""
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    with zipfile.ZipFile(wheel) as archive:
        for member in (SAMPLE_SQL, SAMPLE_DATASET):
            path = target / Path(member).name
            path.write_bytes(archive.read(member))
            paths.append(path)
    return paths[0], paths[1]


def ensure_installed(cache: Path, wheel: Path) -> Path:
    """A virtualenv with Fides (about 800 MB, 1-2 minutes the first time); its folder."""
    venv = cache / f"fides-{VERSION}"
    marker = venv / ".installed"
    if marker.exists() and (venv / "bin" / "fides").exists():
        return venv
    log = cache / "pip-install.log"
    with log.open("w", encoding="utf-8") as out:
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        ]
        for step in steps:
            print(f"dsr: {' '.join(step[:4])} … (first run only)", flush=True)
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, check=False).returncode:
                raise FidesUnavailable(f"installing {PACKAGE} failed: {_tail(log)}")
    marker.write_text(VERSION + "\n", encoding="utf-8")
    return venv


# ---------------------------------------------------------------- the sample database

GENERATE = """
INSERT INTO address SELECT 1000+i, i % 900 + 1, 'Bench Street ' || i, 'Benchtown', 'NY',
  lpad((i % 99999)::text, 5, '0') FROM generate_series(1, {n}) i;
INSERT INTO customer SELECT 1000+i, 'bench-' || i || '@example.com', 'Bench Customer ' || i,
  timestamp '2022-01-01' + i * interval '1 minute', 1000+i FROM generate_series(1, {n}) i;
INSERT INTO payment_card SELECT 'pay_bench-' || i, 'Card of customer ' || i, 4000000000 + i,
  i % 900 + 100, true, 1000+i, 1000+i FROM generate_series(1, {n}) i;
INSERT INTO orders SELECT 'ord_bench-' || i, 1000+i, 1000+i, 'pay_bench-' || i
  FROM generate_series(1, {n}) i;
INSERT INTO order_item SELECT 'ord_bench-' || i, 1, i % 6 + 1, 1 FROM generate_series(1, {n}) i;
INSERT INTO visit SELECT 'bench-' || i || '@example.com',
  timestamp '2023-01-01' + i * interval '1 minute' + k * interval '1 day'
  FROM generate_series(1, {n}) i, generate_series(0, 1) k;
INSERT INTO login SELECT 1000 + 2*i + k, 1000+i,
  timestamp '2023-01-01' + i * interval '1 minute' + k * interval '1 day'
  FROM generate_series(1, {n}) i, generate_series(0, 1) k;
INSERT INTO service_request SELECT 'ser_bench-' || i, 'bench-' || i || '@example.com',
  'bench-' || i || '-alt@example.com', date '2023-01-01' + i % 300, NULL, 1
  FROM generate_series(1, {n}) i;
CREATE INDEX ON customer (email); CREATE INDEX ON employee (email); CREATE INDEX ON report (email);
CREATE INDEX ON login (customer_id); CREATE INDEX ON orders (customer_id);
CREATE INDEX ON payment_card (customer_id); CREATE INDEX ON service_request (email);
CREATE INDEX ON service_request (alt_email);
ANALYZE;
"""
GENERATED = (
    "an address, a payment card, an order with one item, 2 visits, 2 logins and a support "
    "ticket each; indexes on customer.email, employee.email, report.email, the customer_id "
    "of login, orders and payment_card, and service_request.email and alt_email"
)


def email(number: int) -> str:
    """The address of generated customer ``number`` (1 … customers)."""
    return f"bench-{number}@example.com"


def connect(port: int, dbname: str) -> psycopg.Connection[Any]:
    return psycopg.connect(host="127.0.0.1", port=port, user="tutela", dbname=dbname)


def load_sample(port: int, sql: Path, customers: int) -> None:
    """Databases ``postgres_example`` (Fides' sample + generated customers), fides, tutela."""
    with connect(port, "postgres") as admin:
        admin.autocommit = True
        for name in ("postgres_example", "fides", "tutela"):
            admin.execute(f'CREATE DATABASE "{name}"')
    with connect(port, "postgres_example") as conn:
        conn.execute(sql.read_text(encoding="utf-8"))
        conn.commit()
        conn.autocommit = True
        conn.execute(GENERATE.format(n=customers))


def add_visits(port: int, number: int, count: int) -> None:
    """``count`` more visits of customer ``number``."""
    with connect(port, "postgres_example") as conn:
        conn.execute(
            "INSERT INTO visit SELECT %s, timestamp '2020-01-01' + k * interval '1 second' "
            "FROM generate_series(1, %s) k",
            (email(number), count),
        )


class Graph:
    """The dataset's identities and references, walked by the benchmark itself.

    Neither tool's walk is trusted: the rows a customer reaches are found here from
    the dataset YAML (identity ``email`` seeds; references followed both ways as
    their direction says), and their ``user.*`` values are compared before and after.
    """

    def __init__(self, dataset: Path) -> None:
        document = yaml.safe_load(dataset.read_text(encoding="utf-8"))["dataset"][0]
        self.personal: dict[str, list[str]] = {}
        self.seeds: list[tuple[str, str]] = []
        self.edges: list[tuple[str, str, str, str]] = []  # rows of [2] where [3] = [0].[1]
        for collection in document["collections"]:
            table = collection["name"]
            for spec in collection["fields"]:
                name, meta = spec["name"], spec.get("fides_meta") or {}
                if any(c.split(".")[0] == "user" for c in spec.get("data_categories", [])):
                    self.personal.setdefault(table, []).append(name)
                if meta.get("identity") == "email":
                    self.seeds.append((table, name))
                for ref in meta.get("references") or []:
                    other, column = ref["field"].split(".", 1)
                    if ref.get("direction") in (None, "from"):
                        self.edges.append((other, column, table, name))
                    if ref.get("direction") in (None, "to"):
                        self.edges.append((table, name, other, column))
        self.keys: dict[str, list[str]] = {}

    def _key(self, conn: psycopg.Connection[Any], table: str) -> list[str]:
        if table not in self.keys:
            self.keys[table] = [
                str(r[0])
                for r in conn.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                    "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass "
                    "AND i.indisprimary ORDER BY a.attname",
                    (table,),
                )
            ]
        return self.keys[table]

    def reach(self, conn: psycopg.Connection[Any], address: str) -> dict[tuple[str, str], Row]:
        """Every row the identities and references reach: {(table, key as JSON): row}."""
        found: dict[tuple[str, str], Row] = {}

        def add(table: str, column: str, values: list[Any]) -> bool:
            query = f'SELECT * FROM "{table}" WHERE "{column}"::text = ANY(%s)'  # noqa: S608
            cursor = conn.execute(query, (values,))
            names = [d.name for d in cursor.description or ()]
            new = False
            for values_row in cursor:
                row = dict(zip(names, values_row, strict=True))
                key = json.dumps([row[c] for c in self._key(conn, table)], default=str)
                new = new or (table, key) not in found
                found[(table, key)] = row
            return new

        for table, column in self.seeds:
            add(table, column, [address])
        changed = True
        while changed:
            changed = False
            for source, column, target, target_column in self.edges:
                values = sorted(
                    {str(r[column]) for (t, _), r in found.items() if t == source and r[column]}
                )
                if values:
                    changed = add(target, target_column, values) or changed
        return found

    def left_after(
        self, conn: psycopg.Connection[Any], address: str, run: Callable[[], object]
    ) -> dict[str, Any]:
        """Run an erasure of ``address``; what of its declared personal values is left."""
        before = self.reach(conn, address)
        conn.commit()
        run()
        left: set[str] = set()
        values_left = values_total = 0
        email_left: set[str] = set()
        for (table, _key), row in before.items():
            columns = self._key(conn, table)
            where = " AND ".join(f'"{c}" = %s' for c in columns)
            query = f'SELECT * FROM "{table}" WHERE {where}'  # noqa: S608 (catalog names)
            cursor = conn.execute(query, [row[c] for c in columns])
            names = [d.name for d in cursor.description or ()]
            now = cursor.fetchone()
            after = dict(zip(names, now, strict=True)) if now is not None else None
            for name in self.personal.get(table, []):
                if row[name] is None:
                    continue
                values_total += 1
                if after is not None and after[name] == row[name]:
                    values_left += 1
                    left.add(f"{table}.{name}")
            if after is not None:
                email_left |= {
                    f"{table}.{c}"
                    for c, v in after.items()
                    if isinstance(v, str) and v.lower() == address
                }
        conn.commit()
        return {
            "rows_reached": len(before),
            "personal_values_before": values_total,
            "personal_values_left": values_left,
            "fields_left": len(left),
            "fields_left_names": sorted(left),
            "columns_still_holding_the_email": sorted(email_left),
        }


@contextlib.contextmanager
def redis_server(folder: Path, port: int) -> Iterator[str]:
    """Redis on 127.0.0.1:``port`` with a random password (yielded), no persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FidesUnavailable("redis-server is not installed (apt-get install redis-server)")
    password = secrets.token_hex(16)
    with (folder / "redis.log").open("ab") as log:
        options = ["--port", str(port), "--bind", "127.0.0.1", "--requirepass", password]
        options += ["--save", "", "--appendonly", "no", "--dir", str(folder)]
        process = subprocess.Popen(
            [binary, *options],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        yield password
    finally:
        process.terminate()
        process.wait(timeout=20)


@dataclass
class FidesSetup:
    """Where Fides runs and what it needs; secrets are random per run."""

    venv: Path
    workdir: Path
    pg_port: int
    pg_user: str
    redis_port: int
    redis_password: str
    port: int
    client_secret: str = field(default_factory=lambda: secrets.token_hex(12))
    encryption_key: str = field(default_factory=lambda: secrets.token_hex(16))  # 32 characters
    root_password: str = field(default_factory=lambda: f"Bench{secrets.token_hex(6)}1!")
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def toml(self, *, eager: bool) -> str:
        return f"""[database]
server = "127.0.0.1"
user = "{self.pg_user}"
password = "bench"
port = "{self.pg_port}"
db = "fides"

[redis]
host = "127.0.0.1"
password = "{self.redis_password}"
port = {self.redis_port}

[security]
env = "prod"
app_encryption_key = "{self.encryption_key}"
oauth_root_client_id = "fidesadmin"
oauth_root_client_secret = "{self.client_secret}"
root_username = "root_user"
root_password = "{self.root_password}"

[execution]
require_manual_request_approval = false
subject_identity_verification_required = false

[celery]
task_always_eager = {"true" if eager else "false"}

[user]
analytics_opt_out = true

[admin_ui]
enabled = true
"""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TUTELA_", "VIRTUAL"))}
        env["PATH"] = f"{self.venv / 'bin'}:{env.get('PATH', '')}"
        env["FIDES__CONFIG_PATH"] = str(self.workdir / ".fides" / "fides.toml")
        return env

    def start(self, *, eager: bool, timeout: float = 240.0) -> None:
        """Start the webserver (and a Celery worker unless eager); wait for /health."""
        (self.workdir / ".fides").mkdir(parents=True, exist_ok=True)
        (self.workdir / ".fides" / "fides.toml").write_text(self.toml(eager=eager), "utf-8")
        python = str(self.venv / "bin" / "python")
        mode = "eager" if eager else "worker"
        with (self.workdir / f"webserver-{mode}.log").open("ab") as log:
            self.processes.append(
                subprocess.Popen(
                    [python, "-c", SERVE, str(self.port)],
                    cwd=self.workdir,
                    env=self.env(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        if not eager:
            with (self.workdir / "worker.log").open("ab") as log:
                self.processes.append(
                    subprocess.Popen(
                        [str(self.venv / "bin" / "fides"), "worker"],
                        cwd=self.workdir,
                        env=self.env(),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[0].poll() is not None:
                why = _tail(self.workdir / f"webserver-{mode}.log")
                raise FidesUnavailable(f"the Fides webserver exited: {why}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    if not eager:
                        time.sleep(5)  # the Celery worker connects to Redis
                    return
            time.sleep(0.5)
        raise FidesUnavailable(f"the Fides webserver did not answer /health in {timeout:.0f} s")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()


class FidesClient:
    """The few REST calls of fides.md §5, with an OAuth token of the root client."""

    def __init__(self, setup: FidesSetup) -> None:
        self.http = httpx.Client(base_url=setup.base + "/api/v1", timeout=300)
        answer = self.http.post(
            "/oauth/token",
            data={"client_id": "fidesadmin", "client_secret": setup.client_secret},
        )
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def close(self) -> None:
        self.http.close()

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise FidesUnavailable(
                f"{response.request.method} {response.request.url.path}: "
                f"{response.status_code} {response.text[:300]}"
            )
        return response.json()

    def configure(self, *, dataset_file: Path, pg_port: int, pg_user: str, dbname: str) -> None:
        """Connection, its secret (tested by Fides), the dataset and the datasetconfig."""
        self._ok(
            self.http.patch(
                "/connection",
                json=[
                    {
                        "key": CONNECTION,
                        "name": "Benchmark sample database",
                        "connection_type": "postgres",
                        "access": "write",
                    }
                ],
            )
        )
        tested = self._ok(
            self.http.put(
                f"/connection/{CONNECTION}/secret",
                json={
                    "host": "127.0.0.1",
                    "port": pg_port,
                    "dbname": dbname,
                    "username": pg_user,
                    "password": "bench",
                },
            )
        )
        if tested.get("test_status") not in (None, "succeeded"):
            raise FidesUnavailable(f"Fides could not reach the sample database: {tested}")
        datasets = yaml.safe_load(dataset_file.read_text(encoding="utf-8"))["dataset"]
        self._ok(self.http.post("/dataset/upsert", json=datasets))
        self._ok(
            self.http.patch(
                f"/connection/{CONNECTION}/datasetconfig",
                json=[
                    {"fides_key": item["fides_key"], "ctl_dataset_fides_key": item["fides_key"]}
                    for item in datasets
                ],
            )
        )

    def submit(self, policy: str, emails: list[str]) -> list[str]:
        """Privacy requests for ``emails``; their ids (eager mode: they ran already)."""
        body = [{"identity": {"email": email}, "policy_key": policy} for email in emails]
        answer = self._ok(self.http.post("/privacy-request", json=body))
        if answer.get("failed"):
            raise FidesUnavailable(f"Fides refused requests: {str(answer['failed'])[:300]}")
        return [item["id"] for item in answer["succeeded"]]

    def status(self, request_id: str) -> str:
        answer = self._ok(self.http.get("/privacy-request", params={"request_id": request_id}))
        return str(answer["items"][0]["status"])


def wait_all(client: FidesClient, ids: list[str], timeout: float, poll: float) -> dict[str, str]:
    """Poll until every request is done (the oldest pending first); the final status of each."""
    final: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(final) < len(ids):
        for request_id in ids:
            if request_id not in final:
                status = client.status(request_id)
                if status not in DONE:
                    break  # requests finish about in order: poll the rest on the next round
                final[request_id] = status
        if len(final) < len(ids):
            if time.monotonic() > deadline:
                raise FidesUnavailable(f"Fides requests not done after {timeout:.0f} s")
            time.sleep(poll)
    return final


@contextlib.contextmanager
def running(setup: FidesSetup, *, eager: bool) -> Iterator[FidesClient]:
    """Fides up for the block (stopped after it, also on errors)."""
    try:
        setup.start(eager=eager)
        client = FidesClient(setup)
        try:
            yield client
        finally:
            client.close()
    finally:
        setup.stop()
