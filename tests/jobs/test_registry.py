from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from tutela.errors import ConfigurationError
from tutela.jobs import JobContext, JobRegistry, UnknownJobKind


def first(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    """A handler that does nothing."""


def second(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    """Another handler that does nothing."""


def test_decorator_registers_and_returns_the_handler() -> None:
    registry = JobRegistry()
    decorated = registry.handler("mail.send")(first)
    assert decorated is first
    assert registry.get("mail.send") is first
    assert "mail.send" in registry
    assert "other" not in registry


def test_kinds_are_listed_in_order() -> None:
    registry = JobRegistry()
    registry.register("b.two", first)
    registry.register("a.one", second)
    assert registry.kinds() == ["a.one", "b.two"]


def test_one_kind_has_one_handler() -> None:
    registry = JobRegistry()
    registry.register("mail.send", first)
    registry.register("mail.send", first)  # registering the same function again is harmless
    with pytest.raises(ConfigurationError, match=r"'mail\.send' already has the handler first"):
        registry.register("mail.send", second)


def test_unknown_kind_says_what_to_do() -> None:
    with pytest.raises(UnknownJobKind, match="No handler is registered for job kind 'nope'"):
        JobRegistry().get("nope")
