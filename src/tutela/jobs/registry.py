"""Which function handles which kind of job.

Domain packages register their handlers in their own ``jobs.py``::

    from tutela.jobs import JobContext, registry

    @registry.handler("notices.send")
    def send_notice(session: Session, payload: dict[str, Any], ctx: JobContext) -> None: ...

A handler runs in the transaction that also marks its job done: its writes and
the "done" mark commit together, or neither does. It may run more than once
(after a crash or a lost lease), so it must be idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tutela.clock import Clock
from tutela.errors import ConfigurationError


@dataclass(frozen=True, kw_only=True)
class JobContext:
    """What a handler may want to know about the run it is part of."""

    job_id: int
    kind: str
    attempt: int
    max_attempts: int
    worker_id: str
    clock: Clock


Handler = Callable[[Session, dict[str, Any], JobContext], None]


class Postpone(Exception):
    """Raised by a handler: not yet — roll this run back and run the job again at ``until``.

    The attempt does not count against ``max_attempts``. ``then`` (optional) runs in
    the short transaction that puts the job back, after the run's work was rolled
    back — to leave a note, say, that must be kept although the run was not.
    """

    def __init__(
        self, until: dt.datetime, why: str, *, then: Callable[[Session], None] | None = None
    ) -> None:
        super().__init__(why)
        self.until = until
        self.why = why
        self.then = then


class UnknownJobKind(LookupError):
    """No handler is registered for a job's kind."""


class JobRegistry:
    """Handlers by job kind; one kind has exactly one handler."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, kind: str, handler: Handler) -> None:
        existing = self._handlers.get(kind)
        if existing is not None and existing is not handler:
            raise ConfigurationError(
                f"Job kind {kind!r} already has the handler {existing.__qualname__}; "
                f"give {handler.__qualname__} a kind of its own."
            )
        self._handlers[kind] = handler

    def handler(self, kind: str) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`register`."""

        def decorate(func: Handler) -> Handler:
            self.register(kind, func)
            return func

        return decorate

    def get(self, kind: str) -> Handler:
        try:
            return self._handlers[kind]
        except KeyError:
            raise UnknownJobKind(
                f"No handler is registered for job kind {kind!r}; import the module that "
                f"registers it (with @registry.handler({kind!r})) before starting the worker."
            ) from None

    def kinds(self) -> list[str]:
        return sorted(self._handlers)

    def __contains__(self, kind: object) -> bool:
        return kind in self._handlers


registry = JobRegistry()
"""The registry the worker uses unless it is given another."""
