"""The PNG chart: a valid image, the same bytes for the same statistics, no metadata."""

from __future__ import annotations

import struct
import zlib
from collections import Counter

import pytest

from tutela.logs.chart import DPI, SIZE_INCHES, chart_png
from tutela.logs.statistics import Statistics

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, data) chunks of a PNG file, each CRC checked."""
    assert png[:8] == PNG_MAGIC
    position, found = 8, []
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        data = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + data) == crc
        found.append((kind, data))
        position += 12 + length
    return found


def _sample(shift: int = 0) -> Statistics:
    days = Counter({f"2024-05-{d:02d}": 100 + d * 7 + shift for d in range(1, 15)})
    status = Counter({"200": 1200, "304": 90, "404": 40 + shift, "502": 3})
    return Statistics(requests=sum(days.values()), days=days, status=status)


@pytest.mark.promise("P10")
def test_chart_is_a_valid_png_of_fixed_size() -> None:
    png = chart_png(_sample())
    chunks = _chunks(png)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR"
    assert kinds[-1] == b"IEND"
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (int(SIZE_INCHES[0] * DPI), int(SIZE_INCHES[1] * DPI))
    assert sum(len(data) for kind, data in chunks if kind == b"IDAT") > 1000


def test_same_statistics_give_the_same_bytes() -> None:
    first = chart_png(_sample())
    assert chart_png(_sample()) == first
    assert chart_png(_sample(shift=5)) != first


def test_no_timestamp_or_software_metadata() -> None:
    kinds = {kind for kind, _ in _chunks(chart_png(_sample()))}
    assert not kinds & {b"tIME", b"tEXt", b"iTXt", b"zTXt"}


def test_empty_statistics_still_draw() -> None:
    png = chart_png(Statistics())
    assert png.startswith(PNG_MAGIC)
    assert chart_png(Statistics()) == png


def test_many_days_are_drawn_with_thinned_labels() -> None:
    days = Counter({f"2024-{m:02d}-{d:02d}": d for m in range(1, 13) for d in range(1, 29)})
    png = chart_png(Statistics(days=days, status=Counter({"200": 5})))
    assert _chunks(png)[0][0] == b"IHDR"
