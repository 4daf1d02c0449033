"""The SQL connector: any SQLAlchemy URL, mapped by a dataset file.

* **access** walks from the identity fields along the dataset's references and
  streams rows (bounded memory), withholding secrets and masking card numbers;
* **erase**, **rectify** and **restrict** run in one transaction per store: any
  database error rolls the whole store back and the report says ``failed``.

Tables and columns are reflected once per connector (keep the instance) and every
name the dataset uses is checked against them; statements are built from the
reflected objects, so identifiers are quoted and values bound.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, make_url

from tutela.connectors.base import AccessResult, Record, StoreError, StoreUnavailable, WithheldLog
from tutela.connectors.builtin.sql_erase import (
    Erasure,
    TablePlan,
    coverage,
    mark,
    plan_store,
)
from tutela.connectors.builtin.sql_errors import described as _described
from tutela.connectors.builtin.sql_schema import BoundSchema, bind_schema
from tutela.connectors.builtin.sql_values import column_values
from tutela.connectors.builtin.sql_walk import Walk, pack, release_shared, where_clause
from tutela.connectors.dataset import Dataset, FieldSpec, TableSpec
from tutela.connectors.denylist import RowRedactor, secret_reason, verdict, verdicts_for
from tutela.connectors.identities import CONTACT_KINDS, IdentitySet, is_contact_category
from tutela.connectors.report import Action, Operation, Outcome, StoreReport
from tutela.connectors.strategy import ErasureKey
from tutela.crypto import MasterKey
from tutela.errors import ConfigurationError, InvalidInput, StorageUnavailable, TutelaError
from tutela.storage import make_engine
from tutela.storage.engine import READ_ONLY

__all__ = ["SqlConnector"]

_VERDICTS = "tutela.denylist.verdicts"
"""Where a table's deny-list verdicts per column list are kept (``Table.info``)."""
_CONNECTION_ERRORS = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)
"""Identity kinds that are contact data: a rectification may set them."""
_NO_RESTRICTION = (
    "the table has no restriction column, so its rows cannot be marked; add one to the "
    "dataset (restriction:) or restrict them by hand"
)


@dataclass(frozen=True, slots=True)
class _Ready:
    engine: Engine
    schema: BoundSchema
    plans: Mapping[str, TablePlan]


class SqlConnector:
    """A SQL database mapped by a :class:`Dataset` (see the module docstring)."""

    def __init__(
        self,
        *,
        name: str,
        url: str,
        dataset: Dataset,
        master_key: MasterKey | None = None,
        schema: str | None = None,
        chunk_size: int = 500,
        batch_size: int = 1000,
    ) -> None:
        self._name = name
        self._url = url
        self._dataset = dataset
        self._key = ErasureKey.for_store(master_key, name) if master_key is not None else None
        self._schema_name = schema
        self._chunk = chunk_size
        self._batch = batch_size
        self._lock = threading.Lock()
        self._ready: _Ready | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def dataset(self) -> Dataset:
        return self._dataset

    def _shown_url(self) -> str:
        try:
            return make_url(self._url).render_as_string(hide_password=True)
        except sa_exc.ArgumentError:
            return "<an invalid URL>"

    def __repr__(self) -> str:
        return f"SqlConnector(name={self._name!r}, url={self._shown_url()!r})"

    # ------------------------------------------------------------ set-up

    def _unavailable(self, error: BaseException) -> StoreUnavailable:
        return StoreUnavailable(
            f"The store {self._name!r} at {self._shown_url()} cannot be reached: "
            f"{_described(error)}. "
            "Check that the database is running and the URL is right; the request can be "
            "retried.",
            store=self._name,
        )

    def _state(self) -> _Ready:
        with self._lock:
            if self._ready is not None:
                return self._ready
            try:
                engine = make_engine(self._url, check=False)
            except StorageUnavailable as error:
                raise self._unavailable(error) from None  # the driver's text may hold values
            try:
                with engine.connect() as conn:
                    schema = bind_schema(conn, self._dataset, schema=self._schema_name)
            except _CONNECTION_ERRORS as error:
                engine.dispose()
                raise self._unavailable(error) from None  # the driver's text may hold values
            except (sa_exc.SQLAlchemyError, ConfigurationError):
                engine.dispose()
                raise
            plans = plan_store(schema, keyed=self._key is not None)
            self._ready = _Ready(engine, schema, plans)
            return self._ready

    def close(self) -> None:
        with self._lock:
            if self._ready is not None:
                self._ready.engine.dispose()
                self._ready = None

    def check(self) -> None:
        state = self._state()
        try:
            with state.engine.connect() as conn:
                conn.execute(sa.select(1))
        except _CONNECTION_ERRORS as error:
            raise self._unavailable(error) from None  # the driver's text may hold values

    def coverage(self) -> tuple[Outcome, ...]:
        """What an erasure does to each declared personal field (no person needed)."""
        state = self._state()
        return tuple(coverage(state.plans, self._dataset.unreachable()))

    # ------------------------------------------------------------ access

    def access(self, identities: IdentitySet) -> AccessResult:
        state = self._state()
        try:
            conn = state.engine.connect().execution_options(**{READ_ONLY: True})
        except _CONNECTION_ERRORS as error:
            raise self._unavailable(error) from None  # the driver's text may hold values
        log = WithheldLog()
        unreachable = [
            Outcome(
                table=name,
                action=Action.NOT_HANDLED,
                reason="no identity field or reference reaches this table",
            )
            for name in self._dataset.unreachable()
        ]
        return AccessResult(
            self._name,
            self._records(conn, state, identities, log),
            withheld=log,
            outcomes=unreachable,
            on_close=conn.close,
        )

    def _records(
        self, conn: Connection, state: _Ready, identities: IdentitySet, log: WithheldLog
    ) -> Iterator[Record]:
        redactors: dict[str, RowRedactor] = {}
        try:
            walk = Walk(
                conn, state.schema, identities, full=True, chunk=self._chunk, batch=self._batch
            )
            for table, row in walk.rows():
                redactor = redactors.get(table)
                if redactor is None:
                    bound = state.schema.tables[table]
                    plans = bound.table.info.setdefault(_VERDICTS, {})
                    columns = tuple(row.keys())
                    if columns not in plans:
                        plans[columns] = verdicts_for(columns, bound.spec)
                    redactor = RowRedactor(table, columns, bound.spec, log, verdicts=plans[columns])
                    redactors[table] = redactor
                yield Record(table, redactor(row))
        except _CONNECTION_ERRORS as error:
            raise self._unavailable(error) from None  # the driver's text may hold values
        except sa_exc.SQLAlchemyError as error:
            raise StoreError(
                f"Reading from the store {self._name!r} failed: {_described(error)}.",
                store=self._name,
            ) from None
        finally:
            conn.close()

    # ------------------------------------------------------------ writes

    def _write(
        self,
        operation: Operation,
        identities: IdentitySet,
        work: Callable[[Connection, Walk, _Ready, list[str]], list[Outcome]],
        *,
        tables: Collection[str] | None = None,
    ) -> StoreReport:
        """Find the person's rows and run ``work`` in one transaction.

        Rows that other people's rows also point at are left out (and reported when
        they are in ``tables``, default: every table).
        """
        try:
            state = self._state()
        except StoreUnavailable as error:
            return StoreReport.failure(self._name, operation, error.detail, retryable=True)
        except TutelaError as error:
            return StoreReport.failure(self._name, operation, error.detail)
        step = ["finding the person's rows"]
        try:
            with state.engine.begin() as conn:
                walk = Walk(
                    conn, state.schema, identities, full=False, chunk=self._chunk, batch=self._batch
                )
                walk.run()
                step.append("checking for rows shared with other people")
                shared = [
                    Outcome(
                        table=table,
                        action=Action.NOT_HANDLED,
                        rows=rows,
                        reason=f"also linked to other people's records through {via}; "
                        "changing it would change their data — handle it by hand if it "
                        "is the person's alone",
                    )
                    for table, via, rows in release_shared(walk)
                    if tables is None or table in tables
                ]
                outcomes = shared + work(conn, walk, state, step)
        except _CONNECTION_ERRORS as error:
            text = f"{step[-1]} failed, nothing was changed: {_described(error)}"
            return StoreReport.failure(self._name, operation, text, retryable=True)
        except sa_exc.SQLAlchemyError as error:
            text = f"{step[-1]} failed, nothing was changed: {_described(error)}"
            return StoreReport.failure(self._name, operation, text)
        return StoreReport.build(self._name, operation, outcomes, rows=walk.found)

    def erase(self, identities: IdentitySet, *, today: dt.date) -> StoreReport:
        def work(conn: Connection, walk: Walk, state: _Ready, step: list[str]) -> list[Outcome]:
            erasure = Erasure(
                conn,
                state.schema,
                state.plans,
                walk.conditions,
                today=today,
                key=self._key,
                person=identities.anchor(),
                chunk=self._chunk,
                batch=self._batch,
            )
            try:
                return erasure.run()
            finally:
                step.append(erasure.step or step[-1])

        return self._write(Operation.ERASE, identities, work)

    def rectify(self, identities: IdentitySet, changes: Mapping[str, object]) -> StoreReport:
        targets = self._targets(changes)

        def work(conn: Connection, walk: Walk, state: _Ready, step: list[str]) -> list[Outcome]:
            outcomes: list[Outcome] = []
            for table, values in targets.items():
                conditions = walk.conditions.get(table)
                if not conditions:
                    continue
                bound = state.schema.tables[table]
                ready, refused = column_values(bound.table, values)
                outcomes.extend(refused)
                if not ready:
                    continue
                step.append(f"rectifying {table}")
                rows = 0
                for group in pack(conditions, self._chunk):
                    statement = sa.update(bound.table).where(where_clause(bound, group))
                    rows += conn.execute(statement.values(ready)).rowcount
                outcomes.append(
                    Outcome(table=table, action=Action.RECTIFIED, fields=tuple(ready), rows=rows)
                )
            return outcomes

        return self._write(Operation.RECTIFY, identities, work, tables=targets)

    def _targets(self, changes: Mapping[str, object]) -> dict[str, dict[str, object]]:
        """Columns to set per table, for ``table.column`` or a category (:meth:`_never_set`)."""
        if not changes:
            raise InvalidInput("No change was given; name at least one field and its new value.")
        targets: dict[str, dict[str, object]] = {}
        for ref, value in changes.items():
            table, _, column = ref.partition(".")
            spec = self._dataset.tables.get(table)
            if spec is not None and column in spec.fields:
                matches = [(spec, spec.fields[column])]
            else:
                matches = [
                    (t, f)
                    for t in self._dataset.tables.values()
                    for f in t.fields.values()
                    if ref in f.categories
                ]
            if not matches:
                raise InvalidInput(
                    f"{ref!r} is neither a field (table.column) nor a category of the dataset "
                    f"{self._dataset.name!r}; use a declared field such as "
                    f"{next(iter(self._dataset.fields_for_category('user')), 'customers.email')}.",
                    field=ref,
                )
            for table_spec, field_spec in matches:
                why = self._never_set(table_spec, field_spec)
                if why is not None:
                    raise InvalidInput(
                        f"{ref!r} names {table_spec.name}.{field_spec.name}, which a request "
                        f"never sets: {why}. Staff change it by hand if it is wrong.",
                        field=ref,
                    )
                targets.setdefault(table_spec.name, {})[field_spec.name] = value
        return targets

    def _never_set(self, table: TableSpec, spec: FieldSpec) -> str | None:
        """Why no rectification sets this field: a secret, or a key that is not contact data."""
        withheld = secret_reason(spec.name, spec)
        if withheld is not None:
            return f"it is kept out of access copies ({withheld})"
        masked = verdict(spec.name, spec)
        if masked is not None and masked.mask is not None:
            return f"it holds payment details ({masked.reason})"
        if spec.identity in CONTACT_KINDS or any(map(is_contact_category, spec.categories)):
            return None
        if spec.identity:
            return f"it identifies the person's records (identity {spec.identity})"
        ends = {(k.source_table, k.source_column) for k in self._dataset.links}
        ends |= {(k.target_table, k.target_column) for k in self._dataset.links}
        if spec.name in table.primary_key or (table.name, spec.name) in ends:
            return "it links records to each other"
        return None

    def restrict(self, identities: IdentitySet, *, until: dt.date | None) -> StoreReport:
        day = until or dt.date.max

        def work(conn: Connection, walk: Walk, state: _Ready, step: list[str]) -> list[Outcome]:
            outcomes: list[Outcome] = []
            for table, conditions in walk.conditions.items():
                bound = state.schema.tables[table]
                rows = walk.found.get(table, 0)
                if not rows or not bound.spec.personal_fields:
                    continue
                column = bound.spec.restriction
                if column is None:
                    outcomes.append(
                        Outcome(
                            table=table,
                            action=Action.NOT_HANDLED,
                            rows=rows,
                            reason=_NO_RESTRICTION,
                        )
                    )
                    continue
                step.append(f"restricting {table}")
                for group in pack(conditions, self._chunk):
                    mark(conn, bound, column, where_clause(bound, group), day)
                outcomes.append(
                    Outcome(table=table, action=Action.RESTRICTED, rows=rows, until=day)
                )
            outcomes.extend(
                Outcome(
                    table=name,
                    action=Action.NOT_HANDLED,
                    reason="no identity field or reference reaches this table",
                )
                for name in self._dataset.unreachable()
            )
            return outcomes

        return self._write(Operation.RESTRICT, identities, work)
