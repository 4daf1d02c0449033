"""The table of used in-app assertions: each ``jti`` is accepted once.

A signed assertion stays valid for 10 minutes (:data:`tutela.dsr.assertion.FRESHNESS`),
so without a record anyone who saw one (a log, a proxy, a browser extension)
could file further requests with it in that window. :func:`spend_assertion`
stores the SHA-256 of the ``jti`` with the moment the assertion expires, under a
unique constraint, in the caller's transaction; a second use is refused with
:class:`tutela.dsr.assertion.ReplayedAssertion`. Rows of expired assertions are
deleted by the daily request sweep (an expired assertion is refused anyway).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from tutela.clock import Clock
from tutela.crypto import token_digest
from tutela.dsr.assertion import Assertion, ReplayedAssertion
from tutela.storage.base import Base, UTCDateTime

__all__ = ["UsedAssertion", "prune_used_assertions", "spend_assertion"]

DIGEST_LENGTH = 64


class UsedAssertion(Base):
    """One accepted in-app assertion: the digest of its ``jti`` and when it expires."""

    __tablename__ = "dsr_used_assertions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jti_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    def __repr__(self) -> str:
        return f"<UsedAssertion {self.id} expires={self.expires_at.isoformat()}>"


def prune_used_assertions(session: Session, *, clock: Clock) -> int:
    """Forget the ``jti`` of expired assertions (they are refused as stale); return how many."""
    result = session.execute(
        delete(UsedAssertion).where(UsedAssertion.expires_at < clock.now()),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def spend_assertion(session: Session, *, assertion: Assertion, clock: Clock) -> None:
    """Record that ``assertion`` was used; :class:`ReplayedAssertion` if it was used before.

    Call it in the transaction that stores the request, so a request that fails
    to store leaves its assertion unused. Two concurrent uses meet at the unique
    constraint: one commits, the other is refused. On PostgreSQL and SQLite this is
    one ``INSERT … ON CONFLICT DO NOTHING``; the daily sweep prunes expired rows.
    """
    values = {
        "jti_digest": token_digest(assertion.jti),
        "used_at": clock.now(),
        "expires_at": assertion.expires_at,
    }
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        statement = (
            module.insert(UsedAssertion)
            .values(values)
            .on_conflict_do_nothing(index_elements=["jti_digest"])
            .returning(UsedAssertion.id)
        )
        if session.execute(statement).first() is None:
            raise ReplayedAssertion()
        return
    seen = session.scalars(
        select(UsedAssertion.id).where(UsedAssertion.jti_digest == values["jti_digest"])
    ).first()
    if seen is not None:
        raise ReplayedAssertion()
    try:
        with session.begin_nested():
            session.add(UsedAssertion(**values))
    except IntegrityError:
        raise ReplayedAssertion() from None
