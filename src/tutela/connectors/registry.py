"""Connector kinds and their factories; built-ins and plug-ins register the same way.

A factory takes the connector's settings (a mapping) and returns a
:class:`~tutela.connectors.base.Connector`. Built-ins are named like entry points
(``module:attribute``) and loaded by the same code as the plug-ins, which a package
declares in the entry-point group ``tutela.connectors``::

    [project.entry-points."tutela.connectors"]
    crm = "acme_tutela.crm:create"

Nothing is imported until the registry is first used.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Final

from tutela.connectors.base import Connector
from tutela.errors import ConfigurationError

__all__ = [
    "BUILTINS",
    "ENTRY_POINT_GROUP",
    "ConnectorFactory",
    "ConnectorRegistry",
    "create",
    "default_registry",
    "kinds",
    "register",
]

ConnectorFactory = Callable[[Mapping[str, Any]], Connector]
ENTRY_POINT_GROUP: Final = "tutela.connectors"
BUILTINS: Final = (
    ("sql", "tutela.connectors.builtin.sql_config:create_sql"),
    ("manual", "tutela.connectors.builtin.manual:create_manual"),
    ("webhook", "tutela.connectors.builtin.webhook:create_webhook"),
)
_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def _discover() -> Iterable[EntryPoint]:
    return entry_points(group=ENTRY_POINT_GROUP)


class ConnectorRegistry:
    """Factories by kind, filled from the built-ins and plug-ins on first use."""

    def __init__(
        self,
        *,
        builtins: Iterable[tuple[str, str]] = BUILTINS,
        discover: Callable[[], Iterable[EntryPoint]] = _discover,
    ) -> None:
        self._builtins = tuple(builtins)
        self._discover = discover
        self._factories: dict[str, ConnectorFactory] = {}
        self._origins: dict[str, str] = {}
        self._broken: dict[str, str] = {}
        self._loaded = False
        self._lock = threading.RLock()

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            points = [EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in self._builtins]
            points.extend(self._discover())
            for point in points:
                self._load_point(point)

    def _load_point(self, point: EntryPoint) -> None:
        try:
            factory = point.load()
        except Exception as error:  # a broken plug-in must not break the others
            self._broken[point.name] = f"{point.value} failed to load ({error})"
            return
        if not callable(factory):
            self._broken[point.name] = f"{point.value} is not a callable factory"
            return
        self._add(point.name, factory, origin=point.value, replace=False)

    def _add(self, kind: str, factory: ConnectorFactory, *, origin: str, replace: bool) -> None:
        if not _KIND.fullmatch(kind):
            raise ConfigurationError(
                f"The connector kind {kind!r} (from {origin}) is not valid; use 1-32 lowercase "
                "letters, digits, '_' or '-', starting with a letter."
            )
        existing = self._factories.get(kind)
        if existing is not None and existing is not factory and not replace:
            raise ConfigurationError(
                f"Two connectors register the kind {kind!r}: {self._origins[kind]} and "
                f"{origin}; uninstall one or give it another name."
            )
        self._factories[kind] = factory
        self._origins[kind] = origin
        self._broken.pop(kind, None)

    def register(self, kind: str, factory: ConnectorFactory, *, replace: bool = False) -> None:
        """Add a factory for ``kind`` (``replace`` allows overriding an existing one)."""
        self._load()
        with self._lock:
            origin = (
                f"{getattr(factory, '__module__', '?')}:{getattr(factory, '__qualname__', '?')}"
            )
            self._add(kind, factory, origin=origin, replace=replace)

    def create(self, kind: str, config: Mapping[str, Any]) -> Connector:
        """A new connector of ``kind`` built from ``config``."""
        self._load()
        factory = self._factories.get(kind)
        if factory is None:
            if kind in self._broken:
                raise ConfigurationError(
                    f"The connector kind {kind!r} is installed but {self._broken[kind]}; "
                    "reinstall the package that provides it.",
                    kind=kind,
                )
            raise ConfigurationError(
                f"There is no connector kind {kind!r}; installed kinds are: "
                f"{', '.join(self.kinds()) or 'none'}.",
                kind=kind,
            )
        connector = factory(config)
        if not isinstance(connector, Connector):
            raise ConfigurationError(
                f"The factory for {kind!r} ({self._origins[kind]}) returned "
                f"{type(connector).__name__}, which lacks the Connector methods "
                "(name, check, access, erase, rectify, restrict, close).",
                kind=kind,
            )
        return connector

    def kinds(self) -> list[str]:
        """The kinds that can be created, sorted."""
        self._load()
        return sorted(self._factories)

    def broken(self) -> dict[str, str]:
        """Plug-ins that failed to load, with the reason."""
        self._load()
        return dict(self._broken)


default_registry = ConnectorRegistry()


def register(kind: str, factory: ConnectorFactory, *, replace: bool = False) -> None:
    default_registry.register(kind, factory, replace=replace)


def create(kind: str, config: Mapping[str, Any]) -> Connector:
    return default_registry.create(kind, config)


def kinds() -> list[str]:
    return default_registry.kinds()
