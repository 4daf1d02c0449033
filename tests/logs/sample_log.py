"""A synthetic nginx access log for tests, in the ``combined`` or ``main`` format.

Seeded and self-contained, so tests never depend on a generator outside the
repository. Clients mix IPv4, IPv6, IPv4-mapped IPv6 and ``unix:``; one in three
lines repeats an earlier client; ``main`` adds an X-Forwarded-For field that is
``-`` or a list of one to three addresses (some with ports, some ``unknown``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

PAGES = (
    "/",
    "/pricing",
    "/login?next=/app",
    "/app/calendar?week=12",
    "/blog/2026/spring-hours",
    "/api/v1/slots?day=3&staff=7",
    "/favicon.ico",
    "/robots.txt",
)
REFERRERS = (
    "-",
    "https://www.example.org/",
    "https://search.example.com/?q=termine+buchen",
    "http://partner.example.net/a/b?ref=42",
)
AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0",
)
STATUSES = (200, 200, 200, 200, 301, 304, 404, 500)


def _client(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.6:
        return ".".join(str(rng.randint(1, 254)) for _ in range(4))
    if kind < 0.85:
        groups = [f"{rng.randint(0x2001, 0x2A0F):x}"] + [
            f"{rng.randint(0, 0xFFFF):x}" for _ in range(3)
        ]
        return ":".join(groups) + f"::{rng.randint(1, 0xFFFF):x}"
    if kind < 0.97:
        return "::ffff:" + ".".join(str(rng.randint(1, 254)) for _ in range(4))
    return "unix:"


def _forwarded(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return "-"
    entries = []
    for _ in range(rng.randint(1, 3)):
        pick = rng.random()
        if pick < 0.1:
            entries.append("unknown")
        elif pick < 0.2:
            entries.append(".".join(str(rng.randint(1, 254)) for _ in range(4)) + ":443")
        else:
            entries.append(_client(rng).replace("unix:", "198.51.100.7"))
    return ", ".join(entries)


def sample_lines(count: int, *, fmt: str = "combined", seed: int = 7) -> Iterator[str]:
    """``count`` log lines (without newlines), the same ones for the same seed."""
    rng = random.Random(seed)
    seen: list[str] = []
    start = dt.datetime(2026, 2, 27, 22, 0, tzinfo=dt.UTC)
    for number in range(count):
        when = (start + dt.timedelta(seconds=number * 29)).strftime("%d/%b/%Y:%H:%M:%S +0000")
        client = rng.choice(seen) if seen and rng.random() < 0.33 else _client(rng)
        seen.append(client)
        request = f"GET {rng.choice(PAGES)} HTTP/1.1"
        status, size = rng.choice(STATUSES), rng.randint(0, 90_000)
        text = (
            f'{client} - - [{when}] "{request}" {status} {size} '
            f'"{rng.choice(REFERRERS)}" "{rng.choice(AGENTS)}"'
        )
        yield text if fmt == "combined" else f'{text} "{_forwarded(rng)}"'
