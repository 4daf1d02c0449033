"""A small in-memory limit on failed logins per e-mail address and client address.

After ``limit`` failures within ``window`` further attempts for the same pair
are refused (HTTP 429) until the oldest failure leaves the window. The count
lives in the process; several processes each keep their own.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque

from tutela.clock import Clock

MAX_KEYS = 10_000


class LoginLimiter:
    def __init__(
        self,
        *,
        clock: Clock,
        limit: int = 10,
        window: dt.timedelta = dt.timedelta(minutes=15),
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._failures: dict[tuple[str, str], deque[dt.datetime]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: dt.datetime) -> deque[dt.datetime]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, *, email: str, client: str) -> int | None:
        """Seconds until another attempt is allowed, or None when one is allowed now."""
        key = (email.strip().lower(), client)
        now = self.clock.now()
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.limit:
                return None
            wait = times[0] + self.window - now
        return max(1, int(wait.total_seconds()) + 1)

    def failed(self, *, email: str, client: str) -> None:
        key = (email.strip().lower(), client)
        now = self.clock.now()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                self._prune(now)
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times

    def succeeded(self, *, email: str, client: str) -> None:
        with self._lock:
            self._failures.pop((email.strip().lower(), client), None)

    def _prune(self, now: dt.datetime) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]
        while len(self._failures) >= MAX_KEYS:
            oldest = min(self._failures, key=lambda k: self._failures[k][-1])
            del self._failures[oldest]
