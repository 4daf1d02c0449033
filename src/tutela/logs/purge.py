"""Delete raw access-log files whose retention has run out.

A file goes when its name matches one of the patterns and it was last modified
before ``now - older_than`` (a file written to up to the cut-off stays). Only
regular files directly inside the directory are considered: no recursion, no
directories, no FIFOs or sockets, and symbolic links are neither followed nor
deleted (they are reported as skipped). Every file is checked again right
before it is deleted, relative to an open handle on the directory, so a file
swapped for a link or written to meanwhile survives. The retention comes from
the caller (the CLI reads it from the declaration); this module knows no policy.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import stat
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tutela.clock import Clock
from tutela.errors import InvalidInput

__all__ = ["DEFAULT_PATTERNS", "LogFile", "PurgeResult", "purge_logs"]

# Access logs and their rotations as logrotate and nginx name them:
# access.log, access.log.1, access.log.2.gz, access.log-20240520.gz, error.log.3.zst.
DEFAULT_PATTERNS = ("*.log", "*.log.[0-9]*", "*.log-[0-9]*", "*.gz", "*.zst")


@dataclass(frozen=True, slots=True)
class LogFile:
    name: str
    size: int
    modified: dt.datetime


@dataclass
class PurgeResult:
    """What was (or, in a dry run, would be) deleted, and what was left and why."""

    directory: Path
    cutoff: dt.datetime
    dry_run: bool
    deleted: list[LogFile] = field(default_factory=list)
    failed: list[tuple[LogFile, str]] = field(default_factory=list)
    skipped_links: list[str] = field(default_factory=list)
    kept: int = 0

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.deleted)


def purge_logs(
    directory: Path,
    *,
    older_than: dt.timedelta,
    clock: Clock,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    dry_run: bool = False,
    only: Collection[str] | None = None,
) -> PurgeResult:
    """Delete (or list, with ``dry_run``) the matching files last modified before the cut-off.

    ``only`` limits the run to these file names (those listed by a dry run and confirmed).
    """
    if older_than <= dt.timedelta(0):
        raise InvalidInput("--older-than: the retention must be longer than zero.")
    if not patterns:
        raise InvalidInput("--pattern: give at least one file name pattern, such as *.log.")
    where = _checked_directory(directory)
    result = PurgeResult(directory=where, cutoff=clock.now() - older_than, dry_run=dry_run)
    with _opened(where) as fd:
        for name in sorted(os.listdir(fd)):  # noqa: PTH208 - relative to the open directory
            if only is not None and name not in only:
                continue
            if not any(fnmatch.fnmatchcase(name, p) for p in patterns):
                continue
            _consider(fd, name, result)
    return result


def _checked_directory(directory: Path) -> Path:
    try:
        where = directory.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise InvalidInput(
            f"DIR: {directory} does not exist or cannot be reached; give the folder that holds "
            "the raw logs.",
            field="directory",
        ) from exc
    if not where.is_dir():
        raise InvalidInput(
            f"DIR: {directory} is not a folder; give the folder that holds the raw logs.",
            field="directory",
        )
    if where == Path(where.anchor):
        raise InvalidInput(
            f"DIR: {directory} is the root folder; give the folder that holds the raw logs, "
            "such as /var/log/nginx.",
            field="directory",
        )
    return where


@contextmanager
def _opened(directory: Path) -> Iterator[int]:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise InvalidInput(
            f"DIR: {directory} cannot be read ({exc.strerror}); check its permissions.",
            field="directory",
        ) from exc
    try:
        yield fd
    finally:
        os.close(fd)


def _consider(fd: int, name: str, result: PurgeResult) -> None:
    found = _expired(fd, name, result)
    if found is None:
        return
    if result.dry_run:
        result.deleted.append(found)
        return
    again = _expired(fd, name, result, recheck=True)
    if again is None:
        return
    try:
        os.unlink(name, dir_fd=fd)
    except OSError as exc:
        result.failed.append((again, exc.strerror or type(exc).__name__))
        return
    result.deleted.append(again)


def _expired(fd: int, name: str, result: PurgeResult, *, recheck: bool = False) -> LogFile | None:
    """The file ``name`` when it is a regular file modified before the cut-off, else None."""
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:  # gone meanwhile
        return None
    if stat.S_ISLNK(info.st_mode):
        if not recheck:
            result.skipped_links.append(name)
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    modified = dt.datetime.fromtimestamp(info.st_mtime, dt.UTC)
    if modified >= result.cutoff:
        if not recheck:
            result.kept += 1
        return None
    return LogFile(name=name, size=info.st_size, modified=modified)
