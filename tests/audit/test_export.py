"""Exports can be verified without the database (P07)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.audit.sample import build_chain
from tutela.audit import export_jsonl, head, verify_lines
from tutela.errors import IntegrityError
from tutela.storage import transaction

pytestmark = pytest.mark.promise("P07")

KEYS = [
    "sequence",
    "occurred_at",
    "actor",
    "action",
    "target",
    "reason",
    "payload",
    "payload_digest",
    "prev_hash",
    "hash",
]


@pytest.fixture
def chain(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(session_factory) as session:
        build_chain(session, 5)
    return session_factory


def exported(factory: sessionmaker[Session], since: int | None = None) -> list[str]:
    out = io.StringIO()
    with factory() as session:
        count = export_jsonl(session, out, since=since)
    lines = out.getvalue().splitlines()
    assert count == len(lines)
    return lines


def test_export_writes_one_ordered_object_per_line(chain: sessionmaker[Session]) -> None:
    lines = exported(chain)
    assert len(lines) == 5
    first = json.loads(lines[0])
    assert list(first) == KEYS
    assert first["sequence"] == 1
    assert first["payload"] == {"data": {"n": 1, "tag": "t1"}, "ref": "1"}
    assert first["occurred_at"] == "2024-05-06T10:00:00.123456+00:00"
    assert [json.loads(line)["sequence"] for line in lines] == [1, 2, 3, 4, 5]


def test_export_verifies_offline(chain: sessionmaker[Session]) -> None:
    lines = exported(chain)
    with chain() as session:
        anchor = head(session).last_hash
    result = verify_lines(lines, head_hash=anchor)
    assert (result.ok, result.checked) == (True, 5)
    assert verify_lines([line + "\n" for line in lines] + ["\n"]).ok


def test_partial_export_verifies_from_its_first_entry(chain: sessionmaker[Session]) -> None:
    lines = exported(chain, since=2)
    assert [json.loads(line)["sequence"] for line in lines] == [3, 4, 5]
    result = verify_lines(lines)
    assert (result.ok, result.checked) == (True, 3)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("actor", "staff:99"),
        ("occurred_at", "2024-05-06T10:00:03.123457+00:00"),
        ("payload", {"data": {"n": 4, "tag": "t9"}, "ref": "4"}),
        ("reason", None),
        ("hash", "0" * 64),
    ],
)
def test_edited_line_is_found(chain: sessionmaker[Session], key: str, value: object) -> None:
    lines = exported(chain)
    record = json.loads(lines[3])
    assert record[key] != value
    record[key] = value
    lines[3] = json.dumps(record)
    result = verify_lines(lines)
    assert (result.ok, result.first_bad_sequence) == (False, 4)


def test_reordered_keys_and_spacing_do_not_matter(chain: sessionmaker[Session]) -> None:
    lines = [
        json.dumps(dict(reversed(json.loads(line).items())), indent=None)
        for line in exported(chain)
    ]
    assert verify_lines(lines).ok


def test_removed_lines_are_found(chain: sessionmaker[Session]) -> None:
    lines = exported(chain)
    with chain() as session:
        anchor = head(session).last_hash
    middle = verify_lines(lines[:2] + lines[3:])
    assert (middle.ok, middle.first_bad_sequence) == (False, 3)
    first = verify_lines(lines[1:], head_hash=anchor)
    assert first.ok, "a partial export cannot know what came before it"
    tail = verify_lines(lines[:-1], head_hash=anchor)
    assert (tail.ok, tail.first_bad_sequence) == (False, 5)
    assert "expected head hash" in tail.reason


def test_unreadable_line_is_named(chain: sessionmaker[Session]) -> None:
    lines = exported(chain)
    lines[1] = "{not json"
    result = verify_lines(lines)
    assert (result.ok, result.first_bad_sequence) == (False, 2)
    assert "line 2 cannot be read" in result.reason
    record = json.loads(lines[2])
    del record["hash"]
    result = verify_lines([lines[0], exported(chain)[1], json.dumps(record)])
    assert (result.ok, result.first_bad_sequence) == (False, 3)
    assert "missing keys hash" in result.reason


def test_export_of_broken_payload_names_the_entry(chain: sessionmaker[Session]) -> None:
    with transaction(chain) as session:
        session.execute(text("UPDATE audit_entries SET payload = 'oops' WHERE sequence = 2"))
    with chain() as session, pytest.raises(IntegrityError, match="audit entry 2"):
        export_jsonl(session, io.StringIO())
