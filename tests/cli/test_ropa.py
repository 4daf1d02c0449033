"""``tutela ropa export``: formats, languages, versions, clear errors and atomic output files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.cli.conftest import EXAMPLE, Run
from tutela.cli import app as root
from tutela.cli.ropa import app as ropa_app
from tutela.cli.ropa import write_atomically
from tutela.errors import ConfigurationError
from tutela.policy.loader import load_declaration
from tutela.policy.ropa_render import BOM


@pytest.fixture(autouse=True)
def ropa_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``tutela ropa`` reachable even before the group is registered in cli/app.py."""
    if not any(group.name == "ropa" for group in root.app.registered_groups):
        monkeypatch.setattr(root.app, "registered_groups", list(root.app.registered_groups))
        root.app.add_typer(ropa_app, name="ropa")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize(("lang", "name"), [("de", "Kartenzahlung"), ("en", "Card payment")])
def test_markdown_from_a_declaration_file(run: Run, lang: str, name: str) -> None:
    result = run("ropa", "export", "--declaration", str(EXAMPLE), "--lang", lang)
    assert result.code == 0, result.err
    assert result.out.startswith("# ")
    assert f"## 2. {name} (`card_payment`)" in result.out
    assert "example.yaml" in result.out
    assert result.err == ""


def test_csv_and_html_files(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "record.csv"
    result = run(
        "ropa", "export", "--declaration", str(EXAMPLE), "--format", "csv", "-o", str(target)
    )
    assert result.code == 0, result.err
    assert f"wrote {target}" in result.err.replace("\n", "")
    text = target.read_text(encoding="utf-8")
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert rows[1][1] == "contract"
    assert len(rows) == 1 + len(load_declaration(EXAMPLE).purposes)
    page = tmp_path / "record.html"
    result = run(
        "ropa", "export", "--declaration", str(EXAMPLE), "--format", "html",
        "--lang", "en", "-o", str(page),
    )  # fmt: skip
    assert result.code == 0, result.err
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in html
    assert leftovers(tmp_path) == []


def test_csv_to_stdout_has_no_byte_order_mark(run: Run) -> None:
    result = run("ropa", "export", "--declaration", str(EXAMPLE), "--format", "csv")
    assert result.code == 0
    assert result.out.startswith('"')


def test_gaps_are_reported_on_stderr(run: Run, tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("\nsecurity_measures:")
    stripped = tmp_path / "no-measures.yaml"
    stripped.write_text(text[:start] + "\n", encoding="utf-8")
    result = run("ropa", "export", "--declaration", str(stripped), "--lang", "en")
    assert result.code == 0, result.err
    assert "Missing: the declaration has no general description" in result.out
    purposes = len(load_declaration(EXAMPLE).purposes)
    assert f"lacks {purposes} detail(s)" in result.err.replace("\n", " ")


def test_published_version_in_effect_and_by_number(
    run: Run, db_args: list[str], tmp_path: Path
) -> None:
    published = run(*db_args, "policy", "publish", str(EXAMPLE))
    assert published.code == 0, published.err
    target = tmp_path / "ropa.md"
    result = run(*db_args, "ropa", "export", "--lang", "en", "-o", str(target))
    assert result.code == 0, result.err
    text = target.read_text(encoding="utf-8")
    assert "Built from published version 1 of the declaration" in text
    by_number = run(*db_args, "ropa", "export", "--version", "1", "--format", "csv")
    assert by_number.code == 0, by_number.err
    rows = list(csv.reader(io.StringIO(by_number.out, newline="")))
    assert {row[-2] for row in rows[1:]} == {"1"}


def test_unknown_version_is_a_clear_error_and_keeps_the_file(
    run: Run, db_args: list[str], tmp_path: Path
) -> None:
    assert run(*db_args, "policy", "publish", str(EXAMPLE)).code == 0
    target = tmp_path / "ropa.csv"
    target.write_text("previous export\n", encoding="utf-8")
    result = run(*db_args, "ropa", "export", "--version", "9", "-o", str(target))
    assert result.code == 2
    assert "version 9" in result.err
    assert "1 to 1" in result.err
    assert "Traceback" not in result.err + result.out
    assert target.read_text(encoding="utf-8") == "previous export\n"
    assert leftovers(tmp_path) == []


def test_nothing_published_yet(run: Run, db_args: list[str]) -> None:
    result = run(*db_args, "ropa", "export")
    assert result.code == 2
    assert "no version of the declaration is in effect" in result.err
    assert result.out == ""


def test_version_and_declaration_exclude_each_other(run: Run) -> None:
    result = run("ropa", "export", "--version", "1", "--declaration", str(EXAMPLE))
    assert result.code == 2
    assert "--version and --declaration exclude each other" in result.err.replace("\n", " ")


def test_bad_format_and_missing_file(run: Run, tmp_path: Path) -> None:
    assert run("ropa", "export", "--declaration", str(EXAMPLE), "--format", "pdf").code == 2
    missing = run("ropa", "export", "--declaration", str(tmp_path / "nope.yaml"))
    assert missing.code == 2
    assert "nope.yaml" in missing.err


def test_output_into_a_missing_folder(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "absent" / "ropa.md"
    result = run("ropa", "export", "--declaration", str(EXAMPLE), "-o", str(target))
    assert result.code == 2
    assert "--output" in result.err
    assert not target.exists()


def test_write_is_atomic_when_the_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "ropa.md"
    target.write_bytes(b"old record")

    def refuse(self: Path, other: Path) -> Path:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "replace", refuse)
    with pytest.raises(ConfigurationError, match="left unchanged"):
        write_atomically(target, b"new record")
    assert target.read_bytes() == b"old record"
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    write_atomically(target, b"new record")
    assert target.read_bytes() == b"new record"
    assert leftovers(tmp_path) == []
