"""Which new values of a rectification Tutela may set by itself (V-3, V-5).

Intake only guesses from a reference's words whether it is contact data
(:func:`tutela.dsr.changes.scope_for_changes`); it must not look into the stores.
Before the stores are changed, :func:`screen_changes` resolves every reference
against the dataset of every connected store — ``table.column`` to that field,
a data category to itself and to the fields declared with it — and sorts it:

* **refused** — never set by a request: a field the deny-list keeps out of
  access copies (passwords, tokens, MFA seeds, security answers, government
  numbers: :func:`tutela.connectors.denylist.secret_reason`), and fields that
  identify or link records and are not contact data (customer numbers, logins,
  primary keys, references between tables). Staff see the reason, never the value.
* **waiting for staff** — contact data (a ``user.contact`` category, or an
  identity field such as the email address) on a request whose scope is not
  ``contact_data``: the old address was not alerted and no grace period ran, so
  nothing is changed until staff confirm it.
* **applied** — everything else, and contact data on a ``contact_data`` request.

A ``table.column`` that no dataset declares (a store without a dataset, such as
a webhook or a manual store, may still know it) is judged by its name alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from tutela.connectors import Connector
from tutela.connectors.dataset import Dataset, FieldSpec, TableSpec
from tutela.connectors.denylist import secret_reason, verdict
from tutela.connectors.identities import CONTACT_KINDS, is_contact_category
from tutela.dsr.changes import looks_like_contact, words_of
from tutela.dsr.terms import Scope, parse_scope

__all__ = ["CONTACT_KINDS", "WAITING", "Screened", "maps", "screen_changes"]

IDENTIFIER_CATEGORIES: Final = ("user.unique_id", "user.account.username")
"""Categories of numbers and names that identify an account; a request never sets them."""
TAXONOMY_ROOTS: Final = frozenset({"user", "system"})
"""First parts of a data category; any other undeclared reference is a ``table.column``."""
KEY_WORDS: Final = frozenset(
    {"id", "uuid", "guid", "login", "username", "userid", "customerid", "kundennummer", "kundennr"}
)
"""Words of an undeclared column name that say it identifies or links records."""
WAITING: Final = "a change of contact data needs the alert to the old address; staff confirm it"
_BY_HAND: Final = "a request never changes it; staff correct it by hand if it is wrong"


@dataclass(frozen=True, slots=True)
class Screened:
    """The changes sorted by :func:`screen_changes` (references and reasons, never values)."""

    apply: dict[str, str] = field(default_factory=dict)
    """The changes the stores may set now."""
    refused: list[tuple[str, str]] = field(default_factory=list)
    """``(reference, why)`` of every change a request may never make."""
    needs_alert: list[str] = field(default_factory=list)
    """Contact-data changes left for staff: the old address was not alerted."""

    def held(self) -> list[str]:
        """One line per change not applied, for the request's open items (staff see them)."""
        return [f"{ref}: refused: {why}" for ref, why in self.refused] + [
            f"{ref}: {WAITING}" for ref in self.needs_alert
        ]


@dataclass(frozen=True, slots=True)
class _Judged:
    contact: bool
    refusal: str | None = None


def _in(category: str, roots: Iterable[str]) -> bool:
    return any(category == root or category.startswith(root + ".") for root in roots)


def _is_link(dataset: Dataset, table: str, column: str) -> bool:
    return any(
        (link.source_table, link.source_column) == (table, column)
        or (link.target_table, link.target_column) == (table, column)
        for link in dataset.links
    )


def _field(dataset: Dataset, table: TableSpec, spec: FieldSpec) -> _Judged:
    """What setting one declared field means."""
    contact = spec.identity in CONTACT_KINDS or any(is_contact_category(c) for c in spec.categories)
    withheld = secret_reason(spec.name, spec)
    if withheld is not None:
        why = f"a secret kept out of access copies ({withheld}); it is changed only through "
        return _Judged(contact, why + "the account's own sign-in or by staff")
    masked = verdict(spec.name, spec)
    if masked is not None and masked.mask is not None:  # card numbers, bank accounts
        return _Judged(contact, f"payment details ({masked.reason}); {_BY_HAND}")
    if contact:
        return _Judged(True)
    if spec.identity:
        return _Judged(False, f"it identifies the person's records ({spec.identity}); {_BY_HAND}")
    if _in_any(spec.categories, IDENTIFIER_CATEGORIES):
        return _Judged(False, f"it is an account number or login; {_BY_HAND}")
    if spec.name in table.primary_key or _is_link(dataset, table.name, spec.name):
        return _Judged(False, f"it links records to each other; {_BY_HAND}")
    if spec.name == table.restriction:
        return _Judged(False, f"it marks restricted records; {_BY_HAND}")
    return _Judged(False)


def _in_any(categories: Iterable[str], roots: Sequence[str]) -> bool:
    return any(_in(category, roots) for category in categories)


def _category(reference: str) -> _Judged:
    """What setting a data category means, whatever fields it names."""
    contact = is_contact_category(reference)
    withheld = secret_reason(reference, FieldSpec(name=reference, categories=(reference,)))
    if withheld is not None:
        return _Judged(contact, f"a secret kept out of access copies ({withheld})")
    if _in(reference, IDENTIFIER_CATEGORIES):
        return _Judged(contact, f"it is an account number or login; {_BY_HAND}")
    return _Judged(contact)


def _undeclared(reference: str) -> _Judged:
    """What a ``table.column`` no dataset declares seems to be, by its name."""
    column = reference.partition(".")[2]
    withheld = secret_reason(column, None)
    if withheld is not None:
        return _Judged(False, f"its name says it is a secret ({withheld})")
    if looks_like_contact(reference):
        return _Judged(True)
    if not KEY_WORDS.isdisjoint(words_of(column)):
        return _Judged(False, f"its name says it identifies or links records; {_BY_HAND}")
    return _Judged(False)


def _datasets(stores: Iterable[Connector]) -> list[Dataset]:
    found: list[Dataset] = []
    for store in stores:
        dataset = getattr(store, "dataset", None)
        if isinstance(dataset, Dataset):
            found.append(dataset)
    return found


def maps(dataset: Dataset, reference: str) -> bool:
    """Whether ``dataset`` declares ``reference`` (``table.column``, or a field's category)."""
    table_name, _, column = reference.partition(".")
    table = dataset.tables.get(table_name)
    if table is not None and column in table.fields:
        return True
    return any(
        reference in spec.categories
        for other in dataset.tables.values()
        for spec in other.fields.values()
    )


def _judge(datasets: Sequence[Dataset], reference: str) -> Iterator[_Judged]:
    """Every meaning ``reference`` has in the stores (as the SQL connector resolves it)."""
    table_name, _, column = reference.partition(".")
    declared = False
    for dataset in datasets:
        table = dataset.tables.get(table_name)
        if table is not None and column in table.fields:
            declared = True
            yield _field(dataset, table, table.fields[column])
            continue
        for other in dataset.tables.values():
            for spec in other.fields.values():
                if reference in spec.categories:
                    declared = True
                    yield _field(dataset, other, spec)
    if table_name in TAXONOMY_ROOTS:
        yield _category(reference)
    elif not declared:
        yield _undeclared(reference)


def screen_changes(
    stores: Iterable[Connector], changes: Mapping[str, str], scope: Scope | str
) -> Screened:
    """Sort the changes of a rectification before any store is changed (see the module text).

    ``stores`` are the connected stores (their datasets are read, nothing is
    queried); ``scope`` is the request's. A reference that means several fields
    is refused if any of them is refused and is contact data if any of them is.
    """
    datasets = _datasets(stores)
    alerted = parse_scope(scope) is Scope.CONTACT_DATA
    screened = Screened()
    for reference, value in changes.items():
        judged = list(_judge(datasets, reference))
        refusals = [item.refusal for item in judged if item.refusal is not None]
        if refusals:
            screened.refused.append((reference, refusals[0]))
        elif any(item.contact for item in judged) and not alerted:
            screened.needs_alert.append(reference)
        else:
            screened.apply[reference] = value
    return screened
