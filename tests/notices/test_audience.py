"""The audience file, the audience derived from the stores, reading tables in chunks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutela.config import Settings
from tutela.connectors.sample import build_shop, customer_email, example_path
from tutela.crypto import MasterKey
from tutela.errors import ConfigurationError
from tutela.notices import load_audience, parse_audience
from tutela.notices.audience import AudienceReader, AudienceSpec, audience_path
from tutela.notices.recipients import holders_to_recipients, language_of

MASTER = MasterKey(bytes(range(32)))
STORES = """\
- name: shop
  kind: sql
  config:
    url: {url}
    dataset: {dataset}
"""


@pytest.fixture
def shop(tmp_path: Path) -> Settings:
    """A sample shop of five customers, connected through a stores file."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    build_shop(url, customers=5)
    (tmp_path / "stores.yaml").write_text(
        STORES.format(url=url, dataset=example_path("shop.dataset.yaml")), encoding="utf-8"
    )
    return Settings(data_dir=tmp_path)


def test_without_the_file_every_email_identity_table_is_read(shop: Settings) -> None:
    specs = load_audience(shop, master=MASTER)
    assert {(s.name, s.table, s.email) for s in specs} >= {("shop.customers", "customers", "email")}
    assert all(s.url.startswith("sqlite:///") for s in specs)
    reader = AudienceReader(specs)
    try:
        customers = next(i for i, s in enumerate(specs) if s.table == "customers")
        first = reader.chunk(customers, after=None, limit=3)
        rest = reader.chunk(customers, after=first[-1].key, limit=3)
    finally:
        reader.close()
    emails = [h.email for h in first + rest]
    assert emails == [customer_email(i) for i in range(1, 6)]
    assert len(first) == 3


def test_the_file_names_tables_by_store_and_columns(shop: Settings) -> None:
    audience_path(shop).write_text(
        "audience:\n  - {name: buyers, store: shop, table: customers, email: email}\n",
        encoding="utf-8",
    )
    (spec,) = load_audience(shop, master=MASTER)
    assert (spec.name, spec.table, spec.email, spec.language) == (
        "buyers",
        "customers",
        "email",
        None,
    )
    assert spec.url == f"sqlite:///{shop.data_dir / 'shop.db'}"


def test_an_empty_audience_means_subscribers_only(shop: Settings) -> None:
    audience_path(shop).write_text("audience: []\n", encoding="utf-8")
    assert load_audience(shop, master=MASTER) == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]\n", "write audience:"),
        ("audience: {a: 1}\n", "must be a list"),
        ("audience:\n  - {name: x, table: t, email: e}\n", "either store: (a sql store) or url:"),
        ("audience:\n  - {name: x, store: crm, table: t, email: e}\n", "no sql store 'crm'"),
        ("audience:\n  - {name: x, url: 'sqlite://', table: t}\n", "field email"),
        ("audience:\n  - {name: 'a b', url: 'sqlite://', table: t, email: e}\n", "field name"),
        ("audience:\n  - {name: x, url: 'sqlite://', table: t, email: e, where: y}\n", "where"),
        (
            "audience:\n  - {name: x, url: 'sqlite://', table: t, email: e}\n"
            "  - {name: x, url: 'sqlite://', table: u, email: e}\n",
            "used twice",
        ),
        ("audience: [\n", "not valid YAML"),
    ],
)
def test_bad_files_say_where_and_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_audience(text, path=Path("notices.yaml"), stores={"shop": ("sqlite://", None)})
    assert message in caught.value.detail
    assert caught.value.detail.startswith("notices.yaml: ")


def test_a_missing_column_is_named(shop: Settings) -> None:
    spec = AudienceSpec(
        name="x", url=f"sqlite:///{shop.data_dir / 'shop.db'}", table="customers", email="mail"
    )
    reader = AudienceReader([spec])
    try:
        with pytest.raises(ConfigurationError, match="no column 'mail'; check email:"):
            reader.chunk(0, after=None, limit=10)
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("de", "de"), ("de-AT", "de"), ("EN_us", "en"), ("fr", "de"), ("", "de"), (None, "de")],
)
def test_languages_are_read_leniently(value: str | None, expected: str) -> None:
    assert language_of(value, default="de") == expected


def test_addresses_are_normalised_and_unusable_ones_counted() -> None:
    from tutela.notices.audience import Holder

    found, skipped = holders_to_recipients(
        MASTER,
        [
            Holder(key=1, email=" Anna@Example.ORG ", language="en"),
            Holder(key=2, email="no address", language=None),
        ],
        default="de",
    )
    assert skipped == 1
    (anna,) = found
    assert (anna.address, anna.language) == ("anna@example.org", "en")
    assert len(anna.recipient_key) == 64
