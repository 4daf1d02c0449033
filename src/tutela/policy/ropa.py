"""The record of processing activities (Art. 30(1) GDPR), built from one declaration.

Each purpose of the declaration is one processing activity and one entry of the
record; each entry holds every field of Art. 30(1)(a)–(g) in one language, plus
the legal basis (recommended, law.md G30-3). A field is *declared*, *not
applicable* (e.g. no joint controller) or *missing*: where the declaration lacks
a detail the record needs, the field says so in words and names the place in the
declaration to fill, so a gap is never an empty cell.

Category names, countries, periods and safeguards are worded as in the privacy
statement (the ``statement`` catalog); the record's own labels are English msgids
of the ``messages`` catalog (:data:`tutela.policy.ropa_texts.MESSAGES`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from tutela.errors import InvalidInput, NotFound
from tutela.i18n import LANGUAGES, format_date
from tutela.policy.models import Declaration
from tutela.policy.models_db import PolicyVersion
from tutela.policy.ropa_fields import purpose_fields, shared_fields
from tutela.policy.ropa_texts import FIELDS, RecordField, Status, Words
from tutela.policy.statement import statement_view
from tutela.policy.versions import current_version, get_version

__all__ = [
    "FIELD_KEYS",
    "Record",
    "RecordEntry",
    "RecordField",
    "RecordSource",
    "Status",
    "build_record",
    "source_of",
    "version_for_record",
]

FIELD_KEYS: Final = tuple(FIELDS)
"""The fields of every entry, in order: Art. 30(1)(a)–(g) and the legal basis."""

LABEL_KEYS: Final = (
    "title",
    "number",
    "activity",
    "activity_id",
    "field",
    "reference",
    "content",
    "missing_column",
    "version_column",
    "prepared_column",
    "not_published",
    "status_missing",
)


@dataclass(frozen=True, slots=True)
class RecordEntry:
    """One processing activity: one purpose of the declaration."""

    number: int
    purpose_id: str
    name: str
    fields: tuple[RecordField, ...]

    def field(self, key: str) -> RecordField:
        return next(f for f in self.fields if f.key == key)

    @property
    def gaps(self) -> tuple[RecordField, ...]:
        return tuple(f for f in self.fields if f.missing)


@dataclass(frozen=True, slots=True)
class RecordSource:
    """What the record was built from: a published version or an unpublished file."""

    version: int | None = None
    effective_at: dt.date | None = None
    content_hash: str | None = None
    file_name: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """The whole record in one language, ready for the CSV, Markdown and HTML renderers."""

    language: str
    title: str
    controller: str
    source: RecordSource
    prepared_on: dt.date
    about: tuple[str, ...]
    labels: Mapping[str, str]
    entries: tuple[RecordEntry, ...]

    @property
    def gaps(self) -> tuple[tuple[RecordEntry, RecordField], ...]:
        """Every missing field, with its entry."""
        return tuple((e, f) for e in self.entries for f in e.gaps)

    @property
    def version_label(self) -> str:
        if self.source.version is not None:
            return str(self.source.version)
        return self.labels["not_published"]


def build_record(
    declaration: Declaration, *, language: str, prepared_on: dt.date, source: RecordSource
) -> Record:
    """The Art. 30(1) record of ``declaration`` in ``language``, one entry per purpose."""
    if language not in LANGUAGES:
        raise InvalidInput(
            f"language {language!r} is not supported: use one of {', '.join(LANGUAGES)}",
            field="language",
        )
    say = Words(language)
    d = declaration
    shared = shared_fields(d, say)
    items = statement_view(d).purposes
    entries = tuple(
        RecordEntry(
            number=index + 1,
            purpose_id=purpose.id,
            name=say.local(purpose.name),
            fields=purpose_fields(d, say, purpose=purpose, item=item, index=index, shared=shared),
        )
        for index, (purpose, item) in enumerate(zip(d.purposes, items, strict=True))
    )
    gaps = sum(len(e.gaps) for e in entries)
    about = (
        say("subtitle"),
        say("about_controller", name=d.controller.name),
        _source_line(say, source),
        say("about_prepared", date=format_date(prepared_on, language)),
        say("about_gaps", count=gaps) if gaps else say("about_complete"),
    )
    return Record(
        language=language,
        title=say("title"),
        controller=d.controller.name,
        source=source,
        prepared_on=prepared_on,
        about=about,
        labels={key: say(key) for key in LABEL_KEYS},
        entries=entries,
    )


def source_of(version: PolicyVersion) -> RecordSource:
    """The source of a record built from a published version."""
    return RecordSource(
        version=version.number,
        effective_at=version.effective_at,
        content_hash=version.content_hash,
    )


def version_for_record(session: Session, *, number: int | None, on: dt.date) -> PolicyVersion:
    """The version numbered ``number``, or else the one in effect ``on``; NotFound if none."""
    if number is not None:
        return get_version(session, number)
    version = current_version(session, on=on)
    if version is None:
        raise NotFound(
            f"version: no version of the declaration is in effect on {on.isoformat()}, so "
            "there is no record of processing to export. Publish the declaration first, "
            "or choose a published version by its number."
        )
    return version


def _source_line(say: Words, source: RecordSource) -> str:
    if source.version is not None and source.effective_at is not None:
        return say(
            "about_version",
            version=source.version,
            date=format_date(source.effective_at, say.language),
            hash=(source.content_hash or "")[:12],
        )
    if source.file_name:
        return say("about_file", file=source.file_name)
    return say("about_unpublished")
