"""``tutela logs stats`` and ``tutela logs purge`` end to end, through the real command."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from tutela.cli.app import main
from tutela.clock import SystemClock
from tutela.policy.loader import load_declaration, parse_declaration
from tutela.policy.versions import publish

EXAMPLE = Path(__file__).parents[2] / "src" / "tutela" / "policy" / "examples" / "example.yaml"
AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
DAY = 86_400


@dataclass
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    def invoke(*args: str, stdin: bytes | None = None) -> Result:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return Result(code=code, out=captured.out, err=captured.err)

    return invoke


def line(client: str = "203.0.113.0", *, status: int = 200, xff: str = "-", day: int = 20) -> str:
    return (
        f'{client} - - [{day:02d}/May/2024:10:00:00 +0000] "GET /a?mail=x@example.org HTTP/1.1" '
        f'{status} 100 "https://www.example.org/from?x=1" "{AGENT}" "{xff}"\n'
    )


@pytest.fixture
def anonymized(tmp_path: Path) -> Path:
    path = tmp_path / "access.log"
    path.write_text(
        line() + line("2001:db8::", status=404) + line(day=21) + "not a log line\n",
        encoding="utf-8",
    )
    return path


# -- stats ----------------------------------------------------------------------------------


@pytest.mark.promise("P10")
def test_stats_json_to_stdout(run: Run, anonymized: Path) -> None:
    result = run("logs", "stats", str(anonymized))
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["requests"] == 3
    assert report["unparsed"] == 1
    assert report["days"] == {"2024-05-20": 2, "2024-05-21": 1}
    assert report["pages"] == [{"path": "/a", "requests": 3}]
    assert report["referrer_domains"] == [{"domain": "www.example.org", "requests": 3}]
    assert report["distinct_clients"] == 2
    assert "mail=" not in result.out
    assert "1 line(s) were not in the combined or main format" in result.err


def test_stats_reads_standard_input(run: Run, anonymized: Path) -> None:
    result = run("logs", "stats", "--format", "csv", stdin=anonymized.read_bytes())
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == "section,key,value"
    assert "summary,requests,3" in result.out.splitlines()


def test_stats_csv_file_and_chart(run: Run, anonymized: Path, tmp_path: Path) -> None:
    report, chart = tmp_path / "out" / "stats.csv", tmp_path / "out" / "chart.png"
    report.parent.mkdir()
    args = ["logs", "stats", str(anonymized), "--format", "csv", "-o", str(report)]
    result = run(*args, "--chart", str(chart), "--top", "1")
    assert result.code == 0, result.err
    assert result.out == ""
    assert "status,404,1" in report.read_text(encoding="utf-8").splitlines()
    first = chart.read_bytes()
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    assert sorted(p.name for p in report.parent.iterdir()) == ["chart.png", "stats.csv"]
    assert run(*args, "--chart", str(chart)).code == 0
    assert chart.read_bytes() == first


@pytest.mark.promise("P10")
@pytest.mark.parametrize(
    ("client", "xff"),
    [
        ("203.0.113.77", "-"),
        ("2001:db8:abcd:12:1:2:3:4", "-"),
        ("::ffff:203.0.113.77", "-"),
        ("203.0.113.0", "198.51.100.0, 198.51.100.23"),
    ],
)
def test_stats_refuses_full_addresses_and_writes_nothing(
    run: Run, tmp_path: Path, client: str, xff: str
) -> None:
    log = tmp_path / "raw.log"
    log.write_text(line() + line(client, xff=xff), encoding="utf-8")
    report, chart = tmp_path / "stats.json", tmp_path / "chart.png"
    result = run("logs", "stats", str(log), "-o", str(report), "--chart", str(chart))
    assert result.code == 2
    assert "line 2" in result.err
    assert "run tutela logs anonymize first" in result.err
    assert result.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.log"]


def test_stats_mask_options(run: Run, tmp_path: Path) -> None:
    log = tmp_path / "anonip.log"
    log.write_text(line("192.168.96.0", xff="2001:db8:85a0::"), encoding="utf-8")
    assert run("logs", "stats", str(log)).code == 2
    assert run("logs", "stats", str(log), "--anonip").code == 0
    assert run("logs", "stats", str(log), "--ipv6mask", "84").code == 0
    assert run("logs", "stats", str(log), "--anonip", "--ipv4mask", "16").code == 2


def test_stats_unreadable_input(run: Run, tmp_path: Path) -> None:
    missing = run("logs", "stats", str(tmp_path / "missing.log"))
    assert missing.code == 2
    assert "missing.log: cannot open the input" in missing.err
    binary = tmp_path / "binary.log"
    binary.write_bytes(line().encode() + b"\x00\xff\x10\n")
    result = run("logs", "stats", str(binary))
    assert result.code == 2
    assert "line 2" in result.err


# -- purge ----------------------------------------------------------------------------------


def put(folder: Path, name: str, *, days: float) -> Path:
    path = folder / name
    path.write_bytes(b"x" * 100)
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def raw_logs(tmp_path: Path) -> Path:
    folder = tmp_path / "nginx"
    folder.mkdir()
    put(folder, "access.log", days=0)
    put(folder, "access.log.3.gz", days=3.5)
    put(folder, "access.log.9.gz", days=9)
    put(folder, "access.log.20.gz", days=20)
    put(folder, "access.log.500.gz", days=500)
    return folder


def remaining(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.promise("P10")
def test_purge_without_database_uses_seven_days(run: Run, raw_logs: Path, tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "empty-data")]
    dry = run(*data, "logs", "purge", str(raw_logs), "--dry-run")
    assert dry.code == 0, dry.err
    assert "P7D, the default for raw logs (no database is configured)" in dry.out
    assert "would delete: access.log.9.gz" in dry.out
    assert "Dry run: 3 file(s), 300 bytes would be deleted" in dry.out
    assert len(remaining(raw_logs)) == 5
    assert not (tmp_path / "empty-data").exists()
    done = run(*data, "logs", "purge", str(raw_logs), "--yes")
    assert done.code == 0, done.err
    assert "Deleted 3 file(s), 300 bytes" in done.out
    assert remaining(raw_logs) == ["access.log", "access.log.3.gz"]


def test_purge_older_than(run: Run, raw_logs: Path, tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "empty-data")]
    result = run(*data, "logs", "purge", str(raw_logs), "--older-than", "P3D", "--yes")
    assert result.code == 0, result.err
    assert "Retention: P3D (--older-than)." in result.out
    assert remaining(raw_logs) == ["access.log"]
    bad = run(*data, "logs", "purge", str(raw_logs), "--older-than", "7 days")
    assert bad.code == 2
    assert "--older-than" in bad.err


def test_purge_asks_before_deleting(
    run: Run, raw_logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = ["--data-dir", str(tmp_path / "empty-data")]
    monkeypatch.setattr("typer.confirm", lambda *a, **k: False)
    result = run(*data, "logs", "purge", str(raw_logs))
    assert result.code == 0
    assert "Nothing was deleted." in result.out
    assert len(remaining(raw_logs)) == 5
    monkeypatch.setattr("typer.confirm", lambda *a, **k: True)
    assert run(*data, "logs", "purge", str(raw_logs)).code == 0
    assert len(remaining(raw_logs)) == 2


def test_purge_patterns_and_failed_deletions(
    run: Run, raw_logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = ["--data-dir", str(tmp_path / "empty-data")]
    put(raw_logs, "old.txt", days=30)
    real_unlink = os.unlink

    def unlink(name: str, *, dir_fd: int | None = None) -> None:
        if name == "access.log.20.gz":
            raise PermissionError(13, "Permission denied")
        real_unlink(name, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", unlink)
    args = ["logs", "purge", str(raw_logs), "--pattern", "*.txt", "--pattern", "*.20.gz"]
    result = run(*data, *args, "--yes")
    assert result.code == 1
    assert "deleted: old.txt" in result.out
    assert "not deleted: access.log.20.gz (Permission denied)" in result.err
    assert "access.log.20.gz" in remaining(raw_logs)
    assert "old.txt" not in remaining(raw_logs)
    assert "access.log.500.gz" in remaining(raw_logs)


def test_purge_refuses_root_and_files(run: Run, raw_logs: Path, tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "empty-data")]
    root = run(*data, "logs", "purge", "/", "--yes")
    assert root.code == 2
    assert "root folder" in root.err
    a_file = run(*data, "logs", "purge", str(raw_logs / "access.log"), "--yes")
    assert a_file.code == 2
    assert "is not a folder" in a_file.err
    both = run(*data, "logs", "purge", str(raw_logs), "--older-than", "P1D", "--purpose", "x")
    assert both.code == 2
    assert len(remaining(raw_logs)) == 5


def _publish(factory: sessionmaker[Session], text: str | None = None) -> None:
    declaration = load_declaration(EXAMPLE) if text is None else parse_declaration(text)
    with factory() as session, session.begin():
        publish(
            session,
            declaration=declaration,
            source_text=text or EXAMPLE.read_text(encoding="utf-8"),
            actor="staff:1",
            clock=SystemClock(),
        )


@pytest.mark.promise("P10")
@pytest.mark.promise("P18")
def test_purge_takes_the_retention_from_the_declaration(
    run: Run,
    raw_logs: Path,
    tmp_path: Path,
    db_url: str,
    session_factory: sessionmaker[Session],
) -> None:
    db = ["--data-dir", str(tmp_path / "data"), "--database-url", db_url]
    empty = run(*db, "logs", "purge", str(raw_logs), "--dry-run")
    assert "P7D, the default for raw logs (no declaration is in effect)" in empty.out
    _publish(session_factory)
    result = run(*db, "logs", "purge", str(raw_logs), "--dry-run")
    assert result.code == 0, result.err
    assert "Retention: P7D of purpose server_logs (declaration version 1" in result.out
    assert "the shortest of 2 purposes that declare user.device.ip_address" in result.out
    chosen = run(*db, "logs", "purge", str(raw_logs), "--purpose", "web_analytics", "--yes")
    assert chosen.code == 0, chosen.err
    assert "Retention: P14M of purpose web_analytics (declaration version 1)." in chosen.out
    assert remaining(raw_logs) == [
        "access.log",
        "access.log.20.gz",
        "access.log.3.gz",
        "access.log.9.gz",
    ]
    unknown = run(*db, "logs", "purge", str(raw_logs), "--purpose", "nope")
    assert unknown.code == 2
    assert "has no purpose 'nope'" in unknown.err
    contract = run(*db, "logs", "purge", str(raw_logs), "--purpose", "vat_place_of_supply")
    assert contract.code == 2
    assert "runs from contract_end" in contract.err


def test_purge_follows_a_shorter_declared_retention(
    run: Run,
    raw_logs: Path,
    tmp_path: Path,
    db_url: str,
    session_factory: sessionmaker[Session],
) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    (server_logs,) = [p for p in data["purposes"] if p["id"] == "server_logs"]
    server_logs["retention"]["period"] = "P3D"
    _publish(session_factory, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    db = ["--data-dir", str(tmp_path / "data"), "--database-url", db_url]
    result = run(*db, "logs", "purge", str(raw_logs), "--yes")
    assert result.code == 0, result.err
    assert "Retention: P3D of purpose server_logs" in result.out
    assert remaining(raw_logs) == ["access.log"]


def test_purge_with_an_unreachable_database_falls_back(
    run: Run, raw_logs: Path, tmp_path: Path
) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
    db = ["--data-dir", str(tmp_path / "data"), "--database-url", url]
    result = run(*db, "logs", "purge", str(raw_logs), "--dry-run")
    assert result.code == 0, result.err
    assert "P7D, the default for raw logs (the database cannot be read)" in result.out
    needed = run(*db, "logs", "purge", str(raw_logs), "--purpose", "server_logs")
    assert needed.code == 2
    assert "--purpose: the declaration cannot be read" in needed.err


def test_span_keeps_calendar_months_whole() -> None:
    from tutela.cli.logs_stats import _span
    from tutela.policy.duration import Period

    now = dt.datetime(2024, 3, 31, 12, 0, tzinfo=dt.UTC)
    assert now - _span(Period.parse("P1M"), now) == dt.datetime(2024, 2, 29, 12, 0, tzinfo=dt.UTC)
    assert _span(Period.parse("P7D"), now) == dt.timedelta(days=7)
    assert _span(Period.parse("PT12H"), now) == dt.timedelta(hours=12)
    assert now - _span(Period.parse("P1Y1W"), now) == dt.datetime(2023, 3, 24, 12, tzinfo=dt.UTC)
