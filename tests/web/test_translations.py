"""Every message of the web pages has a German translation in the ``messages`` catalog."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from tutela.i18n import TEMPLATE_DIR, catalog_path
from tutela.policy import ropa_texts
from tutela.web import problems
from tutela.web.admin import people as admin_people
from tutela.web.admin import routes as admin_routes
from tutela.web.public import routes as public_routes

TEMPLATE_FOLDERS = ("admin", "public")


def template_messages() -> dict[str, str]:
    """msgid → where it is used, for every ``_()`` / ``{% trans %}`` in the web templates."""
    found: dict[str, str] = {}
    for folder in TEMPLATE_FOLDERS:
        for path in sorted((TEMPLATE_DIR / folder).glob("*.j2")):
            with path.open("rb") as handle:
                extracted = babel_extract(
                    handle, ("_", "gettext", "ngettext"), [], {"trimmed": "false"}
                )
                for line, _func, message, _comments in extracted:
                    text = message if isinstance(message, str) else None
                    if text:
                        found.setdefault(text, f"{folder}/{path.name}:{line}")
    return found


def python_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for module in (problems, admin_routes, admin_people, public_routes, ropa_texts):
        for message in module.MESSAGES:
            found.setdefault(message, module.__name__)
    return found


def german_catalog() -> dict[str, str]:
    with Path(catalog_path("de", "messages")).open("rb") as handle:
        catalog = read_po(handle, locale="de")
    return {str(m.id): str(m.string) for m in catalog if m.id and not m.fuzzy}


def test_templates_use_messages() -> None:
    assert len(template_messages()) > 40


@pytest.mark.parametrize("source", ["templates", "python"])
def test_every_message_is_translated(source: str) -> None:
    messages = template_messages() if source == "templates" else python_messages()
    german = german_catalog()
    missing = {msgid: where for msgid, where in messages.items() if not german.get(msgid)}
    assert missing == {}


def test_placeholders_survive_translation() -> None:
    placeholder = re.compile(r"%\((\w+)\)s")
    for msgid, msgstr in german_catalog().items():
        assert set(placeholder.findall(msgid)) == set(placeholder.findall(msgstr)), msgid
