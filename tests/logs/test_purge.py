"""Deleting raw log files whose retention has run out, with a fixed clock."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from tutela.clock import FrozenClock
from tutela.errors import InvalidInput
from tutela.logs.purge import DEFAULT_PATTERNS, purge_logs

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=7)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


def put(folder: Path, name: str, *, age: dt.timedelta, size: int = 10) -> Path:
    path = folder / name
    path.write_bytes(b"x" * size)
    stamp = (NOW - age).timestamp()
    os.utime(path, (stamp, stamp), follow_symlinks=False)
    return path


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "nginx"
    folder.mkdir()
    put(folder, "access.log", age=dt.timedelta(minutes=1))
    put(folder, "access.log.1", age=dt.timedelta(days=1))
    put(folder, "access.log.8.gz", age=dt.timedelta(days=8), size=100)
    put(folder, "access.log-20240501.zst", age=dt.timedelta(days=31), size=1000)
    put(folder, "error.log.9", age=dt.timedelta(days=9), size=5)
    put(folder, "notes.txt", age=dt.timedelta(days=90))
    return folder


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.promise("P10")
def test_deletes_only_matching_files_older_than_the_retention(
    logs: Path, clock: FrozenClock
) -> None:
    result = purge_logs(logs, older_than=WEEK, clock=clock)
    gone = {"access.log.8.gz", "access.log-20240501.zst", "error.log.9"}
    assert {f.name for f in result.deleted} == gone
    assert result.bytes == 100 + 1000 + 5
    assert result.kept == 2
    assert result.cutoff == NOW - WEEK
    assert names(logs) == {"access.log", "access.log.1", "notes.txt"}


def test_dry_run_lists_and_keeps_everything(logs: Path, clock: FrozenClock) -> None:
    before = names(logs)
    result = purge_logs(logs, older_than=WEEK, clock=clock, dry_run=True)
    assert result.dry_run
    assert len(result.deleted) == 3
    assert names(logs) == before


def test_a_file_exactly_at_the_cut_off_stays(tmp_path: Path, clock: FrozenClock) -> None:
    put(tmp_path, "edge.log", age=WEEK)
    put(tmp_path, "older.log", age=WEEK + dt.timedelta(seconds=1))
    result = purge_logs(tmp_path, older_than=WEEK, clock=clock)
    assert [f.name for f in result.deleted] == ["older.log"]
    assert (tmp_path / "edge.log").exists()


def test_the_clock_decides_what_is_old(logs: Path, clock: FrozenClock) -> None:
    clock.advance(dt.timedelta(days=30))
    result = purge_logs(logs, older_than=WEEK, clock=clock, dry_run=True)
    assert {f.name for f in result.deleted} == {
        "access.log",
        "access.log.1",
        "access.log.8.gz",
        "access.log-20240501.zst",
        "error.log.9",
    }


def test_patterns_choose_the_files(logs: Path, clock: FrozenClock) -> None:
    result = purge_logs(logs, older_than=WEEK, clock=clock, patterns=["*.txt"])
    assert [f.name for f in result.deleted] == ["notes.txt"]
    assert "access.log.8.gz" in names(logs)
    assert "*.log" in DEFAULT_PATTERNS


def test_only_limits_the_run_to_confirmed_names(logs: Path, clock: FrozenClock) -> None:
    result = purge_logs(logs, older_than=WEEK, clock=clock, only={"error.log.9", "access.log"})
    assert [f.name for f in result.deleted] == ["error.log.9"]


@pytest.mark.promise("P10")
def test_symbolic_links_are_never_followed_or_deleted(tmp_path: Path, clock: FrozenClock) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = put(outside, "precious.log", age=dt.timedelta(days=100))
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "link.log").symlink_to(target)
    (folder / "dirlink.log").symlink_to(outside, target_is_directory=True)
    put(folder, "old.log", age=dt.timedelta(days=100))
    result = purge_logs(folder, older_than=WEEK, clock=clock)
    assert [f.name for f in result.deleted] == ["old.log"]
    assert sorted(result.skipped_links) == ["dirlink.log", "link.log"]
    assert target.exists()
    assert (folder / "link.log").is_symlink()


def test_directories_and_fifos_are_never_deleted(tmp_path: Path, clock: FrozenClock) -> None:
    sub = tmp_path / "archive.log"
    sub.mkdir()
    put(sub, "inner.log", age=dt.timedelta(days=100))
    stamp = (NOW - dt.timedelta(days=100)).timestamp()
    os.utime(sub, (stamp, stamp))
    os.mkfifo(tmp_path / "pipe.log")
    os.utime(tmp_path / "pipe.log", (stamp, stamp))
    result = purge_logs(tmp_path, older_than=WEEK, clock=clock)
    assert result.deleted == []
    assert (sub / "inner.log").exists()
    assert (tmp_path / "pipe.log").exists()


def test_a_linked_directory_is_purged_where_it_points(tmp_path: Path, clock: FrozenClock) -> None:
    real = tmp_path / "real"
    real.mkdir()
    put(real, "old.log", age=dt.timedelta(days=30))
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    result = purge_logs(tmp_path / "alias", older_than=WEEK, clock=clock)
    assert result.directory == real.resolve()
    assert [f.name for f in result.deleted] == ["old.log"]


@pytest.mark.parametrize("bad", ["/", "missing", "file.log"])
def test_refuses_root_missing_and_non_directories(
    tmp_path: Path, clock: FrozenClock, bad: str
) -> None:
    put(tmp_path, "file.log", age=dt.timedelta(days=30))
    target = Path(bad) if bad == "/" else tmp_path / bad
    with pytest.raises(InvalidInput, match="DIR: ") as caught:
        purge_logs(target, older_than=WEEK, clock=clock, dry_run=True)
    assert "give the folder that holds the raw logs" in caught.value.detail
    assert (tmp_path / "file.log").exists()


def test_refuses_zero_retention_and_empty_patterns(logs: Path, clock: FrozenClock) -> None:
    with pytest.raises(InvalidInput, match="longer than zero"):
        purge_logs(logs, older_than=dt.timedelta(0), clock=clock)
    with pytest.raises(InvalidInput, match="--pattern"):
        purge_logs(logs, older_than=WEEK, clock=clock, patterns=[])


def test_a_file_that_cannot_be_deleted_is_reported(
    logs: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_unlink = os.unlink

    def unlink(name: str, *, dir_fd: int | None = None) -> None:
        if name == "error.log.9":
            raise PermissionError(13, "Permission denied")
        real_unlink(name, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", unlink)
    result = purge_logs(logs, older_than=WEEK, clock=clock)
    assert [(f.name, reason) for f, reason in result.failed] == [
        ("error.log.9", "Permission denied")
    ]
    assert {f.name for f in result.deleted} == {"access.log.8.gz", "access.log-20240501.zst"}
    assert "error.log.9" in names(logs)
