"""Writing an access package: records streamed straight into an encrypted zip.

Each table of a store becomes ``stores/<store>/<table>.json`` (a JSON array, one
record per line) and ``stores/<store>/<table>.csv``. A record goes into the zip as
it arrives, so memory stays bounded however many rows a person has. The CSV of a
table is held back meanwhile — in memory while small, past 256 KiB in a sealed
scratch file (under a key that lives only in memory) — and copied into the zip
when the table ends. A table the store yields
again later in its walk continues in ``<table>.2.json`` / ``.csv``.

Names from a store never become paths as they are: anything but letters, digits,
``_``, ``-`` and ``.`` becomes ``_``, and leading dots are dropped.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime as dt
import decimal
import io
import json
import re
import secrets
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, BinaryIO, Final

from tutela.connectors import AccessResult
from tutela.dsr.package_cipher import SealedWriter, read_sealed

__all__ = ["PackageWriter", "neutralise", "safe_name"]

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]")
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")
_MAX_NAME: Final = 100
CHUNK: Final = 64 * 1024
"""Bytes gathered before a write into the zip or the scratch file."""
SPILL: Final = 256 * 1024
"""CSV bytes of one table kept in memory before they move to a sealed scratch file."""


def safe_name(name: str) -> str:
    """A store's table (or store) name as one harmless path component."""
    cleaned = _UNSAFE.sub("_", name).lstrip(".")[:_MAX_NAME]
    return cleaned or "_"


def neutralise(value: object) -> str:
    """A CSV cell that no spreadsheet runs as a formula (a leading ``'`` where needed)."""
    text = "" if value is None else _plain(value)
    if text.startswith(_FORMULA):
        return "'" + text
    return text


def _plain(value: object) -> str:
    if isinstance(value, str):
        return value
    converted = json_value(value)
    return converted if isinstance(converted, str) else json.dumps(converted)


def json_value(value: object) -> Any:
    """JSON for values databases return (dates, decimals, bytes, ids)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _dump(row: dict[str, Any]) -> bytes:
    return json.dumps(
        {key: json_value(value) for key, value in row.items()}, ensure_ascii=False
    ).encode("utf-8")


class _TablePart:
    """One open table: its JSON entry in the zip and its CSV, held back until the table ends.

    Both go out in chunks of :data:`CHUNK` bytes. The CSV stays in memory while it is
    small; past :data:`SPILL` bytes it moves to a sealed scratch file, so a person with
    millions of rows costs disk, not memory.
    """

    def __init__(self, archive: zipfile.ZipFile, base: str, scratch: Path) -> None:
        self.base = base
        self.entry: IO[bytes] = archive.open(f"{base}.json", "w", force_zip64=True)
        self._json = bytearray(b"[\n")
        self.first = True
        self.scratch = scratch
        self._raw: BinaryIO | None = None
        self.sealed: SealedWriter | None = None
        self._csv_bytes = bytearray()
        self._line = io.StringIO()
        self.csv = csv.writer(self._line)
        self.columns: list[str] | None = None

    def add(self, row: dict[str, Any]) -> None:
        if not self.first:
            self._json += b",\n"
        self.first = False
        self._json += _dump(row)
        if len(self._json) >= CHUNK:
            self.entry.write(self._json)
            self._json.clear()
        if self.columns is None:
            self.columns = list(row)
            self.csv.writerow([neutralise(name) for name in self.columns])
        self.csv.writerow([neutralise(row.get(name)) for name in self.columns])
        if self._line.tell() >= CHUNK:
            self._take_lines()

    def _take_lines(self) -> None:
        self._csv_bytes += self._line.getvalue().encode("utf-8")
        self._line.seek(0)
        self._line.truncate()
        if self.sealed is None and len(self._csv_bytes) >= SPILL:
            self._raw = self.scratch.open("wb")
            self.sealed = SealedWriter(self._raw)
        if self.sealed is not None:
            self.sealed.write(bytes(self._csv_bytes))
            self._csv_bytes.clear()

    def finish(self, archive: zipfile.ZipFile) -> None:
        self._json += b"\n]\n"
        self.entry.write(self._json)
        self.entry.close()
        self._take_lines()
        with archive.open(f"{self.base}.csv", "w", force_zip64=True) as target:
            if self.sealed is None:
                target.write(self._csv_bytes)
                return
            self.sealed.close()
            self._close_scratch()
            try:
                for chunk in read_sealed(self.scratch, self.sealed.key):
                    target.write(chunk)
            finally:
                self.scratch.unlink(missing_ok=True)

    def _close_scratch(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def discard(self) -> None:
        self._close_scratch()
        self.scratch.unlink(missing_ok=True)


class PackageWriter:
    """The zip of one package, encrypted as it is written into ``target``."""

    def __init__(self, target: BinaryIO, *, scratch_dir: Path) -> None:
        self.sealed = SealedWriter(target)
        self._archive = zipfile.ZipFile(
            self.sealed,
            "w",
            compression=zipfile.ZIP_DEFLATED,
        )
        self._scratch_dir = scratch_dir
        self._names: dict[str, str] = {}
        self.files: list[str] = []

    def _folder(self, store: str) -> str:
        folder = self._names.get(store)
        if folder is None:
            folder = safe_name(store)
            while folder in self._names.values():
                folder += "_"
            self._names[store] = folder
        return f"stores/{folder}"

    def add_store(self, result: AccessResult) -> None:
        """Stream every record of ``result`` into the zip (one pair of files per table)."""
        folder = self._folder(result.store)
        parts: dict[str, int] = {}
        used: set[str] = set()
        current: _TablePart | None = None
        current_table: str | None = None
        try:
            for table, row in result:
                if table != current_table or current is None:
                    if current is not None:
                        current.finish(self._archive)
                    current = None
                    count = parts[table] = parts.get(table, 0) + 1
                    base = safe_name(table) if count == 1 else f"{safe_name(table)}.{count}"
                    while base in used:
                        base += "_"
                    used.add(base)
                    scratch = self._scratch_dir / f".{secrets.token_hex(12)}.part"
                    current = _TablePart(self._archive, f"{folder}/{base}", scratch)
                    current_table = table
                    self.files.append(f"{folder}/{base}.json")
                current.add(row)
            if current is not None:
                current.finish(self._archive)
                current = None
        finally:
            if current is not None:
                current.discard()

    def add_json(self, name: str, document: object) -> None:
        self.add_bytes(name, json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"))

    def add_bytes(self, name: str, data: bytes) -> None:
        self._archive.writestr(name, data)
        self.files.append(name)

    def close(self) -> int:
        """Finish the zip and the encryption; return the size of the zip in bytes."""
        self._archive.close()
        self.sealed.close()
        return self.sealed.plain_size

    def abort(self) -> None:
        """Stop writing after an error (the caller deletes the file)."""
        with contextlib.suppress(ValueError, OSError):
            self._archive.close()

    def names(self) -> Iterable[str]:
        return tuple(self.files)
