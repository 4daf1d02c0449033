"""The JSON API, version 1: published versions, the current statement and the lint."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from tutela.calendar import german_date
from tutela.errors import InvalidInput, NotFound
from tutela.i18n import negotiate
from tutela.policy.lint import lint
from tutela.policy.lint.finding import Severity
from tutela.policy.loader import DeclarationError, parse_declaration
from tutela.policy.versions import get_version
from tutela.staff.apikeys import Scope
from tutela.staff.models import ApiKey
from tutela.storage import transaction
from tutela.web.api.auth import requires
from tutela.web.api.schemas import (
    FindingOut,
    LintResult,
    Problem,
    VersionDetail,
    VersionList,
    VersionOut,
)
from tutela.web.pages import as_language
from tutela.web.problems import PROBLEM_JSON, problem
from tutela.web.published import (
    Format,
    render_version,
    situation,
    status_of,
    version_row,
    version_rows,
)
from tutela.web.state import app_state

PolicyReader = Annotated[ApiKey, Depends(requires(Scope.POLICY_READ))]
MAX_LINT_BYTES = 1024 * 1024
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": text}
    for status, text in (
        (401, "No API key, or an unknown or revoked one"),
        (403, "The key lacks the scope policy:read"),
    )
}

router = APIRouter(prefix="/api/v1", tags=["policy"], responses=PROBLEM_RESPONSES)


@router.get("/versions", summary="List published versions")
def versions(request: Request, key: PolicyReader) -> VersionList:
    """Every published version of the declaration, newest first."""
    state = app_state(request)
    with transaction(state.read_factory) as session:
        rows = version_rows(session, today=german_date(state.clock.now()))
    return VersionList(versions=[VersionOut.of(row) for row in rows])


@router.get(
    "/versions/{number}",
    summary="One published version with its declaration",
    responses={404: {"model": Problem, "content": {PROBLEM_JSON: {}}}},
)
def version(request: Request, number: int, key: PolicyReader) -> VersionDetail:
    state = app_state(request)
    today = german_date(state.clock.now())
    with transaction(state.read_factory) as session:
        found = get_version(session, number)
        now = situation(session, today=today)
        row = version_row(found, status=status_of(found, current=now.current, today=today))
        declaration = found.declaration().model_dump(mode="json")
    return VersionDetail(**VersionOut.of(row).model_dump(), declaration=declaration)


@router.get(
    "/statement",
    summary="The statement in effect today",
    response_class=Response,
    responses={
        200: {"content": {"text/html": {}, "text/markdown": {}}},
        404: {"model": Problem, "content": {PROBLEM_JSON: {}}},
    },
)
def statement(
    request: Request,
    key: PolicyReader,
    lang: Annotated[str | None, Query(description="de or en (default: Accept-Language)")] = None,
    format: Annotated[str, Query(description="html, md or markdown")] = "html",
) -> Response:
    state = app_state(request)
    negotiated = negotiate(
        request.headers.get("accept-language"), default=state.settings.default_language
    )
    language = as_language(lang if lang is not None else negotiated)
    if language is None:
        raise InvalidInput(
            f"lang: {lang!r} is not a statement language; use de or en.", field="lang"
        )
    wanted = format.strip().lower()
    if wanted not in {"html", "md", "markdown"}:
        raise InvalidInput(
            f"format: {format!r} is not a statement format; use html or md.", field="format"
        )
    fmt: Format = "html" if wanted == "html" else "markdown"
    with transaction(state.read_factory) as session:
        current = situation(session, today=german_date(state.clock.now())).current
        if current is None:
            raise NotFound(
                "No version of the declaration is in effect yet; publish one with "
                "`tutela policy publish`."
            )
        body = render_version(current, language=language, fmt=fmt)
        number = current.number
    media = "text/html; charset=utf-8" if fmt == "html" else "text/markdown; charset=utf-8"
    headers = {
        "Content-Language": language,
        "Vary": "Accept-Language",
        "Tutela-Version": str(number),
    }
    return Response(body, media_type=media, headers=headers)


@router.post(
    "/lint",
    summary="Lint a declaration",
    response_model=LintResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The declaration as YAML text (at most 1 MiB).",
            "content": {t: {"schema": {"type": "string"}} for t in (*YAML_TYPES[:1], "text/plain")},
        }
    },
    responses={
        415: {"model": Problem, "content": {PROBLEM_JSON: {}}},
        422: {
            "model": Problem,
            "content": {PROBLEM_JSON: {}},
            "description": "The text is not a valid declaration; 'problems' lists each place",
        },
    },
)
async def lint_declaration(request: Request, key: PolicyReader) -> Response | LintResult:
    """Check a declaration without publishing it; answers every finding at once."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in YAML_TYPES:
        return problem(
            request,
            status=415,
            detail="Send the declaration with Content-Type application/yaml or text/plain, "
            f"not {media or 'none'}.",
        )
    raw = await request.body()
    if len(raw) > MAX_LINT_BYTES:
        return problem(
            request,
            status=413,
            detail=f"The declaration has {len(raw)} bytes; the lint accepts at most "
            f"{MAX_LINT_BYTES}.",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"body: byte {exc.start} is not UTF-8; send the declaration as UTF-8 text.",
            field="body",
        ) from None
    try:
        declaration = parse_declaration(text, source="request")
    except DeclarationError as exc:
        problems = [asdict(p) for p in exc.problems]
        return problem(
            request,
            status=422,
            title="The declaration cannot be read",
            detail=f"The declaration has {len(problems)} problem(s); 'problems' gives each "
            "line, column and what to write instead.",
            type_="https://tutela.dev/problems/declaration-invalid",
            problems=problems,
        )
    today = german_date(app_state(request).clock.now())
    findings = sorted(lint(declaration, today=today), key=lambda f: f.sort_key())
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    return LintResult(
        ok=errors == 0,
        errors=errors,
        warnings=len(findings) - errors,
        findings=[FindingOut(**f.to_dict()) for f in findings],
    )
