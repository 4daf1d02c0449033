"""The connector contract, run for the SQL connector on SQLite and PostgreSQL.

Three mappings: the sample shop in Tutela's dataset format, the same shop in Fides
format with a Tutela override file, and a store shaped like Fides' own sample.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.connectors.builtin.fides_store import (
    ADA,
    ALAN,
    FIDES_DATASET,
    FIDES_OVERRIDES,
    build_fides_store,
    fides_expected,
)
from tests.connectors.builtin.shop_support import shop_expected
from tests.connectors.builtin.sql_support import (
    failing_after,
    read_marks,
    read_state,
    record_key_for,
)
from tests.connectors.contract import ConnectorContract
from tutela.connectors import IdentitySet
from tutela.connectors.builtin.sql import SqlConnector
from tutela.connectors.dataset import Dataset, load_dataset, parse_dataset
from tutela.connectors.sample import REFERENCE_DAY, customer_email, example_path
from tutela.crypto import MasterKey

pytestmark = pytest.mark.promise("P17")


class _SqlFixtures:
    """Fixtures shared by every SQL store; subclasses give ``url`` and ``dataset``."""

    @pytest.fixture
    def connector(
        self, url: str, dataset: Dataset, master_key: MasterKey
    ) -> Iterator[SqlConnector]:
        connector = SqlConnector(name="store", url=url, dataset=dataset, master_key=master_key)
        yield connector
        connector.close()

    @pytest.fixture
    def down_connector(
        self, down_url: str, dataset: Dataset, master_key: MasterKey
    ) -> SqlConnector:
        return SqlConnector(name="down", url=down_url, dataset=dataset, master_key=master_key)

    @pytest.fixture
    def state(self, url: str, dataset: Dataset) -> Callable[[], Any]:
        return lambda: read_state(url, dataset)

    @pytest.fixture
    def marks(self, url: str, dataset: Dataset) -> Callable[[], Any]:
        return lambda: read_marks(url, dataset)

    @pytest.fixture
    def record_key(self, url: str, dataset: Dataset) -> Any:
        return record_key_for(url, dataset)

    @pytest.fixture
    def failing(self) -> Callable[[], contextlib.AbstractContextManager[None]]:
        return lambda: failing_after(2)

    @pytest.fixture
    def today(self) -> dt.date:
        return REFERENCE_DAY


class _ShopFixtures(_SqlFixtures):
    @pytest.fixture
    def url(self, shop_url: str) -> str:
        return shop_url

    @pytest.fixture
    def person(self) -> IdentitySet:
        return IdentitySet.of(email=customer_email(1))  # has a ticket found only by email

    @pytest.fixture
    def other(self) -> IdentitySet:
        return IdentitySet.of(customer_id="14")  # has held and expired invoices

    @pytest.fixture
    def expected(self, url: str) -> Callable[[IdentitySet], Any]:
        return lambda identities: shop_expected(url, identities)

    @pytest.fixture
    def rectify_change(self) -> tuple[str, Any]:
        return ("customers.phone", "+493055500001")


class TestShopInTutelaFormat(_ShopFixtures, ConnectorContract):
    @pytest.fixture
    def dataset(self) -> Dataset:
        return load_dataset(example_path("shop.dataset.yaml"))


class TestShopInFidesFormat(_ShopFixtures, ConnectorContract):
    @pytest.fixture
    def dataset(self) -> Dataset:
        return load_dataset(
            example_path("shop.fides.yaml"), overrides=example_path("shop.fides.tutela.yaml")
        )


class TestStoreShapedLikeFidesSample(_SqlFixtures, ConnectorContract):
    @pytest.fixture
    def url(self, store_url: str) -> str:
        build_fides_store(store_url)
        return store_url

    @pytest.fixture
    def dataset(self) -> Dataset:
        return parse_dataset(FIDES_DATASET, source="lab.yml", overrides=FIDES_OVERRIDES)

    @pytest.fixture
    def person(self) -> IdentitySet:
        return ADA

    @pytest.fixture
    def other(self) -> IdentitySet:
        return ALAN

    @pytest.fixture
    def expected(self, url: str) -> Callable[[IdentitySet], Any]:
        return lambda identities: fides_expected(url, identities)

    @pytest.fixture
    def rectify_change(self) -> tuple[str, Any]:
        return ("customer.name", "Ada King")
