"""The statement as a language- and format-neutral view of one declaration.

:func:`build_view` turns a :class:`~tutela.policy.models.Declaration` into plain
frozen dataclasses whose texts are still :class:`Text`, :class:`Phrase`, durations
and countries. The templates only lay the view out; the same view yields the
German and the English statement, so both always list the same purposes,
recipients, transfers and periods (law.md S-lang).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tutela.policy.models import (
    ChannelKind,
    Declaration,
    LegalBasis,
    Person,
    Purpose,
    Retention,
    Right,
    SourceKind,
    Text,
)
from tutela.policy.statement_parts import (
    CategoryItem,
    ChannelItem,
    CookieItem,
    DecisionItem,
    Party,
    ProvisionItem,
    PurposeItem,
    RecipientItem,
    RightItem,
    Section,
    SourceItem,
    TransferItem,
    channel_item,
    cookie_item,
    decision_item,
    needs_consent,
    party,
    recipient_item,
    transfer_items,
)
from tutela.policy.statement_phrases import (
    BASIS_LABEL,
    PROVISION,
    RETENTION_UNSPECIFIED,
    RIGHT_ARTICLE,
    RIGHT_TITLE,
    SOURCE,
    Localizable,
    Phrase,
    basis_article,
    retention_after,
    special_ground,
    statutory_retention,
)

CategoryNames = Callable[[str], tuple[Localizable, Localizable]]

_OBJECTABLE = (LegalBasis.PUBLIC_TASK, LegalBasis.LEGITIMATE_INTERESTS)
_GDPR_RIGHTS = (
    Right.ACCESS,
    Right.RECTIFICATION,
    Right.ERASURE,
    Right.RESTRICTION,
    Right.PORTABILITY,
    Right.OBJECTION,
    Right.WITHDRAWAL,
)
SECTION_TITLES = {
    "controller": Phrase("Who is responsible"),
    "dpo": Phrase("Data protection officer"),
    "data": Phrase("Data we process"),
    "purposes": Phrase("Purposes and legal bases"),
    "sources": Phrase("Data we do not collect from you"),
    "recipients": Phrase("Recipients"),
    "transfers": Phrase("Transfers to third countries"),
    "retention": Phrase("How long we keep data"),
    "provision": Phrase("Whether you must provide data"),
    "cookies": Phrase("Cookies and similar technologies"),
    "automated": Phrase("Automated decisions"),
    "rights": Phrase("Your rights"),
    "withdrawal": Phrase("Withdrawing your consent"),
    "objection": Phrase("Your right to object"),
    "complaint": Phrase("Right to lodge a complaint"),
    "us": Phrase("Notice for California residents"),
    "security": Phrase("Security of your data"),
    "changes": Phrase("Changes to this statement"),
}


@dataclass(frozen=True, slots=True)
class UsView:
    """What the CCPA asks a privacy policy to say (law.md S-us)."""

    categories: tuple[CategoryItem, ...]
    retention: tuple[tuple[CategoryItem, tuple[Localizable, ...]], ...]
    sells: bool
    shares: bool
    sold_to: tuple[str, ...]
    honours_gpc: bool
    response_days: int
    contact: Text | None
    opt_out_channels: tuple[ChannelItem, ...]


@dataclass(frozen=True, slots=True)
class StatementView:
    title: Localizable
    controller: Party
    managing_directors: tuple[str, ...]
    commercial_register: str | None
    vat_id: str | None
    representative: Party | None
    dpo: Party | None
    dpo_organisation: str | None
    authority: Party
    categories: tuple[CategoryItem, ...]
    purposes: tuple[PurposeItem, ...]
    recipients: tuple[RecipientItem, ...]
    transfers: tuple[TransferItem, ...]
    cookies: tuple[CookieItem, ...]
    rights: tuple[RightItem, ...]
    consent_purposes: tuple[PurposeItem, ...]
    withdrawal_channels: tuple[ChannelItem, ...]
    objectable_purposes: tuple[PurposeItem, ...]
    marketing_purposes: tuple[PurposeItem, ...]
    objection_channels: tuple[ChannelItem, ...]
    decisions: tuple[DecisionItem, ...]
    indirect_purposes: tuple[PurposeItem, ...]
    us: UsView | None
    security: Text | None
    notice_days: int
    notice_unit: str
    notify_subjects: bool
    sections: tuple[Section, ...]

    def section(self, anchor: str) -> Section | None:
        return next((s for s in self.sections if s.anchor == anchor), None)


def build_view(declaration: Declaration, *, category_names: CategoryNames) -> StatementView:
    """The language-neutral view; ``category_names(key)`` gives a category's name and text."""
    d = declaration
    categories = {c.key: _category(d, c.key, category_names) for c in d.data_categories}

    def category(key: str, *, required: bool = False) -> CategoryItem:
        item = categories.get(key) or _category(d, key, category_names)
        return CategoryItem(item.key, item.name, item.description, required)

    purposes = tuple(_purpose(d, p, category) for p in d.purposes)
    recipients = tuple(recipient_item(d, r, category) for r in d.recipients)
    rights = tuple(_right(d, r) for r in _rights_shown(d))
    objection = _channels_for(d, Right.OBJECTION)
    consent = tuple(p for p in purposes if p.basis_key == LegalBasis.CONSENT.value)
    cookies = tuple(cookie_item(d, c) for c in d.cookies)
    view_parts = {
        "controller": True,
        "dpo": d.dpo is not None,
        "data": True,
        "purposes": True,
        "sources": any(p.source is not None for p in purposes),
        "recipients": bool(recipients),
        "transfers": True,
        "retention": True,
        "provision": any(p.provision is not None for p in purposes),
        "cookies": bool(cookies),
        "automated": True,
        "rights": True,
        "withdrawal": bool(consent) or any(needs_consent(c) for c in d.cookies),
        "objection": True,
        "complaint": True,
        "us": d.us_privacy.applies,
        "security": d.security_measures is not None,
        "changes": True,
    }
    shown = [anchor for anchor, present in view_parts.items() if present]
    sections = tuple(
        Section(anchor, number, SECTION_TITLES[anchor]) for number, anchor in enumerate(shown, 1)
    )
    return StatementView(
        title=d.title or Phrase("Privacy statement"),
        controller=party(
            d.controller.name,
            d.controller.address,
            email=str(d.controller.contacts.email),
            phone=d.controller.contacts.phone,
            fax=d.controller.contacts.fax,
            web=d.controller.contacts.web,
        ),
        managing_directors=tuple(d.controller.managing_directors),
        commercial_register=d.controller.commercial_register,
        vat_id=d.controller.vat_id,
        representative=_person(d.controller.representative),
        dpo=_person(d.dpo),
        dpo_organisation=(d.dpo.organisation if d.dpo and d.dpo.external else None),
        authority=party(
            d.supervisory_authority.name,
            d.supervisory_authority.address,
            email=_opt(d.supervisory_authority.email),
            phone=d.supervisory_authority.phone,
            web=d.supervisory_authority.web,
        ),
        categories=tuple(categories.values()),
        purposes=purposes,
        recipients=recipients,
        transfers=tuple(t for r in d.recipients for t in transfer_items(r)),
        cookies=cookies,
        rights=rights,
        consent_purposes=consent,
        withdrawal_channels=_channels_for(d, Right.WITHDRAWAL),
        objectable_purposes=tuple(p for p in purposes if p.objectable),
        marketing_purposes=tuple(p for p in purposes if p.direct_marketing),
        objection_channels=objection,
        decisions=tuple(decision_item(d, a) for a in d.automated_decisions),
        indirect_purposes=tuple(p for p in purposes if p.source is not None),
        us=_us(d, categories, purposes) if d.us_privacy.applies else None,
        security=d.security_measures,
        notice_days=d.change_notice.days,
        notice_unit=d.change_notice.unit.value,
        notify_subjects=d.change_notice.notify_subjects,
        sections=sections,
    )


def _opt(value: object | None) -> str | None:
    return None if value is None else str(value)


def _person(person: Person | None) -> Party | None:
    if person is None:
        return None
    return party(person.name, person.address, email=_opt(person.email), phone=person.phone)


def _category(d: Declaration, key: str, names: CategoryNames) -> CategoryItem:
    """Name and text from the taxonomy; the declaration's own name and description win.

    A custom key without a name of its own: its description then serves as the name,
    since a key such as ``x_acme.call_recording`` means nothing to a reader.
    """
    name, description = names(key)
    own = d.category(key)
    if own is not None and own.description is not None:
        description = own.description
    if own is not None and own.name is not None:
        name = own.name
    if name is None:
        if isinstance(description, Text):
            description = Text(de=description.de.rstrip("."), en=description.en.rstrip("."))
        return CategoryItem(key, description or key, None, False)
    return CategoryItem(key, name, description, False)


def _purpose(d: Declaration, p: Purpose, category: Callable[..., CategoryItem]) -> PurposeItem:
    source = None
    if p.source.kind is not SourceKind.SUBJECT:
        source = SourceItem(
            SOURCE[p.source.kind], p.source.description, p.source.kind is SourceKind.PUBLIC
        )
    provision = None
    if p.provision is not None:
        provision = ProvisionItem(PROVISION[p.provision.requirement], p.provision.consequences)
    recipients = tuple(r.name for rid in p.recipients if (r := d.recipient(rid)) is not None)
    return PurposeItem(
        id=p.id,
        name=p.name,
        description=p.description,
        basis_key=p.legal_basis.value,
        basis=BASIS_LABEL[p.legal_basis],
        basis_article=basis_article(p.legal_basis),
        legitimate_interest=p.legitimate_interest,
        soft_opt_in=p.soft_opt_in,
        special_ground=(
            special_ground(p.special_category_ground) if p.special_category_ground else None
        ),
        required=tuple(category(k, required=True) for k in p.categories.required),
        optional=tuple(category(k) for k in p.categories.optional),
        source=source,
        recipients=recipients,
        retention=retention_lines(p.retention),
        provision=provision,
        direct_marketing=p.is_direct_marketing,
        objectable=p.legal_basis in _OBJECTABLE,
        objection_channels=tuple(_channel_of_kind(d, kind) for kind in p.objection_channels),
    )


def retention_lines(retention: Retention | None) -> tuple[Localizable, ...]:
    """Each rule of a retention in words, e.g. "until 30 days after the account is closed"."""
    if retention is None:
        return (RETENTION_UNSPECIFIED,)
    lines: list[Localizable] = []
    if retention.period is not None:
        lines.append(retention_after(retention.after, retention.period))
    if retention.statutory is not None:
        hold = retention.statutory
        lines.append(
            statutory_retention(
                period=hold.period,
                law=hold.law,
                documents=hold.documents,
                from_end_of_year=hold.from_end_of_year,
            )
        )
    if retention.criteria is not None:
        lines.append(retention.criteria)
    return tuple(lines) or (RETENTION_UNSPECIFIED,)


def _rights_shown(d: Declaration) -> tuple[Right, ...]:
    extra = (Right.OPT_OUT_SALE,) if d.us_privacy.applies else ()
    return (*_GDPR_RIGHTS, *extra)


def _right(d: Declaration, right: Right) -> RightItem:
    return RightItem(
        key=right.value,
        title=RIGHT_TITLE[right],
        article=RIGHT_ARTICLE[right],
        channels=_channels_for(d, right),
    )


def _channels_for(d: Declaration, right: Right) -> tuple[ChannelItem, ...]:
    return tuple(
        channel_item(d, c.kind, c.address, c.note) for c in d.rights_channels if right in c.rights
    )


def _channel_of_kind(d: Declaration, kind: ChannelKind) -> ChannelItem:
    declared = next((c for c in d.rights_channels if c.kind is kind), None)
    if declared is not None:
        return channel_item(d, kind, declared.address, declared.note)
    return channel_item(d, kind, None, None)


def _us(
    d: Declaration, categories: dict[str, CategoryItem], purposes: tuple[PurposeItem, ...]
) -> UsView:
    per_category: list[tuple[CategoryItem, tuple[Localizable, ...]]] = []
    for key, item in categories.items():
        lines: list[Localizable] = []
        for purpose, declared in zip(purposes, d.purposes, strict=True):
            if key in declared.categories.all():
                lines.extend(
                    Phrase("%(purpose)s: %(period)s", purpose=purpose.name, period=line)
                    for line in purpose.retention
                )
        if lines:
            per_category.append((item, tuple(lines)))
    us = d.us_privacy
    return UsView(
        categories=tuple(categories.values()),
        retention=tuple(per_category),
        sells=us.sells,
        shares=us.shares,
        sold_to=tuple(r.name for r in d.recipients if r.sells_or_shares),
        honours_gpc=us.honours_gpc,
        response_days=us.response_days,
        contact=us.contact,
        opt_out_channels=_channels_for(d, Right.OPT_OUT_SALE),
    )
