"""The table of access packages: one row per encrypted copy waiting to be downloaded.

The package file lies encrypted in ``<data_dir>/packages/``; the row keeps its
file name, its key sealed under the master's ``package`` sub-key, its size, the
digest of the download token (never the token), when it expires and when it was
downloaded. A sweep deletes file and row once the package has expired.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tutela.clock import Clock
from tutela.storage.base import Base, UTCDateTime

__all__ = ["DsrPackage", "sweep_packages"]

FILE_NAME_LENGTH = 80
DIGEST_LENGTH = 64


class DsrPackage(Base):
    """One encrypted copy of a person's data for an access or portability request."""

    __tablename__ = "dsr_packages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("dsr_requests.id", ondelete="CASCADE"), index=True
    )
    file_name: Mapped[str] = mapped_column(String(FILE_NAME_LENGTH), unique=True)
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    """Bytes of the zip once decrypted (what a download sends)."""
    token_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    downloaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<DsrPackage {self.id} request={self.request_id} {self.file_name}>"


def sweep_packages(session: Session, *, packages_dir: Path, clock: Clock) -> int:
    """Delete expired packages (file and row); return how many."""
    expired = session.scalars(select(DsrPackage).where(DsrPackage.expires_at <= clock.now())).all()
    for package in expired:
        (packages_dir / package.file_name).unlink(missing_ok=True)
        session.delete(package)
    return len(expired)
