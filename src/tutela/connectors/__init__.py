"""Connectors: how Tutela reaches the stores that hold personal data.

* :mod:`~tutela.connectors.base` — the :class:`Connector` protocol, identities,
  access results and per-store reports;
* :mod:`~tutela.connectors.registry` — connector kinds; built-ins and plug-ins
  (entry-point group ``tutela.connectors``) register the same way;
* :mod:`~tutela.connectors.dataset` — the dataset file mapping a store (Tutela's
  format or Fides dataset YAML);
* built-ins: ``sql`` (any SQLAlchemy URL) and ``manual`` (staff tasks with evidence);
  a webhook connector for processors is coming;
* :mod:`~tutela.connectors.sample` — a sample shop database for demos and benchmarks.

Importing this package connects to nothing and loads no plug-in.
"""

from tutela.connectors.base import (
    AccessResult,
    Action,
    Connector,
    Operation,
    Outcome,
    Record,
    Status,
    StoreError,
    StoreReport,
    StoreUnavailable,
    Withheld,
)
from tutela.connectors.dataset import Dataset, DatasetError, load_dataset, parse_dataset
from tutela.connectors.identities import STANDARD_KINDS, IdentitySet
from tutela.connectors.registry import create, kinds, register

__all__ = [
    "STANDARD_KINDS",
    "AccessResult",
    "Action",
    "Connector",
    "Dataset",
    "DatasetError",
    "IdentitySet",
    "Operation",
    "Outcome",
    "Record",
    "Status",
    "StoreError",
    "StoreReport",
    "StoreUnavailable",
    "Withheld",
    "create",
    "kinds",
    "load_dataset",
    "parse_dataset",
    "register",
]
