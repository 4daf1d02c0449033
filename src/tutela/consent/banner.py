"""The cookie banner: its configuration from the declaration and the logging of each choice.

The banner script (``web/static/banner/banner.js``) asks for :func:`banner_config`
in the visitor's language, shows the categories and cookies it lists, and posts
the visitor's choice back. :func:`plan_events` turns that choice into one ledger
event per consent purpose; :func:`log_decision` writes them against the
anonymous visitor id the script keeps in its own cookie.

The ``revision`` is a hash of the cookie declaration: when a cookie is added,
removed or changed, the revision changes and the banner asks again.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.consent.banner_texts import (
    CATEGORY_ORDER,
    CATEGORY_TEXTS,
    MESSAGES,
    PARTY,
    PROVIDERS,
    SESSION,
    STORAGE,
    STORED_FOR,
    SUMMARY,
    TEXTS,
    translate,
)
from tutela.consent.declarations import CurrentPolicy
from tutela.consent.ledger import record
from tutela.consent.proof import Proof
from tutela.consent.state import read_state
from tutela.crypto import MasterKey
from tutela.errors import Conflict, InvalidInput
from tutela.policy.models import Cookie, CookieCategory, Declaration
from tutela.subjects import get_or_create_subject

__all__ = [
    "CATEGORY_ORDER",
    "COOKIE_NAME",
    "MESSAGES",
    "BannerDecision",
    "PlannedEvent",
    "banner_config",
    "cookie_revision",
    "gpc_categories",
    "log_decision",
    "plan_events",
    "translate",
]

COOKIE_NAME = "tutela_consent"
Language = Literal["de", "en"]
Action = Literal["given", "refused", "withdrawn"]
Method = Literal["accept_all", "reject_all", "custom", "gpc"]

_ = translate
_CATEGORY_IDS = tuple(c.value for c in CATEGORY_ORDER)
GRANTED = frozenset({"given", "confirmed"})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _consent_required(cookie: Cookie) -> bool:
    if cookie.consent_required is not None:
        return cookie.consent_required
    return cookie.category is not CookieCategory.NECESSARY


def gpc_categories(declaration: Declaration) -> list[str]:
    """Categories a GPC signal refuses: marketing and those with a selling or sharing provider."""
    found = {CookieCategory.MARKETING.value}
    for cookie in declaration.cookies:
        recipient = declaration.recipient(cookie.provider) if cookie.provider else None
        if recipient is not None and recipient.sells_or_shares:
            found.add(cookie.category.value)
    found.discard(CookieCategory.NECESSARY.value)
    return [c for c in _CATEGORY_IDS if c in found]


def cookie_revision(declaration: Declaration) -> str:
    """A short hash of the cookie declaration; it changes whenever a cookie does."""
    cookies = [cookie.model_dump(mode="json") for cookie in declaration.cookies]
    document = _canonical({"cookies": cookies, "gpc": gpc_categories(declaration)})
    return hashlib.sha256(document.encode("utf-8")).hexdigest()[:16]


def _max_age_days(declaration: Declaration) -> int:
    return max(1, int(declaration.cookie_consent_max_age.approx_days()))


def _cookie_entry(declaration: Declaration, cookie: Cookie, language: str) -> dict[str, str]:
    recipient = declaration.recipient(cookie.provider) if cookie.provider else None
    provider = recipient.name if recipient is not None else declaration.controller.name
    lifetime = (
        _(SESSION, language) if cookie.lifetime == "session" else cookie.lifetime.words(language)
    )
    return {
        "name": cookie.name,
        "provider": provider,
        "party": _(PARTY[cookie.party], language),
        "storage": cookie.storage,
        "storage_name": _(STORAGE[cookie.storage], language),
        "lifetime": lifetime,
        "description": cookie.description.get(language),
    }


def _categories(declaration: Declaration, language: str) -> list[dict[str, Any]]:
    gpc = set(gpc_categories(declaration))
    present = {cookie.category for cookie in declaration.cookies}
    present.add(CookieCategory.NECESSARY)
    result = []
    for category in CATEGORY_ORDER:
        if category not in present:
            continue
        cookies = [c for c in declaration.cookies if c.category is category]
        name, description = CATEGORY_TEXTS[category]
        result.append(
            {
                "id": category.value,
                "name": _(name, language),
                "description": _(description, language),
                "required": category is CookieCategory.NECESSARY,
                "gpc": category.value in gpc,
                "purposes": sorted({c.purpose for c in cookies if c.purpose}),
                "cookies": [_cookie_entry(declaration, c, language) for c in cookies],
            }
        )
    return result


def _texts(
    declaration: Declaration, categories: list[dict[str, Any]], language: str
) -> dict[str, str]:
    texts = {key: _(value, language) for key, value in TEXTS.items()}
    optional = [c["name"] for c in categories if not c["required"]]
    texts["summary"] = _(SUMMARY, language) % {"names": ", ".join(optional)} if optional else ""
    providers: list[str] = []
    for cookie in declaration.cookies:
        recipient = declaration.recipient(cookie.provider) if cookie.provider else None
        if recipient is not None and _consent_required(cookie) and recipient.name not in providers:
            providers.append(recipient.name)
    texts["providers"] = (
        _(PROVIDERS, language) % {"names": ", ".join(providers)} if providers else ""
    )
    period = declaration.cookie_consent_max_age.words(language)
    texts["stored_for"] = _(STORED_FOR, language) % {"period": period}
    return texts


def banner_config(
    declaration: Declaration, *, language: Language, policy_version: int
) -> dict[str, Any]:
    """Everything the banner script shows and needs, in ``language``.

    ``notice_hash`` is the SHA-256 of the rest of the configuration: the exact
    text and cookie list a visitor saw, recorded as proof with each decision.
    """
    categories = _categories(declaration, language)
    config: dict[str, Any] = {
        "language": language,
        "revision": cookie_revision(declaration),
        "policy_version": policy_version,
        "cookie_name": COOKIE_NAME,
        "max_age_days": _max_age_days(declaration),
        "privacy_url": f"/privacy?lang={language}",
        "gpc_categories": gpc_categories(declaration),
        "categories": categories,
        "texts": _texts(declaration, categories, language),
    }
    config["notice_hash"] = hashlib.sha256(_canonical(config).encode("utf-8")).hexdigest()
    return config


class BannerDecision(BaseModel):
    """A visitor's choice as the banner script posts it to ``/consent/decision``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    visitor_id: str = Field(pattern=r"^[A-Za-z0-9_-]{16,64}$")
    revision: str = Field(pattern=r"^[0-9a-f]{16}$")
    language: Language = "de"
    categories: list[str] = Field(default_factory=list, max_length=len(_CATEGORY_IDS))
    gpc: bool = False
    gpc_opt_in: list[str] = Field(default_factory=list, max_length=len(_CATEGORY_IDS))
    method: Method = "custom"


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """One ledger event a decision produces."""

    purpose_id: str
    action: Action
    categories: tuple[str, ...]


def _check_known(field: str, values: list[str], known: set[str]) -> None:
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidInput(
            f"{field}: {', '.join(unknown)} is not a cookie category of the current declaration; "
            f"use only {', '.join(sorted(known))}.",
            field=field,
        )


def plan_events(
    declaration: Declaration,
    decision: BannerDecision,
    *,
    granted_before: frozenset[str] = frozenset(),
) -> list[PlannedEvent]:
    """The ledger events for ``decision``, one per consent purpose of a choosable category.

    A purpose counts as given only when every category it appears in is allowed.
    Otherwise it is "withdrawn" when it was granted before (``granted_before``,
    purpose ids) and "refused" when not. Under GPC, a GPC category may be allowed
    only with an explicit opt-in for it. Raises :class:`InvalidInput` naming the
    field, or :class:`Conflict` when ``revision`` is not the current one.
    """
    if decision.revision != cookie_revision(declaration):
        raise Conflict(
            "revision: the cookie declaration has changed since the banner was shown; "
            "load /consent/config again and ask the visitor anew.",
            field="revision",
        )
    known = {c["id"] for c in _categories(declaration, "en")}
    _check_known("categories", decision.categories, known)
    _check_known("gpc_opt_in", decision.gpc_opt_in, known)
    refused_by_gpc = set(gpc_categories(declaration)) if decision.gpc else set()
    blocked = sorted((set(decision.categories) & refused_by_gpc) - set(decision.gpc_opt_in))
    if blocked:
        raise InvalidInput(
            f"categories: {', '.join(blocked)} cannot be allowed while the GPC signal is on "
            "unless the visitor opted in to it explicitly; list it in gpc_opt_in as well.",
            field="categories",
        )
    allowed = set(decision.categories)
    events = []
    for purpose_id, categories in sorted(_purposes(declaration).items()):
        if categories <= allowed:
            action: Action = "given"
        elif purpose_id in granted_before:
            action = "withdrawn"
        else:
            action = "refused"
        events.append(PlannedEvent(purpose_id, action, tuple(sorted(categories))))
    return events


def _purposes(declaration: Declaration) -> dict[str, set[str]]:
    """Purpose id → the categories of its cookies that need consent (declared purposes only)."""
    declared = {purpose.id for purpose in declaration.purposes}
    found: dict[str, set[str]] = {}
    for cookie in declaration.cookies:
        if cookie.purpose in declared and _consent_required(cookie):
            found.setdefault(cookie.purpose, set()).add(cookie.category.value)
    return found


def _address(ip: str | None) -> str | None:
    """``ip`` if it is an IP address (the ledger shortens it), else None."""
    try:
        return str(ipaddress.ip_address((ip or "").strip()))
    except ValueError:
        return None


def log_decision(
    session: Session,
    *,
    policy: CurrentPolicy,
    decision: BannerDecision,
    ip: str | None,
    user_agent: str | None,
    page_url: str | None,
    master: MasterKey,
    clock: Clock,
    actor: str = "banner",
) -> list[PlannedEvent]:
    """Record ``decision`` in the consent ledger against the visitor id; returns the events.

    Each event names the declaration version (``policy``) and the language; a
    grant or refusal is bound to the purpose's current notice text. The proof
    holds the truncated IP, the user agent, the page and, in ``extra``, the hash
    of the exact banner text shown (``banner_hash``), the revision, the
    categories, the method and whether GPC was on. A decision applied
    automatically because of GPC (``method="gpc"``) is recorded on the GPC channel.
    """
    declaration = policy.declaration
    plan_events(declaration, decision)  # validate before creating a subject
    subject, _created = get_or_create_subject(
        session,
        kind="visitor_id",
        value=decision.visitor_id,
        master=master,
        clock=clock,
        actor=actor,
    )
    purposes = _purposes(declaration)
    granted = frozenset(
        purpose_id
        for purpose_id in purposes
        if (row := read_state(session, subject_id=subject.id, purpose_id=purpose_id)) is not None
        and row.status in GRANTED
    )
    events = plan_events(declaration, decision, granted_before=granted)
    config = banner_config(declaration, language=decision.language, policy_version=policy.number)
    extra = {
        "banner_hash": config["notice_hash"],
        "revision": decision.revision,
        "method": decision.method,
        "gpc": decision.gpc,
        "categories": sorted(set(decision.categories) - {CookieCategory.NECESSARY.value}),
        "gpc_opt_in": sorted(decision.gpc_opt_in),
    }
    page = (page_url or "").split("?", 1)[0].split("#", 1)[0][:2048] or None
    for event in events:
        proof = Proof(
            channel="gpc" if decision.method == "gpc" else "banner",
            language=decision.language,
            ip=_address(ip),
            user_agent=user_agent or None,
            form_url=page,
            extra={**extra, "event_categories": list(event.categories)},
        )
        record(
            session,
            subject=subject,
            purpose_id=event.purpose_id,
            action=event.action,
            proof=proof,
            master=master,
            clock=clock,
            actor=actor,
            policy=policy,
        )
    return events
