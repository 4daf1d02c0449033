"""``tutela policy …`` end to end: lint, render, publish, show, diff, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import EXAMPLE, Run


def test_lint_example_is_clean(run: Run) -> None:
    result = run("policy", "lint", str(EXAMPLE))
    assert result.code == 0, result.out
    assert "0 error(s)" in result.out


def test_lint_json(run: Run) -> None:
    result = run("policy", "lint", str(EXAMPLE), "--format", "json")
    assert result.code == 0
    document = json.loads(result.out)
    assert document["ok"] is True
    assert all(f["severity"] == "warning" for f in document["findings"])


def test_lint_findings_exit_1(run: Run, tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "safeguard: data_privacy_framework", "safeguard: privacy_shield", 1
    )
    assert "privacy_shield" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    result = run("policy", "lint", str(bad))
    assert result.code == 1
    assert "transfer.invalid-safeguard" in result.out


def test_lint_malformed_yaml_exit_2_with_position(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("controller:\n  name: [unclosed\n", encoding="utf-8")
    result = run("policy", "lint", str(bad))
    assert result.code == 2
    assert f"{bad}:" in result.err
    assert "Traceback" not in result.err + result.out


def test_lint_json_reports_load_problems(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "wrong.yaml"
    bad.write_text("schema_version: 1\ncontroller: 3\n", encoding="utf-8")
    result = run("policy", "lint", str(bad), "--format", "json")
    assert result.code == 2
    problems = json.loads(result.out)["problems"]
    assert any(p["path"].startswith("controller") and p["line"] == 2 for p in problems)


def test_lint_missing_file(run: Run, tmp_path: Path) -> None:
    result = run("policy", "lint", str(tmp_path / "nope.yaml"))
    assert result.code == 2
    assert "nope.yaml" in result.err


@pytest.mark.parametrize(("lang", "word"), [("de", "Datenschutz"), ("en", "privacy")])
def test_render_file(run: Run, lang: str, word: str) -> None:
    result = run("policy", "render", str(EXAMPLE), "--lang", lang)
    assert result.code == 0
    assert result.out.lstrip().lower().startswith("<!doctype html>")
    assert word.lower() in result.out.lower()
    assert f'lang="{lang}"' in result.out


def test_render_markdown_to_file(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "statement.md"
    result = run(
        "policy", "render", str(EXAMPLE), "--lang", "en", "--format", "md", "-o", str(target)
    )
    assert result.code == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# ")
    assert not (tmp_path / "statement.md.tmp").exists()


def test_schema(run: Run) -> None:
    result = run("policy", "schema")
    assert result.code == 0
    schema = json.loads(result.out)
    assert "controller" in schema["properties"]


@pytest.mark.promise("P20")
def test_publish_show_diff(run: Run, db_args: list[str], tmp_path: Path) -> None:
    result = run(*db_args, "policy", "publish", str(EXAMPLE), "--note", "first")
    assert result.code == 0, result.err
    assert "published version 1" in result.out

    again = run(*db_args, "policy", "publish", str(EXAMPLE))
    assert again.code == 1
    assert "identical" in again.err

    listing = run(*db_args, "policy", "show")
    assert listing.code == 0
    assert "current" in listing.out

    one = run(*db_args, "policy", "show", "1")
    assert one.code == 0
    assert "content hash" in one.out

    changed = tmp_path / "changed.yaml"
    changed.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace("P7D", "P14D", 1), encoding="utf-8"
    )
    delta = run(*db_args, "policy", "diff", "1", str(changed), "--lang", "en")
    assert delta.code == 1
    assert "retention" in delta.out.lower()

    same = run(*db_args, "policy", "diff", "1", str(EXAMPLE))
    assert same.code == 0
    assert "No changes" in same.out

    rendered = run(*db_args, "policy", "render", "1", "--lang", "en")
    assert rendered.code == 0
    assert "version 1" in rendered.out.lower()


def test_publish_refuses_lint_errors(run: Run, db_args: list[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            "safeguard: data_privacy_framework", "safeguard: safe_harbor", 1
        ),
        encoding="utf-8",
    )
    result = run(*db_args, "policy", "publish", str(bad))
    assert result.code == 1
    assert "transfer.invalid-safeguard" in result.err
    listing = run(*db_args, "policy", "show")
    assert "No version has been published" in listing.out


def test_publish_bad_effective_date(run: Run, db_args: list[str]) -> None:
    result = run(*db_args, "policy", "publish", str(EXAMPLE), "--effective-on", "tomorrow")
    assert result.code == 2
    assert "YYYY-MM-DD" in result.err


def test_show_unknown_version(run: Run, db_args: list[str]) -> None:
    result = run(*db_args, "policy", "show", "9")
    assert result.code == 2
    assert "9" in result.err


def test_bad_option_value_is_a_usage_error(run: Run) -> None:
    result = run("policy", "lint", str(EXAMPLE), "--format", "bogus")
    assert result.code == 2
    assert "bogus" in result.err
    assert "Traceback" not in result.err
