"""Telling waiting clients at once when a request's status changes.

Once :func:`watch_statuses` has run in a process, every committed change of a
request's status rings :data:`STATUS_BELL` there and, on PostgreSQL, sends
``NOTIFY tutela_requests`` with the commit, so a web process can hear what a
worker process did (through a :class:`tutela.jobs.doorbell.Listener` on
:data:`STATUS_CHANNEL`). The status API's ``wait`` parameter waits on the bell
with :func:`wait_for_change` instead of making clients poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.orm import object_session

from tutela.dsr.models import DsrRequest
from tutela.dsr.terms import CLOSED_STATUSES
from tutela.jobs.doorbell import Doorbell, arm_on_commit

STATUS_CHANNEL: Final = "tutela_requests"
STATUS_BELL: Final = Doorbell()
"""Rung on commit of every transaction that changed a request's status."""

MAX_WAIT_SECONDS: Final = 60
FALLBACK_READ_SECONDS: Final = 1.0
"""Without a ring (SQLite with workers in other processes, a lost listener) the
status is read again at least this often."""
MIN_READ_GAP_SECONDS: Final = 0.005
"""Rings for other requests come in bursts; a waiter reads at most this often."""

_CLOSED: Final = frozenset(status.value for status in CLOSED_STATUSES)


def watch_statuses() -> None:
    """Arm the bell on status changes in this process (idempotent)."""
    if not event.contains(DsrRequest.status, "set", _status_set):
        event.listen(DsrRequest.status, "set", _status_set)


def _status_set(target: DsrRequest, value: Any, old: Any, _initiator: Any) -> None:
    session = object_session(target)
    if session is not None and value != old:
        arm_on_commit(session, bell=STATUS_BELL, channel=STATUS_CHANNEL)


async def wait_for_change(
    read: Callable[[], Awaitable[str]],
    *,
    seen: str | None,
    timeout: float,
    bell: Doorbell = STATUS_BELL,
) -> str:
    """The status once it differs from ``seen`` (or from the first read when ``seen`` is
    ``None``), once the request is closed, or after ``timeout`` seconds — whichever is first.

    ``read`` returns the request's current status from the database; it may raise
    (an unknown reference), which ends the wait.
    """
    deadline = time.monotonic() + min(max(timeout, 0.0), MAX_WAIT_SECONDS)
    mark = bell.mark()
    status = await read()
    start = seen if seen is not None else status
    last_read = time.monotonic()
    while status == start and status not in _CLOSED:
        now = time.monotonic()
        if now >= deadline:
            break
        wait = min(deadline - now, FALLBACK_READ_SECONDS)
        await bell.wait_async(mark, wait)
        gap = MIN_READ_GAP_SECONDS - (time.monotonic() - last_read)
        if gap > 0:
            await asyncio.sleep(gap)
        mark = bell.mark()
        status = await read()
        last_read = time.monotonic()
    return status
