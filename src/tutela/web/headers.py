"""Security headers on every response, added by a small ASGI middleware."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
PRIVATE_PATHS = ("/admin", "/api")


def security_headers(*, https: bool) -> dict[str, str]:
    """The headers every response carries (HSTS only when served over HTTPS)."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def apply_headers(headers: MutableHeaders, *, https: bool, path: str) -> None:
    """Add the security headers, ``Vary: Accept-Language`` and no-store for private paths."""
    for name, value in security_headers(https=https).items():
        if name not in headers:
            headers[name] = value
    if "accept-language" not in headers.get("vary", "").lower():
        headers.add_vary_header("Accept-Language")
    if "cache-control" not in headers and path.startswith(PRIVATE_PATHS):
        headers["Cache-Control"] = "no-store"


class SecurityHeaders:
    """Set the security headers (keeping any a handler set itself) and ``Vary``."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                apply_headers(MutableHeaders(scope=message), https=self.https, path=scope["path"])
            await send(message)

        await self.app(scope, receive, send_with_headers)
