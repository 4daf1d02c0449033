"""Helpers of the fulfilment tests: a sample shop store next to Tutela's database."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.orm import Session

from tutela.calendar import german_date
from tutela.clock import FrozenClock
from tutela.connectors import Connector, create
from tutela.connectors.sample import build_shop, example_path
from tutela.crypto import MasterKey
from tutela.dsr import DsrRequest, DsrRuntime
from tutela.dsr.fulfilment import Fulfilment, handler_for
from tutela.dsr.terms import RequestType

_counter = itertools.count()


@contextlib.contextmanager
def registered() -> Iterator[None]:
    """The handlers of the request types (registered for good once their modules load)."""
    for request_type in RequestType:
        if request_type not in (RequestType.ACCESS, RequestType.PORTABILITY, RequestType.KNOW):
            assert handler_for(request_type) is not None, request_type
    yield


@contextlib.contextmanager
def shop_database(db_url: str, tmp_path: Path, pg_admin_url: str | None) -> Iterator[str]:
    """A sample shop on the same backend as Tutela's database (16 customers)."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        build_shop(url, customers=16)
        yield url
        return
    assert pg_admin_url is not None
    name = f"shop_{os.getpid()}_{next(_counter)}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
        build_shop(url, customers=16)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def shop_store(url: str, master: MasterKey) -> Connector:
    return create(
        "sql",
        {
            "name": "shop",
            "url": url,
            "dataset": str(example_path("shop.dataset.yaml")),
            "master_key": master,
        },
    )


def fulfil(
    session: Session,
    request: DsrRequest,
    *,
    stores: list[Connector],
    runtime: DsrRuntime,
    clock: FrozenClock,
) -> None:
    """Run the registered handler of the request's type, as the fulfil job would."""
    with registered():
        handler = handler_for(request.request_type)
        assert handler is not None
        handler(
            Fulfilment(
                session=session,
                request=request,
                stores=stores,
                runtime=runtime,
                clock=clock,
                today=german_date(clock.now()),
            )
        )


def snapshot(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every shop table, by table, ordered by primary key."""
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {
                name: [
                    dict(row._mapping)
                    for row in conn.execute(select(table).order_by(*table.primary_key.columns))
                ]
                for name, table in meta.tables.items()
            }
    finally:
        engine.dispose()
