"""Errors of the access-log tools: each names the line (and file) and what to do."""

from __future__ import annotations

from tutela.errors import InvalidInput, TutelaError


class LogInputError(InvalidInput):
    """A log cannot be processed: binary data, an over-long line, a damaged archive."""

    code = "log-input"
    title = "The log cannot be processed"

    def __init__(self, detail: str, *, line: int | None = None, source: str | None = None) -> None:
        where = ""
        if line is not None:
            where = f"line {line}"
            if source:
                where += f" of {source}"
        elif source:
            where = source
        super().__init__(f"{where}: {detail}" if where else detail, line=line, source=source)
        self.reason = detail
        self.line = line
        self.source = source


class LogOutputError(TutelaError):
    """The anonymized log cannot be written (disk full, no permission …)."""

    status = 500
    code = "log-output"
    title = "The anonymized log cannot be written"


class InputDamaged(Exception):
    """Raised by a reader: the compressed input is truncated or corrupt (message says which)."""
