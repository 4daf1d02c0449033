"""Events of the staff domain; the audit trail records each of them.

No event carries a password, a session token or an API key secret, and a
failed login does not say whether the account or the password was wrong.
Events name staff members by id; a failed login names the typed address only
by a short digest (a pseudonym to correlate repeated attempts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from tutela.audit.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class StaffAdded(DomainEvent):
    action: ClassVar[str] = "staff.added"
    staff_id: int
    role: str

    def target(self) -> str:
        return f"staff:{self.staff_id}"


@dataclass(frozen=True, kw_only=True)
class LoginSucceeded(DomainEvent):
    action: ClassVar[str] = "staff.login_succeeded"
    staff_id: int

    def target(self) -> str:
        return f"staff:{self.staff_id}"


@dataclass(frozen=True, kw_only=True)
class LoginFailed(DomainEvent):
    """A failed login: the account it was aimed at, if the address belongs to one.

    What was typed is never recorded (it may be someone's address or a password typed
    into the wrong field), so the trail holds no personal data for unknown addresses.
    """

    action: ClassVar[str] = "staff.login_failed"
    staff_id: int | None

    def target(self) -> str:
        return "login:unknown" if self.staff_id is None else f"staff:{self.staff_id}"


@dataclass(frozen=True, kw_only=True)
class LoggedOut(DomainEvent):
    action: ClassVar[str] = "staff.logged_out"
    staff_id: int

    def target(self) -> str:
        return f"staff:{self.staff_id}"


@dataclass(frozen=True, kw_only=True)
class ApiKeyCreated(DomainEvent):
    action: ClassVar[str] = "apikey.created"
    api_key_id: int
    prefix: str
    name: str
    scopes: tuple[str, ...]

    def target(self) -> str:
        return f"apikey:{self.prefix}"


@dataclass(frozen=True, kw_only=True)
class ApiKeyRevoked(DomainEvent):
    action: ClassVar[str] = "apikey.revoked"
    api_key_id: int
    prefix: str

    def target(self) -> str:
        return f"apikey:{self.prefix}"
