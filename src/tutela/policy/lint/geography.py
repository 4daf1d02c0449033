"""Where the GDPR applies without a transfer, and where the Commission found protection adequate.

Re-check both lists before each release (law.md §8: "moving parts").
"""

from __future__ import annotations

EU = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip

# The European Economic Area: the EU and Iceland, Liechtenstein, Norway.
EEA = EU | {"IS", "LI", "NO"}

# Art. 45 adequacy decisions for whole countries. The United States is adequate only for
# organisations certified under the EU-US Data Privacy Framework (Decision (EU) 2023/1795).
ADEQUATE = frozenset(
    {"AD", "AR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "UY"}
)

DPF_COUNTRY = "US"


def in_eea(country: str) -> bool:
    return country in EEA
