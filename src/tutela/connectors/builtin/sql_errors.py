"""What a store's database error is, in Tutela's words: class, code and explanation.

The driver's own message never appears: databases repeat the offending value in
it, and these descriptions land in store results, a request's last error, job
errors and logs, which outlive an erasure.
"""

from __future__ import annotations

from typing import Final

__all__ = ["described"]

_VALUE = "a value does not fit the column (wrong type, too long or out of range)"
_CONSTRAINT = "a constraint of the database refused the change (unique, not null, reference, check)"
_SCHEMA = "the statement does not fit the database; check the dataset against the schema and rights"
_LOCKED = "another writer holds a lock; it can be retried"
_EXPLAINED: Final[dict[str | int, str]] = {
    "08": "the connection to the database failed",
    "22": _VALUE,
    "23": _CONSTRAINT,
    "28": "the database refused the login; check the user and password in the URL",
    "3D": "the database named in the URL does not exist",
    "40": "the database rolled the transaction back (a conflict or deadlock); it can be retried",
    "42": _SCHEMA,
    "53": "the database ran out of resources (disk, memory or connections)",
    "55": _LOCKED,
    "57": "the database cancelled the statement or is shutting down",
    1: _SCHEMA,  # SQLite's primary result codes
    5: _LOCKED,
    6: _LOCKED,
    14: "the database file cannot be opened; check the path and its permissions",
    18: _VALUE,
    19: _CONSTRAINT,
    20: _VALUE,
    "DataError": _VALUE,
    "IntegrityError": _CONSTRAINT,
    "ProgrammingError": _SCHEMA,
    "OperationalError": "the database could not be reached or refused the operation",
    "TimeoutError": "no database connection became free in time",
    "StorageUnavailable": "the database or the folder of its file cannot be reached",
    "TypeError": "a new value cannot be passed to the database in the column's type",
}
"""Our explanations: by SQLSTATE class, SQLite primary result code, or exception class."""


def described(error: BaseException) -> str:
    """The error's class, SQLSTATE or SQLite code and our explanation — never its text.

    A database repeats the offending value in its messages (PostgreSQL's
    ``invalid input syntax for type integer: "<value>"``); these descriptions land
    in store results, the request's last error, job errors and logs, which outlive
    an erasure, so the driver's own text stays out.
    """
    original = getattr(error, "orig", None) or error
    named = type(original).__name__
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    number = getattr(original, "sqlite_errorcode", None)
    key: str | int = named
    code = ""
    if isinstance(state, str) and state:
        code, key = f"SQLSTATE {state}", state[:2]
    elif isinstance(number, int):
        name = getattr(original, "sqlite_errorname", "")
        code = name if str(name).startswith("SQLITE_") else f"SQLite code {number}"
        key = number & 0xFF  # an extended code's primary code
    classes = tuple(kind.__name__ for kind in type(original).__mro__)
    found = [_EXPLAINED[k] for k in (key, *classes) if k in _EXPLAINED]
    explained = found[0] if found else "the database reported an error"
    return f"{named} ({code}: {explained})" if code else f"{named} ({explained})"
