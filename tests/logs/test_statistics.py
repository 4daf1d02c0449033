"""Aggregate statistics over anonymized access logs, and the refusal of raw ones."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import ipaddress
import json
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.logs.sample_log import sample_lines
from tutela.errors import InvalidInput
from tutela.logs import AnonymizeOptions, anonymize_files
from tutela.logs.statistics import (
    ANONIP_MASKS,
    DEFAULT_MASKS,
    MAX_LINE_BYTES,
    Aggregator,
    Masks,
    NotAnonymized,
    Statistics,
    UnreadableLog,
    collect,
    numbered_lines,
)
from tutela.logs.streams import reading

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


def line(
    client: str = "203.0.113.0",
    *,
    time: str = "20/May/2024:10:00:00 +0200",
    request: str = "GET / HTTP/1.1",
    status: int = 200,
    size: str = "512",
    referrer: str = "-",
    agent: str = AGENT,
    xff: str | None = None,
) -> str:
    text = f'{client} - - [{time}] "{request}" {status} {size} "{referrer}" "{agent}"'
    return text if xff is None else f'{text} "{xff}"'


def stats_of(*lines: str, masks: Masks = DEFAULT_MASKS, page_cap: int = 100_000) -> Statistics:
    data = "".join(f"{x}\n" for x in lines).encode()
    return collect([("test.log", io.BytesIO(data))], masks=masks, page_cap=page_cap)


def refusal(*lines: str, masks: Masks = DEFAULT_MASKS) -> NotAnonymized:
    with pytest.raises(NotAnonymized) as caught:
        stats_of(*lines, masks=masks)
    return caught.value


# -- the generated log, anonymized by tutela logs anonymize, and an independent recount ----


def _recount(text: str) -> dict[str, object]:
    days: Counter[str] = Counter()
    status: Counter[str] = Counter()
    pages: Counter[str] = Counter()
    referrers: Counter[str] = Counter()
    clients: set[str] = set()
    sent = 0
    for raw in text.splitlines():
        parts = raw.split('"')
        prefix, request, middle, referrer = parts[0], parts[1], parts[2], parts[3]
        stamp = prefix[prefix.index("[") + 1 : prefix.index("]")]
        moment = dt.datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z")
        days[moment.astimezone(dt.UTC).date().isoformat()] += 1
        code, size = middle.split()
        status[code] += 1
        sent += int(size)
        pages[request.split(" ")[1].split("?")[0]] += 1
        if referrer != "-":
            referrers[urlsplit(referrer).hostname or ""] += 1
        client = prefix.split(" ")[0]
        if client != "unix:":
            clients.add(str(ipaddress.ip_address(client)))
    return {
        "days": dict(days),
        "status": dict(status),
        "pages": pages,
        "referrers": referrers,
        "clients": len(clients),
        "bytes": sent,
        "lines": len(text.splitlines()),
    }


@pytest.fixture(scope="module", params=["combined", "main"])
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic nginx log of 6,000 lines, anonymized with our defaults (IPv4 /24, IPv6 /32)."""
    folder = tmp_path_factory.mktemp("generated")
    raw = folder / "raw.log"
    lines = sample_lines(6000, fmt=request.param, seed=7)
    raw.write_text("".join(f"{text}\n" for text in lines), encoding="utf-8")
    anonymized = folder / "access.log"
    counts = anonymize_files([raw], anonymized, AnonymizeOptions())
    assert counts.addresses > 5000
    return anonymized


@pytest.mark.promise("P10")
def test_generated_log_counts_match_an_independent_recount(generated: Path) -> None:
    expected = _recount(generated.read_text(encoding="utf-8"))
    with reading(str(generated)) as stream:
        result = collect([("access.log", stream)])
    report = result.report(top=10)
    assert report["lines"] == report["requests"] == expected["lines"]
    assert report["unparsed"] == 0
    assert report["days"] == expected["days"]
    assert report["status"] == dict(sorted(expected["status"].items()))  # type: ignore[attr-defined]
    assert report["bytes_sent"] == expected["bytes"]
    assert report["distinct_clients"] == expected["clients"]
    assert result.pages == expected["pages"]
    assert result.referrers == expected["referrers"]
    assert sum(report["user_agents"].values()) == expected["lines"]
    top_counts = [entry["requests"] for entry in report["pages"]]
    assert top_counts == sorted(expected["pages"].values(), reverse=True)[:10]  # type: ignore[attr-defined]


@pytest.mark.promise("P10")
def test_generated_raw_log_is_refused(generated: Path) -> None:
    raw = generated.with_name("raw.log")
    with reading(str(raw)) as stream, pytest.raises(NotAnonymized) as caught:
        collect([("raw.log", stream)])
    assert "run tutela logs anonymize first" in caught.value.detail


def test_gzip_input_counts_the_same(generated: Path, tmp_path: Path) -> None:
    packed = tmp_path / "access.log.gz"
    packed.write_bytes(gzip.compress(generated.read_bytes()))
    with reading(str(generated)) as plain, reading(str(packed)) as zipped:
        assert collect([("a", plain)]).report(top=5) == collect([("b", zipped)]).report(top=5)


# -- what is counted ------------------------------------------------------------------------


def test_days_are_utc_dates_of_the_log_time() -> None:
    result = stats_of(
        line(time="31/Dec/2023:23:30:00 -0100"),  # 00:30 UTC on 1 January
        line(time="01/Jan/2024:00:30:00 +0200"),  # 22:30 UTC on 31 December
        line(time="01/Jan/2024:12:00:00 +0000"),
        line(time="01/Jan/2024:05:00:00 +0530"),  # 23:30 UTC on 31 December
    )
    assert dict(result.days) == {"2023-12-31": 2, "2024-01-01": 2}


@pytest.mark.promise("P10")
def test_pages_drop_the_query_and_referrers_keep_only_the_host() -> None:
    result = stats_of(
        line(request="GET /search?q=lena.probe@example.org HTTP/1.1"),
        line(request="GET /search HTTP/1.1", referrer="https://Mail.Example.com/inbox?u=lena"),
        line(request="GET https://shop.example/cart?id=77 HTTP/1.1", referrer="-"),
        line(request="\\x16\\x03\\x01"),
    )
    assert dict(result.pages) == {"/search": 2, "/cart": 1}
    assert dict(result.referrers) == {"mail.example.com": 1}
    text = result.to_json(top=10) + result.to_csv(top=10)
    assert "lena" not in text
    assert "inbox" not in text
    assert result.requests == 4


def test_status_bytes_clients_and_agents() -> None:
    result = stats_of(
        line("203.0.113.0", status=200, size="100"),
        line("203.0.113.0:5678", status=404, size="-"),
        line("[2001:db8::]:443", status=500, size="7"),
        line("2001:DB8::", status=301, agent="Mozilla/5.0 (compatible; Googlebot/2.1)"),
        line("::ffff:198.51.100.0", agent="curl/8.5.0"),
        line("unix:", agent="-"),
    )
    assert result.bytes_sent == 100 + 0 + 7 + 512 + 512 + 512
    assert len(result.clients) == 3  # 203.0.113.0, 2001:db8::, ::ffff:198.51.100.0
    assert result.status_classes() == {"2xx": 3, "3xx": 1, "4xx": 1, "5xx": 1}
    assert dict(result.agents) == {"browser": 3, "bot": 1, "other": 2}


def test_unparsed_lines_are_counted_not_fatal() -> None:
    result = stats_of(
        line(),
        "this is not an access log line",
        line(time="99/Foo/2024:10:00:00 +0200"),
        "",
        line(status=204),
    )
    assert (result.lines, result.requests, result.unparsed) == (5, 2, 2)
    assert result.report(top=5)["unparsed"] == 2


def test_pages_beyond_the_cap_are_reported_as_truncated() -> None:
    pages = [f"GET /p{i} HTTP/1.1" for i in (1, 2, 3, 1, 4, 5, 2)]
    result = stats_of(*(line(request=r) for r in pages), page_cap=3)
    report = result.report(top=2)
    assert report["pages_truncated"] is True
    assert report["pages_tracked"] == 3
    assert report["pages"] == [{"path": "/p1", "requests": 2}, {"path": "/p2", "requests": 2}]
    assert stats_of(line()).report(top=1)["pages_truncated"] is False


def test_json_and_csv_shapes() -> None:
    result = stats_of(
        line(referrer="https://www.example.org/a"),
        line(status=404, time="21/May/2024:10:00:00 +0200"),
    )
    report = json.loads(result.to_json(top=5))
    assert list(report) == [
        "lines",
        "requests",
        "unparsed",
        "bytes_sent",
        "distinct_clients",
        "days",
        "status",
        "status_classes",
        "pages",
        "pages_tracked",
        "pages_truncated",
        "referrer_domains",
        "referrers_truncated",
        "user_agents",
    ]
    assert report["days"] == {"2024-05-20": 1, "2024-05-21": 1}
    assert report["referrer_domains"] == [{"domain": "www.example.org", "requests": 1}]
    rows = [r.split(",") for r in result.to_csv(top=5).splitlines()]
    assert rows[0] == ["section", "key", "value"]
    assert all(len(r) == 3 for r in rows)
    assert ["summary", "requests", "2"] in rows
    assert ["summary", "pages_truncated", "false"] in rows
    assert ["day", "2024-05-21", "1"] in rows
    assert ["status_class", "4xx", "1"] in rows
    assert ["referrer_domain", "www.example.org", "1"] in rows
    assert ["user_agent", "browser", "2"] in rows


# -- refusal of full addresses --------------------------------------------------------------


@pytest.mark.promise("P10")
@pytest.mark.parametrize(
    ("client", "xff", "where"),
    [
        ("203.0.113.77", None, "client address"),
        ("203.0.113.77:8080", None, "client address"),
        ("2001:db8:abcd:12:1:2:3:4", None, "client address"),
        ("[2001:db8:abcd:12::1]:443", None, "client address"),
        ("2001:db8:1::", None, "client address"),  # a /48 is not a /32
        ("::ffff:203.0.113.77", None, "client address"),
        ("203.0.113.0", "198.51.100.23", "X-Forwarded-For"),
        ("203.0.113.0", "unknown, 198.51.100.0, 2a00:1:2:3::4", "X-Forwarded-For"),
        ("203.0.113.0", "[2a00:1450:4001:82a::200e]:443", "X-Forwarded-For"),
        ("203.0.113.0", "::ffff:10.1.2.3", "X-Forwarded-For"),
    ],
)
def test_full_addresses_are_refused(client: str, xff: str | None, where: str) -> None:
    error = refusal(line(), line(), line(client, xff=xff))
    assert error.detail.startswith("line 3 of test.log: ")
    assert where in error.detail
    assert "run tutela logs anonymize first" in error.detail
    assert error.extra["line"] == 3
    for full in ("203.0.113.77", "2001:db8:abcd", "198.51.100.23", "2a00:1", "10.1.2.3"):
        assert full not in error.detail  # the address itself is not repeated


@pytest.mark.promise("P10")
@pytest.mark.parametrize(
    "text",
    [
        "203.0.113.77 is not an access log line",
        line(referrer="http://198.51.100.23/admin"),
        line(request="GET /whois?ip=2001:db8:5::1 HTTP/1.1"),
    ],
)
def test_full_addresses_elsewhere_in_the_line_are_refused(text: str) -> None:
    error = refusal(text)
    assert error.detail.startswith("line 1 of test.log: ")
    assert "run tutela logs anonymize first" in error.detail


def test_truncated_forms_and_placeholders_pass() -> None:
    result = stats_of(
        line("203.0.113.0", xff="198.51.100.0, unknown, [2a00:1::]:443, 2001:db8::"),
        line("::ffff:203.0.113.0", xff="-"),
        line("unix:", xff="198.51.100.0:5678"),
        line("-", agent="Mozilla/5.0 Chrome/124.0.6367.91 Safari/537.36"),
    )
    assert result.requests == 4


def test_masks_follow_the_options() -> None:
    anonip_line = line("192.168.96.0", xff="2001:db8:85a0::")
    assert stats_of(anonip_line, masks=ANONIP_MASKS).requests == 1
    assert "last 96 bits" in refusal(anonip_line).detail  # a /44 keeps too much for 8/96
    ours = line("192.168.100.0")  # zero in the last 8 bits, not in the last 12
    assert stats_of(ours).requests == 1
    assert "last 12 bits" in refusal(ours, masks=ANONIP_MASKS).detail
    with pytest.raises(InvalidInput, match="ipv4mask"):
        Masks(ipv4=0)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.ip_addresses(v=4).map(lambda a: (int(a), 4)),
        st.ip_addresses(v=6).map(lambda a: (int(a), 6)),
    ),
    st.booleans(),
)
def test_any_address_with_host_bits_is_refused_wherever_it_stands(
    address: tuple[int, int], in_xff: bool
) -> None:
    value, version = address
    if version == 4:
        text = str(ipaddress.IPv4Address(value))
        truncated = value & 0xFF == 0
    else:
        parsed = ipaddress.IPv6Address(value)
        text = str(parsed)
        mapped = parsed.ipv4_mapped
        truncated = int(mapped) & 0xFF == 0 if mapped is not None else value & ((1 << 96) - 1) == 0
    sample = line("203.0.113.0", xff=text) if in_xff else line(text, xff="-")
    if truncated:
        assert stats_of(sample).requests == 1
    else:
        with pytest.raises(NotAnonymized):
            stats_of(sample)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1971, 1, 2), max_value=dt.datetime(2200, 12, 30)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_day_is_the_utc_date_for_any_time_and_offset(moment: dt.datetime, minutes: int) -> None:
    zone = dt.timezone(dt.timedelta(minutes=minutes))
    local = moment.replace(microsecond=0, tzinfo=zone)
    sign = "-" if minutes < 0 else "+"
    offset = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    month = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    stamp = f"{local:%d}/{month[local.month - 1]}/{local:%Y:%H:%M:%S} {offset}"
    result = stats_of(line(time=stamp))
    assert dict(result.days) == {local.astimezone(dt.UTC).date().isoformat(): 1}


# -- unusable input -------------------------------------------------------------------------


def test_binary_data_stops_with_the_line_number() -> None:
    data = (line() + "\n" + line() + "\n").encode() + b"\x00\x01\x02garbage\n"
    with pytest.raises(UnreadableLog, match=r"^line 3 of test\.log: binary data"):
        collect([("test.log", io.BytesIO(data))])


def test_an_over_long_line_stops_with_the_line_number() -> None:
    data = (line() + "\n").encode() + b"A" * (MAX_LINE_BYTES + 10) + b"\n"
    with pytest.raises(UnreadableLog, match=r"^line 2 of test\.log: the line is longer than"):
        collect([("test.log", io.BytesIO(data))])


def test_truncated_gzip_is_an_error(tmp_path: Path) -> None:
    packed = gzip.compress("".join(line() + "\n" for _ in range(2000)).encode())
    broken = tmp_path / "access.log.gz"
    broken.write_bytes(packed[: len(packed) // 2])
    with reading(str(broken)) as stream, pytest.raises(UnreadableLog, match="truncated"):
        collect([("access.log.gz", stream)])


def test_truncated_zstd_is_an_error(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    data = "".join(line() + "\n" for _ in range(2000)).encode()
    packed = zstandard.ZstdCompressor().compress(data)
    whole, broken = tmp_path / "access.log.zst", tmp_path / "broken.log.zst"
    whole.write_bytes(packed)
    broken.write_bytes(packed[: len(packed) // 2])
    with reading(str(whole)) as stream:
        assert collect([("access.log.zst", stream)]).requests == 2000
    with reading(str(broken)) as stream, pytest.raises(UnreadableLog, match="truncated"):
        collect([("broken.log.zst", stream)])


class Pieces:
    """A reader that hands out the data in the given piece sizes (as pipes do)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.sizes = data, sizes

    def read(self, size: int = -1, /) -> bytes:
        step = self.sizes.pop(0) if self.sizes else len(self.data)
        piece, self.data = self.data[:step], self.data[step:]
        return piece


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(
            st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=40
        ),
        max_size=20,
    ),
    st.lists(st.integers(min_value=1, max_value=50), max_size=40),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_lines_come_out_whole_however_the_input_is_cut(
    texts: list[str], sizes: list[int], newline: str, final_break: bool
) -> None:
    data = newline.join(texts) + (newline if final_break and texts else "")
    got = list(numbered_lines(Pieces(data.encode(), sizes), name="x"))
    expected = texts if data else []
    if texts and not final_break and texts[-1] == "":
        expected = texts[:-1]
    assert got == [(i, t.encode()) for i, t in enumerate(expected, 1)]


def test_aggregator_counts_streams_in_turn() -> None:
    aggregator = Aggregator()
    aggregator.add_stream(io.BytesIO((line() + "\n").encode()), name="a.log")
    aggregator.add_stream(io.BytesIO((line(status=404) + "\r\n").encode()), name="b.log")
    assert aggregator.statistics.requests == 2
    assert dict(aggregator.statistics.status) == {"200": 1, "404": 1}
