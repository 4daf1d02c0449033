"""Published versions as the web shows them: status markers and rendered statements.

Shared by the public pages, the admin console and the JSON API so that all
three agree on which version is current and how a statement is rendered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from tutela.calendar import german_date
from tutela.policy.loader import load_declaration
from tutela.policy.models import Declaration
from tutela.policy.models_db import PolicyVersion
from tutela.policy.statement import StatementMeta, render_statement
from tutela.policy.versions import current_version, list_versions, upcoming_version

Format = Literal["html", "markdown"]
Language = Literal["de", "en"]
ARCHIVE_URL = "/privacy/versions"


class VersionStatus(StrEnum):
    CURRENT = "current"
    UPCOMING = "upcoming"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class VersionRow:
    number: int
    content_hash: str
    published_at: dt.datetime
    effective_at: dt.date
    published_by: str
    note: str | None
    status: VersionStatus

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]


def status_of(
    version: PolicyVersion, *, current: PolicyVersion | None, today: dt.date
) -> VersionStatus:
    if current is not None and version.number == current.number:
        return VersionStatus.CURRENT
    if version.effective_at > today and (current is None or version.number > current.number):
        return VersionStatus.UPCOMING
    return VersionStatus.SUPERSEDED


def version_row(version: PolicyVersion, *, status: VersionStatus) -> VersionRow:
    return VersionRow(
        number=version.number,
        content_hash=version.content_hash,
        published_at=version.published_at,
        effective_at=version.effective_at,
        published_by=version.published_by,
        note=version.note,
        status=status,
    )


def version_rows(session: Session, *, today: dt.date) -> list[VersionRow]:
    """Every published version, newest first, each marked current, upcoming or superseded."""
    current = current_version(session, on=today)
    return [
        version_row(v, status=status_of(v, current=current, today=today))
        for v in list_versions(session)
    ]


def meta_for(version: PolicyVersion) -> StatementMeta:
    return StatementMeta(
        version=version.number,
        published_at=version.published_at,
        effective_at=version.effective_at,
        revised_on=german_date(version.published_at),  # the controller's calendar day
        content_hash=version.content_hash,
        archive_url=ARCHIVE_URL,
    )


def preview_meta(today: dt.date) -> StatementMeta:
    """Meta for a declaration shown before its first publication (dated ``today``)."""
    return StatementMeta(
        version=None,
        published_at=None,
        effective_at=today,
        revised_on=today,
        content_hash=None,
    )


def render_version(version: PolicyVersion, *, language: Language, fmt: Format) -> str:
    return render_statement(
        version.declaration(), language=language, fmt=fmt, meta=meta_for(version)
    )


def render_preview(path: Path, *, language: Language, fmt: Format, today: dt.date) -> str:
    declaration: Declaration = load_declaration(path)
    return render_statement(declaration, language=language, fmt=fmt, meta=preview_meta(today))


@dataclass(frozen=True)
class Situation:
    """What the public statement page shows today."""

    current: PolicyVersion | None
    upcoming: PolicyVersion | None


def situation(session: Session, *, today: dt.date) -> Situation:
    return Situation(
        current=current_version(session, on=today),
        upcoming=upcoming_version(session, on=today),
    )
