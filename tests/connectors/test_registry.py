"""Built-ins and plug-ins register the same way; nothing loads at import time."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from importlib.metadata import EntryPoint
from typing import Any

import pytest

from tutela.connectors.builtin.manual import ManualConnector
from tutela.connectors.registry import BUILTINS, ENTRY_POINT_GROUP, ConnectorRegistry
from tutela.errors import ConfigurationError


def make_plugin(config: Mapping[str, Any]) -> ManualConnector:
    return ManualConnector(name=str(config["name"]), system="plug-in")


def not_a_connector(config: Mapping[str, Any]) -> object:
    return object()


def _points(*pairs: tuple[str, str]) -> list[EntryPoint]:
    return [EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in pairs]


def test_builtins_and_plugins_come_from_entry_points() -> None:
    registry = ConnectorRegistry(discover=lambda: _points(("crm", f"{__name__}:make_plugin")))
    assert registry.kinds() == ["crm", "manual", "sql", "webhook"]
    connector = registry.create("crm", {"name": "crm"})
    assert connector.name == "crm"
    assert registry.create("manual", {"name": "archive"}).name == "archive"


def test_discovery_waits_for_first_use() -> None:
    calls: list[int] = []

    def discover() -> list[EntryPoint]:
        calls.append(1)
        return []

    registry = ConnectorRegistry(discover=discover)
    assert calls == []
    registry.kinds()
    registry.kinds()
    assert calls == [1]


def test_importing_the_package_loads_no_plugin_and_no_builtin() -> None:
    code = (
        "import sys, tutela.connectors as c; "
        "print('tutela.connectors.builtin.sql' in sys.modules, c.kinds.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False kinds"


def test_broken_and_clashing_plugins_are_named() -> None:
    broken = ConnectorRegistry(discover=lambda: _points(("crm", "no_such_module:create")))
    assert "crm" not in broken.kinds()
    assert "failed to load" in broken.broken()["crm"]
    with pytest.raises(ConfigurationError, match="installed but no_such_module:create failed"):
        broken.create("crm", {})
    clash = ConnectorRegistry(discover=lambda: _points(("sql", f"{__name__}:make_plugin")))
    with pytest.raises(ConfigurationError, match="Two connectors register the kind 'sql'"):
        clash.kinds()


def test_unknown_kinds_and_bad_factories() -> None:
    registry = ConnectorRegistry(builtins=BUILTINS, discover=list)
    with pytest.raises(ConfigurationError, match="no connector kind 'ftp'; installed kinds are"):
        registry.create("ftp", {})
    registry.register("odd", not_a_connector)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="lacks the Connector methods"):
        registry.create("odd", {})
    with pytest.raises(ConfigurationError, match="is not valid"):
        registry.register("Bad Kind", make_plugin)
    with pytest.raises(ConfigurationError, match="Two connectors"):
        registry.register("manual", make_plugin)
    registry.register("manual", make_plugin, replace=True)
    assert registry.create("manual", {"name": "x"}).name == "x"


def test_factories_check_their_settings() -> None:
    registry = ConnectorRegistry(discover=list)
    with pytest.raises(ConfigurationError, match="sql connector settings are not valid"):
        registry.create("sql", {"name": "shop"})
    with pytest.raises(ConfigurationError, match="manual connector settings are not valid"):
        registry.create("manual", {"name": "x", "colour": "red"})
