"""The error hierarchy shared by every layer.

Each error carries a stable ``code``, a human ``title`` and an optional
``detail``; the web layer turns them into RFC 9457 problem+json documents and
the CLI into one clear sentence with a non-zero exit code.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TutelaError(Exception):
    """Base class: something the user can act on."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "tutela-error"
    title: ClassVar[str] = "Request failed"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 body for this error (without ``instance``)."""
        body: dict[str, Any] = {
            "type": f"https://tutela.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        body.update(self.extra)
        return body


class InvalidInput(TutelaError):
    status = 422
    code = "invalid-input"
    title = "The input is not valid"


class NotFound(TutelaError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(TutelaError):
    status = 409
    code = "conflict"
    title = "Conflict with the current state"


class PolicyViolation(TutelaError):
    status = 422
    code = "policy-violation"
    title = "The declaration breaks a rule"


class VerificationFailed(TutelaError):
    status = 401
    code = "verification-failed"
    title = "Verification failed"


class PermissionDenied(TutelaError):
    status = 403
    code = "permission-denied"
    title = "Not allowed"


class ConfigurationError(TutelaError):
    status = 500
    code = "configuration-error"
    title = "Tutela is not configured correctly"


class StorageUnavailable(TutelaError):
    status = 503
    code = "storage-unavailable"
    title = "The database cannot be reached"


class IntegrityError(TutelaError):
    status = 500
    code = "integrity-error"
    title = "Stored data failed an integrity check"
