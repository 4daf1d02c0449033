"""init, db, audit, staff and apikey commands, and the errors a user can cause."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.cli.conftest import EXAMPLE, Run


def test_init_creates_and_never_overwrites(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run("init", "--data-dir", str(data))
    assert result.code == 0, result.err
    declaration = data / "declaration.yaml"
    assert declaration.read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")
    key = data / "master.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (data / "tutela.db").exists()

    declaration.write_text("# mine\n", encoding="utf-8")
    key_before = key.read_bytes()
    again = run("init", "--data-dir", str(data))
    assert again.code == 0
    assert declaration.read_text(encoding="utf-8") == "# mine\n"
    assert key.read_bytes() == key_before
    assert "left unchanged" in again.err


def test_unwritable_data_dir_is_one_sentence(run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = run("init", "--data-dir", str(blocker / "sub"))
    assert result.code == 2
    assert "data directory" in result.err
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) <= 2


def test_unreachable_database_is_one_sentence(run: Run, tmp_path: Path) -> None:
    result = run(
        "--data-dir",
        str(tmp_path),
        "--database-url",
        "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
        "db",
        "current",
    )
    assert result.code == 2
    assert "cannot be reached" in result.err
    assert "Traceback" not in result.err


def test_db_current_and_upgrade(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    data.mkdir()
    behind = run("--data-dir", str(data), "db", "current")
    assert behind.code == 1
    assert "tutela db upgrade" in behind.out
    up = run("--data-dir", str(data), "db", "upgrade")
    assert up.code == 0
    assert run("--data-dir", str(data), "db", "current").code == 0


def test_commands_refuse_stale_schema(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "stale"
    data.mkdir()
    result = run("--data-dir", str(data), "audit", "verify")
    assert result.code == 2
    assert "tutela db upgrade" in result.err


@pytest.mark.promise("P07")
def test_audit_verify_and_export(run: Run, db_args: list[str], db_url: str, tmp_path: Path) -> None:
    assert run(*db_args, "policy", "publish", str(EXAMPLE)).code == 0
    assert (
        run(
            *db_args,
            "staff",
            "add",
            "--email",
            "dpo@example.com",
            "--role",
            "dpo",
            "--password-stdin",
            stdin="correct horse battery staple\n",
        ).code
        == 0
    )
    ok = run(*db_args, "audit", "verify")
    assert ok.code == 0, ok.err
    assert "intact" in ok.out

    target = tmp_path / "trail.jsonl"
    exported = run(*db_args, "audit", "export", "-o", str(target))
    assert exported.code == 0
    lines = target.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 2
    actions = [json.loads(line)["action"] for line in lines]
    assert "policy.published" in actions

    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET actor = 'mallory' WHERE sequence = 1"))
    engine.dispose()
    broken = run(*db_args, "audit", "verify")
    assert broken.code == 1
    assert "sequence 1" in broken.err


@pytest.mark.promise("P19")
def test_staff_add_rejects_weak_password(run: Run, db_args: list[str]) -> None:
    result = run(
        *db_args, "staff", "add", "--email", "x@example.com", "--password-stdin", stdin="short\n"
    )
    assert result.code == 2
    assert "12" in result.err


def test_apikey_create_prints_key_once(run: Run, db_args: list[str]) -> None:
    result = run(*db_args, "apikey", "create", "--name", "ci", "--scope", "policy:read")
    assert result.code == 0, result.err
    key = result.out.strip()
    assert key.startswith("tut_")
    assert key not in result.err


def test_help_runs_as_a_program() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTELA_")}
    done = subprocess.run(
        [sys.executable, "-m", "tutela", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0
    for group in ("policy", "audit", "serve", "demo", "worker"):
        assert group in done.stdout


def test_unknown_database_kind_is_one_sentence(run: Run, tmp_path: Path) -> None:
    result = run("--data-dir", str(tmp_path), "--database-url", "foo://x", "db", "current")
    assert result.code == 2
    assert "cannot use" in result.err
    assert "Traceback" not in result.err


def test_audit_export_to_unwritable_path(run: Run, db_args: list[str], tmp_path: Path) -> None:
    result = run(*db_args, "audit", "export", "-o", str(tmp_path / "missing" / "trail.jsonl"))
    assert result.code == 2
    assert "Cannot write" in result.err
    assert not (tmp_path / "missing").exists()
