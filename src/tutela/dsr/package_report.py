"""The report in an access package: the Art. 15(1)(a)–(h) information, in the request's language.

The facts come from the declaration in effect (purposes, categories, recipients,
storage periods, sources of data not collected from the person, automated
decisions), the figures from the run over the connected stores. The template
``reports/access.html.j2`` escapes every value; its texts go through the
``messages`` catalog.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import jinja2

from tutela.connectors import StoreReport, Withheld
from tutela.i18n import make_env, use_language
from tutela.policy.models import Declaration, Purpose, Retention, Text
from tutela.policy.terms import SourceKind

__all__ = ["REPORT_TEMPLATE", "ReportFacts", "render_report"]

REPORT_TEMPLATE: Final = "reports/access.html.j2"


@dataclass(frozen=True, kw_only=True)
class ReportFacts:
    """What the report says beyond the declaration: the request and the run's figures."""

    reference: str
    request_type: str
    language: str
    generated_at: dt.datetime
    reports: Sequence[StoreReport]
    withheld: Sequence[tuple[str, Withheld]]
    files: Sequence[str]


@functools.cache
def _environment() -> jinja2.Environment:
    return make_env(domain="messages")


def _pick(text: Text | None, language: str) -> str | None:
    if text is None:
        return None
    return text.de if language == "de" else text.en


def _retention(retention: Retention | None, language: str) -> dict[str, Any] | None:
    if retention is None:
        return None
    statutory = retention.statutory
    return {
        "period": retention.period.words(language) if retention.period is not None else None,
        "after": retention.after.value,
        "criteria": _pick(retention.criteria, language),
        "law": statutory.law if statutory is not None else None,
        "law_period": statutory.period.words(language) if statutory is not None else None,
    }


def _category_names(declaration: Declaration, language: str) -> dict[str, str]:
    return {
        category.key: _pick(category.name, language) or category.key
        for category in declaration.data_categories
    }


def _purpose(purpose: Purpose, language: str, names: Mapping[str, str]) -> dict[str, Any]:
    source = purpose.source
    indirect = source.kind is not SourceKind.SUBJECT
    return {
        "name": _pick(purpose.name, language),
        "description": _pick(purpose.description, language),
        "legal_basis": purpose.legal_basis.value,
        "categories": [names.get(key, key) for key in purpose.categories.all()],
        "recipients": list(purpose.recipients),
        "retention": _retention(purpose.retention, language),
        "source": {
            "kind": source.kind.value,
            "description": _pick(source.description, language),
        }
        if indirect
        else None,
    }


def declaration_context(declaration: Declaration | None, language: str) -> dict[str, Any]:
    """The Art. 15(1) facts of ``declaration`` in ``language`` (empty without one)."""
    if declaration is None:
        return {"declared": False}
    names = _category_names(declaration, language)
    purposes = [_purpose(p, language, names) for p in declaration.purposes]
    authority = declaration.supervisory_authority
    return {
        "declared": True,
        "controller": declaration.controller.name,
        "contact": str(declaration.controller.contacts.email),
        "purposes": purposes,
        "categories": sorted({c for p in purposes for c in p["categories"]}),
        "recipients": [
            {
                "name": r.name,
                "role": r.role.value,
                "country": r.country,
                "service": _pick(r.service, language),
            }
            for r in declaration.recipients
        ],
        "sources": [
            {"purpose": p["name"], **p["source"]} for p in purposes if p["source"] is not None
        ],
        "authority": {
            "name": _pick(authority.name, language),
            "address": authority.address,
            "web": authority.web,
            "email": str(authority.email) if authority.email else None,
        },
        "decisions": [
            {
                "logic": _pick(d.logic, language),
                "significance": _pick(d.significance, language),
                "consequences": _pick(d.consequences, language),
                "profiling": d.profiling,
            }
            for d in declaration.automated_decisions
        ],
    }


def render_report(facts: ReportFacts, declaration: Declaration | None) -> str:
    """The HTML report of an access package (escaped, in ``facts.language``)."""
    context = {
        "facts": facts,
        "language": facts.language,
        **declaration_context(declaration, facts.language),
    }
    with use_language(facts.language):
        return str(_environment().get_template(REPORT_TEMPLATE).render(context))
