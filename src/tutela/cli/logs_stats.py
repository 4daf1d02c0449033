"""``tutela logs stats`` and ``tutela logs purge``.

``stats`` counts anonymized access logs (requests per day, pages, status codes,
referrer domains, distinct truncated clients, bytes, user-agent families) and
refuses any log that still holds a full address. ``purge`` deletes raw log
files older than the retention: ``--older-than``, else the purpose of the
declaration in effect that declares ``user.device.ip_address`` (``--purpose``
picks one), else 7 days; it prints which rule it used.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tutela.cli.console import err, out
from tutela.cli.state import state_of
from tutela.errors import ConfigurationError, InvalidInput, NotFound, StorageUnavailable

if TYPE_CHECKING:
    from tutela.logs.purge import PurgeResult
    from tutela.logs.statistics import ByteSource
    from tutela.policy.duration import Period
    from tutela.policy.models import Declaration

IP_CATEGORY = "user.device.ip_address"
DEFAULT_RETENTION = dt.timedelta(days=7)


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True)
class Rule:
    """A retention and the sentence that says where it comes from."""

    span: dt.timedelta
    text: str


def register(app: typer.Typer) -> None:
    """Add ``stats`` and ``purge`` to ``app``."""
    app.command("stats")(stats)
    app.command("purge")(purge)


def stats(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="INPUT",
            help="Anonymized logs (plain, .gz or .zst); - or nothing for standard input.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="json (default) or csv.")] = Format.JSON,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to this file instead of stdout."),
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option("--chart", help="Also draw requests per day and status classes as PNG."),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, max=100_000, help="How many pages and referrers.")
    ] = 20,
    ipv4mask: Annotated[
        int | None,
        typer.Option("--ipv4mask", help="IPv4 bits the anonymizer zeroed (default 8).", min=1),
    ] = None,
    ipv6mask: Annotated[
        int | None,
        typer.Option("--ipv6mask", help="IPv6 bits the anonymizer zeroed (default 96).", min=1),
    ] = None,
    anonip: Annotated[
        bool, typer.Option("--anonip", help="Logs anonymized with anonip's masks (12/84).")
    ] = False,
) -> None:
    """Count anonymized access logs: per day, page, status, referrer domain, client.

    Refuses (exit 2, nothing written) a log that still holds a full address.
    """
    from tutela.logs.statistics import ANONIP_MASKS, DEFAULT_MASKS, Masks, collect

    base = ANONIP_MASKS if anonip else DEFAULT_MASKS
    masks = Masks(ipv4=ipv4mask or base.ipv4, ipv6=ipv6mask or base.ipv6)
    statistics = collect(_streams(inputs or ["-"]), masks=masks)
    text = statistics.to_csv(top=top) if fmt is Format.CSV else statistics.to_json(top=top)
    picture = None
    if chart is not None:
        from tutela.logs.chart import chart_png

        picture = chart_png(statistics)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        _write_atomically(output, text.encode("utf-8"), option="--output")
        err.print(f"wrote {output}", markup=False)
    if chart is not None and picture is not None:
        _write_atomically(chart, picture, option="--chart")
        err.print(f"wrote {chart}", markup=False)
    if statistics.unparsed:
        err.print(
            f"{statistics.unparsed} line(s) were not in the combined or main format and were "
            "not counted.",
            markup=False,
        )


def _streams(names: list[str]) -> Iterator[tuple[str | None, ByteSource]]:
    """Each input opened in turn (one open file at a time); ``None`` names standard input."""
    from tutela.logs.streams import describe, reading

    for name in names:
        with reading(name) as stream:
            yield describe(name), stream


def _write_atomically(path: Path, data: bytes, *, option: str) -> None:
    """Write to a temporary file next to ``path``, then rename it over ``path``."""
    folder = path.parent
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigurationError(
            f"{option}: cannot write into {folder} ({exc.strerror}); choose a writable folder.",
        ) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise ConfigurationError(
            f"{option}: cannot write {path} ({exc.strerror}); choose another file."
        ) from exc


def purge(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="The folder that holds the raw logs.")],
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="Retention as ISO 8601, such as P7D or PT12H."),
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", help="Take the retention of this purpose of the declaration."),
    ] = None,
    patterns: Annotated[
        list[str] | None,
        typer.Option(
            "--pattern",
            help="File name pattern; repeat for several. Default: *.log *.log.[0-9]* "
            "*.log-[0-9]* *.gz *.zst.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be deleted.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Delete without asking.")] = False,
) -> None:
    """Delete raw log files last modified before the retention ran out.

    Only regular files directly in DIR; links are never followed or deleted.
    Exit 0; 1 when a file could not be deleted; 2 for unusable input.
    """
    from tutela.clock import FrozenClock
    from tutela.logs.purge import DEFAULT_PATTERNS, purge_logs

    if older_than is not None and purpose is not None:
        raise InvalidInput("--older-than and --purpose: give one of them, not both.")
    runtime = state_of(ctx).runtime()
    now = runtime.clock.now()
    rule = _rule(ctx, older_than=older_than, purpose=purpose, now=now)
    out.print(f"Retention: {rule.text}", markup=False)
    clock = FrozenClock(now)
    chosen = tuple(patterns) if patterns else DEFAULT_PATTERNS
    listed = purge_logs(directory, older_than=rule.span, clock=clock, patterns=chosen, dry_run=True)
    out.print(f"Cut-off: files last modified before {listed.cutoff:%Y-%m-%d %H:%M} UTC.")
    for link in listed.skipped_links:
        out.print(f"skipped (symbolic link): {link}", markup=False)
    count, size = len(listed.deleted), listed.bytes
    if not count:
        out.print(f"Nothing to delete; {listed.kept} matching file(s) are still in time.")
        return
    if dry_run:
        _list(listed, "would delete")
        out.print(
            f"Dry run: {count} file(s), {size:,} bytes would be deleted; nothing was deleted."
        )
        return
    if not yes:
        _list(listed, "to delete")
        if not typer.confirm(f"Delete these {count} file(s), {size:,} bytes?", default=False):
            out.print("Nothing was deleted.")
            return
    done = purge_logs(
        directory,
        older_than=rule.span,
        clock=clock,
        patterns=chosen,
        only={f.name for f in listed.deleted},
    )
    if yes:
        _list(done, "deleted")
    for found, reason in done.failed:
        err.print(f"not deleted: {found.name} ({reason})", markup=False)
    out.print(
        f"Deleted {len(done.deleted)} file(s), {done.bytes:,} bytes; "
        f"{listed.kept} newer file(s) kept."
    )
    if done.failed:
        err.print(
            f"{len(done.failed)} file(s) could not be deleted; fix the permissions and run "
            "the purge again.",
            markup=False,
        )
        raise typer.Exit(1)


def _list(result: PurgeResult, verb: str) -> None:
    for found in result.deleted:
        out.print(
            f"{verb}: {found.name} ({found.size:,} bytes, modified "
            f"{found.modified:%Y-%m-%d %H:%M} UTC)",
            markup=False,
        )


def _rule(
    ctx: typer.Context, *, older_than: str | None, purpose: str | None, now: dt.datetime
) -> Rule:
    from tutela.policy.duration import Period

    if older_than is not None:
        try:
            period = Period.parse(older_than)
        except ValueError as exc:
            raise InvalidInput(f"--older-than: {exc}.", field="older_than") from exc
        return Rule(_span(period, now), f"{period.iso()} (--older-than).")
    declaration, found = _declaration(ctx, now=now, needed=purpose is not None)
    if declaration is None:
        return Rule(DEFAULT_RETENTION, f"P7D, the default for raw logs ({found}).")
    return _declared(declaration, version=found, purpose=purpose, now=now)


def _declaration(
    ctx: typer.Context, *, now: dt.datetime, needed: bool
) -> tuple[Declaration | None, str]:
    """The declaration in effect and its version, or None and why there is none."""
    from sqlalchemy.exc import SQLAlchemyError

    from tutela.calendar import german_date
    from tutela.policy.versions import current_version

    runtime = state_of(ctx).runtime()
    settings = runtime.settings
    reason = ""
    if settings.database_url is None and not (settings.data_dir / "tutela.db").exists():
        reason = "no database is configured"
    else:
        try:
            runtime.require_current_schema()
            with runtime.session_factory() as session:
                version = current_version(session, on=german_date(now))
                if version is not None:
                    return version.declaration(), f"declaration version {version.number}"
            reason = "no declaration is in effect"
        except (StorageUnavailable, SQLAlchemyError) as exc:
            if needed:
                raise StorageUnavailable(
                    "--purpose: the declaration cannot be read from the database; check "
                    "--database-url, or give the retention with --older-than."
                ) from exc
            reason = "the database cannot be read"
    if needed:
        raise ConfigurationError(
            f"--purpose: {reason}; publish the declaration first, or give the retention with "
            "--older-than."
        )
    return None, reason


def _declared(
    declaration: Declaration, *, version: str, purpose: str | None, now: dt.datetime
) -> Rule:
    from tutela.policy.terms import RetentionEvent

    if purpose is not None:
        chosen = next((p for p in declaration.purposes if p.id == purpose), None)
        if chosen is None:
            known = ", ".join(p.id for p in declaration.purposes)
            raise NotFound(f"--purpose: {version} has no purpose {purpose!r}; it has: {known}.")
        retention = chosen.retention
        if retention is None or retention.period is None:
            raise InvalidInput(
                f"--purpose: {purpose} declares no fixed retention period; choose another "
                "purpose or give the retention with --older-than."
            )
        if retention.after is not RetentionEvent.COLLECTION:
            raise InvalidInput(
                f"--purpose: the retention of {purpose} runs from {retention.after.value}, not "
                "from collection, so a file's age does not measure it; give --older-than."
            )
        period = retention.period
        return Rule(_span(period, now), f"{period.iso()} of purpose {purpose} ({version}).")
    candidates = [
        (p.id, p.retention.period)
        for p in declaration.purposes
        if IP_CATEGORY in p.categories.all()
        and p.retention is not None
        and p.retention.period is not None
        and p.retention.after is RetentionEvent.COLLECTION
    ]
    if not candidates:
        return Rule(
            DEFAULT_RETENTION,
            f"P7D, the default for raw logs ({version} has no purpose that declares "
            f"{IP_CATEGORY} with a period counted from collection).",
        )
    name, period = min(candidates, key=lambda c: (_span(c[1], now), c[0]))
    note = f"the purpose that declares {IP_CATEGORY}"
    if len(candidates) > 1:
        note = (
            f"the shortest of {len(candidates)} purposes that declare {IP_CATEGORY}; "
            "choose another with --purpose"
        )
    return Rule(_span(period, now), f"{period.iso()} of purpose {name} ({version}, {note}).")


def _span(period: Period, now: dt.datetime) -> dt.timedelta:
    """How far back ``period`` reaches from ``now`` (calendar months and years kept whole)."""
    index = now.month - 1 - period.months - 12 * period.years
    year, month = now.year + index // 12, index % 12 + 1
    if year < 1:
        raise InvalidInput(f"{period.iso()}: the retention reaches back before year 1.")
    day = min(now.day, calendar.monthrange(year, month)[1])
    start = now.replace(year=year, month=month, day=day) - dt.timedelta(
        weeks=period.weeks, days=period.days, hours=period.hours, minutes=period.minutes
    )
    return now - start
