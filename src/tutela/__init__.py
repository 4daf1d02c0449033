"""Tutela: executable privacy statements.

One versioned declaration of what a company processes drives the published
statement, consent, data-subject requests, retention and a tamper-evident audit
trail. Public names are imported lazily so that ``tutela --help`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutela.config import Settings

__version__ = "0.1.0"

__all__ = ["Settings", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from tutela.config import Settings

        return Settings
    raise AttributeError(f"module 'tutela' has no attribute {name!r}")
