"""``tutela policy …``: lint, render, publish, diff, schema, show."""

from __future__ import annotations

import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tutela.cli.console import err, out
from tutela.cli.state import runtime_of

if TYPE_CHECKING:
    from tutela.clock import Clock
    from tutela.policy.models import Declaration
    from tutela.policy.statement import StatementMeta
    from tutela.policy.versions import PolicyVersion

app = typer.Typer(help="Work with declarations: lint, render, publish and compare versions.")


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


class StatementFormat(StrEnum):
    HTML = "html"
    MD = "md"


class Language(StrEnum):
    DE = "de"
    EN = "en"


def _today(clock: Clock | None = None) -> dt.date:
    """Today's date in Germany, where notice periods and deadlines run."""
    from tutela.calendar import german_date
    from tutela.clock import SystemClock

    return german_date((clock or SystemClock()).now())


def _load(path: Path) -> Declaration:
    from tutela.policy.loader import load_declaration

    return load_declaration(path)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    tmp = output.with_name(output.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        from tutela.errors import ConfigurationError

        tmp.unlink(missing_ok=True)
        raise ConfigurationError(f"Cannot write {output}: {exc.strerror}.") from exc
    err.print(f"wrote {output}")


@app.command()
def lint(
    path: Annotated[Path, typer.Argument(help="Declaration YAML file.")],
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.TEXT,
) -> None:
    """Check a declaration against GDPR Art. 13/14, TDDDG § 25 and the transfer rules.

    Exit 0: clean (warnings allowed). 1: error findings. 2: the file cannot be used.
    """
    from tutela.policy.lint import has_errors
    from tutela.policy.lint import lint as run_lint

    if fmt is Format.JSON:
        from tutela.policy.loader import DeclarationError

        try:
            declaration = _load(path)
        except DeclarationError as exc:
            problems = [
                {
                    "file": p.file,
                    "line": p.line,
                    "column": p.column,
                    "path": p.path,
                    "message": p.message,
                }
                for p in exc.problems
            ]
            _write(
                json.dumps({"ok": False, "problems": problems}, indent=2, ensure_ascii=False), None
            )
            raise typer.Exit(2) from exc
        findings = run_lint(declaration, today=_today())
        document = {
            "ok": not has_errors(findings),
            "findings": [f.to_dict() for f in findings],
        }
        _write(json.dumps(document, indent=2, ensure_ascii=False), None)
        raise typer.Exit(1 if has_errors(findings) else 0)

    declaration = _load(path)
    findings = run_lint(declaration, today=_today())
    for finding in findings:
        colour = "red" if finding.severity == "error" else "yellow"
        out.print(
            f"{path}: [{colour}]{finding.severity}[/] [bold]{finding.id}[/] at {finding.path}: "
            f"{finding.message}\n    fix: {finding.hint}"
        )
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    out.print(f"{errors} error(s), {warnings} warning(s)")
    raise typer.Exit(1 if errors else 0)


def _version_or_file(ctx: typer.Context, ref: str) -> tuple[Declaration, str]:
    """A published version number (``3``, ``v3``) or a declaration file."""
    candidate = ref[1:] if ref.lower().startswith("v") else ref
    if candidate.isdigit() and not Path(ref).exists():
        from tutela.policy.versions import get_version

        runtime = runtime_of(ctx)
        runtime.require_current_schema()
        with runtime.session_factory() as session:
            version = get_version(session, int(candidate))
            return version.declaration(), f"version {version.number}"
    return _load(Path(ref)), ref


@app.command()
def render(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Declaration file or published version number.")],
    lang: Annotated[Language, typer.Option("--lang", help="Language.")] = Language.DE,
    fmt: Annotated[
        StatementFormat, typer.Option("--format", help="html or md (Markdown).")
    ] = StatementFormat.HTML,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Render the privacy statement of a declaration or a published version."""
    from tutela.policy.statement import StatementMeta, render_statement

    candidate = source[1:] if source.lower().startswith("v") else source
    if candidate.isdigit() and not Path(source).exists():
        from tutela.policy.versions import get_version

        runtime = runtime_of(ctx)
        runtime.require_current_schema()
        with runtime.session_factory() as session:
            version = get_version(session, int(candidate))
            declaration = version.declaration()
            meta = _meta_for(version)
    else:
        declaration = _load(Path(source))
        today = _today()
        meta = StatementMeta(
            version=None,
            published_at=None,
            effective_at=today,
            revised_on=today,
            content_hash=None,
        )
    text = render_statement(
        declaration,
        language=lang.value,
        fmt="markdown" if fmt is StatementFormat.MD else "html",
        meta=meta,
    )
    _write(text, output)


def _meta_for(version: PolicyVersion) -> StatementMeta:
    from tutela.policy.statement import StatementMeta

    return StatementMeta(
        version=version.number,
        published_at=version.published_at,
        effective_at=version.effective_at,
        revised_on=version.published_at.date(),
        content_hash=version.content_hash,
    )


@app.command()
def publish(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Declaration YAML file to publish.")],
    effective_on: Annotated[
        str | None,
        typer.Option(
            "--effective-on",
            help="Effective date (YYYY-MM-DD); not before the notice period ends.",
            show_default=False,
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why this version.")] = None,
    actor: Annotated[
        str, typer.Option("--actor", help="Who publishes (recorded in the audit trail).")
    ] = "cli",
) -> None:
    """Publish an immutable version; refused while the lint reports errors."""
    from tutela.errors import InvalidInput
    from tutela.policy.versions import publish as do_publish

    effective: dt.date | None = None
    if effective_on is not None:
        try:
            effective = dt.date.fromisoformat(effective_on)
        except ValueError as exc:
            raise InvalidInput(
                f"--effective-on {effective_on!r} is not a date; write YYYY-MM-DD."
            ) from exc
    declaration = _load(path)
    source_text = path.read_text(encoding="utf-8")
    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session, session.begin():
        version = do_publish(
            session,
            declaration=declaration,
            source_text=source_text,
            actor=actor,
            clock=runtime.clock,
            effective_on=effective,
            note=note,
        )
        number, digest, eff = version.number, version.content_hash, version.effective_at
        from tutela.notices import plan_soon

        plan_soon(session, clock=runtime.clock)  # the worker tells the people concerned
    out.print(f"published version {number} ({digest[:12]}), effective from {eff.isoformat()}")


@app.command()
def diff(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="Older version number or declaration file.")],
    new: Annotated[str, typer.Argument(help="Newer version number or declaration file.")],
    lang: Annotated[Language, typer.Option("--lang", help="Language.")] = Language.EN,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.TEXT,
) -> None:
    """State in plain language what changed between two versions or files.

    Exit 0 when nothing changed, 1 when something did (like diff(1)).
    """
    from tutela.policy.diff import diff as run_diff

    old_decl, old_name = _version_or_file(ctx, old)
    new_decl, new_name = _version_or_file(ctx, new)
    changes = run_diff(old_decl, new_decl)
    if fmt is Format.JSON:
        document = [
            {
                "kind": c.kind,
                "path": c.path,
                "material": c.material,
                "text": c.describe(lang.value),
            }
            for c in changes
        ]
        _write(json.dumps(document, indent=2, ensure_ascii=False), None)
    else:
        if not changes:
            out.print(f"No changes between {old_name} and {new_name}.")
        for change in changes:
            marker = "[bold]material[/] " if change.material else ""
            out.print(f"- {marker}{change.describe(lang.value)}")
    raise typer.Exit(1 if changes else 0)


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of the declaration format (for editors and CI)."""
    from tutela.policy.schema import declaration_schema

    _write(json.dumps(declaration_schema(), indent=2, ensure_ascii=False), output)


@app.command()
def show(
    ctx: typer.Context,
    number: Annotated[
        int | None, typer.Argument(help="Version number; all versions when omitted.")
    ] = None,
) -> None:
    """List published versions, or show one version's facts and declaration."""
    from rich.table import Table

    from tutela.policy.versions import current_version, get_version, list_versions

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    today = _today(runtime.clock)
    with runtime.session_factory() as session:
        if number is not None:
            version = get_version(session, number)
            out.print(f"version {version.number}")
            out.print(f"content hash   {version.content_hash}")
            out.print(
                f"published at   {version.published_at.isoformat()} by {version.published_by}"
            )
            out.print(f"effective from {version.effective_at.isoformat()}")
            if version.note:
                out.print(f"note           {version.note}")
            out.print(json.dumps(json.loads(version.document), indent=2, ensure_ascii=False))
            return
        versions = list_versions(session)
        current = current_version(session, on=today)
        if not versions:
            out.print("No version has been published yet; run `tutela policy publish FILE`.")
            return
        table = Table("version", "effective from", "published at", "by", "hash", "state")
        for v in versions:
            if current is not None and v.number == current.number:
                state = "current"
            elif v.effective_at > today:
                state = "upcoming"
            else:
                state = "archived"
            table.add_row(
                str(v.number),
                v.effective_at.isoformat(),
                v.published_at.strftime("%Y-%m-%d %H:%M UTC"),
                v.published_by,
                v.content_hash[:12],
                state,
            )
        out.print(table)
