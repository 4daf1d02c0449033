"""The record as CSV, Markdown and HTML: complete, and inert whatever the declaration says."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tutela.errors import InvalidInput
from tutela.policy.loader import load_declaration
from tutela.policy.models import Declaration
from tutela.policy.ropa import FIELD_KEYS, Record, RecordSource, build_record
from tutela.policy.ropa_render import (
    BOM,
    csv_cell,
    file_name,
    markdown_inline,
    render_csv,
    render_html,
    render_markdown,
    render_record,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "src" / "tutela" / "policy" / "examples"
EXAMPLE_FILE = EXAMPLE / "example.yaml"
LANGS = ("de", "en")
DAY = dt.date(2026, 3, 2)
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE_FILE.read_text(encoding="utf-8"))
    return data


def record_of(declaration: Declaration, language: str = "en", version: int | None = 3) -> Record:
    source = RecordSource(version=version, effective_at=DAY, content_hash="ab" * 32)
    return build_record(declaration, language=language, prepared_on=DAY, source=source)


def hostile(raw: dict[str, Any]) -> Declaration:
    """The example with formula starts and markup in the texts the record shows."""
    data = copy.deepcopy(raw)
    first = data["purposes"][0]
    first["name"] = {"de": '=HYPERLINK("http://evil.example","x")', "en": "+SUM(1,2)"}
    first["description"] = {"de": f"{SCRIPT} | [x](javascript:alert(1))", "en": SCRIPT}
    data["controller"]["name"] = "@Terminfuchs GmbH"
    data["security_measures"] = {"de": "-2+3", "en": "+TLS | *everywhere*"}
    return Declaration.model_validate(data)


def parse_csv(text: str) -> list[list[str]]:
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :], newline="")))


# --- CSV ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_csv_has_one_row_per_purpose_with_every_field(raw: dict[str, Any], language: str) -> None:
    declaration = load_declaration(EXAMPLE_FILE)
    record = record_of(declaration, language)
    rows = parse_csv(render_csv(record))
    header, body = rows[0], rows[1:]
    assert len(header) == 3 + len(FIELD_KEYS) + 3
    assert len(body) == len(declaration.purposes)
    for row, purpose, entry in zip(body, declaration.purposes, record.entries, strict=True):
        assert len(row) == len(header)
        assert row[0] == str(entry.number)
        assert row[1] == purpose.id
        assert row[2] == purpose.name.get(language)
        for cell, field in zip(row[3 : 3 + len(FIELD_KEYS)], entry.fields, strict=True):
            assert cell == "\n".join(field.lines)
            assert cell.strip()
        assert row[-2:] == ["3", "2026-03-02"]
    transfers = record.entries[0].field("transfers")
    assert header[3 + FIELD_KEYS.index("transfers")] == f"{transfers.label} ({transfers.reference})"
    if language == "en":
        assert header[3 + FIELD_KEYS.index("transfers")].endswith("(Art. 30(1)(e) GDPR)")


def test_csv_lists_missing_fields_per_row(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    del data["security_measures"]
    record = record_of(Declaration.model_validate(data), version=None)
    rows = parse_csv(render_csv(record))
    security = rows[0].index(
        next(h for h in rows[0] if h.startswith(record.labels["missing_column"]))
    )
    for row in rows[1:]:
        assert row[security] == "Technical and organisational security measures"
        assert row[-2] == "not published"


@pytest.mark.parametrize("language", LANGS)
def test_csv_cells_cannot_start_a_formula(raw: dict[str, Any], language: str) -> None:
    rows = parse_csv(render_csv(record_of(hostile(raw), language)))
    for row in rows:
        for cell in row:
            assert not cell.startswith(DANGEROUS), cell
    first = rows[1]
    assert first[2] in ("'+SUM(1,2)", '\'=HYPERLINK("http://evil.example","x")')
    security = rows[1][3 + FIELD_KEYS.index("security")]
    assert security in ("'-2+3", "'+TLS | *everywhere*")
    assert rows[1][3].startswith("'@Terminfuchs GmbH")


@given(st.text(max_size=40))
def test_csv_cell_property(value: str) -> None:
    cell = csv_cell(value)
    assert not cell.startswith(DANGEROUS)
    assert cell in (value, "'" + value)
    assert (cell != value) == value.startswith((*DANGEROUS, "＝", "＋", "－", "＠"))


def test_csv_without_bom_for_stdout(raw: dict[str, Any]) -> None:
    text = render_csv(record_of(load_declaration(EXAMPLE_FILE)), bom=False)
    assert text.startswith('"')
    assert "\r\n" in text


# --- Markdown -------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_markdown_has_a_table_per_purpose(language: str) -> None:
    declaration = load_declaration(EXAMPLE_FILE)
    record = record_of(declaration, language)
    text = render_markdown(record)
    assert text.startswith(f"# {record.title}\n")
    sections = re.findall(r"^## (\d+)\. .+ \(`([a-z_]+)`\)$", text, flags=re.M)
    assert [s[1] for s in sections] == [p.id for p in declaration.purposes]
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == len(declaration.purposes) * (len(FIELD_KEYS) + 1)
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        assert len(cells) == 3, row
        assert all(cell.strip() for cell in cells), row


def test_markdown_keeps_declared_text_inert(raw: dict[str, Any]) -> None:
    for language in LANGS:
        text = render_markdown(record_of(hostile(raw), language))
        assert "<script" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "\\[x\\](javascript:alert(1))" in text or language == "en"
        assert re.search(r"(?<!\\)\]\(", text) is None
        for line in text.splitlines():
            if line.startswith("| "):
                assert len(re.split(r"(?<!\\)\|", line)[1:-1]) == 3, line


@given(st.text(max_size=60))
def test_markdown_inline_property(value: str) -> None:
    text = markdown_inline(value)
    assert "\n" not in text
    assert "\r" not in text
    assert "<" not in text
    assert ">" not in text
    assert re.search(r"(?<!\\)[|`*_\[\]]", text) is None


# --- HTML -----------------------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("language", LANGS)
def test_html_document_shows_every_entry(language: str) -> None:
    declaration = load_declaration(EXAMPLE_FILE)
    record = record_of(declaration, language)
    html = render_html(record)
    assert html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{language}">' in html
    parser = _Collector()
    parser.feed(html)
    assert parser.tags.count("section") == len(declaration.purposes)
    assert parser.tags.count("tr") == len(declaration.purposes) * (len(FIELD_KEYS) + 1)
    text = " ".join(parser.text)
    for purpose in declaration.purposes:
        assert purpose.name.get(language) in text
        assert f'id="activity-{purpose.id}"' in html


def test_html_keeps_declared_text_inert(raw: dict[str, Any]) -> None:
    for language in LANGS:
        html = render_html(record_of(hostile(raw), language))
        assert "<script" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        parser = _Collector()
        parser.feed(html)
        assert "script" not in parser.tags


def test_html_marks_missing_fields(raw: dict[str, Any]) -> None:
    data = copy.deepcopy(raw)
    del data["dpo"]
    record = record_of(Declaration.model_validate(data))
    html = render_html(record)
    assert html.count('class="status-missing"') == len(record.entries)
    assert html.count('href="#activity-') == len(record.gaps)


# --- dispatch -------------------------------------------------------------------------------------


def test_render_record_and_file_names() -> None:
    record = record_of(load_declaration(EXAMPLE_FILE), "de")
    assert render_record(record, fmt="md") == render_markdown(record)
    assert render_record(record, fmt="html") == render_html(record)
    assert render_record(record, fmt="csv", bom=False) == render_csv(record, bom=False)
    with pytest.raises(InvalidInput, match="format 'pdf'"):
        render_record(record, fmt="pdf")  # type: ignore[arg-type]
    assert file_name(record, "csv") == "ropa-v3-de.csv"
    draft = record_of(load_declaration(EXAMPLE_FILE), "en", version=None)
    assert file_name(draft, "html") == "ropa-draft-en.html"
