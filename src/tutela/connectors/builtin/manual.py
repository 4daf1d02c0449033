"""The manual-task connector: a person does the work and confirms it with evidence.

For stores Tutela cannot reach (a paper archive, a tool without an API) every
operation returns a ``partial`` report whose ``task`` says what staff must do.
When staff have done it, :meth:`ManualConnector.confirm` turns their evidence into
a ``done`` report. The connector keeps no state: the request workflow stores the
open task (:mod:`tutela.dsr.tasks`) and builds the same report with
:func:`confirmed_report` when staff confirm it, even if the store has been
removed from the stores file since.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutela.connectors.base import AccessResult, Record
from tutela.connectors.identities import IdentitySet
from tutela.connectors.report import Action, Operation, Outcome, StoreReport
from tutela.errors import ConfigurationError, InvalidInput

__all__ = [
    "MAX_EVIDENCE",
    "MIN_EVIDENCE",
    "ManualConfig",
    "ManualConnector",
    "check_evidence",
    "confirmed_report",
    "create_manual",
]

MIN_EVIDENCE = 10
MAX_EVIDENCE = 2000
_DEFAULTS = {
    Operation.ACCESS: "export every record held about the person from {system} and attach "
    "the export to the request",
    Operation.ERASE: "erase the person's records in {system}; records the law requires to be "
    "kept must be restricted instead, noting the rule and until when",
    Operation.RECTIFY: "correct these fields of the person's records in {system}: {fields}",
    Operation.RESTRICT: "mark the person's records in {system} as restricted until {until}, so "
    "they are no longer used",
}


class ManualConnector:
    """A store handled by people, with a task text per operation."""

    def __init__(
        self,
        *,
        name: str,
        system: str | None = None,
        instructions: Mapping[str, str] | None = None,
    ) -> None:
        self._name = name
        self._system = system or name
        self._instructions = {Operation(k): v for k, v in (instructions or {}).items()}

    @property
    def name(self) -> str:
        return self._name

    def check(self) -> None:
        """A person is always reachable; nothing to check."""

    def close(self) -> None:
        """Nothing to release."""

    def task(
        self,
        operation: Operation,
        identities: IdentitySet,
        *,
        fields: tuple[str, ...] = (),
        until: dt.date | None = None,
    ) -> str:
        """The sentence staff read: what to do, and by which identities to find the person."""
        template = self._instructions.get(operation, _DEFAULTS[operation])
        values = {
            "{system}": self._system,
            "{fields}": ", ".join(fields) or "the fields named in the request",
            "{until}": until.isoformat() if until else "further notice",
        }
        what = template
        for placeholder, value in values.items():
            what = what.replace(placeholder, value)
        kinds = ", ".join(identities.kinds()) or "the identities in the request"
        return (
            f"Staff must {what}. Find the person by {kinds} (the values are in the request), "
            "then confirm here with evidence of what was done."
        )

    def _pending(self, operation: Operation, text: str) -> StoreReport:
        outcome = Outcome(table=self._system, action=Action.TASK, reason=text)
        return StoreReport.build(self._name, operation, [outcome], task=text)

    def access(self, identities: IdentitySet) -> AccessResult:
        records: list[Record] = []
        return AccessResult(self._name, iter(records), task=self.task(Operation.ACCESS, identities))

    def erase(self, identities: IdentitySet, *, today: dt.date) -> StoreReport:
        return self._pending(Operation.ERASE, self.task(Operation.ERASE, identities))

    def rectify(self, identities: IdentitySet, changes: Mapping[str, object]) -> StoreReport:
        text = self.task(Operation.RECTIFY, identities, fields=tuple(changes))
        return self._pending(Operation.RECTIFY, text)

    def restrict(self, identities: IdentitySet, *, until: dt.date | None) -> StoreReport:
        text = self.task(Operation.RESTRICT, identities, until=until)
        return self._pending(Operation.RESTRICT, text)

    def confirm(self, operation: Operation, *, evidence: str, confirmed_by: str) -> StoreReport:
        """The ``done`` report once staff confirm what they did, in their own words."""
        return confirmed_report(
            self._name,
            operation,
            table=self._system,
            evidence=evidence,
            confirmed_by=confirmed_by,
        )


def check_evidence(evidence: str) -> str:
    """The evidence text, trimmed; :class:`InvalidInput` (field ``evidence``) if unusable."""
    text = (evidence or "").strip()
    if len(text) < MIN_EVIDENCE:
        raise InvalidInput(
            f"evidence: the evidence is too short; describe in at least {MIN_EVIDENCE} "
            "characters what was done (for example which records were erased and where).",
            field="evidence",
        )
    if len(text) > MAX_EVIDENCE:
        raise InvalidInput(
            f"evidence: the evidence is too long (at most {MAX_EVIDENCE} characters); "
            "summarise what was done and point to where the details are kept (a ticket or "
            "file number).",
            field="evidence",
        )
    return text


def confirmed_report(
    store: str, operation: Operation, *, table: str, evidence: str, confirmed_by: str
) -> StoreReport:
    """The ``done`` report of a manual store whose task staff confirmed with ``evidence``."""
    text = check_evidence(evidence)
    if not confirmed_by.strip():
        raise InvalidInput(
            "confirmed_by: say who confirms the task (for example staff:3).",
            field="confirmed_by",
        )
    outcome = Outcome(
        table=table, action=Action.TASK, reason=f"confirmed by {confirmed_by.strip()}"
    )
    return StoreReport.build(store, operation, [outcome], evidence=text)


class ManualConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    system: str | None = Field(default=None, max_length=200)
    instructions: dict[Operation, str] = Field(default_factory=dict)


def create_manual(config: Mapping[str, Any]) -> ManualConnector:
    """The ``manual`` factory: ``{"name": …, "system": …, "instructions": {"erase": …}}``."""
    try:
        parsed = ManualConfig.model_validate(dict(config))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ConfigurationError(
            f"The manual connector settings are not valid ({problems}); give at least a name.",
            field="connectors",
        ) from None
    return ManualConnector(
        name=parsed.name,
        system=parsed.system,
        instructions={op.value: text for op, text in parsed.instructions.items()},
    )
