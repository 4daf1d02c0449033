"""The contract every store speaks.

A :class:`Connector` reaches one store (a database, a processor, a person with a
task). Four operations cover the rights of data subjects:

* :meth:`Connector.access` streams every record found for an :class:`IdentitySet`
  and lists what was withheld (secrets) or shown masked (card numbers);
* :meth:`Connector.erase` erases, keeps under a statutory hold (restricting
  instead), or reports what it could not handle;
* :meth:`Connector.rectify` changes named fields of the person's records;
* :meth:`Connector.restrict` marks the person's records as restricted.

Writes return a :class:`StoreReport` and never raise for store problems: a store
that is down gives a ``failed`` report with ``retryable=True``. ``access`` and
``check`` raise :class:`StoreUnavailable` instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Any, NamedTuple, Protocol, runtime_checkable

from tutela.connectors.identities import STANDARD_KINDS, IdentitySet
from tutela.connectors.report import Action, Operation, Outcome, Status, StoreReport
from tutela.errors import TutelaError

__all__ = [
    "STANDARD_KINDS",
    "AccessResult",
    "Action",
    "Connector",
    "IdentitySet",
    "Operation",
    "Outcome",
    "Record",
    "Status",
    "StoreError",
    "StoreReport",
    "StoreUnavailable",
    "Withheld",
    "WithheldLog",
]


class StoreUnavailable(TutelaError):
    """The store cannot be reached now; try again later."""

    status = 503
    code = "store-unavailable"
    title = "A connected store cannot be reached"


class StoreError(TutelaError):
    """The store answered with an error that retrying will not fix."""

    status = 502
    code = "store-error"
    title = "A connected store returned an error"


class Record(NamedTuple):
    """One row of the person's data: the table (collection) and its values by column."""

    table: str
    row: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Withheld:
    """A field left out of an access copy (``masked`` False) or shown masked (True)."""

    table: str
    field: str
    reason: str
    masked: bool = False


class WithheldLog:
    """Collects :class:`Withheld` entries, once each, while records stream."""

    def __init__(self, entries: Iterable[Withheld] = ()) -> None:
        self._entries: dict[tuple[str, str, bool], Withheld] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: Withheld) -> None:
        self._entries.setdefault((entry.table, entry.field, entry.masked), entry)

    def entries(self) -> tuple[Withheld, ...]:
        return tuple(self._entries.values())


class AccessResult:
    """The person's records from one store, streamed once.

    Use it as a context manager (or call :meth:`close`) so the store connection is
    released even when iteration stops early::

        with connector.access(identities) as result:
            for table, row in result:
                ...
            report = result.report()
    """

    def __init__(
        self,
        store: str,
        records: Iterator[Record],
        *,
        withheld: WithheldLog | None = None,
        outcomes: Iterable[Outcome] = (),
        task: str | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.task = task
        self._records = records
        self._log = withheld or WithheldLog()
        self._outcomes = tuple(outcomes)
        self._on_close = on_close
        self._counts: dict[str, int] = {}
        self._started = False
        self._finished = False

    def __iter__(self) -> Iterator[Record]:
        if self._started:
            raise RuntimeError("An access result streams once; call access() again to re-read.")
        self._started = True
        return self._stream()

    def _stream(self) -> Iterator[Record]:
        try:
            for record in self._records:
                self._counts[record.table] = self._counts.get(record.table, 0) + 1
                yield record
            self._finished = True
        finally:
            self.close()

    @property
    def withheld(self) -> tuple[Withheld, ...]:
        """Fields left out or masked so far (complete once the records are consumed)."""
        return self._log.entries()

    @property
    def rows(self) -> Mapping[str, int]:
        return MappingProxyType(dict(self._counts))

    @property
    def finished(self) -> bool:
        return self._finished

    def report(self) -> StoreReport:
        """The access report: rows per table, withheld and masked fields, open tasks."""
        outcomes = [
            Outcome(table=table, action=Action.EXPORTED, rows=count)
            for table, count in self._counts.items()
        ]
        for entry in self.withheld:
            action = Action.MASKED_IN_EXPORT if entry.masked else Action.WITHHELD
            outcomes.append(
                Outcome(
                    table=entry.table, action=action, fields=(entry.field,), reason=entry.reason
                )
            )
        outcomes.extend(self._outcomes)
        task = self.task
        if not self._finished and task is None:
            task = "The records were not read to the end; read them all before reporting."
        return StoreReport.build(
            self.store, Operation.ACCESS, outcomes, rows=self._counts, task=task
        )

    def close(self) -> None:
        close = getattr(self._records, "close", None)
        if callable(close):
            close()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()

    def __enter__(self) -> AccessResult:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@runtime_checkable
class Connector(Protocol):
    """A store holding personal data, reached for data-subject requests.

    Implementations keep no per-request state; one instance serves many requests
    (keep it, so a database schema is read once).
    """

    @property
    def name(self) -> str:
        """The store's name, unique among the configured connectors."""
        ...

    def check(self) -> None:
        """Return if the store is reachable and matches its mapping; raise otherwise.

        Raises :class:`StoreUnavailable` when the store is down and
        :class:`~tutela.errors.ConfigurationError` when the mapping does not fit it.
        """
        ...

    def access(self, identities: IdentitySet) -> AccessResult:
        """Stream every record found for ``identities``."""
        ...

    def erase(self, identities: IdentitySet, *, today: dt.date) -> StoreReport:
        """Erase the person's data as the mapping says; holds count from ``today``."""
        ...

    def rectify(self, identities: IdentitySet, changes: Mapping[str, object]) -> StoreReport:
        """Set ``changes`` (field reference → new value) on the person's records."""
        ...

    def restrict(self, identities: IdentitySet, *, until: dt.date | None) -> StoreReport:
        """Mark the person's records restricted until ``until`` (None: until lifted)."""
        ...

    def close(self) -> None:
        """Release connections; the connector may be used again afterwards."""
        ...
