"""Aggregate statistics over anonymized nginx access logs (``combined`` and ``main``).

Only anonymized input is counted: before a line is looked at, every address in
it must have a zero host part under the masks the anonymizer used (defaults
IPv4 /24 and IPv6 /32; anonip's 12/84 with :data:`ANONIP_MASKS`). A single
full address stops the run with the line number and nothing is reported, so a
report can never rest on raw logs. Addresses are found anywhere in the line by
the anonymizer's own scanner (:func:`tutela.logs.scanner.find_addresses`), so
what it would hide is what is checked. Lines that are not ``combined``/``main`` are
counted as unparsed; binary data, over-long lines and damaged compression stop
the run with the line number.

What is counted: requests per UTC day, pages (the path without the query
string, which may hold personal data), status codes, referrer domains (the host
only), the number of distinct truncated client addresses, bytes sent and coarse
user-agent families. Memory stays bounded: at most :data:`PAGE_CAP` distinct
pages and :data:`REFERRER_CAP` referrer domains are tracked; pages longer than
:data:`tutela.logs.fields.PAGE_LENGTH` characters are cut.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, NoReturn, Protocol

from tutela.errors import InvalidInput
from tutela.logs.errors import InputDamaged, LogInputError
from tutela.logs.fields import LINE, client_of, domain_of, family_of, page_of, utc_day
from tutela.logs.options import (
    ANONIP_IPV4_MASK,
    ANONIP_IPV6_MASK,
    DEFAULT_IPV4_MASK,
    DEFAULT_IPV6_MASK,
)
from tutela.logs.scanner import find_addresses

__all__ = [
    "ANONIP_MASKS",
    "DEFAULT_MASKS",
    "MAX_LINE_BYTES",
    "PAGE_CAP",
    "Aggregator",
    "Masks",
    "NotAnonymized",
    "Statistics",
    "UnreadableLog",
]

MAX_LINE_BYTES = 64 * 1024
CHUNK = 1 << 20
PAGE_CAP = 100_000
REFERRER_CAP = 100_000


class ByteSource(Protocol):
    """What :func:`tutela.logs.streams.reading` yields (and ``io.BytesIO``)."""

    def read(self, size: int = -1, /) -> bytes: ...


class NotAnonymized(LogInputError):
    code = "log-not-anonymized"
    title = "The log still holds full addresses"


class UnreadableLog(LogInputError):
    """Binary data, an over-long line, damaged or truncated compression."""


@dataclass(frozen=True, slots=True)
class Masks:
    """How many low bits the anonymizer zeroed: these must be zero in every address."""

    ipv4: int = DEFAULT_IPV4_MASK
    ipv6: int = DEFAULT_IPV6_MASK

    def __post_init__(self) -> None:
        if not 1 <= self.ipv4 <= 32:
            raise InvalidInput("--ipv4mask: give a number of bits from 1 to 32.", field="ipv4mask")
        if not 1 <= self.ipv6 <= 128:
            raise InvalidInput("--ipv6mask: give a number of bits from 1 to 128.", field="ipv6mask")

    def holds(self, address: IPv4Address | IPv6Address) -> bool:
        """True when the host part of ``address`` is zero (IPv4-mapped IPv6 as IPv4)."""
        if isinstance(address, IPv6Address):
            mapped = address.ipv4_mapped
            if mapped is None:
                return int(address) & ((1 << self.ipv6) - 1) == 0
            address = mapped
        return int(address) & ((1 << self.ipv4) - 1) == 0


DEFAULT_MASKS = Masks()
ANONIP_MASKS = Masks(ipv4=ANONIP_IPV4_MASK, ipv6=ANONIP_IPV6_MASK)

_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@functools.lru_cache(maxsize=65536)
def _address(text: str) -> IPv4Address | IPv6Address:
    return ip_address(text)


def _ranked(counter: Counter[str], top: int) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:top]


@dataclass
class Statistics:
    """The aggregate of one run; nothing in it points to a single request."""

    lines: int = 0
    requests: int = 0
    unparsed: int = 0
    bytes_sent: int = 0
    days: Counter[str] = field(default_factory=Counter)
    status: Counter[str] = field(default_factory=Counter)
    pages: Counter[str] = field(default_factory=Counter)
    pages_truncated: bool = False
    referrers: Counter[str] = field(default_factory=Counter)
    referrers_truncated: bool = False
    agents: Counter[str] = field(default_factory=Counter)
    clients: set[str] = field(default_factory=set)

    def status_classes(self) -> dict[str, int]:
        classes: Counter[str] = Counter()
        for code, count in self.status.items():
            classes[f"{code[0]}xx"] += count
        return dict(sorted(classes.items()))

    def report(self, *, top: int) -> dict[str, Any]:
        """The JSON-ready report; pages and referrer domains limited to the ``top`` most seen."""
        return {
            "lines": self.lines,
            "requests": self.requests,
            "unparsed": self.unparsed,
            "bytes_sent": self.bytes_sent,
            "distinct_clients": len(self.clients),
            "days": dict(sorted(self.days.items())),
            "status": dict(sorted(self.status.items())),
            "status_classes": self.status_classes(),
            "pages": [{"path": p, "requests": n} for p, n in _ranked(self.pages, top)],
            "pages_tracked": len(self.pages),
            "pages_truncated": self.pages_truncated,
            "referrer_domains": [
                {"domain": d, "requests": n} for d, n in _ranked(self.referrers, top)
            ],
            "referrers_truncated": self.referrers_truncated,
            "user_agents": {k: self.agents.get(k, 0) for k in ("browser", "bot", "other")},
        }

    def to_json(self, *, top: int) -> str:
        return json.dumps(self.report(top=top), indent=2, ensure_ascii=False) + "\n"

    def to_csv(self, *, top: int) -> str:
        """One table ``section,key,value``: summary, day, status, status_class, page, …."""
        report = self.report(top=top)
        rows: list[tuple[str, str, object]] = [
            ("summary", key, report[key])
            for key in (
                "lines",
                "requests",
                "unparsed",
                "bytes_sent",
                "distinct_clients",
                "pages_tracked",
                "pages_truncated",
                "referrers_truncated",
            )
        ]
        rows += [("day", k, v) for k, v in report["days"].items()]
        rows += [("status", k, v) for k, v in report["status"].items()]
        rows += [("status_class", k, v) for k, v in report["status_classes"].items()]
        rows += [("page", e["path"], e["requests"]) for e in report["pages"]]
        rows += [
            ("referrer_domain", e["domain"], e["requests"]) for e in report["referrer_domains"]
        ]
        rows += [("user_agent", k, v) for k, v in report["user_agents"].items()]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("section", "key", "value"))
        writer.writerows((s, k, str(v).lower() if isinstance(v, bool) else v) for s, k, v in rows)
        return buffer.getvalue()


class Aggregator:
    """Counts lines one by one; refuses the first line with a full address."""

    def __init__(
        self,
        *,
        masks: Masks = DEFAULT_MASKS,
        page_cap: int = PAGE_CAP,
        referrer_cap: int = REFERRER_CAP,
    ) -> None:
        self.masks = masks
        self.page_cap = page_cap
        self.referrer_cap = referrer_cap
        self.statistics = Statistics()

    def add_stream(self, stream: ByteSource, *, name: str | None) -> None:
        """Count every line of ``stream``; ``name`` (None: standard input) is for messages."""
        for number, line in numbered_lines(stream, name=name):
            self.add(line, name=name, number=number)

    def add(self, line: bytes, *, name: str | None, number: int) -> None:
        """Count one line (without its line break)."""
        stats = self.statistics
        stats.lines += 1
        control = _CONTROL.search(line)
        if control is not None:
            raise UnreadableLog(
                f"binary data (byte 0x{line[control.start()]:02x} at column "
                f"{control.start() + 1}); pass a text access log, plain or as .gz/.zst",
                line=number,
                source=name,
            )
        if not line.strip():
            return
        parsed = LINE.match(line)
        self._refuse_full_addresses(line, parsed, name=name, number=number)
        day = utc_day(parsed.group("time")) if parsed is not None else None
        if parsed is None or day is None:
            stats.unparsed += 1
            return
        stats.requests += 1
        stats.days[day] += 1
        stats.status[parsed.group("status").decode("ascii")] += 1
        size = parsed.group("bytes")
        stats.bytes_sent += int(size) if size != b"-" else 0
        stats.agents[family_of(parsed.group("agent"))] += 1
        client = client_of(parsed.group("client"))
        if client is not None:
            stats.clients.add(client)
        page = page_of(parsed.group("request"))
        if page is not None:
            if page in stats.pages or len(stats.pages) < self.page_cap:
                stats.pages[page] += 1
            else:
                stats.pages_truncated = True
        domain = domain_of(parsed.group("referrer"))
        if domain is not None:
            if domain in stats.referrers or len(stats.referrers) < self.referrer_cap:
                stats.referrers[domain] += 1
            else:
                stats.referrers_truncated = True

    def _refuse_full_addresses(
        self, line: bytes, parsed: re.Match[bytes] | None, *, name: str | None, number: int
    ) -> None:
        for found in find_addresses(line):
            address = _address(found.address)
            if self.masks.holds(address):
                continue
            offset = found.start
            if offset <= 1:
                where = "the client address (first field)"
            elif parsed is not None and parsed.start("xff") <= offset < parsed.end("xff"):
                where = "the X-Forwarded-For field (masked by tutela logs anonymize --xff)"
            else:
                where = f"the address at column {offset + 1}"
            bits = self.masks.ipv4 if address.version == 4 or _mapped(address) else self.masks.ipv6
            raise NotAnonymized(
                f"{where} is a full IPv{address.version} address (its last {bits} bits are not "
                "zero); run tutela logs anonymize first, or pass the masks it used with "
                "--ipv4mask/--ipv6mask (--anonip for 12/84)",
                line=number,
                source=name,
            )


def _mapped(address: IPv4Address | IPv6Address) -> bool:
    return isinstance(address, IPv6Address) and address.ipv4_mapped is not None


def numbered_lines(source: ByteSource, *, name: str | None) -> Iterator[tuple[int, bytes]]:
    """The lines of ``source`` (line breaks removed), numbered from 1; bounded in length."""
    number, pending = 0, b""
    while True:
        try:
            chunk = source.read(CHUNK)
        except (InputDamaged, OSError) as exc:
            raise UnreadableLog(
                f"reading stopped here ({exc}); nothing was reported", line=number + 1, source=name
            ) from exc
        if not chunk:
            break
        data, start = (pending + chunk if pending else chunk), 0
        while (end := data.find(b"\n", start)) >= 0:
            number += 1
            if end - start > MAX_LINE_BYTES:
                _too_long(number, name)
            yield number, data[start : end - 1 if end > start and data[end - 1] == 13 else end]
            start = end + 1
        pending = data[start:]
        if len(pending) > MAX_LINE_BYTES:
            _too_long(number + 1, name)
    if pending:
        yield number + 1, pending


def _too_long(number: int, name: str | None) -> NoReturn:
    raise UnreadableLog(
        f"the line is longer than {MAX_LINE_BYTES} bytes, which no access log line is; check "
        "the input (binary data or missing line breaks)",
        line=number,
        source=name,
    )


def collect(
    streams: Iterable[tuple[str | None, ByteSource]],
    *,
    masks: Masks = DEFAULT_MASKS,
    page_cap: int = PAGE_CAP,
) -> Statistics:
    """Aggregate ``(name, reader)`` pairs in order (name ``None``: standard input).

    Raises on the first refused line; nothing is returned then.
    """
    aggregator = Aggregator(masks=masks, page_cap=page_cap)
    for name, stream in streams:
        aggregator.add_stream(stream, name=name)
    return aggregator.statistics
