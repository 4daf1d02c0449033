"""What a store did for one request: a per-store report with per-field outcomes.

A report is *fail closed*: it is ``done`` only when every declared personal field
of every row found was handled. Anything left is an outcome with the action
``not_handled`` that names the table, the fields and why, and turns the status to
``partial``; an error that rolled the store back makes it ``failed``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

__all__ = ["Action", "Operation", "Outcome", "Status", "StoreReport"]


class Operation(StrEnum):
    ACCESS = "access"
    ERASE = "erase"
    RECTIFY = "rectify"
    RESTRICT = "restrict"


class Status(StrEnum):
    DONE = "done"
    PARTIAL = "partial"
    FAILED = "failed"


class Action(StrEnum):
    """What happened to some fields (or whole rows) of one table."""

    DELETED = "deleted"  # rows deleted
    NULLED = "nulled"
    MASKED = "masked"
    HASHED = "hashed"
    PSEUDONYMISED = "pseudonymised"
    KEPT = "kept"  # kept on purpose, with the reason
    HELD = "held"  # kept under a statutory hold until a date, with the rule
    RESTRICTED = "restricted"  # marked restricted until a date
    RECTIFIED = "rectified"
    EXPORTED = "exported"  # access: rows returned
    WITHHELD = "withheld"  # access: fields left out (secrets)
    MASKED_IN_EXPORT = "masked_in_export"  # access: card numbers shown as brand + last four
    TASK = "task"  # a person must act (manual connector)
    NOT_HANDLED = "not_handled"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One thing that happened (or did not) to ``fields`` of ``table``.

    ``fields`` empty means whole rows. ``until`` and ``rule`` are set for holds and
    restrictions, ``reason`` for kept, withheld and not-handled fields.
    """

    table: str
    action: Action
    fields: tuple[str, ...] = ()
    rows: int = 0
    until: dt.date | None = None
    rule: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        """One plain English sentence, for logs and staff pages."""
        what = f"{self.table}." + ",".join(self.fields) if self.fields else self.table
        text = f"{what}: {self.action.value}"
        if self.rows:
            text += f" ({self.rows} row{'s' if self.rows != 1 else ''})"
        if self.until is not None:
            text += f" until {self.until.isoformat()}"
        if self.rule:
            text += f" under {self.rule}"
        if self.reason:
            text += f" — {self.reason}"
        return text


def _empty_rows() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class StoreReport:
    """The result of one operation on one store."""

    store: str
    operation: Operation
    status: Status
    outcomes: tuple[Outcome, ...] = ()
    rows: Mapping[str, int] = field(default_factory=_empty_rows)
    """Rows found for the person, by table."""
    error: str | None = None
    retryable: bool = False
    """The store could not be reached; the same call may succeed later."""
    task: str | None = None
    """What staff must do (manual connector), while the status is ``partial``."""
    evidence: str | None = None
    """What staff confirmed they did (manual connector), once ``done``."""

    def __post_init__(self) -> None:
        if self.status is Status.DONE and (self.unhandled or self.error or self.task):
            raise ValueError(
                "A store report cannot be done while a field is not handled, an error "
                "occurred or a task is open; build it with StoreReport.build()."
            )
        if self.status is Status.FAILED and not self.error:
            raise ValueError("A failed store report needs the error text.")

    @classmethod
    def build(
        cls,
        store: str,
        operation: Operation,
        outcomes: Iterable[Outcome],
        *,
        rows: Mapping[str, int] | None = None,
        error: str | None = None,
        retryable: bool = False,
        task: str | None = None,
        evidence: str | None = None,
    ) -> StoreReport:
        """A report whose status follows from its content (failed > partial > done)."""
        items = tuple(outcomes)
        if error:
            status = Status.FAILED
        elif task or any(item.action is Action.NOT_HANDLED for item in items):
            status = Status.PARTIAL
        else:
            status = Status.DONE
        return cls(
            store=store,
            operation=operation,
            status=status,
            outcomes=items,
            rows=MappingProxyType(dict(rows or {})),
            error=error,
            retryable=retryable,
            task=task,
            evidence=evidence,
        )

    @classmethod
    def failure(
        cls, store: str, operation: Operation, error: str, *, retryable: bool = False
    ) -> StoreReport:
        return cls.build(store, operation, (), error=error, retryable=retryable)

    @property
    def unhandled(self) -> tuple[Outcome, ...]:
        return tuple(item for item in self.outcomes if item.action is Action.NOT_HANDLED)

    @property
    def held(self) -> tuple[Outcome, ...]:
        return tuple(item for item in self.outcomes if item.action is Action.HELD)

    @property
    def held_until(self) -> dt.date | None:
        """The latest date any record of the person is held until, if any."""
        dates = [item.until for item in self.held if item.until is not None]
        return max(dates) if dates else None

    def summary(self) -> str:
        lines = [f"{self.store} {self.operation.value}: {self.status.value}"]
        if self.error:
            lines.append(f"error: {self.error}")
        if self.task:
            lines.append(f"task: {self.task}")
        lines.extend(item.describe() for item in self.outcomes)
        return "\n".join(lines)
