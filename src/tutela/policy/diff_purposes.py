"""Diff of the purposes: why data are processed, on which basis, which data, how long, to whom."""

from __future__ import annotations

from tutela.policy import diff_terms as terms
from tutela.policy.diff_compare import Comparison, gained, join, same, text
from tutela.policy.diff_text import Phrase
from tutela.policy.models import Purpose, Retention


def retention_longer(old: Retention | None, new: Retention | None) -> bool:
    """Whether ``new`` may keep data longer than ``old``; what cannot be compared counts."""
    if old is None or new is None or old.after != new.after:
        return True
    if (old.period is None) != (new.period is None):
        return True
    if old.period and new.period and new.period.approx_days() > old.period.approx_days():
        return True
    if new.statutory is not None and (
        old.statutory is None
        or new.statutory.period.approx_days() > old.statutory.period.approx_days()
    ):
        return True
    return new.period is None and new.statutory is None and old.criteria != new.criteria


def purpose(c: Comparison, pid: str, old: Purpose | None, new: Purpose | None) -> None:
    """Compare one purpose (matched by id)."""
    path, ident = f"purposes[{pid}]", same(pid)
    if new is None:
        if old is not None:
            c.add("purpose.removed", path, False, name=text(old.name), id=ident)
        return
    ctx = {"name": text(new.name), "id": ident}
    if old is None:
        c.add("purpose.added", path, True, basis_on=terms.BASIS_ON[new.legal_basis], **ctx)
        return
    _identity(c, path, old, new, ctx)
    _data(c, path, old, new, ctx)
    _rules(c, path, old, new, ctx)


def _identity(c: Comparison, path: str, old: Purpose, new: Purpose, ctx: dict[str, Phrase]) -> None:
    c.value("purpose.renamed", f"{path}.name", (old.name, new.name), text, False, id=ctx["id"])
    if old.description != new.description:
        c.add("purpose.description-changed", f"{path}.description", False, **ctx)
    uses = (old.data_use, new.data_use)
    c.value("purpose.data-use-changed", f"{path}.data_use", uses, c.use, **ctx)
    bases = (old.legal_basis, new.legal_basis)
    c.value("purpose.legal-basis-changed", f"{path}.legal_basis", bases, terms.basis, **ctx)
    if old.legitimate_interest != new.legitimate_interest:
        at = f"{path}.legitimate_interest"
        c.add("purpose.legitimate-interest-changed", at, False, **ctx)
    grounds = (old.special_category_ground, new.special_category_ground)
    at = f"{path}.special_category_ground"
    c.value("purpose.special-ground-changed", at, grounds, terms.ground, **ctx)
    subjects = (old.subjects, new.subjects)
    c.sets("purpose.subjects", f"{path}.subjects", subjects, c.subject, "list", **ctx)


def _data(c: Comparison, path: str, old: Purpose, new: Purpose, ctx: dict[str, Phrase]) -> None:
    oc, nc, at = old.categories, new.categories, f"{path}.categories"
    c.sets("purpose.categories", at, (oc.all(), nc.all()), c.category, "list", **ctx)
    for kind, keys, material in (
        ("purpose.categories-now-required", gained(oc.required, nc.required), True),
        ("purpose.categories-now-optional", gained(oc.optional, nc.optional), False),
    ):
        moved = [key for key in keys if key in oc.all()]
        if moved:
            c.add(kind, at, material, list=join(c.category(key) for key in moved), **ctx)
    if old.source.kind != new.source.kind:
        kinds = (old.source.kind, new.source.kind)
        c.value(
            "purpose.source-changed", f"{path}.source", kinds, terms.source, True, "kind", **ctx
        )
    elif old.source != new.source:
        c.add("purpose.source-changed", f"{path}.source", False, "description", **ctx)
    if old.retention != new.retention:
        longer = retention_longer(old.retention, new.retention)
        periods = (old.retention, new.retention)
        at = f"{path}.retention"
        c.value("purpose.retention-changed", at, periods, terms.retention, longer, **ctx)
    recipients = (old.recipients, new.recipients)
    at = f"{path}.recipients"
    c.sets("purpose.recipients", at, recipients, c.recipient_name, "names", **ctx)


def _rules(c: Comparison, path: str, old: Purpose, new: Purpose, ctx: dict[str, Phrase]) -> None:
    needs = (
        old.provision.requirement if old.provision else None,
        new.provision.requirement if new.provision else None,
    )
    at = f"{path}.provision"
    if needs[0] != needs[1]:
        c.value(
            "purpose.provision-changed", at, needs, terms.requirement, True, "requirement", **ctx
        )
    elif old.provision != new.provision:
        c.add("purpose.provision-changed", at, False, "consequences", **ctx)
    marketing = (old.is_direct_marketing, new.is_direct_marketing)
    at = f"{path}.direct_marketing"
    c.toggle("purpose.direct-marketing-changed", at, marketing, material_on=True, **ctx)
    soft = (old.soft_opt_in, new.soft_opt_in)
    c.toggle("purpose.soft-opt-in-changed", f"{path}.soft_opt_in", soft, material_on=True, **ctx)
    if old.objection_channels != new.objection_channels:
        listed = join(terms.CHANNEL[kind] for kind in new.objection_channels)
        at = f"{path}.objection_channels"
        c.add("purpose.objection-channels-changed", at, False, list=listed, **ctx)
