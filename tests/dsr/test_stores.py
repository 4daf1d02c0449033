"""The stores file and the directory over the connected stores."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tutela.config import Settings
from tutela.connectors import Connector, create
from tutela.connectors.sample import build_shop, customer_email, example_path
from tutela.crypto import MasterKey
from tutela.dsr.stores import NO_STORES, StoreDirectory, load_stores, parse_stores
from tutela.errors import ConfigurationError

MASTER = MasterKey(bytes(range(32)))
SHOP_CUSTOMERS = 4
_counter = itertools.count()


def _admin(url: str, statement: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


@contextlib.contextmanager
def shop_database(
    db_url: str, request: pytest.FixtureRequest, tmp_path: Path, *, customers: int = SHOP_CUSTOMERS
) -> Iterator[str]:
    """A sample shop on the same backend as Tutela's database under test."""
    if db_url.startswith("sqlite"):
        path = tmp_path / f"shop-{next(_counter)}.db"
        build_shop(f"sqlite:///{path}", customers=customers)
        yield f"sqlite:///{path}"
        return
    admin: str = request.getfixturevalue("pg_admin_url")
    name = f"dsr_shop_{os.getpid()}_{next(_counter)}"
    _admin(admin, f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    try:
        build_shop(url, customers=customers)
        yield url
    finally:
        _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def shop_store(url: str, name: str = "shop") -> Connector:
    return create(
        "sql",
        {
            "name": name,
            "url": url,
            "dataset": example_path("shop.dataset.yaml"),
            "master_key": MASTER,
        },
    )


@pytest.fixture
def shop_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with shop_database(db_url, request, tmp_path) as url:
        yield url


def _error(text_: str, tmp_path: Path) -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse_stores(text_, path=tmp_path / "stores.yaml", master=MASTER)
    return caught.value.detail


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name: shop", "must be a list of stores"),
        ("- [1, 2]", "entry 1: each store is a mapping"),
        ("- kind: manual", "entry 1, field name"),
        ("- name: ../etc\n  kind: manual", "entry 1, field name"),
        ("- name: crm", "store 'crm', field kind"),
        ("- name: crm\n  kind: manual\n  config: [1]", "store 'crm', field config"),
        ("- name: crm\n  kind: manual\n  colour: red", "unknown field(s) colour"),
        ("- name: crm\n  kind: nosuchkind", "no connector kind 'nosuchkind'"),
        ("- name: shop\n  kind: sql\n  config: {dataset: x.yaml}", "store 'shop' (kind sql)"),
        ("- name: crm\n  kind: manual\n- name: crm\n  kind: manual", "used twice"),
        ("- name: crm\n  kind: manual\n  config: {name: other}", "config.name"),
        ("- name: [unclosed", "not valid YAML"),
    ],
)
def test_a_bad_stores_file_names_the_entry_and_field(
    content: str, expected: str, tmp_path: Path
) -> None:
    detail = _error(content, tmp_path)
    assert expected in detail
    assert str(tmp_path / "stores.yaml") in detail


def _load_error(settings: Settings) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_stores(settings, master=MASTER)
    assert caught.value.extra == {"field": "stores_file"}
    return caught.value.detail


def test_a_missing_stores_file_stops_with_the_file_and_what_to_write(tmp_path: Path) -> None:
    detail = _load_error(Settings(data_dir=tmp_path))
    assert str(tmp_path / "stores.yaml") in detail
    assert "does not exist" in detail
    assert "write [] to state that none does" in detail
    elsewhere = tmp_path / "conf" / "my-stores.yaml"
    detail = _load_error(Settings(data_dir=tmp_path, stores_file=elsewhere))
    assert str(elsewhere) in detail


@pytest.mark.parametrize("content", ["", "# the stores, some day\n", "---\n", "null\n"])
def test_a_file_that_states_nothing_is_an_error_too(content: str, tmp_path: Path) -> None:
    (tmp_path / "stores.yaml").write_text(content, encoding="utf-8")
    detail = _load_error(Settings(data_dir=tmp_path))
    assert "names no stores and does not say there are none" in detail
    assert "[]" in detail


def test_an_empty_list_states_that_no_store_is_connected(tmp_path: Path) -> None:
    (tmp_path / "stores.yaml").write_text(NO_STORES, encoding="utf-8")
    assert load_stores(Settings(data_dir=tmp_path), master=MASTER) == ()
    assert parse_stores("[]", path=tmp_path / "stores.yaml", master=MASTER) == ()


def test_relative_dataset_paths_resolve_next_to_the_stores_file(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    shutil.copyfile(example_path("shop.dataset.yaml"), folder / "shop.dataset.yaml")
    stores_file = folder / "stores.yaml"
    stores_file.write_text(
        "- name: shop\n  kind: sql\n  config:\n    url: sqlite:///shop.db\n"
        "    dataset: shop.dataset.yaml\n- name: crm\n  kind: manual\n  config: {system: CRM}\n",
        encoding="utf-8",
    )
    stores = load_stores(Settings(data_dir=tmp_path, stores_file=stores_file), master=MASTER)
    assert [store.name for store in stores] == ["shop", "crm"]


def test_the_directory_finds_a_person_only_the_shop_holds(shop_url: str) -> None:
    directory = StoreDirectory([create("manual", {"name": "crm"}), shop_store(shop_url)])
    by_mail = directory.on_file(kind="email", value=customer_email(2).upper())
    assert by_mail.known
    assert by_mail.address == customer_email(2)
    by_number = directory.on_file(kind="customer_id", value="3")
    assert by_number.known
    assert by_number.address == customer_email(3)
    nobody = directory.on_file(kind="email", value="nobody@example.org")
    assert not nobody.known
    assert nobody.address is None
    assert not directory.on_file(kind="visitor_id", value="v-1").known
