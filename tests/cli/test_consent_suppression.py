"""``tutela consent suppress | lift | suppressed``: staff keep the suppression list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.cli.conftest import EXAMPLE, Run
from tutela.audit import AuditEntry, entries
from tutela.clock import SystemClock
from tutela.consent import check_bulk
from tutela.consent.models import Suppression
from tutela.crypto import MasterKey, load_or_create_master_key
from tutela.storage import make_engine, make_session_factory
from tutela.subjects import add_identity, get_or_create_subject

ADDRESS = "Olga.Offline@Example.org"
SHOWN = "o***@example.org"


@dataclass
class Desk:
    args: list[str]
    factory: sessionmaker[Session]
    master: MasterKey

    def listed(self) -> list[tuple[str, str]]:
        with self.factory() as session:
            rows = session.scalars(select(Suppression).order_by(Suppression.id))
            return [(r.kind, r.scope) for r in rows]

    def trail(self, action: str) -> list[AuditEntry]:
        with self.factory() as session:
            return entries(session, action=action)


@pytest.fixture
def desk(run: Run, db_args: list[str], db_url: str, tmp_path: Path) -> Iterator[Desk]:
    """A database with the example declaration published and nobody in it."""
    assert run(*db_args, "policy", "publish", str(EXAMPLE)).code == 0
    engine = make_engine(db_url)
    master = load_or_create_master_key(tmp_path / "data", None)
    yield Desk(args=db_args, factory=make_session_factory(engine), master=master)
    engine.dispose()


def assert_no_address(entry: AuditEntry) -> None:
    text = " ".join([entry.actor, entry.target, entry.reason or "", entry.payload]).lower()
    assert "olga" not in text
    assert "example.org" not in text
    assert "2345678" not in text


@pytest.mark.promise("P05")
def test_an_unknown_address_is_listed_and_every_check_answers_suppressed(
    run: Run, desk: Desk
) -> None:
    result = run(
        *desk.args,
        "consent",
        "suppress",
        "--email",
        ADDRESS,
        "--phone",
        "0151 2345678",
        "--reason",
        "asked by phone on 2 March, ticket 4711",
        "--actor",
        "staff:9",
    )
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"e-mail address {SHOWN}: added to the suppression list for direct_marketing",
        "phone number +49***78: added to the suppression list for direct_marketing",
    ]
    assert "olga" not in result.out.lower()
    assert desk.listed() == [("email", "direct_marketing"), ("phone", "direct_marketing")]
    audited = desk.trail("consent.suppressed")
    assert [(e.actor, e.target) for e in audited] == [
        ("staff:9", "suppression:direct_marketing")
    ] * 2
    assert {e.reason for e in audited} == {"asked by phone on 2 March, ticket 4711"}
    assert sorted(json.loads(e.payload)["kinds"] for e in audited) == [["email"], ["phone"]]
    for entry in audited:
        assert_no_address(entry)

    # A later sign-up or import of the address is refused.
    lowered = "olga.offline@example.org"
    single = run(*desk.args, "consent", "check", "--email", lowered, "--purpose", "newsletter")
    assert (single.code, single.out.strip()) == (1, "denied: suppressed")
    with desk.factory() as session, session.begin():
        get_or_create_subject(
            session,
            kind="email",
            value=ADDRESS,
            master=desk.master,
            clock=SystemClock(),
            actor="import",
        )
        results = list(
            check_bulk(
                session,
                purpose_id="similar_offers",
                kind="phone",
                values=["+49 151 2345678", "+49 151 9999999"],
                master=desk.master,
                clock=SystemClock(),
            )
        )
    assert [r.reason == "suppressed" for r in results] == [True, False]
    known = run(*desk.args, "consent", "check", "--email", ADDRESS, "--purpose", "newsletter")
    assert (known.code, known.out.strip()) == (1, "denied: suppressed")

    again = run(*desk.args, "consent", "suppress", "--email", ADDRESS, "--reason", "second call")
    assert again.code == 0
    expected = f"e-mail address {SHOWN}: was already listed for direct_marketing; nothing changed"
    assert again.out.strip() == expected
    assert len(desk.trail("consent.suppressed")) == 2


@pytest.mark.promise("P05")
def test_lifting_needs_a_reason_and_is_audited(run: Run, desk: Desk) -> None:
    listed = run(*desk.args, "consent", "suppress", "--email", ADDRESS, "--reason", "ticket 1")
    assert listed.code == 0, listed.err
    for reason in ([], ["--reason", "  "]):
        refused = run(*desk.args, "consent", "lift", "--email", ADDRESS, *reason)
        assert refused.code == 2
        assert "reason: lifting needs a reason for the audit trail" in refused.err
        assert "--reason" in refused.err
    assert desk.listed() == [("email", "direct_marketing")]

    lifted = run(
        *desk.args,
        "consent",
        "lift",
        "--email",
        ADDRESS,
        "--reason",
        "written request of 3 March to get the newsletter again",
        "--actor",
        "staff:4",
    )
    assert lifted.code == 0, lifted.err
    assert lifted.out.strip() == (
        f"e-mail address {SHOWN}: lifted from the suppression list for direct_marketing"
    )
    assert desk.listed() == []
    [entry] = desk.trail("consent.suppression_lifted")
    assert (entry.actor, entry.target) == ("staff:4", "suppression:email:direct_marketing")
    assert entry.reason == "written request of 3 March to get the newsletter again"
    assert_no_address(entry)

    twice = run(*desk.args, "consent", "lift", "--email", ADDRESS, "--reason", "again")
    assert twice.code == 1
    assert twice.out.strip() == (
        f"e-mail address {SHOWN}: was not listed for direct_marketing; nothing was lifted "
        "(listed for: no scope)"
    )
    assert len(desk.trail("consent.suppression_lifted")) == 1


def test_suppressed_answers_for_the_address_and_its_person(run: Run, desk: Desk) -> None:
    clock = SystemClock()
    with desk.factory() as session, session.begin():
        subject, _ = get_or_create_subject(
            session, kind="email", value=ADDRESS, master=desk.master, clock=clock, actor="t"
        )
        add_identity(
            session,
            subject=subject,
            kind="customer_id",
            value="K-100234",
            master=desk.master,
            clock=clock,
            actor="t",
        )
    nothing = run(*desk.args, "consent", "suppressed", "--email", ADDRESS)
    assert (nothing.code, nothing.out.strip()) == (
        1,
        f"e-mail address {SHOWN}: not on the suppression list",
    )
    suppress = ["consent", "suppress", "--email", ADDRESS, "--reason", "ticket 2"]
    assert run(*desk.args, *suppress, "--scope", "newsletter").code == 0
    own = run(*desk.args, "consent", "suppressed", "--email", ADDRESS)
    assert (own.code, own.out.strip()) == (0, f"e-mail address {SHOWN}: listed for newsletter")
    person = run(*desk.args, "consent", "suppressed", "--customer-id", "K-100234")
    assert person.code == 0
    assert person.out.strip() == (
        "customer number K***4: covered through another address of the same person, "
        "listed for newsletter"
    )
    lift = ["consent", "lift", "--customer-id", "K-100234", "--scope", "newsletter"]
    kept = run(*desk.args, *lift, "--reason", "mistake")
    assert kept.code == 1
    assert "another address of the same person is listed for newsletter" in kept.out
    assert "K-100234" not in kept.out


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("suppress", ["--email", ADDRESS, "--scope", "nope"], "scope: 'nope' is not a suppression"),
        ("suppress", ["--email", ADDRESS, "--scope", "contract"], "use one of direct_marketing,"),
        ("lift", ["--email", ADDRESS, "--scope", "nope"], "scope: 'nope' is not a suppression"),
        ("suppress", ["--email", "olga@@example.org"], "email: the address is not valid"),
        ("suppress", ["--phone", "call me"], "phone: "),
        ("suppress", [], "email: name the address to list with --email"),
        ("lift", ["--email", ADDRESS, "--phone", "+49301234567"], "exactly one of --email"),
        ("suppressed", [], "exactly one of --email"),
        ("suppress", ["--email", ADDRESS, "--reason", " "], "reason: say why the address goes"),
        ("suppress", ["--email", ADDRESS, "--reason", f"{ADDRESS} called"], "leave the address"),
        ("lift", ["--email", ADDRESS, "--reason", "x" * 501], "keep the reason to 500 characters"),
    ],
)
def test_bad_input_exits_2_naming_the_option(
    run: Run, desk: Desk, command: str, args: list[str], message: str
) -> None:
    if command != "suppressed" and "--reason" not in args:
        args = [*args, "--reason", "ticket 3"]
    result = run(*desk.args, "consent", command, *args)
    assert result.code == 2, result.out
    assert message in result.err
    assert "Traceback" not in result.err
    assert result.out == ""
    assert desk.listed() == []
    assert desk.trail("consent.suppressed") == []
