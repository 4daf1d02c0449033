"""Pages anyone may open without logging in: the privacy statement and the health check."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tutela.calendar import german_date
from tutela.i18n import format_date, gettext, use_language
from tutela.policy.loader import DeclarationError
from tutela.policy.models_db import PolicyVersion
from tutela.policy.versions import get_version
from tutela.storage import current_revision, transaction
from tutela.web.pages import language_headers, page_language, render_page
from tutela.web.problems import problem
from tutela.web.published import (
    Format,
    Language,
    render_preview,
    render_version,
    situation,
    version_rows,
)
from tutela.web.state import AppState, app_state

router = APIRouter(include_in_schema=False)

MARKDOWN = "text/markdown; charset=utf-8"
_BODY_OPEN = re.compile(r"<body[^>]*>", re.IGNORECASE)
_HEAD_CLOSE = re.compile(r"</head>", re.IGNORECASE)
BAR_STYLESHEET = '<link rel="stylesheet" href="/static/statement-bar.css">\n'
NOTICE_PREVIEW = "Preview: this statement has not been published yet."
NOTICE_PENDING = "This version is not in effect yet."
NOTICE_ARCHIVED = "This is not the version in effect today."
NOTICE_UPCOMING = "A new version takes effect on %(date)s."
READ_UPCOMING = "Read the new version"
MESSAGES = (NOTICE_PREVIEW, NOTICE_PENDING, NOTICE_ARCHIVED, NOTICE_UPCOMING, READ_UPCOMING)
"""msgids used from Python (Markdown notices); the templates hold the rest."""


def _format(request: Request, *, markdown_path: bool = False) -> Format:
    wanted = request.query_params.get("format", "").strip().lower()
    return "markdown" if markdown_path or wanted in {"md", "markdown"} else "html"


def _with_bar(document: str, bar: str) -> str:
    """``document`` with the notice bar after ``<body>`` and its stylesheet in the head."""
    if not bar.strip():
        return document
    document = _HEAD_CLOSE.sub(lambda m: BAR_STYLESHEET + m.group(0), document, count=1)
    opened = _BODY_OPEN.search(document)
    if opened is None:
        return bar + document
    return document[: opened.end()] + "\n" + bar + document[opened.end() :]


def _bar(state: AppState, *, language: Language, **context: Any) -> str:
    values: dict[str, Any] = {
        "lang": language,
        "preview": False,
        "upcoming": None,
        "pending": None,
        "archived": None,
    }
    values.update(context)
    if not any(values[name] for name in ("preview", "upcoming", "pending", "archived")):
        return ""
    with use_language(language):
        return state.templates.get_template("public/bar.html.j2").render(values)


def _upcoming_line(upcoming: PolicyVersion, language: Language) -> str:
    """The Markdown announcement of the next version (the HTML page has it in the bar)."""
    date = format_date(upcoming.effective_at, language)
    text = gettext(NOTICE_UPCOMING, domain="messages", language=language) % {"date": date}
    link = gettext(READ_UPCOMING, domain="messages", language=language)
    return f"> **{text}** [{link}](/privacy/v/{upcoming.number}?lang={language}&format=md)\n\n"


def _statement_response(
    body: str,
    *,
    language: Language,
    fmt: Format,
    bar: str,
    notice: str | None = None,
    upcoming: PolicyVersion | None = None,
) -> Response:
    headers = language_headers(language)
    if fmt == "markdown":
        if upcoming is not None:
            body = _upcoming_line(upcoming, language) + body
        if notice:
            body = f"> **{gettext(notice, domain='messages', language=language)}**\n\n" + body
        return Response(body, media_type=MARKDOWN, headers=headers)
    return Response(_with_bar(body, bar), media_type="text/html; charset=utf-8", headers=headers)


def _privacy(request: Request, *, markdown_path: bool) -> Response:
    state = app_state(request)
    language = page_language(request)
    fmt = _format(request, markdown_path=markdown_path)
    today = german_date(state.clock.now())
    with transaction(state.read_factory) as session:
        now = situation(session, today=today)
        shown = now.current or now.upcoming
        body = render_version(shown, language=language, fmt=fmt) if shown else ""
    if shown is not None:
        pending = shown if now.current is None else None
        upcoming = now.upcoming if now.current is not None else None
        bar = _bar(state, language=language, upcoming=upcoming, pending=pending)
        notice = NOTICE_PENDING if pending else None
        return _statement_response(
            body, language=language, fmt=fmt, bar=bar, notice=notice, upcoming=upcoming
        )
    path = state.settings.declaration_path
    if path is not None:
        try:
            body = render_preview(path, language=language, fmt=fmt, today=today)
        except DeclarationError:
            path_failed = True
        else:
            bar = _bar(state, language=language, preview=True)
            return _statement_response(
                body, language=language, fmt=fmt, bar=bar, notice=NOTICE_PREVIEW
            )
    else:
        path_failed = False
    return render_page(
        request,
        "public/unpublished.html.j2",
        {"preview_failed": path_failed},
        status_code=404,
        language=language,
    )


@router.get("/")
def home() -> Response:
    """The site's front door leads to the statement."""
    return RedirectResponse("/privacy", status_code=307)


@router.get("/privacy")
def privacy(request: Request) -> Response:
    """The statement in effect today (``?lang=de|en``, ``?format=md``)."""
    return _privacy(request, markdown_path=False)


@router.get("/privacy.md")
def privacy_markdown(request: Request) -> Response:
    return _privacy(request, markdown_path=True)


@router.get("/privacy/versions")
def privacy_versions(request: Request) -> Response:
    """Every published version, with links to read each one."""
    state = app_state(request)
    with transaction(state.read_factory) as session:
        rows = version_rows(session, today=german_date(state.clock.now()))
    return render_page(request, "public/versions.html.j2", {"rows": rows})


@router.get("/privacy/v/{number:int}")
def privacy_version(request: Request, number: int) -> Response:
    """One published version, exactly as it was published."""
    state = app_state(request)
    language = page_language(request)
    fmt = _format(request)
    today = german_date(state.clock.now())
    with transaction(state.read_factory) as session:
        version = get_version(session, number)
        now = situation(session, today=today)
        body = render_version(version, language=language, fmt=fmt)
    is_current = now.current is not None and now.current.number == version.number
    notice = None if is_current else NOTICE_ARCHIVED
    bar = _bar(state, language=language, archived=None if is_current else version)
    return _statement_response(body, language=language, fmt=fmt, bar=bar, notice=notice)


@router.get("/favicon.ico")
def favicon() -> Response:
    """The icon browsers ask for on every page (the statement document names none)."""
    icon = Path(__file__).resolve().parents[1] / "static" / "favicon.svg"
    return Response(
        icon.read_bytes(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/healthz")
def healthz(request: Request) -> Response:
    """``{"status": "ok", "database": "ok", "schema": "<revision>"}`` or a 503 problem."""
    state = app_state(request)
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = current_revision(state.engine)
    except SQLAlchemyError:
        return problem(
            request,
            status=503,
            title="The database cannot be reached",
            detail="Tutela cannot reach its database; check that it runs and the URL is right.",
            type_="https://tutela.dev/problems/storage-unavailable",
            database="unreachable",
        )
    return JSONResponse({"status": "ok", "database": "ok", "schema": revision})
