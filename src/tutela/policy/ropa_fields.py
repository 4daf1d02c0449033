"""The fields of one entry of the record of processing activities, Art. 30(1)(a)–(g).

:func:`shared_fields` builds what every entry repeats (controller, representative,
data protection officer); :func:`purpose_fields` builds the rest for one purpose.
Each builder returns a :class:`~tutela.policy.ropa_texts.RecordField` that is
declared, not applicable or missing, and never empty.
"""

from __future__ import annotations

from typing import Final

from tutela.i18n import format_date
from tutela.policy.lint.geography import in_eea
from tutela.policy.models import (
    Declaration,
    Person,
    PostalAddress,
    Purpose,
    Recipient,
    Transfer,
)
from tutela.policy.ropa_texts import BASIS, ROLE, RecordField, Status, Words
from tutela.policy.statement_parts import CategoryItem, PurposeItem
from tutela.policy.statement_phrases import (
    CONTACT_LABEL,
    SAFEGUARD,
    SESSION_LIFETIME,
    SPECIAL_GROUND,
    Country,
    basis_article,
    scc_module,
)
from tutela.policy.statement_view import retention_lines
from tutela.policy.taxonomy import load_taxonomy
from tutela.policy.terms import LegalBasis, RecipientRole, Safeguard

__all__ = ["purpose_fields", "shared_fields"]

Shared = tuple[RecordField, RecordField, RecordField]
_VALID_SAFEGUARDS: Final = frozenset(SAFEGUARD) - {Safeguard.SAFE_HARBOR, Safeguard.PRIVACY_SHIELD}


def shared_fields(d: Declaration, say: Words) -> Shared:
    """Controller, representative and DPO: the same in every entry."""
    return _controller(d, say), _representative(d, say), _dpo(d, say)


def purpose_fields(
    d: Declaration, say: Words, *, purpose: Purpose, item: PurposeItem, index: int, shared: Shared
) -> tuple[RecordField, ...]:
    """Every field of the entry of ``purpose`` (``item`` is its statement view), in order."""
    controller, representative, dpo = shared
    known, unknown = _recipients_of(d, purpose)
    return (
        controller,
        _joint_controllers(say, known),
        representative,
        dpo,
        say.field("purposes", (say.local(purpose.name), say.local(purpose.description))),
        _legal_basis(say, purpose, index),
        _subjects(say, purpose, index),
        _categories(d, say, item, index),
        _recipients(say, known, unknown),
        _transfers(say, known),
        _erasure(d, say, purpose, index),
        _security(d, say),
    )


# --- Art. 30(1)(a): controller, joint controllers, representative, DPO ------------------------


def _address(say: Words, address: PostalAddress | None) -> list[str]:
    if address is None:
        return []
    return [
        address.street,
        f"{address.postal_code} {address.city}",
        say.local(Country(address.country)),
    ]


def _contacts(say: Words, **values: object | None) -> list[str]:
    return [f"{say.local(CONTACT_LABEL[kind])}: {value}" for kind, value in values.items() if value]


def _person(say: Words, person: Person) -> list[str]:
    contacts = _contacts(say, email=person.email, phone=person.phone)
    return [person.name, *contacts, *_address(say, person.address)]


def _controller(d: Declaration, say: Words) -> RecordField:
    c = d.controller
    contacts = _contacts(
        say, email=c.contacts.email, phone=c.contacts.phone, fax=c.contacts.fax, web=c.contacts.web
    )
    return say.field("controller", [c.name, *_address(say, c.address), *contacts])


def _representative(d: Declaration, say: Words) -> RecordField:
    person = d.controller.representative
    if person is not None:
        return say.field("representative", _person(say, person))
    if in_eea(d.controller.address.country):
        return say.field("representative", [say("rep_not_needed")], Status.NOT_APPLICABLE)
    return say.field("representative", [say("rep_missing")], Status.MISSING)


def _dpo(d: Declaration, say: Words) -> RecordField:
    dpo = d.dpo
    if dpo is None:
        return say.field("dpo", [say("dpo_missing")], Status.MISSING)
    lines = [dpo.name]
    if dpo.external:
        lines.append(
            say("dpo_external_at", organisation=dpo.organisation)
            if dpo.organisation
            else say("dpo_external")
        )
    if dpo.email is None and dpo.phone is None and dpo.address is None:
        return say.field("dpo", [*lines, say("dpo_no_contact")], Status.MISSING)
    lines.extend(_person(say, dpo)[1:])
    return say.field("dpo", lines)


def _joint_controllers(say: Words, known: list[tuple[int, Recipient]]) -> RecordField:
    joint = [(i, r) for i, r in known if r.role is RecipientRole.JOINT_CONTROLLER]
    if not joint:
        return say.field("joint_controllers", [say("joint_none")], Status.NOT_APPLICABLE)
    lines: list[str] = []
    status = Status.DECLARED
    for index, r in joint:
        lines.append(r.name)
        if r.address is None:
            lines.append(say("joint_no_contact", name=r.name, path=f"recipients[{index}].address"))
            status = Status.MISSING
        else:
            lines.extend(_address(say, r.address))
        if r.joint_arrangement is not None:
            lines.append(say("joint_arrangement", text=say.local(r.joint_arrangement)))
    return say.field("joint_controllers", lines, status)


# --- Art. 30(1)(b), (c) and the legal basis ----------------------------------------------------


def _legal_basis(say: Words, p: Purpose, index: int) -> RecordField:
    lines = [f"{say(BASIS[p.legal_basis])} ({say.local(basis_article(p.legal_basis))})"]
    status = Status.DECLARED
    if p.legitimate_interest is not None:
        lines.append(say("interest", text=say.local(p.legitimate_interest)))
    elif p.legal_basis is LegalBasis.LEGITIMATE_INTERESTS:
        lines.append(say("interest_missing", path=f"purposes[{index}].legitimate_interest"))
        status = Status.MISSING
    if p.soft_opt_in:
        lines.append(say("soft_opt_in"))
    if p.special_category_ground is not None:
        lines.append(say("special_ground", letter=SPECIAL_GROUND[p.special_category_ground][0]))
    return say.field("legal_basis", lines, status)


def _subjects(say: Words, p: Purpose, index: int) -> RecordField:
    taxonomy = load_taxonomy()
    names = []
    for key in p.subjects:
        entry = taxonomy.subject(key)
        names.append(say.local(entry.name) if entry is not None else key)
    if not names:
        path = f"purposes[{index}].subjects"
        return say.field("data_subjects", [say("subjects_missing", path=path)], Status.MISSING)
    return say.field("data_subjects", names)


def _categories(d: Declaration, say: Words, item: PurposeItem, index: int) -> RecordField:
    lines = [_category_line(d, say, category) for category in item.categories]
    if not lines:
        path = f"purposes[{index}].categories"
        return say.field("data_categories", [say("categories_missing", path=path)], Status.MISSING)
    return say.field("data_categories", lines)


def _category_line(d: Declaration, say: Words, category: CategoryItem) -> str:
    notes = []
    if not category.required:
        notes.append(say("optional"))
    own = d.category(category.key)
    declared = own.special if own is not None else None
    if load_taxonomy().is_special(category.key) if declared is None else declared:
        notes.append(say("special"))
    name = say.local(category.name)
    return f"{name} ({'; '.join(notes)})" if notes else name


# --- Art. 30(1)(d), (e): recipients and transfers ---------------------------------------------


def _recipients_of(d: Declaration, p: Purpose) -> tuple[list[tuple[int, Recipient]], list[str]]:
    """The purpose's recipients, those holding its categories and its cookies' providers."""
    ids = list(p.recipients)
    for key in p.categories.all():
        category = d.category(key)
        ids.extend(category.held_by if category is not None else ())
    ids.extend(c.provider for c in d.cookies if c.purpose == p.id and c.provider)
    positions = {r.id: i for i, r in enumerate(d.recipients)}
    known: list[tuple[int, Recipient]] = []
    unknown: list[str] = []
    for rid in dict.fromkeys(ids):
        if rid in positions:
            known.append((positions[rid], d.recipients[positions[rid]]))
        else:
            unknown.append(rid)
    return known, unknown


def _country(say: Words, code: str) -> str:
    name = say.local(Country(code))
    return name if in_eea(code) else f"{name}, {say('third_country')}"


def _recipients(say: Words, known: list[tuple[int, Recipient]], unknown: list[str]) -> RecordField:
    lines = [
        f"{say(ROLE[r.role])}: {r.name} ({_country(say, r.country)}) – {say.local(r.service)}"
        for _, r in known
    ]
    lines.extend(say("recipient_unknown", id=rid) for rid in unknown)
    if not lines:
        return say.field("recipients", [say("recipients_none")], Status.NOT_APPLICABLE)
    return say.field("recipients", lines, Status.MISSING if unknown else Status.DECLARED)


def _transfers(say: Words, known: list[tuple[int, Recipient]]) -> RecordField:
    lines: list[str] = []
    missing = False
    for index, r in known:
        for position, transfer in enumerate(r.transfers):
            found, gap = _transfer(say, r, transfer, f"recipients[{index}].transfers[{position}]")
            lines.extend(found)
            missing = missing or gap
        if not in_eea(r.country) and r.country not in {t.country for t in r.transfers}:
            country = say.local(Country(r.country))
            path = f"recipients[{index}].transfers"
            lines.append(say("transfer_undeclared", name=r.name, country=country, path=path))
            missing = True
    if not lines:
        return say.field("transfers", [say("transfers_none")], Status.NOT_APPLICABLE)
    return say.field("transfers", lines, Status.MISSING if missing else Status.DECLARED)


def _transfer(say: Words, r: Recipient, t: Transfer, path: str) -> tuple[list[str], bool]:
    """The lines on one transfer: country and safeguard, then its documentation."""
    head = f"{r.name} ({_country(say, t.country)})"
    if t.safeguard is None or t.safeguard not in _VALID_SAFEGUARDS:
        return [say("transfer_no_safeguard", head=head, path=f"{path}.safeguard")], True
    if t.safeguard is Safeguard.SCC and t.scc_module is not None:
        safeguard = say.local(scc_module(t.scc_module))
    else:
        safeguard = say.local(SAFEGUARD[t.safeguard])
    lines = [f"{head}: {safeguard}"]
    missing = False
    if t.safeguard is Safeguard.DATA_PRIVACY_FRAMEWORK:
        if t.dpf_certified and t.dpf_list_checked_at is not None:
            lines.append(say("dpf_checked", date=format_date(t.dpf_list_checked_at, say.language)))
        else:
            lines.append(say("dpf_unconfirmed", path=path))
            missing = True
    if t.derogation is not None:
        lines.append(say("derogation", text=say.local(t.derogation)))
    elif t.safeguard is Safeguard.DEROGATION:
        lines.append(say("derogation_missing", path=f"{path}.derogation"))
        missing = True
    if t.copy_available is not None:
        lines.append(say("copy", text=say.local(t.copy_available)))
    return lines, missing


# --- Art. 30(1)(f), (g): erasure and security --------------------------------------------------


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _erasure(d: Declaration, say: Words, p: Purpose, index: int) -> RecordField:
    cookies = [
        say(
            "cookie_lifetime",
            name=c.name,
            lifetime=say.local(SESSION_LIFETIME if c.lifetime == "session" else c.lifetime),
        )
        for c in d.cookies
        if c.purpose == p.id
    ]
    r = p.retention
    if r is None or (r.period is None and r.statutory is None and r.criteria is None):
        missing = say("retention_missing", path=f"purposes[{index}].retention")
        return say.field("erasure", [missing, *cookies], Status.MISSING)
    lines = [_capitalised(say.local(line)) for line in retention_lines(r)]
    return say.field("erasure", [*lines, say("retention_scope"), *cookies])


def _security(d: Declaration, say: Words) -> RecordField:
    if d.security_measures is None:
        return say.field("security", [say("security_missing")], Status.MISSING)
    return say.field("security", [say.local(d.security_measures)])
