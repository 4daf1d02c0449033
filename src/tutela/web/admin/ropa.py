"""The admin page of the record of processing activities (Art. 30(1) GDPR) and its downloads.

The record belongs to those who own the declaration: staff who may publish
versions (the DPO and administrators) see it; it is built on each request from
the chosen published version, by default the one in effect today.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tutela.calendar import german_date
from tutela.errors import NotFound
from tutela.policy.ropa import Record, build_record, source_of, version_for_record
from tutela.policy.ropa_render import FORMATS, MEDIA_TYPES, Format, file_name, render_record
from tutela.staff.roles import Permission
from tutela.storage import transaction
from tutela.web.admin.auth import StaffContext, current_staff
from tutela.web.admin.routes import role_labels
from tutela.web.pages import page_language, render_page
from tutela.web.published import VersionRow, VersionStatus, version_rows
from tutela.web.state import app_state

__all__ = ["PERMISSION", "router"]

router = APIRouter(prefix="/admin", include_in_schema=False)
Staff = Annotated[StaffContext, Depends(current_staff)]
PERMISSION = Permission.VIEW_PROCESSING_RECORD
"""Who may see the record: the owners of the declaration."""


def _record(
    request: Request, *, number: int | None, language: str, required: bool
) -> tuple[Record | None, list[VersionRow]]:
    """The record of version ``number`` (default: in effect today) and every version's row.

    An unknown number is NotFound; so is "no version in effect" when ``required``,
    and otherwise it gives no record.
    """
    state = app_state(request)
    today = german_date(state.clock.now())
    with transaction(state.read_factory) as session:
        rows = version_rows(session, today=today)
        current = any(row.status is VersionStatus.CURRENT for row in rows)
        if number is None and not current and not required:
            return None, rows
        version = version_for_record(session, number=number, on=today)
        declaration = version.declaration()
        source = source_of(version)
    record = build_record(declaration, language=language, prepared_on=today, source=source)
    return record, rows


@router.get("/ropa")
def ropa_page(request: Request, staff: Staff, version: int | None = None) -> Response:
    """The record in the page's language, a version choice and the download links."""
    staff.require(PERMISSION)
    language = page_language(request)
    record, rows = _record(request, number=version, language=language, required=False)
    labels = role_labels(language)
    values: dict[str, Any] = {
        "staff": staff.staff,
        "csrf_token": staff.csrf_token,
        "role_label": labels.get(staff.staff.role, staff.staff.role),
        "may_manage_staff": staff.may(Permission.MANAGE_STAFF),
        "record": record,
        "rows": rows,
        "chosen": record.source.version if record is not None else None,
        "formats": FORMATS,
    }
    return render_page(request, "admin/ropa.html.j2", values, language=language)


@router.get("/ropa/export.{fmt}")
def ropa_export(
    request: Request, staff: Staff, fmt: Format, version: int | None = None
) -> Response:
    """The record as a CSV, Markdown or HTML file, in the language of ``?lang=``."""
    staff.require(PERMISSION)
    language = page_language(request)
    record, _rows = _record(request, number=version, language=language, required=True)
    if record is None:  # pragma: no cover - required=True raises NotFound instead
        raise NotFound("version: no version of the declaration is in effect.")
    body = render_record(record, fmt=fmt)
    headers = {
        "Content-Disposition": f'attachment; filename="{file_name(record, fmt)}"',
        "Content-Language": record.language,
    }
    return Response(body.encode("utf-8"), media_type=MEDIA_TYPES[fmt], headers=headers)
