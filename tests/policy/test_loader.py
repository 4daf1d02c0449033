"""Reading declarations: every problem with its line, column, field path and a plain message."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from tutela.errors import InvalidInput
from tutela.policy import loader
from tutela.policy.loader import (
    DeclarationError,
    LoadProblem,
    load_declaration,
    parse_declaration,
)
from tutela.policy.models import Declaration, LegalBasis

DOCS = Path(__file__).resolve().parents[2] / "docs" / "declaration.md"

MINIMAL = """\
controller:
  name: Beispiel GmbH
  address:
    street: Musterstraße 1
    postal_code: "93047"
    city: Regensburg
    country: DE
    state: BY
  contacts:
    email: datenschutz@example.de
supervisory_authority:
  name: {de: Landesamt, en: State authority}
  address: {street: Amtsweg 2, postal_code: "91522", city: Ansbach, country: DE}
data_categories:
  - key: user.contact.email
  - key: user.name.last
purposes:
  - id: account
    data_use: essential.service
    name: {de: Kundenkonto, en: Customer account}
    description: {de: Wir führen Ihr Konto., en: We keep your account.}
    legal_basis: contract
    categories:
      required: [user.contact.email]
  - id: support
    data_use: essential.service.operations.support
    name: {de: Support, en: Support}
    description: {de: Wir beantworten Fragen., en: We answer questions.}
    legal_basis: contract
    categories:
      required: [user.contact.email]
      optional: [user.name.last]
    retention:
      period: P1Y
      after: request_closed
rights_channels:
  - kind: email
change_notice:
  days: 30
"""


def problems_of(text: str) -> list[LoadProblem]:
    with pytest.raises(DeclarationError) as info:
        parse_declaration(text, source="decl.yaml")
    return info.value.problems


def problems_or_none(text: str) -> list[LoadProblem] | None:
    """The problems of ``text``, or None if it is a valid declaration; other errors propagate."""
    try:
        parse_declaration(text)
    except DeclarationError as exc:
        return exc.problems
    return None


def position(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based line and column of the ``occurrence``-th ``needle`` in ``text``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def test_minimal_declaration_loads() -> None:
    declaration = parse_declaration(MINIMAL)
    assert isinstance(declaration, Declaration)
    assert declaration.purposes[1].legal_basis is LegalBasis.CONTRACT
    assert declaration.purposes[1].categories.optional == ["user.name.last"]
    assert declaration.purposes[1].retention is not None
    assert str(declaration.purposes[1].retention.period) == "P1Y"


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "declaration.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_declaration(path).controller.name == "Beispiel GmbH"


def test_malformed_yaml_reports_line_and_column() -> None:
    text = MINIMAL.replace("  name: Beispiel GmbH", "  name: Beispiel: GmbH")
    [problem] = problems_of(text)
    assert (problem.line, problem.column) == position(text, ": GmbH")
    assert problem.file == "decl.yaml"
    assert "invalid YAML" in problem.message
    assert "quotes" in problem.message


def test_tab_indentation_is_explained() -> None:
    [problem] = problems_of("controller:\n\tname: x\n")
    assert (problem.line, problem.column) == (2, 1)
    assert "tabs" in problem.message


def test_wrong_type_deep_inside_a_purpose() -> None:
    text = MINIMAL.replace("      optional: [user.name.last]", "      optional: user.name.last")
    [problem] = problems_of(text)
    assert problem.path == "purposes[1].categories.optional"
    assert (problem.line, problem.column) == position(text, "user.name.last", occurrence=2)
    assert "expected a list" in problem.message
    assert "`user.name.last`" in problem.message


def test_bad_duration_names_the_format() -> None:
    text = MINIMAL.replace("period: P1Y", "period: 1 Jahr")
    [problem] = problems_of(text)
    assert problem.path == "purposes[1].retention.period"
    assert (problem.line, problem.column) == position(text, "1 Jahr")
    assert "P10Y" in problem.message


def test_missing_required_field_points_at_the_mapping() -> None:
    text = MINIMAL.replace("    legal_basis: contract\n", "", 1)
    [problem] = problems_of(text)
    assert problem.path == "purposes[0].legal_basis"
    assert (problem.line, problem.column) == position(text, "id: account")
    assert problem.message.startswith("field required: add `legal_basis` (one of consent, ")
    assert "legitimate_interests" in problem.message


def test_missing_text_field_says_both_languages_are_needed() -> None:
    text = MINIMAL.replace("    name: {de: Support, en: Support}\n", "")
    [problem] = problems_of(text)
    assert problem.path == "purposes[1].name"
    assert "`de:`" in problem.message
    assert "`en:`" in problem.message


def test_unknown_field_suggests_the_nearest() -> None:
    text = MINIMAL.replace("legal_basis: contract", "legal_bais: contract", 1)
    problems = problems_of(text)
    unknown = next(p for p in problems if p.path == "purposes[0].legal_bais")
    assert unknown.message == "unknown field `legal_bais`; did you mean `legal_basis`?"
    assert (unknown.line, unknown.column) == position(text, "legal_bais")
    assert any(p.path == "purposes[0].legal_basis" for p in problems)


def test_unknown_field_without_a_near_match_lists_the_fields() -> None:
    text = MINIMAL.replace("change_notice:\n  days: 30", "change_notice:\n  days: 30\n  zzz: 1")
    [problem] = problems_of(text)
    assert problem.path == "change_notice.zzz"
    assert "`days`" not in problem.message
    assert "days, unit, states" in problem.message


def test_wrong_enum_value_suggests_the_nearest() -> None:
    text = MINIMAL.replace("legal_basis: contract", "legal_basis: legitimate_interest", 1)
    [problem] = problems_of(text)
    assert problem.path == "purposes[0].legal_basis"
    assert problem.message.endswith("did you mean `legitimate_interests`?")
    assert (problem.line, problem.column) == position(text, "legitimate_interest")


def test_union_value_names_every_alternative() -> None:
    text = MINIMAL + "cookies:\n  - name: sid\n    category: necessary\n    lifetime: forever\n"
    text += "    description: {de: Sitzung, en: Session}\n"
    [problem] = problems_of(text)
    assert problem.path == "cookies[0].lifetime"
    assert "P30D" in problem.message
    assert "`session`" in problem.message


def test_invalid_key_pattern_is_explained() -> None:
    text = MINIMAL.replace("- key: user.name.last", "- key: User.Name")
    [problem] = problems_of(text)
    assert problem.path == "data_categories[1].key"
    assert "lowercase" in problem.message


def test_duplicate_keys_are_refused() -> None:
    text = MINIMAL.replace("  days: 30", "  days: 30\n  days: 20")
    [problem] = problems_of(text)
    assert (problem.line, problem.column) == position(text, "days: 20")
    first_line, _ = position(text, "days: 30")
    assert problem.message == (
        f"duplicate key `days` (first written on line {first_line}): remove one of the two"
    )


def test_duplicate_ids_point_at_the_second_entry() -> None:
    text = MINIMAL.replace("id: support", "id: account")
    [problem] = problems_of(text)
    assert problem.path == "purposes[1].id"
    line, column = position(text, "id: account", occurrence=2)
    assert (problem.line, problem.column) == (line, column + len("id: "))
    assert "`account` is used twice" in problem.message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("- controller\n- purposes\n", "not a list"),
        ("just text\n", "not the text `just text`"),
        ("42\n", "not the number `42`"),
    ],
)
def test_non_mapping_document(text: str, words: str) -> None:
    [problem] = problems_of(text)
    assert (problem.line, problem.column) == (1, 1)
    assert "must be a mapping of sections" in problem.message
    assert words in problem.message


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_document(text: str) -> None:
    [problem] = problems_of(text)
    assert "empty" in problem.message


def test_yes_and_no_stay_text() -> None:
    text = MINIMAL.replace("    country: DE\n    state: BY", "    country: NO", 1)
    assert parse_declaration(text).controller.address.country == "NO"


def test_true_and_false_are_booleans() -> None:
    text = MINIMAL.replace("  days: 30", "  days: 30\n  notify_subjects: false")
    assert parse_declaration(text).change_notice.notify_subjects is False


def test_unquoted_date_for_a_text_field_is_explained() -> None:
    text = MINIMAL.replace("name: Beispiel GmbH", "name: 2026-01-01")
    [problem] = problems_of(text)
    assert problem.path == "controller.name"
    assert "the date `2026-01-01`" in problem.message
    assert "quotes" in problem.message


def test_anchors_and_merge_keys_work() -> None:
    text = MINIMAL.replace(
        "    name: {de: Support, en: Support}",
        "    name: &support_name {de: Support, en: Support}",
    ).replace("  - kind: email", "  - kind: email\n    note: *support_name")
    declaration = parse_declaration(text)
    assert declaration.rights_channels[0].note == declaration.purposes[1].name


def test_object_tags_are_refused() -> None:
    text = MINIMAL.replace("name: Beispiel GmbH", "name: !!python/object/apply:os.getcwd []")
    [problem] = problems_of(text)
    assert "tags that create objects are not allowed" in problem.message
    assert problem.line == position(text, "!!python")[0]


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for level in range(1, 9):
        refs = ",".join(f"*a{level - 1}" for _ in range(10))
        lines.append(f"a{level}: &a{level} [{refs}]")
    [problem] = problems_of("\n".join(lines) + "\n")
    assert "expand to more than" in problem.message


def test_recursive_alias_is_refused() -> None:
    [problem] = problems_of("controller: &c [*c]\n")
    assert "refers to the node that contains it" in problem.message


def test_several_problems_are_reported_in_file_order() -> None:
    text = MINIMAL.replace("legal_basis: contract", "legal_basis: maybe", 1).replace(
        "  days: 30", "  days: -1"
    )
    problems = problems_of(text)
    assert [p.path for p in problems] == ["purposes[0].legal_basis", "change_notice.days"]
    assert problems[1].message == "must be at least 0, but is -1"


def test_error_renders_one_line_per_problem() -> None:
    text = MINIMAL.replace("legal_basis: contract", "legal_bais: contract", 1)
    with pytest.raises(DeclarationError) as info:
        parse_declaration(text, source="decl.yaml")
    error = info.value
    assert isinstance(error, InvalidInput)
    lines = str(error).splitlines()
    assert len(lines) == len(error.problems) == 2
    line, column = position(text, "legal_bais")
    assert f"decl.yaml:{line}:{column}: purposes[0].legal_bais: unknown field" in str(error)
    for rendered, problem in zip(lines, error.problems, strict=True):
        assert rendered.startswith(f"decl.yaml:{problem.line}:{problem.column}: {problem.path}: ")
    body = error.problem()
    assert body["status"] == 422
    assert body["problems"][0]["path"] == error.problems[0].path


def test_problem_without_position_renders_file_only() -> None:
    problem = LoadProblem("decl.yaml", None, None, "", "cannot read the file")
    assert str(problem) == "decl.yaml: cannot read the file"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(DeclarationError) as info:
        load_declaration(path)
    [problem] = info.value.problems
    assert problem.file == str(path)
    assert problem.line is None
    assert "cannot read the file" in problem.message


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(DeclarationError) as info:
        load_declaration(tmp_path)
    assert "cannot read the file" in info.value.problems[0].message


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("controller:\n  name: Straße\n".encode("latin-1"))
    with pytest.raises(DeclarationError) as info:
        load_declaration(path)
    [problem] = info.value.problems
    assert "not UTF-8" in problem.message
    assert problem.line == 2


def test_size_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(DeclarationError) as info:
        load_declaration(path)
    assert "too large" in info.value.problems[0].message
    with pytest.raises(DeclarationError, match="too large"):
        parse_declaration(MINIMAL)


def test_control_character_is_located() -> None:
    [problem] = problems_of("controller:\n  name: a\x01b\n")
    assert (problem.line, problem.column) == (2, 10)
    assert "U+0001" in problem.message


def test_lone_surrogate_is_refused() -> None:
    [problem] = problems_of("controller: \ud800\n")
    assert "surrogate" in problem.message


SHUFFLED = st.lists(st.sampled_from(MINIMAL.splitlines()), max_size=40).map("\n".join)
YAMLISH = st.text(alphabet=st.sampled_from(list(":-[]{}#&*!|>'\",?%@`\n\t abxP1é\x00")))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), YAMLISH, SHUFFLED))
def test_arbitrary_text_raises_only_declaration_error(text: str) -> None:
    problems = problems_or_none(text)
    if problems is not None:
        assert problems
        assert all(problem.message for problem in problems)


FIELD_EDITS = st.sampled_from(
    [
        ("legal_basis: contract", "legal_basis: [contract]"),
        ("days: 30", "days: thirty"),
        ("key: user.contact.email", "key: {a: b}"),
        ("required: [user.contact.email]", "required: [[x]]"),
        ("kind: email", "kind: carrier_pigeon"),
        ("country: DE", "country: 7"),
        ("period: P1Y", "period: null"),
        ("categories:", "categories: 5\n    x:"),
    ]
)


@settings(max_examples=100, deadline=None)
@given(edits=st.lists(FIELD_EDITS, min_size=1, max_size=4, unique=True))
def test_edited_declarations_report_located_problems(edits: list[tuple[str, str]]) -> None:
    text = MINIMAL
    for old, new in edits:
        text = text.replace(old, new, 1)
    line_count = text.count("\n") + 1
    for problem in problems_or_none(text) or []:
        assert problem.line is not None
        assert 1 <= problem.line <= line_count
        assert problem.column is not None
        assert problem.column >= 1


def test_documented_sections_are_valid() -> None:
    """Every YAML block in the reference that shows whole sections validates."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    checked: set[str] = set()
    for block in blocks:
        data = yaml.safe_load(block)
        if not isinstance(data, dict) or not set(data) <= set(Declaration.model_fields):
            continue
        for section, value in data.items():
            field = Declaration.model_fields[section]
            assert field.annotation is not None
            annotated = (
                Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
            )
            TypeAdapter(annotated).validate_python(value)
            checked.add(section)
    assert set(Declaration.model_fields) - checked == {"security_measures"}
