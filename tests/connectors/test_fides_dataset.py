"""Fides dataset YAML is accepted as it is."""

from __future__ import annotations

import pytest

from tests.connectors.builtin.fides_store import FIDES_DATASET
from tutela.connectors.dataset import DatasetError, Link, parse_dataset
from tutela.connectors.strategy import Strategy


def test_collections_identities_keys_and_directions_are_converted() -> None:
    dataset = parse_dataset(FIDES_DATASET, source="lab.yml")
    assert dataset.name == "lab_store"
    assert dataset.tables["visit"].primary_key == ("email", "last_visit")
    assert dataset.tables["order_item"].primary_key == ("order_id", "item_no")
    assert dataset.tables["customer"].fields["email"].identity == "email"
    links = set(dataset.links)
    # direction "from": the orders are found from the customers
    assert Link("customer", "id", "orders", "customer_id") in links
    # direction "to": the address is found from the customer
    assert Link("customer", "address_id", "address", "id") in links
    assert Link("address", "id", "customer", "address_id") not in links
    assert dataset.tables["payment_card"].fields["ccn"].strategies == (Strategy.MASK, Strategy.NULL)
    assert not dataset.tables["service_request"].fields["email"].personal
    assert dataset.warnings == ()


def test_references_without_direction_go_both_ways_and_foreign_ones_are_noted() -> None:
    text = FIDES_DATASET.replace(
        "- {dataset: lab_store, field: customer.id, direction: from}\n          - name: time",
        "- {dataset: lab_store, field: customer.id}\n"
        "                - {dataset: crm, field: people.id, direction: from}\n"
        "          - name: time",
    )
    dataset = parse_dataset(text, source="lab.yml")
    assert Link("customer", "id", "login", "customer_id") in dataset.links
    assert Link("login", "customer_id", "customer", "id") in dataset.links
    assert any("crm.people.id leads to another store" in w for w in dataset.warnings)


def test_collection_delete_override_and_nested_fields() -> None:
    text = """\
dataset:
  - fides_key: docs
    collections:
      - name: profiles
        fides_meta:
          masking_strategy_override: {strategy: delete}
        fields:
          - name: email
            data_categories: [user.contact.email]
            fides_meta: {identity: email}
          - name: details
            fields:
              - name: phone
                data_categories: [user.contact.phone_number]
"""
    dataset = parse_dataset(text, source="docs.yml")
    profiles = dataset.tables["profiles"]
    assert profiles.delete_rows
    assert profiles.fields["details"].categories == ("user.contact.phone_number",)
    assert any("nested fields" in w for w in dataset.warnings)


def test_several_datasets_need_a_key() -> None:
    two = FIDES_DATASET + FIDES_DATASET.split("dataset:\n", 1)[1].replace("lab_store", "lab_copy")
    with pytest.raises(DatasetError, match="holds 2 Fides datasets"):
        parse_dataset(two, source="two.yml")
    assert parse_dataset(two, key="lab_copy").name == "lab_copy"
    with pytest.raises(DatasetError, match="no Fides dataset 'nope'"):
        parse_dataset(two, key="nope")


def test_errors_point_at_the_fides_file() -> None:
    text = FIDES_DATASET.replace(
        "identity: email, data_type: string, primary_key: true",
        "identity: E-Mail, primary_key: true",
    )
    with pytest.raises(DatasetError) as caught:
        parse_dataset(text, source="lab.yml")
    (problem,) = caught.value.extra["problems"]
    line = text.splitlines().index("            fides_meta: {identity: E-Mail, primary_key: true}")
    assert problem.startswith(f"lab.yml line {line + 1}, table 'visit', field 'email'")
