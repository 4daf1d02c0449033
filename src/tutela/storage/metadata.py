"""All tables, gathered: importing this module imports every models module.

Only migrations and the schema check use it; domain code imports its own models.
"""

from __future__ import annotations

import importlib

from tutela.storage.base import Base

MODEL_MODULES = (
    "tutela.audit.models",
    "tutela.jobs.models",
    "tutela.policy.models_db",
    "tutela.staff.models",
    "tutela.subjects.models",
    "tutela.consent.models",
    "tutela.dsr.models",
    "tutela.dsr.package_models",
    "tutela.dsr.assertion_models",
    "tutela.retention.models",
    "tutela.notices.models",
)

for _name in MODEL_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a package not built yet
        if exc.name != _name:
            raise

target_metadata = Base.metadata
