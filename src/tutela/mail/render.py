"""Render mail from the templates in ``templates/email/`` in German or English.

Each mail is ``<name>.txt.j2`` (required; its ``{% block subject %}`` is the
subject line) and optionally ``<name>.html.j2``. Both extend a layout that adds
the sender's name and, for marketing mail, a visible unsubscribe link. Texts
are English msgids translated through the ``email`` catalog
(``locale/de/LC_MESSAGES/email.po``).
"""

from __future__ import annotations

import functools
import html as html_lib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from tutela.errors import ConfigurationError, InvalidInput
from tutela.i18n import (
    LANGUAGES,
    TEMPLATE_DIR,
    PoTranslations,
    catalog_path,
    make_env,
    use_language,
)
from tutela.mail.message import CATEGORIES, Category

if TYPE_CHECKING:
    import jinja2

__all__ = ["EMAIL_DOMAIN", "TEMPLATE_CONTEXT", "email_translations", "render_mail"]

EMAIL_DOMAIN: Final = "email"
FOLDER: Final = "email"
_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

TEMPLATE_CONTEXT: Final[Mapping[str, frozenset[str]]] = {
    "doi_confirm": frozenset(
        {"controller", "list_name", "confirm_url", "expires_at", "valid_days"}
    ),
    "newsletter_sample": frozenset({"controller", "unsubscribe_url"}),
    "policy_change": frozenset(
        {
            "controller",
            "version",
            "effective_on",
            "changes",
            "more",
            "material",
            "statement_url",
            "contact",
        }
    ),
}
"""The context each provided template needs (checked before rendering)."""


@functools.cache
def email_translations(language: str) -> PoTranslations:
    """The ``email`` catalog of ``language`` (English falls back to the msgids)."""
    return PoTranslations(catalog_path(language, EMAIL_DOMAIN), language=language)


@functools.cache
def _environment() -> jinja2.Environment:
    """The shared template environment, translating through the ``email`` catalog."""
    return make_env(domain=EMAIL_DOMAIN)


def _check_request(template: str, language: str, context: Mapping[str, Any], category: str) -> None:
    if (
        not _NAME.fullmatch(template)
        or not (TEMPLATE_DIR / FOLDER / f"{template}.txt.j2").is_file()
    ):
        available = ", ".join(sorted(_available())) or "none"
        raise InvalidInput(
            f"template: there is no mail template {template!r}; use one of {available}.",
            field="template",
        )
    if language not in LANGUAGES:
        raise InvalidInput(
            f"language: mail is written in {' or '.join(LANGUAGES)}; pick one of them.",
            field="language",
        )
    if category not in CATEGORIES:
        raise InvalidInput("category: use 'transactional' or 'marketing'.", field="category")
    needed = set(TEMPLATE_CONTEXT.get(template, frozenset()))
    if category == "marketing":
        needed.add("unsubscribe_url")
    missing = sorted(needed - set(context))
    if missing:
        raise InvalidInput(
            f"context: the mail {template!r} needs {', '.join(missing)}; pass them in the context.",
            field="context",
        )


def _available() -> list[str]:
    folder = TEMPLATE_DIR / FOLDER
    return [path.name.removesuffix(".txt.j2") for path in folder.glob("[a-z]*.txt.j2")]


def _subject(template: jinja2.Template, variables: dict[str, Any], name: str) -> str:
    block = template.blocks.get("subject")
    if block is None:
        raise ConfigurationError(
            f"The mail template email/{name}.txt.j2 has no {{% block subject %}}; add one."
        )
    text = "".join(block(template.new_context(variables)))
    subject = " ".join(text.split())
    if not subject:
        raise ConfigurationError(f"The mail template email/{name}.txt.j2 renders an empty subject.")
    return subject


def _check_visible_link(name: str, url: str, text: str, html: str | None) -> None:
    in_html = html is None or url in html or html_lib.escape(url) in html
    if url not in text or not in_html:
        raise ConfigurationError(
            f"The marketing mail email/{name} does not show its unsubscribe link in every "
            "part; extend the email layout or print unsubscribe_url in the body."
        )


def render_mail(
    template: str, *, language: str, context: Mapping[str, Any], category: Category
) -> tuple[str, str, str | None]:
    """``(subject, text, html)`` of ``template`` in ``language``; ``html`` is ``None`` without
    an HTML template. A marketing mail must show ``context["unsubscribe_url"]`` in each part."""
    _check_request(template, language, context, category)
    env = _environment()
    variables = {**context, "category": category, "language": language}
    with use_language(language):
        text_template = env.get_template(f"{FOLDER}/{template}.txt.j2")
        subject = _subject(text_template, variables, template)
        variables["subject"] = subject
        text = str(text_template.render(variables))
        html: str | None = None
        if (TEMPLATE_DIR / FOLDER / f"{template}.html.j2").is_file():
            html = str(env.get_template(f"{FOLDER}/{template}.html.j2").render(variables))
    if category == "marketing":
        _check_visible_link(template, str(context["unsubscribe_url"]), text, html)
    return subject, text, html
