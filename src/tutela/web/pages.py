"""HTML pages: language choice and template rendering with the right headers."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from tutela.i18n import negotiate, use_language
from tutela.web.published import Language
from tutela.web.state import app_state


def as_language(value: str | None) -> Language | None:
    """``value`` as a supported language code, or None."""
    cleaned = (value or "").strip().lower()
    if cleaned == "de":
        return "de"
    if cleaned == "en":
        return "en"
    return None


def page_language(request: Request) -> Language:
    """``?lang=`` when it names a supported language, else Accept-Language, else the default."""
    asked = as_language(request.query_params.get("lang"))
    if asked is not None:
        return asked
    default = app_state(request).settings.default_language
    return (
        as_language(negotiate(request.headers.get("accept-language"), default=default)) or default
    )


def language_headers(language: str) -> dict[str, str]:
    return {"Content-Language": language, "Vary": "Accept-Language"}


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    language: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` in the page language, with Content-Language and Vary set."""
    lang = language or page_language(request)
    env = app_state(request).templates
    values: dict[str, Any] = {"request_path": request.url.path, "lang": lang}
    values.update(context or {})
    with use_language(lang):
        body = env.get_template(template).render(values)
    merged = language_headers(lang)
    merged.update(headers or {})
    return HTMLResponse(body, status_code=status_code, headers=merged)
