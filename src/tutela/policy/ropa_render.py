"""The record of processing activities as CSV, Markdown or a standalone HTML document.

Every text of the record comes from the declaration, so every format treats it
as untrusted: CSV cells that a spreadsheet would run as a formula get a leading
apostrophe, Markdown escapes what could become markup or a link, and the HTML
template (``reports/ropa.html.j2``) escapes every value.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable
from typing import Any, Final, Literal

from tutela.errors import InvalidInput
from tutela.i18n import make_env, use_language
from tutela.policy.ropa import Record, RecordEntry

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "Format",
    "csv_cell",
    "file_name",
    "markdown_inline",
    "render_csv",
    "render_html",
    "render_markdown",
    "render_record",
]

Format = Literal["csv", "md", "html"]
FORMATS: Final[tuple[Format, ...]] = ("csv", "md", "html")
MEDIA_TYPES: Final[dict[Format, str]] = {
    "csv": "text/csv; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
HTML_TEMPLATE: Final = "reports/ropa.html.j2"
BOM: Final = "\ufeff"

# What spreadsheet programs may read as the start of a formula (OWASP "CSV injection"),
# with the full-width forms some of them accept too.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_WHITESPACE = re.compile(r"\s+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def render_record(record: Record, *, fmt: Format, bom: bool = True) -> str:
    """The record in ``fmt``; ``bom`` starts a CSV with a byte order mark for spreadsheets."""
    if fmt == "csv":
        return render_csv(record, bom=bom)
    if fmt == "md":
        return render_markdown(record)
    if fmt == "html":
        return render_html(record)
    raise InvalidInput(
        f"format {fmt!r} is not supported: use one of {', '.join(FORMATS)}", field="format"
    )


def file_name(record: Record, fmt: Format) -> str:
    """``ropa-v3-de.csv`` for a published version, ``ropa-draft-de.csv`` otherwise."""
    version = record.source.version
    stem = f"v{version}" if version is not None else "draft"
    return f"ropa-{stem}-{record.language}.{fmt}"


# --- CSV ----------------------------------------------------------------------------------------


def csv_cell(value: str) -> str:
    """``value`` safe to open in a spreadsheet: a formula start gets a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def render_csv(record: Record, *, bom: bool = True) -> str:
    """One header row, then one row per processing activity; lines of a field join with LF."""
    labels = record.labels
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    first = record.entries[0].fields if record.entries else ()
    header = [
        labels["number"],
        labels["activity_id"],
        labels["activity"],
        *(f"{f.label} ({f.reference})" for f in first),
        labels["missing_column"],
        labels["version_column"],
        labels["prepared_column"],
    ]
    writer.writerow([csv_cell(cell) for cell in header])
    for entry in record.entries:
        row = [
            str(entry.number),
            entry.purpose_id,
            entry.name,
            *("\n".join(f.lines) for f in entry.fields),
            "\n".join(f.label for f in entry.gaps),
            record.version_label,
            record.prepared_on.isoformat(),
        ]
        writer.writerow([csv_cell(cell) for cell in row])
    return (BOM if bom else "") + buffer.getvalue()


# --- Markdown -----------------------------------------------------------------------------------


def markdown_inline(value: str) -> str:
    """One line of Markdown showing ``value`` literally: no HTML, links or emphasis get through."""
    text = _WHITESPACE.sub(" ", value).strip()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def render_markdown(record: Record) -> str:
    """A heading and a summary, then one section with a three-column table per activity."""
    md = markdown_inline
    parts = [f"# {md(record.title)}", "", *(f"- {md(line)}" for line in record.about), ""]
    for entry in record.entries:
        parts.extend(_markdown_entry(record, entry))
    return "\n".join(parts).rstrip() + "\n"


def _markdown_entry(record: Record, entry: RecordEntry) -> list[str]:
    md = markdown_inline
    labels = record.labels
    lines = [
        f"## {entry.number}. {md(entry.name)} (`{entry.purpose_id}`)",
        "",
        f"| {md(labels['field'])} | {md(labels['reference'])} | {md(labels['content'])} |",
        "| --- | --- | --- |",
    ]
    for field in entry.fields:
        content = "<br>".join(md(line) for line in field.lines)
        lines.append(f"| {md(field.label)} | {md(field.reference)} | {content} |")
    lines.append("")
    return lines


# --- HTML ---------------------------------------------------------------------------------------


@functools.cache
def _html_renderer() -> Callable[..., str]:
    return make_env(domain="messages").get_template(HTML_TEMPLATE).render


def render_html(record: Record) -> str:
    """A standalone HTML document; the template escapes every value."""
    values: dict[str, Any] = {"record": record}
    with use_language(record.language):
        return _html_renderer()(**values)
