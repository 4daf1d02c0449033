"""The parts a statement view is made of: parties, channels, purposes, recipients, cookies.

Each part is a frozen dataclass holding language-neutral values (see
:mod:`tutela.policy.statement_phrases`); the small builders here turn one
declaration entry into one part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tutela.policy.models import (
    AutomatedDecision,
    ChannelKind,
    Cookie,
    Declaration,
    PostalAddress,
    Recipient,
    Safeguard,
    Text,
    Transfer,
)
from tutela.policy.statement_phrases import (
    ADEQUACY_DPF,
    ADEQUACY_EXISTS,
    ADEQUACY_NOT_RELIED_ON,
    CHANNEL,
    CONTACT_LABEL,
    COOKIE_CATEGORY,
    COPY_ON_REQUEST,
    COPY_PUBLISHED,
    NO_SAFEGUARD,
    PARTY,
    ROLE,
    SAFEGUARD,
    SESSION_LIFETIME,
    STORAGE,
    Country,
    Localizable,
    Phrase,
    scc_module,
)

_ADEQUATE = (Safeguard.ADEQUACY, Safeguard.DATA_PRIVACY_FRAMEWORK)
_PHONE_CHARS = frozenset("+0123456789")


@dataclass(frozen=True, slots=True)
class Section:
    anchor: str
    number: int
    title: Phrase


@dataclass(frozen=True, slots=True)
class ChannelItem:
    """A way to reach someone: a label, the address and, where it makes sense, a link."""

    label: Phrase
    value: Localizable
    href: str | None = None
    note: Text | None = None


@dataclass(frozen=True, slots=True)
class Party:
    """A controller, representative, DPO or authority with address and contacts."""

    name: Localizable
    address: tuple[Localizable, ...]
    contacts: tuple[ChannelItem, ...]


@dataclass(frozen=True, slots=True)
class CategoryItem:
    key: str
    name: Localizable
    description: Localizable
    required: bool


@dataclass(frozen=True, slots=True)
class SourceItem:
    kind: Phrase
    description: Text | None
    public: bool


@dataclass(frozen=True, slots=True)
class ProvisionItem:
    requirement: Phrase
    consequences: Text


@dataclass(frozen=True, slots=True)
class PurposeItem:
    id: str
    name: Text
    description: Text
    basis_key: str
    basis: Phrase
    basis_article: Phrase
    legitimate_interest: Text | None
    soft_opt_in: bool
    special_ground: Phrase | None
    required: tuple[CategoryItem, ...]
    optional: tuple[CategoryItem, ...]
    source: SourceItem | None
    recipients: tuple[str, ...]
    retention: tuple[Localizable, ...]
    provision: ProvisionItem | None
    direct_marketing: bool
    objectable: bool
    objection_channels: tuple[ChannelItem, ...]

    @property
    def anchor(self) -> str:
        return f"purpose-{self.id}"

    @property
    def categories(self) -> tuple[CategoryItem, ...]:
        return (*self.required, *self.optional)


@dataclass(frozen=True, slots=True)
class RecipientItem:
    id: str
    name: str
    role: Phrase
    country: Country
    service: Text
    address: tuple[Localizable, ...]
    categories: tuple[CategoryItem, ...]
    purposes: tuple[Text, ...]
    joint_arrangement: Text | None
    sells_or_shares: bool


@dataclass(frozen=True, slots=True)
class TransferItem:
    recipient: str
    country: Country
    safeguard: Phrase
    adequacy: Phrase
    copy: Localizable
    derogation: Text | None


@dataclass(frozen=True, slots=True)
class CookieItem:
    name: str
    provider: str
    category: Phrase
    party: Phrase
    storage: Phrase
    lifetime: Localizable
    purpose: Text | None
    description: Text
    consent_required: bool


@dataclass(frozen=True, slots=True)
class RightItem:
    key: str
    title: Phrase
    article: Localizable
    channels: tuple[ChannelItem, ...]


@dataclass(frozen=True, slots=True)
class DecisionItem:
    id: str
    purposes: tuple[Text, ...]
    logic: Text
    significance: Text
    consequences: Text
    profiling: bool


def _href(kind: str, value: Localizable) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    if kind == "email":
        return f"mailto:{value}"
    if kind == "web":
        return value if value.startswith(("https://", "http://")) else None
    if kind == "phone":
        digits = "".join(ch for ch in value if ch in _PHONE_CHARS)
        return f"tel:{digits}" if digits else None
    return None


def contact(kind: str, value: str | None) -> ChannelItem | None:
    if not value:
        return None
    return ChannelItem(CONTACT_LABEL[kind], value, _href(kind, value))


def party(
    name: Localizable,
    address: PostalAddress | None,
    *,
    email: str | None = None,
    phone: str | None = None,
    fax: str | None = None,
    web: str | None = None,
) -> Party:
    found = (
        contact("email", email),
        contact("phone", phone),
        contact("fax", fax),
        contact("web", web),
    )
    return Party(
        name=name,
        address=address_lines(address) if address is not None else (),
        contacts=tuple(c for c in found if c is not None),
    )


def address_lines(address: PostalAddress) -> tuple[Localizable, ...]:
    return (address.street, f"{address.postal_code} {address.city}", Country(address.country))


def channel_item(
    d: Declaration, kind: ChannelKind, address: str | None, note: Text | None
) -> ChannelItem:
    """A rights channel; without an address the controller's own contact is used."""
    contacts = d.controller.contacts
    value: Localizable = address
    if not address:
        fallback: dict[ChannelKind, Localizable] = {
            ChannelKind.EMAIL: str(contacts.email),
            ChannelKind.PHONE: contacts.phone,
            ChannelKind.FAX: contacts.fax,
            ChannelKind.WEB: contacts.web,
            ChannelKind.POST: (d.controller.name, *address_lines(d.controller.address)),
            ChannelKind.LINK_IN_MESSAGE: None,
        }
        value = fallback[kind]
    href_kind = {ChannelKind.EMAIL: "email", ChannelKind.WEB: "web", ChannelKind.PHONE: "phone"}
    return ChannelItem(CHANNEL[kind], value, _href(href_kind.get(kind, ""), value), note)


def recipient_item(
    d: Declaration, r: Recipient, category: Callable[[str], CategoryItem]
) -> RecipientItem:
    return RecipientItem(
        id=r.id,
        name=r.name,
        role=ROLE[r.role],
        country=Country(r.country),
        service=r.service,
        address=address_lines(r.address) if r.address else (),
        categories=tuple(category(k) for k in r.categories),
        purposes=tuple(p.name for p in d.purposes if r.id in p.recipients),
        joint_arrangement=r.joint_arrangement,
        sells_or_shares=r.sells_or_shares,
    )


def transfer_items(r: Recipient) -> tuple[TransferItem, ...]:
    return tuple(_transfer(r, t) for t in r.transfers)


def _transfer(r: Recipient, t: Transfer) -> TransferItem:
    if t.safeguard is None:
        safeguard = NO_SAFEGUARD
    elif t.safeguard is Safeguard.SCC and t.scc_module is not None:
        safeguard = scc_module(t.scc_module)
    else:
        safeguard = SAFEGUARD[t.safeguard]
    if t.safeguard is Safeguard.ADEQUACY:
        adequacy = ADEQUACY_EXISTS
    elif t.safeguard is Safeguard.DATA_PRIVACY_FRAMEWORK:
        adequacy = ADEQUACY_DPF
    else:
        adequacy = ADEQUACY_NOT_RELIED_ON
    copy: Localizable
    if t.copy_available is not None:
        copy = t.copy_available
    elif t.safeguard in _ADEQUATE:
        copy = COPY_PUBLISHED
    elif t.safeguard in (Safeguard.SCC, Safeguard.BCR):
        copy = COPY_ON_REQUEST
    else:
        copy = None
    return TransferItem(
        recipient=r.name,
        country=Country(t.country),
        safeguard=safeguard,
        adequacy=adequacy,
        copy=copy,
        derogation=t.derogation,
    )


def needs_consent(cookie: Cookie) -> bool:
    if cookie.consent_required is not None:
        return cookie.consent_required
    return cookie.category.value != "necessary"


def cookie_item(d: Declaration, c: Cookie) -> CookieItem:
    provider = d.recipient(c.provider) if c.provider else None
    purpose = d.purpose(c.purpose) if c.purpose else None
    return CookieItem(
        name=c.name,
        provider=provider.name if provider is not None else (c.provider or d.controller.name),
        category=COOKIE_CATEGORY[c.category],
        party=PARTY[c.party],
        storage=STORAGE[c.storage],
        lifetime=SESSION_LIFETIME if c.lifetime == "session" else c.lifetime,
        purpose=purpose.name if purpose is not None else None,
        description=c.description,
        consent_required=needs_consent(c),
    )


def decision_item(d: Declaration, a: AutomatedDecision) -> DecisionItem:
    return DecisionItem(
        id=a.id,
        purposes=tuple(p.name for pid in a.purposes if (p := d.purpose(pid)) is not None),
        logic=a.logic,
        significance=a.significance,
        consequences=a.consequences,
        profiling=a.profiling,
    )
