"""The server's access log without query strings.

Query strings can carry personal data (an address in ``?email=…``, a token), and
access logs are kept and shipped elsewhere; only the path is logged.
"""

from __future__ import annotations

import copy
import logging
from typing import Any


class QueryRedactingFilter(logging.Filter):
    """Replace ``/path?query`` by ``/path?…`` in uvicorn access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, mark, _query = args[2].partition("?")
            if mark:
                record.args = (*args[:2], f"{path}?…", *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with the redacting filter on the access handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_query"] = {"()": QueryRedactingFilter}
    config["handlers"]["access"]["filters"] = ["redact_query"]
    return config
