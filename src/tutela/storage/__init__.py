"""One storage layer for two engines: SQLite (embedded default) and PostgreSQL."""

from tutela.storage.base import Base, UTCDateTime
from tutela.storage.engine import make_engine, make_session_factory, transaction
from tutela.storage.migrate import current_revision, head_revision, upgrade

__all__ = [
    "Base",
    "UTCDateTime",
    "current_revision",
    "head_revision",
    "make_engine",
    "make_session_factory",
    "transaction",
    "upgrade",
]
