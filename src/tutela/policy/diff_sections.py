"""Diff of every section but the purposes, and the order in which sections are compared."""

from __future__ import annotations

from functools import partial

from tutela.policy import diff_terms as terms
from tutela.policy.diff_compare import Comparison, changed_fields, join, same, text
from tutela.policy.diff_purposes import purpose
from tutela.policy.diff_text import Phrase
from tutela.policy.duration import Period
from tutela.policy.models import (
    AutomatedDecision,
    Cookie,
    CookieCategory,
    DataCategory,
    Recipient,
    RightsChannel,
    Transfer,
)


def compare(c: Comparison) -> None:
    """Walk both declarations in the order of the declaration's fields."""
    old, new = c.old, c.new
    if old.title != new.title:
        c.add("title.changed", "title", False)
    contacts(c)
    c.entries(
        (old.data_categories, new.data_categories), lambda e: e.key, partial(data_category, c)
    )
    c.entries((old.purposes, new.purposes), lambda e: e.id, partial(purpose, c))
    c.entries((old.recipients, new.recipients), lambda e: e.id, partial(recipient, c))
    c.entries((old.cookies, new.cookies), terms.cookie_key, partial(cookie, c))
    c.entries((old.rights_channels, new.rights_channels), terms.channel_key, partial(channel, c))
    decisions = (old.automated_decisions, new.automated_decisions)
    c.entries(decisions, lambda e: e.id, partial(decision, c))
    notice_and_us_rules(c)
    if old.security_measures != new.security_measures:
        c.add("security-measures.changed", "security_measures", False)


def contacts(c: Comparison) -> None:
    """Controller, supervisory authority and data protection officer."""
    old, new = c.old.controller, c.new.controller
    c.value("controller.changed", "controller.name", (old.name, new.name), same)
    fields = changed_fields(old, new, terms.CONTROLLER_FIELDS)
    if fields is not None:
        c.add("controller.details-changed", "controller", False, fields=fields)
    sa_old, sa_new = c.old.supervisory_authority, c.new.supervisory_authority
    path = "supervisory_authority"
    names = (sa_old.name, sa_new.name)
    if names[0] != names[1]:
        c.value("supervisory-authority.changed", path, names, text, False, "replaced")
    elif sa_old != sa_new:
        c.add("supervisory-authority.changed", path, False, "details", new=text(sa_new.name))
    dpo_old, dpo_new = c.old.dpo, c.new.dpo
    if dpo_old == dpo_new:
        return
    if dpo_old is None or dpo_new is None:
        variant = "appointed" if dpo_old is None else "removed"
    else:
        variant = "replaced" if dpo_old.name != dpo_new.name else "details"
    people = {k: terms.person(p) for k, p in (("old", dpo_old), ("new", dpo_new)) if p}
    c.add("dpo.changed", "dpo", False, variant, **people)


def data_category(
    c: Comparison, key: str, old: DataCategory | None, new: DataCategory | None
) -> None:
    path = f"data_categories[{key}]"
    if new is None:
        c.add("data-category.removed", path, False, label=c.category(key, False))
        return
    label = c.category(key)
    if old is None:
        c.add("data-category.added", path, True, label=label)
        return
    if old.description != new.description:
        c.add("data-category.description-changed", f"{path}.description", False, key=same(key))
    special = (old.special is True, new.special is True)
    at = f"{path}.special"
    c.toggle("data-category.special-changed", at, special, material_on=True, label=label)
    holders = (old.held_by, new.held_by)
    at = f"{path}.held_by"
    c.sets("data-category.holders", at, holders, c.recipient_name, "names", label=label)


def recipient(c: Comparison, rid: str, old: Recipient | None, new: Recipient | None) -> None:
    path = f"recipients[{rid}]"
    if new is None:
        if old is not None:
            c.add("recipient.removed", path, False, name=same(old.name))
        return
    name = same(new.name)
    if old is None:
        role, country = terms.role(new.role), terms.country(new.country)
        c.add("recipient.added", path, True, name=name, role=role, country=country)
    else:
        _recipient_changes(c, rid, old, new, name)
    transfers = (old.transfers if old else [], new.transfers)
    c.entries(transfers, _country, partial(transfer, c, path, name))


def _recipient_changes(
    c: Comparison, rid: str, old: Recipient, new: Recipient, name: Phrase
) -> None:
    path, ident = f"recipients[{rid}]", same(rid)
    c.value("recipient.renamed", f"{path}.name", (old.name, new.name), same, False, id=ident)
    roles = (old.role, new.role)
    c.value("recipient.role-changed", f"{path}.role", roles, terms.role, name=name)
    countries = (old.country, new.country)
    c.value("recipient.country-changed", f"{path}.country", countries, terms.country, name=name)
    if old.service != new.service:
        c.add("recipient.service-changed", f"{path}.service", False, name=name)
    categories = (old.categories, new.categories)
    at = f"{path}.categories"
    c.sets("recipient.categories", at, categories, c.category, "list", name=name)
    sells = (old.sells_or_shares, new.sells_or_shares)
    at = f"{path}.sells_or_shares"
    c.toggle("recipient.sells-or-shares-changed", at, sells, material_on=True, name=name)
    fields = changed_fields(old, new, terms.RECIPIENT_FIELDS)
    if fields is not None:
        c.add("recipient.details-changed", path, False, name=name, fields=fields)


def _country(entry: Transfer) -> str:
    return entry.country


def transfer(
    c: Comparison,
    parent: str,
    name: Phrase,
    code: str,
    old: Transfer | None,
    new: Transfer | None,
) -> None:
    path, ctx = f"{parent}.transfers[{code}]", {"name": name, "country": terms.country(code)}
    if new is None:
        c.add("transfer.removed", path, False, **ctx)
    elif old is None:
        c.add("transfer.added", path, True, safeguard=terms.safeguard(new.safeguard), **ctx)
    elif old.safeguard != new.safeguard:
        safeguards = (old.safeguard, new.safeguard)
        at = f"{path}.safeguard"
        c.value("transfer.safeguard-changed", at, safeguards, terms.safeguard, **ctx)
    else:
        fields = changed_fields(old, new, terms.TRANSFER_FIELDS)
        if fields is not None:
            c.add("transfer.details-changed", path, False, fields=fields, **ctx)


def _lifetime_days(value: Period | str) -> float:
    return value.approx_days() if isinstance(value, Period) else 0.0


def _needs_consent(entry: Cookie) -> bool:
    if entry.consent_required is not None:
        return entry.consent_required
    return entry.category is not CookieCategory.NECESSARY


def cookie(c: Comparison, key: str, old: Cookie | None, new: Cookie | None) -> None:
    path = f"cookies[{key}]"
    current = new or old
    if current is None:
        return
    ctx = {"name": same(current.name), "storage": terms.STORAGE[current.storage]}
    if new is None:
        c.add("cookie.removed", path, False, **ctx)
        return
    if old is None:
        provider = terms.provider(c.recipient_name(new.provider) if new.provider else None)
        category, lifetime = terms.cookie_category(new.category), terms.lifetime(new.lifetime)
        c.add(
            "cookie.added",
            path,
            True,
            category=category,
            provider=provider,
            lifetime=lifetime,
            **ctx,
        )
        return
    longer = _lifetime_days(new.lifetime) > _lifetime_days(old.lifetime)
    lifetimes = (old.lifetime, new.lifetime)
    c.value("cookie.lifetime-changed", f"{path}.lifetime", lifetimes, terms.lifetime, longer, **ctx)
    categories = (old.category, new.category)
    at = f"{path}.category"
    c.value("cookie.category-changed", at, categories, terms.cookie_category, **ctx)
    if old.purpose != new.purpose:
        names = c.purpose_name(old.purpose, False), c.purpose_name(new.purpose)
        at = f"{path}.purpose"
        c.add("cookie.purpose-changed", at, True, old=names[0], new=names[1], **ctx)
    consent = (_needs_consent(old), _needs_consent(new))
    at = f"{path}.consent_required"
    c.toggle("cookie.consent-changed", at, consent, material_on=False, **ctx)
    fields = changed_fields(old, new, terms.COOKIE_FIELDS)
    if fields is not None:
        c.add("cookie.details-changed", path, False, fields=fields, **ctx)


def channel(c: Comparison, key: str, old: RightsChannel | None, new: RightsChannel | None) -> None:
    current = new or old
    if current is not None:
        kind = "removed" if new is None else "added" if old is None else "changed"
        label = terms.channel(current)
        c.add(f"rights-channel.{kind}", f"rights_channels[{key}]", False, channel=label)


def decision(
    c: Comparison, aid: str, old: AutomatedDecision | None, new: AutomatedDecision | None
) -> None:
    path, ident = f"automated_decisions[{aid}]", same(aid)
    if new is None:
        c.add("automated-decision.removed", path, False, id=ident)
    elif old is None:
        profiling = terms.PROFILING if new.profiling else Phrase.same("")
        purposes = join(c.purpose_name(p) for p in new.purposes)
        c.add(
            "automated-decision.added", path, True, id=ident, profiling=profiling, purposes=purposes
        )
    else:
        fields = changed_fields(old, new, terms.DECISION_FIELDS)
        if fields is not None:
            c.add("automated-decision.changed", path, True, id=ident, fields=fields)


def notice_and_us_rules(c: Comparison) -> None:
    old, new = c.old.change_notice, c.new.change_notice
    if (old.days, old.unit) != (new.days, new.unit):
        pair = (old, new)
        c.value(
            "change-notice.changed", "change_notice", pair, terms.notice_period, False, "period"
        )
    elif old != new:
        c.add("change-notice.changed", "change_notice", False, "rules")
    ou, nu = c.old.us_privacy, c.new.us_privacy
    for flag in ("sells", "shares"):
        flags = (bool(getattr(ou, flag)), bool(getattr(nu, flag)))
        c.toggle(f"us-privacy.{flag}-changed", f"us_privacy.{flag}", flags, material_on=True)
    if any(getattr(ou, name) != getattr(nu, name) for name in terms.US_FIELDS):
        c.add("us-privacy.details-changed", "us_privacy", False)
