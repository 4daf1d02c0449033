"""Access-log lines never carry query strings (they may hold addresses or tokens)."""

from __future__ import annotations

import logging
import logging.config

from tutela.web.access_log import QueryRedactingFilter, log_config


def _record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )


def test_query_is_removed() -> None:
    record = _record("/api/v1/consent/check?purpose=newsletter&email=jana@example.org")
    assert QueryRedactingFilter().filter(record)
    line = record.getMessage()
    assert "jana@example.org" not in line
    assert "/api/v1/consent/check?…" in line


def test_plain_path_is_kept() -> None:
    record = _record("/privacy")
    QueryRedactingFilter().filter(record)
    assert '"GET /privacy HTTP/1.1" 200' in record.getMessage()


def test_uvicorn_config_uses_the_filter() -> None:
    config = log_config()
    assert config["handlers"]["access"]["filters"] == ["redact_query"]
    logging.config.dictConfig(config)
    handler = logging.getLogger("uvicorn.access").handlers[0]
    assert any(isinstance(f, QueryRedactingFilter) for f in handler.filters)
