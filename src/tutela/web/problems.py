"""Errors as RFC 9457 problem documents (``/api/…``, JSON) or small translated pages (HTML).

Every error keeps its status code in both forms. Paths under ``/api/`` and
``/healthz`` always answer ``application/problem+json``; everything else gets an
HTML page in the visitor's language.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tutela.errors import TutelaError
from tutela.web.headers import apply_headers
from tutela.web.pages import render_page
from tutela.web.state import app_state

PROBLEM_JSON = "application/problem+json"
JSON_PATHS = ("/api/", "/healthz")
log = logging.getLogger("tutela.web")
PAGE_MESSAGES = {
    "csrf-failed": "This form could not be verified. Open the page again and send it once more.",
}
MESSAGES = tuple(PAGE_MESSAGES.values())
"""msgids used from Python; the templates hold the rest."""


class LoginRequired(Exception):
    """Raised by admin pages when there is no live staff session."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(JSON_PATHS) or path == "/api"


def problem(
    request: Request,
    *,
    status: int,
    title: str | None = None,
    detail: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    """A problem+json response; ``instance`` is the request path."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or HTTPStatus(status).description,
        "instance": request.url.path,
    }
    body.update(extra)
    return ProblemResponse(body, status_code=status, headers=headers)


def error_page(
    request: Request,
    *,
    status: int,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The translated HTML error page; ``message`` is an English msgid shown translated."""
    return render_page(
        request,
        "public/error.html.j2",
        {"status": status, "message": message},
        status_code=status,
        headers=headers,
    )


def _tutela_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, TutelaError):  # pragma: no cover - registered for this type
        raise exc
    if wants_json(request):
        body = exc.problem()
        body["instance"] = request.url.path
        headers = {"WWW-Authenticate": 'Bearer realm="tutela"'} if exc.status == 401 else None
        return ProblemResponse(body, status_code=exc.status, headers=headers)
    return error_page(request, status=exc.status, message=PAGE_MESSAGES.get(exc.code))


def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover - registered for this type
        raise exc
    headers = dict(exc.headers or {})
    if wants_json(request):
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
            detail = (
                f"There is nothing at {request.url.path}; /api/v1/openapi.json lists the paths."
            )
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}."
        return problem(request, status=exc.status_code, detail=detail, headers=headers)
    return error_page(request, status=exc.status_code, headers=headers)


def _validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover - registered for this type
        raise exc
    errors = [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    if wants_json(request):
        fields = ", ".join(e["field"] for e in errors) or "the request"
        return problem(
            request,
            status=422,
            title="The request is not valid",
            detail=f"Check {fields}: see 'errors' for what each field needs.",
            type_="https://tutela.dev/problems/invalid-input",
            errors=errors,
        )
    return error_page(request, status=422)


def _login_required(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, LoginRequired):  # pragma: no cover - registered for this type
        raise exc
    return RedirectResponse("/admin/login", status_code=303)


def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    https = app_state(request).settings.secure_cookies
    if wants_json(request):
        response: Response = problem(
            request,
            status=500,
            detail="Tutela failed to answer this request; the server log has the details.",
        )
    else:
        response = error_page(request, status=500)
    apply_headers(response.headers, https=https, path=request.url.path)
    return response


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(TutelaError, _tutela_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Exception, _server_error)
