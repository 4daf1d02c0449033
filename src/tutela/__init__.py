"""Tutela: executable privacy statements.

One versioned declaration of what a company processes drives the published
statement, consent, data-subject requests, retention and a tamper-evident audit
trail.
"""

from tutela.config import Settings

__version__ = "0.1.0"

__all__ = ["Settings", "__version__"]
