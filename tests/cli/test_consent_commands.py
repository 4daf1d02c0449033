"""``tutela consent …``: withdraw, show (with a reason), check and verify, and bad input."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.cli.conftest import EXAMPLE, Run
from tutela.audit import entries
from tutela.calendar import german_date
from tutela.clock import SystemClock
from tutela.consent.ledger import events_of, open_proof, record
from tutela.consent.models import Suppression
from tutela.consent.proof import Proof
from tutela.crypto import MasterKey, load_or_create_master_key
from tutela.storage import make_engine, make_session_factory
from tutela.subjects import get_or_create_subject, subject_by_public_id

ADDRESS = "jana.probe@example.org"


@dataclass
class World:
    args: list[str]
    factory: sessionmaker[Session]
    master: MasterKey
    public_id: str

    def events(self) -> list[tuple[str, str, str, str]]:
        with self.factory() as session:
            subject = subject_by_public_id(session, self.public_id)
            assert subject is not None
            return [
                (e.purpose_id, e.action, e.channel, e.actor)
                for e in events_of(session, subject=subject)
            ]


@pytest.fixture
def world(run: Run, db_args: list[str], db_url: str, tmp_path: Path) -> Iterator[World]:
    """A published example declaration and one confirmed newsletter subscriber."""
    assert run(*db_args, "policy", "publish", str(EXAMPLE)).code == 0
    master = load_or_create_master_key(tmp_path / "data", None)
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    clock = SystemClock()
    with factory() as session, session.begin():
        subject, _ = get_or_create_subject(
            session, kind="email", value=ADDRESS, master=master, clock=clock, actor="test"
        )
        for action in ("given", "confirmed"):
            record(
                session,
                subject=subject,
                purpose_id="newsletter",
                action=action,
                proof=Proof(channel="web_form", ip="198.51.100.23"),
                master=master,
                clock=clock,
                actor="test",
            )
        public_id = subject.public_id
    yield World(args=db_args, factory=factory, master=master, public_id=public_id)
    engine.dispose()


def today() -> str:
    return german_date(SystemClock().now()).isoformat()


@pytest.mark.promise("P06")
def test_withdraw_by_letter_then_check_denies(run: Run, world: World) -> None:
    before = run(*world.args, "consent", "check", "--email", ADDRESS, "--purpose", "newsletter")
    assert (before.code, before.out.strip()) == (0, "allowed: consent_confirmed")
    result = run(
        *world.args,
        "consent",
        "withdraw",
        "--email",
        " Jana.Probe@EXAMPLE.org",
        "--purpose",
        "newsletter",
        "--channel",
        "letter",
        "--received",
        today(),
        "--note",
        "letter in the post box",
        "--actor",
        "staff:9",
    )
    assert result.code == 0, result.err
    assert "recorded withdrawn for newsletter (ledger event 3)" in result.out
    assert world.events()[-1] == ("newsletter", "withdrawn", "letter", "staff:9")
    with world.factory() as session:
        subject = subject_by_public_id(session, world.public_id)
        assert subject is not None
        last = events_of(session, subject=subject)[-1]
        proof = open_proof(session, event=last, subject=subject, master=world.master)
        assert proof is not None
        assert proof["extra"] == {
            "received_on": today(),
            "entered_by": "staff:9",
            "note": "letter in the post box",
        }
    after = run(*world.args, "consent", "check", "--email", ADDRESS, "--purpose", "newsletter")
    assert (after.code, after.out.strip()) == (1, "denied: withdrawn")


@pytest.mark.promise("P06")
def test_objection_to_all_marketing_suppresses(run: Run, world: World) -> None:
    result = run(
        *world.args,
        "consent",
        "withdraw",
        "--email",
        ADDRESS,
        "--all-marketing",
        "--channel",
        "phone",
        "--received",
        today(),
    )
    assert result.code == 0, result.err
    assert "suppression list" in result.out
    assert ("similar_offers", "objected", "phone", "cli") in world.events()
    with world.factory() as session:
        assert session.query(Suppression).count() == 1
    check = run(*world.args, "consent", "check", "--email", ADDRESS, "--purpose", "similar_offers")
    assert (check.code, check.out.strip()) == (1, "denied: suppressed")


@pytest.mark.promise("P09")
@pytest.mark.promise("P07")
def test_show_records_the_reason_and_prints_the_history(run: Run, world: World) -> None:
    result = run(
        *world.args,
        "consent",
        "show",
        "--email",
        ADDRESS,
        "--reason",
        "support_case",
        "--note",
        "ticket 12",
    )
    assert result.code == 0, result.err
    assert f"person {world.public_id}" in result.out
    assert f"email: {ADDRESS}" in result.out
    assert "newsletter: confirmed -> allowed (consent_confirmed)" in result.out
    assert "#1 " in result.out
    assert "given via web_form" in result.out
    assert "ip: 198.51.100.0" in result.out
    with world.factory() as session:
        [entry] = entries(session, action="staff.subject_opened")
    assert (entry.actor, entry.reason) == ("cli", "support_case")
    assert "jana" not in (entry.payload + entry.target).lower()
    assert json.loads(entry.payload)["note"] == "ticket 12"

    receipts = run(
        *world.args,
        "consent",
        "show",
        "--email",
        ADDRESS,
        "--reason",
        "legal_obligation",
        "--format",
        "json",
    )
    assert receipts.code == 0, receipts.err
    document = json.loads(receipts.out)
    assert document["pii_principal_id"] == world.public_id
    assert [e["action"] for e in document["records"][0]["events"]] == ["given", "confirmed"]
    with world.factory() as session:
        assert len(entries(session, action="staff.subject_opened")) == 2


@pytest.mark.promise("P09")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", ADDRESS, "--reason", "curiosity"], "reason: 'curiosity' is not on the list"),
        (["--email", "nobody@example.org", "--reason", "support_case"], "No person is known"),
        (["--email", "not-an-address", "--reason", "support_case"], "email: "),
        (["--phone", "12", "--reason", "support_case"], "phone: "),
        (["--reason", "support_case"], "email: name the person by exactly one"),
    ],
)
def test_show_refuses_without_reason_or_person(
    run: Run, world: World, args: list[str], message: str
) -> None:
    result = run(*world.args, "consent", "show", *args)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err
    assert result.out == ""
    with world.factory() as session:
        assert entries(session, action="staff.subject_opened") == []


def test_unknown_person_reveals_nothing(run: Run, world: World) -> None:
    result = run(
        *world.args,
        "consent",
        "withdraw",
        "--customer-id",
        "K-404",
        "--purpose",
        "newsletter",
        "--channel",
        "email",
        "--received",
        today(),
    )
    assert result.code == 2
    assert result.err.strip() == (
        "error: No person is known under this customer id; nothing was recorded."
    )


@pytest.mark.promise("P06")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "a@@b", "--purpose", "newsletter"], "email: "),
        (["--phone", "call me", "--purpose", "newsletter"], "phone: "),
        (["--email", ADDRESS], "purpose: give --purpose"),
        (["--email", ADDRESS, "--purpose", "newsletter", "--all-marketing"], "purpose: give"),
        (["--email", ADDRESS, "--purpose", "no_such_purpose"], "no_such_purpose"),
        (["--email", ADDRESS, "--phone", "+49301234567", "--purpose", "newsletter"], "exactly"),
    ],
)
def test_withdraw_bad_input_names_the_field(
    run: Run, world: World, args: list[str], message: str
) -> None:
    result = run(
        *world.args, "consent", "withdraw", *args, "--channel", "fax", "--received", today()
    )
    assert result.code == 2, result.out
    assert message in result.err
    assert len(world.events()) == 2


@pytest.mark.parametrize(
    ("received", "message"),
    [("tomorrow", "received: expected the day"), ("future", "lies in the future")],
)
def test_withdraw_date_must_be_a_past_day(
    run: Run, world: World, received: str, message: str
) -> None:
    if received == "future":
        received = (dt.date.fromisoformat(today()) + dt.timedelta(days=2)).isoformat()
    result = run(
        *world.args,
        "consent",
        "withdraw",
        "--email",
        ADDRESS,
        "--purpose",
        "newsletter",
        "--channel",
        "letter",
        "--received",
        received,
    )
    assert result.code == 2
    assert message in result.err
    assert len(world.events()) == 2


def test_withdraw_rejects_other_channels(run: Run, world: World) -> None:
    result = run(
        *world.args,
        "consent",
        "withdraw",
        "--email",
        ADDRESS,
        "--purpose",
        "newsletter",
        "--channel",
        "banner",
        "--received",
        today(),
    )
    assert result.code == 2
    assert "channel: 'banner' is not a way a withdrawal reaches staff" in result.err


def test_check_unknown_purpose_and_unknown_person(run: Run, world: World) -> None:
    unknown = run(*world.args, "consent", "check", "--email", ADDRESS, "--purpose", "nope")
    assert unknown.code == 2
    assert "purpose 'nope'" in unknown.err
    stranger = run(
        *world.args, "consent", "check", "--email", "x@example.org", "--purpose", "newsletter"
    )
    assert (stranger.code, stranger.out.strip()) == (1, "denied: unknown_subject")


@pytest.mark.promise("P07")
def test_verify_names_the_first_bad_event(run: Run, world: World) -> None:
    intact = run(*world.args, "consent", "verify")
    assert intact.code == 0
    assert "consent ledger intact: 2 events verified" in intact.out
    with world.factory() as session, session.begin():
        session.execute(text("UPDATE consent_events SET channel = 'api' WHERE sequence = 1"))
    broken = run(*world.args, "consent", "verify")
    assert broken.code == 1
    assert "consent ledger broken at sequence 1" in broken.err


@pytest.mark.promise("P05")
def test_stopping_existing_customer_mail_by_letter_is_an_objection(run: Run, world: World) -> None:
    """Legitimate-interest marketing is stopped by an objection, which suppresses for good."""
    result = run(
        *world.args,
        "consent",
        "withdraw",
        "--email",
        ADDRESS,
        "--purpose",
        "similar_offers",
        "--channel",
        "letter",
        "--received",
        today(),
    )
    assert result.code == 0, result.err
    assert world.events()[-1][:2] == ("similar_offers", "objected")
    check = run(*world.args, "consent", "check", "--email", ADDRESS, "--purpose", "newsletter")
    assert check.code == 1
    assert "suppressed" in check.out or "objected" in check.out
