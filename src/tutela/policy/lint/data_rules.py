"""Rules on the data named: taxonomy keys, declared categories, card numbers, sensitive data."""

from __future__ import annotations

from tutela.policy.lint.context import LintContext, listing
from tutela.policy.models import Purpose, RecipientRole

# Promise P22: sensitive data kept longer than this need a statutory hold to justify it.
SENSITIVE_MAX_DAYS = 366


def check(ctx: LintContext) -> None:
    _declared_categories(ctx)
    _category_references(ctx)
    for path, purpose in ctx.purposes():
        _use(ctx, path, purpose)
        _subjects(ctx, path, purpose)
        _sensitive_retention(ctx, path, purpose)


def _nearest(keys: list[str]) -> str:
    return f"nearest known keys: {listing(keys)}" if keys else "no similar key is known"


def _declared_categories(ctx: LintContext) -> None:
    declaration = ctx.declaration
    vocabulary = ctx.vocabulary
    used = {key for purpose in declaration.purposes for key in purpose.categories.all()}
    known = ctx.recipient_ids()
    for index, category in enumerate(declaration.data_categories):
        path = f"data_categories[{index}]"
        key = category.key
        custom = vocabulary.is_custom(key)
        entry = None if custom else vocabulary.category(key)
        if custom and category.description is None:
            ctx.report(
                "category.custom-undescribed",
                f"{path}.description",
                f"The custom data category '{key}' has no description, so the statement "
                "cannot say what it is.",
                "Add description with a German and an English text.",
            )
        if not custom and entry is None:
            ctx.report(
                "category.unknown-key",
                f"{path}.key",
                f"The data category '{key}' is not in the taxonomy "
                f"({_nearest(vocabulary.nearest_categories(key))}).",
                "Use a taxonomy key, or prefix a custom key with x_ and describe it.",
            )
        if category.special is False and any(e.special for e in ctx.taxonomy_lineage(key)):
            ctx.report(
                "category.special-downgraded",
                f"{path}.special",
                f"The data category '{key}' is a special category in the taxonomy but is "
                "declared with special: false.",
                "Remove special: false unless you are sure these data reveal nothing "
                "covered by Art. 9 (health, beliefs, biometrics, …).",
            )
        if key not in used:
            ctx.report(
                "category.unused",
                path,
                f"The data category '{key}' is declared but no purpose uses it.",
                "Add it to the purpose that processes it, or remove it.",
            )
        for position, holder in enumerate(category.held_by):
            if holder not in known:
                ctx.report(
                    "ref.unknown-recipient",
                    f"{path}.held_by[{position}]",
                    f"The data category '{key}' is said to be held by '{holder}', which is "
                    "not a declared recipient.",
                    "Declare the recipient under recipients, or correct the id.",
                )
        if entry is not None and any(e.pan for e in ctx.taxonomy_lineage(key)):
            _card_numbers(ctx, path, category.key, category.held_by)


def _card_numbers(ctx: LintContext, path: str, key: str, held_by: list[str]) -> None:
    declaration = ctx.declaration
    roles = {r.id: r.role for r in declaration.recipients}
    others = [h for h in held_by if h in roles and roles[h] is not RecipientRole.PROCESSOR]
    if held_by and not others:
        return
    where = f"'{others[0]}', which is not a processor" if others else "the controller itself"
    ctx.report(
        "category.pan-stored",
        f"{path}.held_by",
        f"Card numbers ('{key}') would be held by {where}.",
        "Leave card capture to a PCI DSS validated payment processor and list it in "
        "held_by; keep only its token, the card brand and the last four digits.",
    )


def _category_references(ctx: LintContext) -> None:
    declaration = ctx.declaration
    declared = {category.key for category in declaration.data_categories}
    hint = "Declare the key under data_categories, or correct it."
    for path, purpose in ctx.purposes():
        for group in ("required", "optional"):
            keys: list[str] = getattr(purpose.categories, group)
            for position, key in enumerate(keys):
                if key not in declared:
                    ctx.report(
                        "category.undeclared",
                        f"{path}.categories.{group}[{position}]",
                        f"The purpose '{purpose.id}' uses the data category '{key}', which "
                        "is not declared under data_categories.",
                        hint,
                    )
    for index, recipient in enumerate(declaration.recipients):
        for position, key in enumerate(recipient.categories):
            if key not in declared:
                ctx.report(
                    "category.undeclared",
                    f"recipients[{index}].categories[{position}]",
                    f"The recipient '{recipient.id}' receives the data category '{key}', which "
                    "is not declared under data_categories.",
                    hint,
                )


def _use(ctx: LintContext, path: str, purpose: Purpose) -> None:
    vocabulary = ctx.vocabulary
    key = purpose.data_use
    if vocabulary.is_custom(key) or vocabulary.use(key) is not None:
        return
    ctx.report(
        "use.unknown-key",
        f"{path}.data_use",
        f"The purpose '{purpose.id}' has the data use '{key}', which is not in the taxonomy "
        f"({_nearest(vocabulary.nearest_uses(key))}).",
        "Use a taxonomy data use, or a custom key starting with x_.",
    )


def _subjects(ctx: LintContext, path: str, purpose: Purpose) -> None:
    vocabulary = ctx.vocabulary
    for position, key in enumerate(purpose.subjects):
        if vocabulary.is_custom(key) or vocabulary.subject(key) is not None:
            continue
        ctx.report(
            "subject.unknown-key",
            f"{path}.subjects[{position}]",
            f"The purpose '{purpose.id}' names the data subject '{key}', which is not in the "
            f"taxonomy ({_nearest(vocabulary.nearest_subjects(key))}).",
            "Use a taxonomy data subject, or a custom key starting with x_.",
        )


def _sensitive_retention(ctx: LintContext, path: str, purpose: Purpose) -> None:
    retention = purpose.retention
    if retention is None or retention.statutory is not None:
        return
    if retention.period is None and retention.criteria is None:
        return  # purpose.retention-missing already reports it
    sensitive = [key for key in purpose.categories.all() if ctx.is_sensitive(key)]
    if not sensitive:
        return
    period = retention.period
    if period is not None and period.approx_days() <= SENSITIVE_MAX_DAYS:
        return
    length = f"for {period.words('en')}" if period is not None else "without a fixed limit"
    ctx.report(
        "sensitive.long-retention",
        f"{path}.retention.period" if period is not None else f"{path}.retention",
        f"The purpose '{purpose.id}' keeps sensitive data ({listing(sensitive)}) {length}.",
        "Keep identity documents, recordings and special categories for at most a year "
        "(delete an ID copy right after checking it), or name the statutory hold that "
        "requires longer.",
    )
