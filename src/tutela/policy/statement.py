"""Rendering the privacy statement of one declaration, in German or English, as HTML or Markdown.

The declaration is first turned into a language-neutral view
(:mod:`tutela.policy.statement_view`); the templates under
``templates/statement/`` lay it out, with English msgids translated through the
``statement`` catalog. One template tree serves both languages, so the German and
the English statement always name the same purposes, recipients and periods.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tutela.errors import InvalidInput
from tutela.i18n import LANGUAGES, current_language, make_env, use_language
from tutela.policy.models import Declaration
from tutela.policy.statement_phrases import Localizable, localize
from tutela.policy.statement_view import StatementView, build_view
from tutela.policy.taxonomy import load_taxonomy

Format = Literal["html", "markdown"]
FORMATS: tuple[Format, ...] = ("html", "markdown")
TEMPLATES: dict[Format, str] = {
    "html": "statement/statement.html.j2",
    "markdown": "statement/statement.md.j2",
}
_BLANK_LINES = re.compile(r"\n{3,}")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class StatementMeta:
    """What the header of a statement says about the version it renders (law.md S-ver, P20)."""

    version: int | None
    published_at: dt.datetime | None
    effective_at: dt.date
    revised_on: dt.date
    content_hash: str | None
    archive_url: str | None = None


def category_names(key: str) -> tuple[Localizable, Localizable]:
    """A category's name and description from the taxonomy; ``(None, None)`` if unknown."""
    entry = load_taxonomy().category(key)
    if entry is None:
        return None, None
    return entry.name, entry.description


def statement_view(declaration: Declaration) -> StatementView:
    """The language-neutral view of ``declaration`` the templates render."""
    return build_view(declaration, category_names=category_names)


def render_statement(
    declaration: Declaration,
    *,
    language: Literal["de", "en"],
    fmt: Literal["html", "markdown"],
    meta: StatementMeta,
) -> str:
    """The complete statement as a standalone HTML document or as Markdown."""
    if language not in LANGUAGES:
        raise InvalidInput(
            f"language {language!r} is not supported: use one of {', '.join(LANGUAGES)}",
            field="language",
        )
    if fmt not in FORMATS:
        raise InvalidInput(
            f"format {fmt!r} is not supported: use one of {', '.join(FORMATS)}", field="fmt"
        )
    view = statement_view(declaration)
    other = next(code for code in LANGUAGES if code != language)
    with use_language(language):
        text = _renderer(fmt)(view=view, meta=meta, lang=language, other_lang=other)
    if fmt == "markdown":
        text = _BLANK_LINES.sub("\n\n", text).strip() + "\n"
    return text


@functools.cache
def _renderer(fmt: Format) -> Callable[..., str]:
    env = make_env(domain="statement")
    env.filters.update(local=_local, md=markdown_text, cell=markdown_cell, mdurl=markdown_url)
    return env.get_template(TEMPLATES[fmt]).render


def _local(value: Any) -> str:
    return localize(value, current_language())


def markdown_text(value: Any) -> str:
    """Inline Markdown for a value: one line, and no raw HTML can slip through."""
    text = value if isinstance(value, str) else _local(value)
    return _WHITESPACE.sub(" ", text).strip().replace("<", "&lt;").replace(">", "&gt;")


def markdown_cell(value: Any) -> str:
    """A Markdown table cell: inline text with pipes escaped."""
    return markdown_text(value).replace("|", "\\|")


def markdown_url(value: Any) -> str:
    """A link destination for ``<…>``: without angle brackets or line breaks."""
    return _WHITESPACE.sub("%20", str(value)).replace("<", "%3C").replace(">", "%3E")
