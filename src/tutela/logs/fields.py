"""The fields of one nginx access-log line (``combined``, or ``main`` with X-Forwarded-For)
as the statistics count them: the UTC day, the client, the page without its query,
the referrer's host and the browser family."""

from __future__ import annotations

import datetime as dt
import functools
import re
from ipaddress import ip_address
from urllib.parse import urlsplit

__all__ = ["LINE", "PAGE_LENGTH", "client_of", "domain_of", "family_of", "page_of", "utc_day"]

PAGE_LENGTH = 512
"""Longer paths are cut to this many characters."""

LINE = re.compile(
    rb'^(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]*)\] "(?P<request>[^"]*)" '
    rb'(?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referrer>[^"]*)" "(?P<agent>[^"]*)"'
    rb'(?: "(?P<xff>[^"]*)")?[ \t\r]*$'
)
_TIME = re.compile(rb"^(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):\d{2} ([+-])(\d{2})(\d{2})$")
_MONTHS = {
    m.encode(): i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_BOT = re.compile(rb"bot|crawl|spider|slurp|archiver|facebookexternalhit", re.IGNORECASE)
_BROWSER = (b"Mozilla/", b"Opera/")


@functools.lru_cache(maxsize=4096)
def utc_day(stamp: bytes) -> str | None:
    match = _TIME.match(stamp)
    if match is None or match.group(2) not in _MONTHS:
        return None
    day, _, year, hour, minute, sign, tz_hours, tz_minutes = match.groups()
    offset = dt.timedelta(hours=int(tz_hours), minutes=int(tz_minutes))
    try:
        local = dt.datetime(
            int(year),
            _MONTHS[match.group(2)],
            int(day),
            int(hour),
            int(minute),
            tzinfo=dt.timezone(-offset if sign == b"-" else offset),
        )
    except ValueError:
        return None
    return local.astimezone(dt.UTC).date().isoformat()


@functools.lru_cache(maxsize=65536)
def client_of(token: bytes) -> str | None:
    text = token.decode("ascii", "replace")
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return str(ip_address(text))
    except ValueError:
        return None


def page_of(request: bytes) -> str | None:
    parts = request.split(b" ")
    if len(parts) not in (2, 3) or not parts[0].isalpha():
        return None
    target = parts[1].decode("utf-8", "backslashreplace")
    if target.startswith("/"):
        path = target.partition("?")[0].partition("#")[0]
    elif "://" in target:
        try:
            path = urlsplit(target).path or "/"
        except ValueError:
            return None
    else:
        return None
    return path if len(path) <= PAGE_LENGTH else path[:PAGE_LENGTH] + "…"


def domain_of(referrer: bytes) -> str | None:
    if referrer in (b"", b"-"):
        return None
    try:
        host = urlsplit(referrer.decode("utf-8", "backslashreplace")).hostname
    except ValueError:
        return None
    return host.rstrip(".")[:253] if host else None


def family_of(agent: bytes) -> str:
    if _BOT.search(agent):
        return "bot"
    return "browser" if agent.startswith(_BROWSER) else "other"
