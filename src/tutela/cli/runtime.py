"""What every command needs: settings, the data directory, the database, the clock."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from tutela.clock import Clock, SystemClock
from tutela.errors import ConfigurationError, StorageUnavailable

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from tutela.config import Settings
    from tutela.crypto import MasterKey


def ensure_data_dir(path: Path) -> Path:
    """Create the data directory if needed and prove that it is writable."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"The data directory {path} cannot be created ({exc.strerror}); "
            "choose a writable folder with --data-dir."
        ) from exc
    if not path.is_dir():
        raise ConfigurationError(f"The data directory {path} is not a folder; choose another.")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigurationError(
            f"The data directory {path} is not writable; fix its permissions or choose "
            "another with --data-dir."
        )
    return path


@dataclass
class Runtime:
    """Lazily built resources for one CLI invocation."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    @cached_property
    def engine(self) -> Engine:
        from tutela.storage import make_engine

        if self.settings.database_url is None:
            ensure_data_dir(self.settings.data_dir)
        return make_engine(self.settings.resolved_database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        from tutela.storage import make_session_factory

        return make_session_factory(self.engine)

    @cached_property
    def master_key(self) -> MasterKey:
        from tutela.crypto import load_or_create_master_key

        configured = self.settings.master_key
        ensure_data_dir(self.settings.data_dir)
        return load_or_create_master_key(
            self.settings.data_dir, configured.get_secret_value() if configured else None
        )

    def migrate(self) -> str | None:
        """Bring the schema up to date; return the revision now current."""
        from tutela.storage import current_revision, upgrade

        upgrade(self.engine)
        return current_revision(self.engine)

    def require_current_schema(self) -> None:
        """Refuse to work on a database whose schema is behind (or ahead of) this release."""
        from tutela.storage import current_revision, head_revision

        current = current_revision(self.engine)
        head = head_revision()
        if current != head:
            raise StorageUnavailable(
                f"The database schema is at {current or 'nothing'} but this release needs "
                f"{head}; run `tutela db upgrade`."
            )

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
