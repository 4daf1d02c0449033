"""``tutela init``, ``serve``, ``demo`` and ``worker``: run Tutela as a service."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tutela.cli.console import err, out
from tutela.cli.runtime import ensure_data_dir
from tutela.cli.state import runtime_of, state_of

if TYPE_CHECKING:
    from tutela.cli.runtime import Runtime

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (database, master key). Default: $TUTELA_DATA_DIR or ./tutela-data.",
        show_default=False,
    ),
]
HostOption = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOption = Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)]

DECLARATION_FILE = "declaration.yaml"
DEMO_LOGIN_FILE = "demo-login.txt"
DEMO_EMAIL = "dpo@example.com"


def _use_data_dir(ctx: typer.Context, data_dir: Path | None) -> Runtime:
    if data_dir is not None:
        state_of(ctx).data_dir = data_dir
    return runtime_of(ctx)


def _prepare(runtime: Runtime) -> None:
    """Data directory, master key and schema, ready for work."""
    settings = runtime.settings
    ensure_data_dir(settings.data_dir)
    _ = runtime.master_key
    if settings.database_url is None:
        runtime.migrate()  # the embedded database follows the release automatically
    else:
        runtime.require_current_schema()


def _example_text() -> str:
    return (
        Path(__file__)
        .parent.parent.joinpath("policy", "examples", "example.yaml")
        .read_text(encoding="utf-8")
    )


def init_data_dir(runtime: Runtime) -> Path:
    """Create the data directory with the example declaration; never overwrite anything."""
    _prepare(runtime)
    target = runtime.settings.data_dir / DECLARATION_FILE
    if target.exists():
        err.print(f"{target} exists already; left unchanged")
    else:
        with target.open("x", encoding="utf-8") as handle:
            handle.write(_example_text())
        out.print(f"wrote the example declaration to {target}")
    return target


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)
    app.command("demo")(demo)
    app.command("worker")(worker)


def init(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """Create a data directory with the example declaration, a master key and the database.

    Existing files are never overwritten.
    """
    runtime = _use_data_dir(ctx, data_dir)
    target = init_data_dir(runtime)
    out.print("next steps:")
    out.print(f"  tutela policy lint {target}")
    out.print(f"  tutela --data-dir {runtime.settings.data_dir} policy publish {target}")
    out.print(
        f"  write {runtime.settings.data_dir / 'stores.yaml'}: the stores that hold personal "
        "data (docs/connectors.md), or [] when none does"
    )
    out.print(f"  tutela --data-dir {runtime.settings.data_dir} serve")


JOB_MODULES = (
    "tutela.mail",
    "tutela.consent.double_opt_in",
    "tutela.consent.doi_expiry",
    "tutela.consent.sign_up_queue",
    "tutela.dsr.jobs",
    "tutela.dsr.fulfil_job",
    "tutela.notices.jobs",
    "tutela.retention.jobs",
)


def install_job_handlers(runtime: Runtime) -> None:
    """Register every job handler and give the mail job its mailer and key vault.

    The process that runs a worker (``serve`` or ``worker``) is the composition root:
    importing a module registers its handlers with ``tutela.jobs.registry``.
    """
    import importlib

    from tutela.consent.doi_expiry import install_expiry_master
    from tutela.consent.sign_up_queue import install_sign_up_master
    from tutela.dsr.jobs import install_runtime
    from tutela.dsr.notices import DsrRuntime
    from tutela.dsr.stores import StoreDirectory, load_stores
    from tutela.dsr.watch import watch_statuses
    from tutela.mail import delivery_from_settings, install_delivery
    from tutela.notices import NoticeRuntime
    from tutela.notices import install_runtime as install_notices
    from tutela.subjects import SubjectVault

    for name in JOB_MODULES:
        importlib.import_module(name)
    watch_statuses()  # status changes wake clients waiting on the status API
    master = runtime.master_key
    install_delivery(delivery_from_settings(runtime.settings, vault=SubjectVault(master)))
    install_expiry_master(master)
    install_sign_up_master(master, runtime.settings)
    install_notices(NoticeRuntime(master=master, settings=runtime.settings))
    from tutela.notices import ensure_daily_plan
    from tutela.retention.jobs import ensure_daily_sweep

    with runtime.session_factory() as session, session.begin():
        ensure_daily_sweep(session, clock=runtime.clock)  # the nightly retention sweep
        ensure_daily_plan(session, clock=runtime.clock)  # notices due for upcoming versions
    stores = load_stores(runtime.settings, master=master)
    install_runtime(
        DsrRuntime(
            master=master,
            settings=runtime.settings,
            stores=stores,
            directories=(StoreDirectory(stores),) if stores else (),
        )
    )


def _adopt_address(runtime: Runtime, host: str, port: int) -> None:
    """Links in mail and pages use the address served, unless TUTELA_BASE_URL says otherwise."""
    settings = runtime.settings
    if "base_url" not in settings.model_fields_set and host in LOOPBACK:
        shown = f"[{host}]" if ":" in host else host
        settings.base_url = f"http://{shown}:{port}"


def _run_server(runtime: Runtime, host: str, port: int) -> None:
    import uvicorn

    from tutela.web.app import create_app

    _adopt_address(runtime, host, port)
    app = create_app(runtime.settings, engine=runtime.engine, clock=runtime.clock)
    stop = None
    if runtime.settings.run_worker:
        import threading

        install_job_handlers(runtime)
        from tutela.jobs import Worker, registry

        stop = threading.Event()
        Worker(
            runtime.session_factory, registry=registry, worker_id="serve", clock=runtime.clock
        ).start_in_thread(stop)
    try:
        from tutela.web.access_log import log_config

        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="info",
            log_config=log_config(),
            server_header=False,
        )
    finally:
        if stop is not None:
            from tutela.jobs.doorbell import BELL

            stop.set()
            BELL.ring()


def serve(
    ctx: typer.Context,
    data_dir: DataDirOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
) -> None:
    """Serve the public statement, the admin console and the API (with the job worker)."""
    runtime = _use_data_dir(ctx, data_dir)
    _prepare(runtime)
    _warn_if_exposed(runtime, host)
    out.print(f"Tutela is serving http://{host}:{port}/privacy")
    _run_server(runtime, host, port)


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _warn_if_exposed(runtime: Runtime, host: str) -> None:
    """Listening beyond this machine without an https base URL sends cookies unprotected."""
    if host in LOOPBACK or runtime.settings.secure_cookies:
        return
    err.print(
        f"[yellow]warning:[/] listening on {host} while TUTELA_BASE_URL is "
        f"{runtime.settings.base_url}: console cookies are sent without the Secure flag. "
        "Serve behind TLS and set TUTELA_BASE_URL to the public https:// address."
    )


def demo(
    ctx: typer.Context,
    data_dir: DataDirOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
) -> None:
    """Serve the example company: published statement and a staff login, ready to try."""
    runtime = _use_data_dir(ctx, data_dir)
    declaration_path = init_data_dir(runtime)
    password = _demo_content(runtime, declaration_path)
    _demo_shop(runtime)
    _demo_grace(runtime)
    base = f"http://{host}:{port}"
    out.print("")
    out.print("[bold]Tutela demo[/]")
    out.print(f"  privacy statement (de):  {base}/privacy?lang=de")
    out.print(f"  privacy statement (en):  {base}/privacy?lang=en")
    out.print(f"  admin console:           {base}/admin/login")
    out.print(f"  staff login:             {DEMO_EMAIL} / {password}")
    out.print(f"  API description:         {base}/api/v1/openapi.json")
    out.print(f"  cookie banner demo:      {base}/demo/banner")
    out.print(f"  newsletter sign-up:      {base}/newsletter?purpose=newsletter")
    out.print(f"  privacy requests:        {base}/requests")
    out.print(f"  sample shop customers:   {DEMO_CUSTOMER} … (stores file: stores.yaml)")
    if runtime.settings.dsr_change_grace_hours == 0:
        out.print("  erasures run right after confirmation here (grace period 0 in the demo)")
    out.print(f"  mail outbox (files):     {runtime.settings.outbox_dir}")
    out.print("")
    _run_server(runtime, host, port)


def _demo_grace(runtime: Runtime) -> None:
    """In the demo an erasure runs right after confirmation, unless the grace period is set."""
    if "dsr_change_grace_hours" not in runtime.settings.model_fields_set:
        runtime.settings.dsr_change_grace_hours = 0


DEMO_SHOP_CUSTOMERS = 50
DEMO_CUSTOMER = "customer-1@example.com"
DEMO_STORES = """\
# The demo's connected stores: a sample shop database (SQLite) mapped by its dataset file.
- name: shop
  kind: sql
  config:
    url: sqlite:///{database}
    dataset: shop.dataset.yaml
"""


DEMO_RETENTION = """\
# Which tables of the demo shop each purpose's retention governs (docs/retention.md).
# The sample tickets have no closing date; their creation date stands in for it.
shop:
  support_tickets:
    purposes: [support]
    dates: {request_closed: created_at}
  invoices:
    purposes: [invoicing]
    dates: {collection: issued_on}
"""


def _demo_shop(runtime: Runtime) -> None:
    """Once: a sample shop database with its dataset file, connected through stores.yaml,
    and the retention mapping of its tables."""
    from tutela.connectors.sample import build_shop, example_path

    folder = runtime.settings.data_dir
    stores = folder / "stores.yaml"
    retention = folder / "retention.yaml"
    if (folder / "shop.db").exists() and not retention.exists():
        retention.write_text(DEMO_RETENTION, encoding="utf-8")
    if stores.exists():
        return
    database = folder / "shop.db"
    build_shop(f"sqlite:///{database}", customers=DEMO_SHOP_CUSTOMERS)
    dataset = example_path("shop.dataset.yaml").read_text(encoding="utf-8")
    (folder / "shop.dataset.yaml").write_text(dataset, encoding="utf-8")
    stores.write_text(DEMO_STORES.format(database=database), encoding="utf-8")
    retention.write_text(DEMO_RETENTION, encoding="utf-8")


def _demo_content(runtime: Runtime, declaration_path: Path) -> str:
    """Publish the example once and create the demo staff login once; return its password."""
    from tutela.policy.loader import load_declaration
    from tutela.policy.versions import list_versions, publish
    from tutela.staff.service import add_staff

    login_file = runtime.settings.data_dir / DEMO_LOGIN_FILE
    with runtime.session_factory() as session, session.begin():
        if not list_versions(session):
            publish(
                session,
                declaration=load_declaration(declaration_path),
                source_text=declaration_path.read_text(encoding="utf-8"),
                actor="demo",
                clock=runtime.clock,
                note="Example declaration published by `tutela demo`.",
            )
        if login_file.exists():
            return login_file.read_text(encoding="utf-8").strip()
        password = secrets.token_urlsafe(12)
        add_staff(
            session,
            email=DEMO_EMAIL,
            password=password,
            role="dpo",
            display_name="Demo DPO",
            actor="demo",
            clock=runtime.clock,
        )
        with login_file.open("x", encoding="utf-8") as handle:
            login_file.chmod(0o600)
            handle.write(password + "\n")
    return password


def worker(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run the jobs that are due, then stop.")
    ] = False,
    poll: Annotated[
        float, typer.Option("--poll", help="Seconds between polls when idle.", min=0.1)
    ] = 2.0,
) -> None:
    """Run background jobs; start as many workers as you like against PostgreSQL."""
    import os
    import signal
    import socket
    import threading

    from tutela.jobs import Worker, registry
    from tutela.jobs.doorbell import BELL

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    install_job_handlers(runtime)
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    job_worker = Worker(
        runtime.session_factory, registry=registry, worker_id=worker_id, clock=runtime.clock
    )
    if once:
        count = job_worker.run_until_idle()
        out.print(f"ran {count} job(s)")
        return
    stop = threading.Event()

    def halt(*_: object) -> None:
        stop.set()
        BELL.ring()

    signal.signal(signal.SIGTERM, halt)
    signal.signal(signal.SIGINT, halt)
    out.print(f"worker {worker_id} started; Ctrl-C stops it")
    job_worker.run_forever(stop, poll_interval=poll)
