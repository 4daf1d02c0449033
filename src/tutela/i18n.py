"""Languages, message catalogs and the Jinja environment.

The current language lives in a context variable, so one Jinja environment and
one set of catalogs serve German and English requests side by side. Catalogs
are the ``.po`` files under ``locale/<lang>/LC_MESSAGES/<domain>.po``, read at
run time with Babel (no compiled ``.mo`` files); fuzzy entries are ignored, and
a message without a translation falls back to its English msgid.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext as _gettext
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final, cast

import jinja2
from babel import dates as babel_dates
from babel.messages.pofile import read_po

from tutela.errors import InvalidInput

LANGUAGES: Final = ("de", "en")
DOMAINS: Final = ("statement", "messages", "email", "banner", "newsletter")
PACKAGE_DIR: Final = Path(__file__).resolve().parent
LOCALE_DIR: Final = PACKAGE_DIR / "locale"
TEMPLATE_DIR: Final = PACKAGE_DIR / "templates"

_DEFAULT_LANGUAGE = "de"
_LANGUAGE: ContextVar[str] = ContextVar("tutela_language", default=_DEFAULT_LANGUAGE)
_DATE_PATTERNS = {"de": "d. MMMM y", "en": "d MMMM y"}
_DATETIME_PATTERNS = {"de": "d. MMMM y, HH:mm 'UTC'", "en": "d MMMM y, HH:mm 'UTC'"}
_MAX_HEADER = 4096
_MAX_ENTRIES = 64

_Key = str | tuple[str, str]


def _check_language(language: str, *, field: str = "language") -> str:
    if language not in LANGUAGES:
        raise InvalidInput(
            f"{field} {language!r} is not supported: use one of {', '.join(LANGUAGES)}",
            field=field,
        )
    return language


def _check_domain(domain: str) -> str:
    if domain not in DOMAINS:
        raise InvalidInput(
            f"message domain {domain!r} is unknown: use one of {', '.join(DOMAINS)}",
            field="domain",
        )
    return domain


def current_language() -> str:
    """The language of the current context (``de`` unless set with :func:`use_language`)."""
    return _LANGUAGE.get()


@contextmanager
def use_language(language: str) -> Iterator[str]:
    """Make ``language`` the current language inside the ``with`` block."""
    token = _LANGUAGE.set(_check_language(language))
    try:
        yield language
    finally:
        _LANGUAGE.reset(token)


class PoTranslations(_gettext.NullTranslations):
    """Translations read from a ``.po`` catalog; untranslated messages fall back to the msgid."""

    def __init__(self, path: Path | None = None, *, language: str = "en") -> None:
        super().__init__()
        self.language = language
        self.path = path
        self._singular: dict[_Key, str] = {}
        self._plural: dict[_Key, tuple[str, ...]] = {}
        self._plural_index: Callable[[int], int] = lambda n: int(n != 1)
        if path is not None and path.is_file():
            self._load(path)

    def _load(self, path: Path) -> None:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=self.language)
        self._plural_index = _gettext.c2py(catalog.plural_expr)
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple | list):
                forms = tuple(str(s) for s in (message.string or ()))
                if forms and all(forms):
                    self._plural[self._key(str(message.id[0]), message.context)] = forms
            elif message.string:
                self._singular[self._key(str(message.id), message.context)] = str(message.string)

    @staticmethod
    def _key(msgid: str, context: str | None) -> _Key:
        return (context, msgid) if context else msgid

    @property
    def messages(self) -> frozenset[str]:
        """The msgids (singular) with a translation, without context."""
        return frozenset(
            [k for k in self._singular if isinstance(k, str)]
            + [k for k in self._plural if isinstance(k, str)]
        )

    def gettext(self, message: str) -> str:
        return self._singular.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        forms = self._plural.get(msgid1)
        if forms is None:
            return msgid1 if n == 1 else msgid2
        return forms[min(self._plural_index(n), len(forms) - 1)]

    def pgettext(self, context: str, message: str) -> str:
        return self._singular.get((context, message), message)

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        forms = self._plural.get((context, msgid1))
        if forms is None:
            return msgid1 if n == 1 else msgid2
        return forms[min(self._plural_index(n), len(forms) - 1)]


def catalog_path(language: str, domain: str) -> Path:
    """Where the catalog of ``domain`` in ``language`` lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


@functools.cache
def translations(language: str, domain: str) -> PoTranslations:
    """The (cached) translations of one language and domain."""
    _check_language(language)
    _check_domain(domain)
    return PoTranslations(catalog_path(language, domain), language=language)


def reload_catalogs() -> None:
    """Forget cached catalogs, e.g. after editing a ``.po`` file in a running process."""
    translations.cache_clear()


def gettext(message: str, *, domain: str, language: str | None = None) -> str:
    """Translate ``message`` into ``language`` (default: the current language)."""
    return translations(language or current_language(), domain).gettext(message)


def ngettext(
    singular: str, plural: str, n: int, *, domain: str, language: str | None = None
) -> str:
    """Translate a message with a plural form chosen by ``n``."""
    return translations(language or current_language(), domain).ngettext(singular, plural, n)


def pgettext(context: str, message: str, *, domain: str, language: str | None = None) -> str:
    """Translate ``message`` in a disambiguating ``context``."""
    return translations(language or current_language(), domain).pgettext(context, message)


def format_date(value: dt.date, language: str | None = None) -> str:
    """``22. November 2026`` (de) / ``22 November 2026`` (en)."""
    lang = _check_language(language or current_language())
    day = value.date() if isinstance(value, dt.datetime) else value
    return babel_dates.format_date(day, _DATE_PATTERNS[lang], locale=lang)


def format_datetime(value: dt.datetime, language: str | None = None) -> str:
    """``22. November 2026, 14:30 UTC``; naive values are taken as UTC."""
    lang = _check_language(language or current_language())
    moment = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return babel_dates.format_datetime(moment, _DATETIME_PATTERNS[lang], tzinfo=dt.UTC, locale=lang)


def make_env(*, domain: str = "messages") -> jinja2.Environment:
    """A Jinja environment over ``templates/`` translating through ``domain``.

    Autoescaping is on for ``.html``/``.html.j2``/``.xml`` templates; the gettext
    callables look up the current language at call time (``newstyle``: values are
    passed as keywords and escaped), and undefined names are errors.
    """
    _check_domain(domain)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "xml", "html.j2", "xml.j2"),
            default_for_string=True,
            default=False,
        ),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

    def _gettext(message: str) -> str:
        return gettext(message, domain=domain)

    def _ngettext(singular: str, plural: str, n: int) -> str:
        return ngettext(singular, plural, n, domain=domain)

    def _pgettext(context: str, message: str) -> str:
        return pgettext(context, message, domain=domain)

    def _npgettext(context: str, singular: str, plural: str, n: int) -> str:
        return translations(current_language(), domain).npgettext(context, singular, plural, n)

    cast(Any, env).install_gettext_callables(
        gettext=_gettext,
        ngettext=_ngettext,
        pgettext=_pgettext,
        npgettext=_npgettext,
        newstyle=True,
    )
    env.filters["format_date"] = format_date
    env.filters["format_datetime"] = format_datetime
    env.globals["current_language"] = current_language
    return env


def negotiate(accept_language: str | None, *, default: str = "de") -> str:
    """Pick a supported language from an ``Accept-Language`` header.

    ``en-US,en;q=0.9,de;q=0.8`` gives ``en``; entries with ``q=0`` are refused,
    ``*`` stands for ``default``, and an absent or malformed header gives ``default``.
    """
    _check_language(default, field="default language")
    if not accept_language or len(accept_language) > _MAX_HEADER:
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, entry in enumerate(accept_language.split(",")[:_MAX_ENTRIES]):
        parsed = _parse_entry(entry)
        if parsed is None:
            continue
        tag, quality = parsed
        language = default if tag == "*" else tag.split("-", 1)[0]
        if quality > 0 and language in LANGUAGES:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else default


def _parse_entry(entry: str) -> tuple[str, float] | None:
    tag, *params = (part.strip() for part in entry.split(";"))
    tag = tag.lower()
    if not tag or not all(c.isascii() and (c.isalnum() or c in "-*") for c in tag):
        return None
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() != "q":
            continue
        try:
            quality = float(value.strip())
        except ValueError:
            return None
        if not 0.0 <= quality <= 1.0:
            return None
    return tag, quality
