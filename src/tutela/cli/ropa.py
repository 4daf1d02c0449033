"""``tutela ropa …``: the record of processing activities (Art. 30(1) GDPR) for an auditor."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tutela.cli.console import err
from tutela.cli.state import runtime_of

if TYPE_CHECKING:
    from tutela.policy.ropa import Record

app = typer.Typer(
    help="Records of processing activities (Art. 30(1) GDPR), built from the declaration.",
    no_args_is_help=True,
)


class RecordFormat(StrEnum):
    CSV = "csv"
    MD = "md"
    HTML = "html"


class Language(StrEnum):
    DE = "de"
    EN = "en"


@app.command()
def export(
    ctx: typer.Context,
    fmt: Annotated[
        RecordFormat, typer.Option("--format", help="csv, md (Markdown) or html.")
    ] = RecordFormat.MD,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the record.")] = (
        Language.DE
    ),
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            help="Published version number; default: the version in effect today.",
            show_default=False,
        ),
    ] = None,
    declaration: Annotated[
        Path | None,
        typer.Option(
            "--declaration",
            help="Build the record from this declaration file instead of a published version.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Export the record of processing activities: one entry per purpose of the declaration.

    Fields the declaration does not fill are marked as missing in the record and
    counted on stderr; the export still succeeds.
    """
    from tutela.calendar import german_date
    from tutela.errors import InvalidInput
    from tutela.policy.ropa_render import render_record

    if version is not None and declaration is not None:
        raise InvalidInput(
            "--version and --declaration exclude each other: export either a published "
            "version or a declaration file, not both.",
            field="version",
        )
    runtime = runtime_of(ctx)
    today = german_date(runtime.clock.now())
    if declaration is not None:
        record = _from_file(declaration, language=lang.value, today=today)
    else:
        record = _from_version(ctx, version, language=lang.value, today=today)
    text = render_record(record, fmt=fmt.value, bom=output is not None)
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(output, text.encode("utf-8"))
        err.print(f"wrote {output} ({len(record.entries)} processing activities)")
    if record.gaps:
        err.print(
            f"note: the declaration lacks {len(record.gaps)} detail(s) the record asks for; "
            "each is marked as missing in its entry. Fill them in the declaration and publish "
            "a new version."
        )


def _from_file(path: Path, *, language: str, today: dt.date) -> Record:
    from tutela.policy.loader import load_declaration
    from tutela.policy.ropa import RecordSource, build_record

    declaration = load_declaration(path)
    source = RecordSource(file_name=path.name)
    return build_record(declaration, language=language, prepared_on=today, source=source)


def _from_version(
    ctx: typer.Context, number: int | None, *, language: str, today: dt.date
) -> Record:
    from tutela.policy.ropa import build_record, source_of, version_for_record

    runtime = runtime_of(ctx)
    runtime.require_current_schema()
    with runtime.session_factory() as session:
        chosen = version_for_record(session, number=number, on=today)
        declaration = chosen.declaration()
        source = source_of(chosen)
    return build_record(declaration, language=language, prepared_on=today, source=source)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    The data go to a temporary file in the same folder, are flushed to disk, and
    replace ``path`` in one rename; on any failure the temporary file is removed
    and ``path`` is left as it was.
    """
    from tutela.errors import ConfigurationError

    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ConfigurationError(
            f"--output: cannot write {path} ({exc.strerror}); choose a file in an existing, "
            "writable folder."
        ) from exc
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        temporary.chmod(0o644)
        temporary.replace(path)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ConfigurationError(
                f"--output: cannot write {path} ({exc.strerror}); the file was left unchanged. "
                "Choose a writable file that is not a folder."
            ) from exc
        raise
