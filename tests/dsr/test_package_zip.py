"""The package writer: bounded memory, safe names, neutralised CSV cells, authenticated chunks."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.connectors import AccessResult, Record
from tutela.crypto import DecryptionError
from tutela.dsr.package_cipher import CHUNK, SealedWriter, read_sealed
from tutela.dsr.package_zip import PackageWriter, neutralise, safe_name

ROWS = 50_000


def _rows(count: int) -> Iterator[Record]:
    for index in range(count):
        yield Record(
            "orders",
            {
                "id": index,
                "customer_id": 7,
                "note": f"order number {index} with some text to make the row realistic",
                "street": "Musterstraße 12",
                "city": "Regensburg",
                "total": "129.90",
            },
        )


def _open(path: Path, key: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(read_sealed(path, key))))


def test_memory_stays_bounded_while_packaging_many_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.tpkg"
    tracemalloc.start()
    try:
        with path.open("wb") as target:
            writer = PackageWriter(target, scratch_dir=tmp_path)
            writer.add_store(AccessResult("shop", _rows(ROWS)))
            writer.close()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    held = sum(len(json.dumps(record.row)) for record in _rows(1000)) * (ROWS // 1000)
    assert peak < 4 * 1024 * 1024 < held  # far below what holding the rows would take
    archive = _open(path, writer.sealed.key)
    assert len(json.loads(archive.read("stores/shop/orders.json"))) == ROWS
    assert archive.read("stores/shop/orders.csv").decode().count("\r\n") == ROWS + 1


def test_store_names_cannot_escape_the_folder_and_a_revisited_table_gets_a_part(
    tmp_path: Path,
) -> None:
    records = [
        Record("../../etc/passwd", {"a": 1}),
        Record("/abs", {"a": 2}),
        Record("..", {"a": 3}),
        Record("../../etc/passwd", {"a": 4}),
    ]
    path = tmp_path / "p.tpkg"
    with path.open("wb") as target:
        writer = PackageWriter(target, scratch_dir=tmp_path)
        writer.add_store(AccessResult("../evil", iter(records)))
        writer.close()
    names = _open(path, writer.sealed.key).namelist()
    assert all(name.startswith("stores/_evil/") for name in names), names
    assert not [name for name in names if "/../" in name or name.count("/") != 2]
    assert "stores/_evil/.._.._etc_passwd.json" not in names
    assert {"stores/_evil/_.._etc_passwd.json", "stores/_evil/_.._etc_passwd.2.json"} <= set(names)
    assert not list(tmp_path.glob("*.part"))


@given(st.text(max_size=40))
def test_safe_names_are_one_plain_path_component(name: str) -> None:
    cleaned = safe_name(name)
    assert cleaned
    assert "/" not in cleaned
    assert "\\" not in cleaned
    assert not cleaned.startswith(".")


@given(st.text(max_size=40))
def test_no_cell_starts_like_a_formula(value: str) -> None:
    cell = neutralise(value)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell in (value, "'" + value)


@pytest.mark.parametrize("cut", ["truncate", "flip", "drop_last"])
def test_a_changed_package_file_does_not_decrypt(tmp_path: Path, cut: str) -> None:
    path = tmp_path / "x.tpkg"
    with path.open("wb") as target:
        sealed = SealedWriter(target)
        sealed.write(b"x" * (CHUNK * 2 + 10))
        sealed.close()
    data = bytearray(path.read_bytes())
    if cut == "truncate":
        data = data[: len(data) // 2]
    elif cut == "flip":
        data[40] ^= 1
    else:
        data = data[: CHUNK * 2 + 13 + 2 * 20]
    path.write_bytes(bytes(data))
    with pytest.raises(DecryptionError):
        b"".join(read_sealed(path, sealed.key))
