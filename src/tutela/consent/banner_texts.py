"""The cookie banner's own texts (English msgids of the ``banner`` catalog) and their lookup."""

from __future__ import annotations

import functools

from tutela.i18n import PoTranslations, catalog_path
from tutela.policy.models import CookieCategory

__all__ = [
    "CATEGORY_ORDER",
    "CATEGORY_TEXTS",
    "DOMAIN",
    "MESSAGES",
    "PARTY",
    "PROVIDERS",
    "SESSION",
    "STORAGE",
    "STORED_FOR",
    "SUMMARY",
    "TEXTS",
    "translate",
]

DOMAIN = "banner"
CATEGORY_ORDER = tuple(CookieCategory)
"""necessary, functional, analytics, marketing: the order the banner lists them in."""
CATEGORY_TEXTS = {
    CookieCategory.NECESSARY: (
        "Necessary",
        "Needed for the website to work, for example to keep you signed in and to remember "
        "this choice. They cannot be switched off.",
    ),
    CookieCategory.FUNCTIONAL: (
        "Functional",
        "Remember settings you make, such as language or view, so that you need not make "
        "them again on every visit.",
    ),
    CookieCategory.ANALYTICS: (
        "Analytics",
        "Count visits and measure how the website is used, so that we can improve it.",
    ),
    CookieCategory.MARKETING: (
        "Marketing",
        "Measure whether our advertising works; providers may recognise you on other websites.",
    ),
}
TEXTS = {
    "title": "Your privacy on this website",
    "intro": "We would like to use cookies and similar techniques for the purposes listed here. "
    "Some are needed for the website to work; everything else we use only if you agree. "
    "You can change or withdraw your choice at any time with the “Privacy settings” button.",
    "accept_all": "Accept all",
    "reject_all": "Reject all",
    "settings": "Settings",
    "privacy_link": "Privacy notice",
    "settings_title": "Privacy settings",
    "settings_intro": "Choose which categories you allow. Necessary cookies stay on, "
    "because the website does not work without them.",
    "always_on": "Always on",
    "save": "Save selection",
    "back": "Back",
    "close": "Close",
    "details": "Cookies and storage used",
    "col_name": "Name",
    "col_provider": "Provider",
    "col_lifetime": "Storage period",
    "col_party": "Set by",
    "reopen": "Privacy settings",
    "gpc_badge": "GPC signal honoured",
    "gpc_text": "Your browser sends the Global Privacy Control signal. We treat it as an "
    "objection to selling or sharing your data, so the categories marked with it stay off, "
    "even with “Accept all”.",
    "gpc_category": "Off because of your GPC signal. Tick the box to allow this category "
    "anyway; this applies to this category only.",
    "gpc_opt_in": "Allow despite my GPC signal",
}
SUMMARY = "Optional categories: %(names)s."
PROVIDERS = "Other companies involved: %(names)s"
STORED_FOR = "We keep your choice for %(period)s, then we ask again."
SESSION = "until the end of the browser session"
PARTY = {"first": "this website", "third": "a third party"}
STORAGE = {
    "cookie": "Cookie",
    "local_storage": "Local storage",
    "session_storage": "Session storage",
    "pixel": "Pixel",
}
MESSAGES = (
    *(text for pair in CATEGORY_TEXTS.values() for text in pair),
    *TEXTS.values(),
    SUMMARY,
    PROVIDERS,
    STORED_FOR,
    SESSION,
    *PARTY.values(),
    *STORAGE.values(),
)
"""Every msgid of the ``banner`` catalog, for the completeness test."""


@functools.cache
def _catalog(language: str) -> PoTranslations:
    return PoTranslations(catalog_path(language, DOMAIN), language=language)


def translate(message: str, language: str) -> str:
    """``message`` (an English msgid of the ``banner`` catalog) in ``language``."""
    return message if language == "en" else _catalog(language).gettext(message)
