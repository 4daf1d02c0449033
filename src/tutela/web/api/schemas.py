"""What the JSON API returns (the OpenAPI document is generated from these models)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from tutela.web.published import VersionRow, VersionStatus


class VersionOut(BaseModel):
    number: int = Field(description="Version number, counting from 1")
    content_hash: str = Field(description="SHA-256 of the canonical declaration JSON")
    published_at: dt.datetime
    effective_at: dt.date = Field(description="The day from which this version is in effect")
    published_by: str
    note: str | None = None
    status: VersionStatus
    statement_url: str = Field(description="Where the public can read this version")

    @classmethod
    def of(cls, row: VersionRow) -> VersionOut:
        return cls(
            number=row.number,
            content_hash=row.content_hash,
            published_at=row.published_at,
            effective_at=row.effective_at,
            published_by=row.published_by,
            note=row.note,
            status=row.status,
            statement_url=f"/privacy/v/{row.number}",
        )


class VersionList(BaseModel):
    versions: list[VersionOut]


class VersionDetail(VersionOut):
    declaration: dict[str, Any] = Field(description="The declaration of this version")


class FindingOut(BaseModel):
    id: str
    severity: str
    path: str
    message: str
    hint: str


class LintResult(BaseModel):
    ok: bool = Field(description="True when no finding is an error (the version may be published)")
    errors: int
    warnings: int
    findings: list[FindingOut]


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
