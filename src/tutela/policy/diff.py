"""What changed between two declarations, as plain-language sentences.

:func:`diff` compares two declarations section by section, in the order of the
declaration, and returns one :class:`Change` per fact that changed. A change is
*material* when the people concerned must be told before it takes effect: more
or different processing (a new purpose, recipient, transfer, data category or
cookie, a longer retention, another legal basis). Removals, shorter periods and
rewording are not material. Paths name entries by id (``purposes[newsletter]``),
because list positions differ between two versions.

The sentences are in :mod:`tutela.policy.diff_text`, the terms they use in
:mod:`tutela.policy.diff_terms`; ``Change.describe("de")`` / ``("en")`` reads one.
"""

from __future__ import annotations

from tutela.policy.diff_compare import Change, Comparison
from tutela.policy.diff_sections import compare
from tutela.policy.diff_text import SENTENCES, Phrase
from tutela.policy.models import Declaration
from tutela.policy.taxonomy import Taxonomy, load_taxonomy

__all__ = ["KINDS", "Change", "Phrase", "diff"]

KINDS: frozenset[str] = frozenset(key.split("/")[0] for key in SENTENCES)
"""Every change kind :func:`diff` can report."""


def diff(old: Declaration, new: Declaration, *, taxonomy: Taxonomy | None = None) -> list[Change]:
    """Every change from ``old`` to ``new``, in the order of the declaration; empty if equal.

    Data categories, uses and subjects are named as in ``taxonomy`` (default: the
    bundled one); custom keys by the key itself.
    """
    if old == new:
        return []
    comparison = Comparison(old, new, taxonomy=taxonomy or load_taxonomy())
    compare(comparison)
    return comparison.changes
