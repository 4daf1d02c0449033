"""The dataset file: Tutela's format, defaults, overrides and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutela.connectors.dataset import DatasetError, load_dataset, parse_dataset
from tutela.connectors.sample import example_path
from tutela.connectors.strategy import Strategy

MINIMAL = """\
name: crm
tables:
  people:
    fields:
      email: {category: user.contact.email, identity: email}
      name: {category: user.name}
      id: {category: user.unique_id}
  notes:
    fields:
      person_id: {category: user.unique_id, found_by: people.id}
      text: {category: user.content, strategy: mask, mask: "(removed)"}
"""


def test_a_minimal_dataset_takes_strategies_from_the_category_defaults() -> None:
    dataset = parse_dataset(MINIMAL, source="crm.yaml")
    people = dataset.tables["people"]
    assert people.fields["email"].strategies[0] is Strategy.PSEUDONYM
    assert people.fields["name"].strategies == (Strategy.MASK, Strategy.NULL)
    assert people.fields["id"].strategies == (Strategy.KEEP,)
    assert people.fields["id"].reason
    assert dataset.tables["notes"].fields["text"].mask == "(removed)"
    assert dataset.walk_order() == ("people", "notes")
    assert dataset.identity_kinds() == {"email"}
    assert dataset.fields_for_category("user.contact") == ("people.email",)
    assert "user.content" in dataset.categories()
    assert dataset.warnings == ()


def test_dataset_level_strategies_override_the_defaults() -> None:
    text = MINIMAL.replace("tables:", "strategies:\n  user.name: [hash]\ntables:", 1)
    dataset = parse_dataset(text)
    assert dataset.tables["people"].fields["name"].strategies == (Strategy.HASH,)


def test_the_shop_examples_load_without_warnings() -> None:
    ours = load_dataset(example_path("shop.dataset.yaml"))
    fides = load_dataset(
        example_path("shop.fides.yaml"), overrides=example_path("shop.fides.tutela.yaml")
    )
    assert ours.warnings == fides.warnings == ()
    assert set(ours.tables) == set(fides.tables)
    assert ours.tables["invoices"].hold == fides.tables["invoices"].hold
    assert ours.tables["invoices"].hold is not None
    assert ours.tables["invoices"].hold.years == 8
    assert {(link.source_table, link.target_table) for link in ours.links} == {
        (link.source_table, link.target_table) for link in fides.links
    }


def test_every_problem_is_named_with_its_line_and_the_fix() -> None:
    text = """\
name: crm
tables:
  people:
    fields:
      email: {category: user.contact.email, identity: Email}
      name: {category: user.name, strategy: shred}
      id: {category: user.unique_id, strategy: keep}
      phone: {category: User.Phone}
  notes:
    colour: blue
    fields:
      person_id: {found_by: persons.id}
"""
    with pytest.raises(DatasetError) as caught:
        parse_dataset(text, source="crm.yaml")
    problems = caught.value.extra["problems"]
    joined = "\n".join(problems)
    assert "crm.yaml line 6, table 'people', field 'name', strategy:" in joined
    assert "'delete_row'" in joined
    assert "crm.yaml line 8, table 'people', field 'phone', category item 1:" in joined
    assert "dotted lowercase key" in joined
    assert "crm.yaml line 10, table 'notes', colour: unknown key 'colour'" in joined
    assert len(problems) == 3  # the rest is checked once the shape is right
    fixed = text.replace("shred", "mask").replace("User.Phone", "user.contact.phone_number")
    fixed = fixed.replace("    colour: blue\n", "")
    with pytest.raises(DatasetError) as caught:
        parse_dataset(fixed, source="crm.yaml")
    joined = "\n".join(caught.value.extra["problems"])
    assert (
        "line 5, table 'people', field 'email', identity: identity 'Email' is not a valid kind"
        in joined
    )
    assert "line 7, table 'people', field 'id', strategy: 'keep' needs a 'reason'" in joined
    assert (
        "line 11, table 'notes', field 'person_id', found_by: 'persons.id' names the table"
        in joined
    )


def test_a_held_field_must_say_what_happens_after_the_hold() -> None:
    text = """\
name: books
tables:
  invoices:
    hold: {rule: "§ 147 AO", years: 8, from: issued_on}
    fields:
      email: {category: user.contact.email, identity: email, strategy: keep}
"""
    with pytest.raises(DatasetError, match="says nothing about the time after the hold"):
        parse_dataset(text)


def test_a_dataset_needs_an_identity_and_reports_unreachable_tables() -> None:
    with pytest.raises(DatasetError, match="no field has an identity"):
        parse_dataset("name: x\ntables:\n  t:\n    fields:\n      a: {category: user.name}\n")
    text = MINIMAL + "  orphans:\n    fields:\n      nick: {category: user.name}\n"
    dataset = parse_dataset(text, source="crm.yaml")
    assert dataset.unreachable() == ("orphans",)
    assert any(
        "'orphans': no identity field or reference reaches it" in w for w in dataset.warnings
    )


def test_unknown_categories_are_warnings_with_a_suggestion() -> None:
    dataset = parse_dataset(MINIMAL.replace("user.name}", "user.nmae}", 1))
    assert any(
        "'user.nmae' is not in the taxonomy" in w and "user.name" in w for w in dataset.warnings
    )


def test_broken_yaml_and_wrong_shapes_say_where(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"x\.yaml line 4: the file is not valid YAML"):
        parse_dataset("name: a\ntables:\n  t: [unclosed\n", source="x.yaml")
    with pytest.raises(DatasetError, match="is a mapping with 'name' and 'tables'"):
        parse_dataset("- just\n- a list\n", source="x.yaml")
    with pytest.raises(DatasetError, match="cannot be read"):
        load_dataset(tmp_path / "missing.yaml")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(7)
    )
    with pytest.raises(DatasetError, match="expands to more than"):
        parse_dataset(bomb, source="bomb.yaml")


def test_an_override_file_changes_only_what_it_names() -> None:
    overrides = """\
tables:
  people:
    restriction: blocked_until
    fields:
      name: {strategy: "null"}
"""
    dataset = parse_dataset(MINIMAL, overrides=overrides)
    people = dataset.tables["people"]
    assert people.restriction == "blocked_until"
    assert people.fields["name"].strategies == (Strategy.NULL,)
    assert people.fields["name"].categories == ("user.name",)
    assert people.fields["email"].identity == "email"
    with pytest.raises(DatasetError, match=r"over\.yaml line 5, table 'people', field 'name'"):
        parse_dataset(
            MINIMAL, overrides=overrides.replace('"null"', "erase"), overrides_source="over.yaml"
        )
