"""The declaration lint: the clean base, the corpus of faulty declarations, and the promises."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tutela.policy.lint import RULES, Finding, Severity, has_errors, lint
from tutela.policy.loader import load_declaration
from tutela.policy.models import Declaration

CORPUS = Path(__file__).parent / "corpus"
CLEAN = CORPUS / "clean.yaml"
FAULTY = sorted(p for p in CORPUS.glob("*.yaml") if p != CLEAN)
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "src" / "tutela" / "policy" / "examples" / "example.yaml"
DOCS = REPO / "docs" / "lint.md"
_SEGMENT = re.compile(r"([a-z_]+)|\[(\d+)\]")


def _header(path: Path) -> tuple[set[str], dt.date | None]:
    lines = path.read_text("utf-8").splitlines()
    assert lines[0].startswith("# expect:"), f"{path.name} must start with '# expect:'"
    expected = {item.strip() for item in lines[0].split(":", 1)[1].split(",") if item.strip()}
    today = None
    if lines[1].startswith("# today:"):
        today = dt.date.fromisoformat(lines[1].split(":", 1)[1].strip())
    return expected, today


def _load(path: Path) -> Declaration:
    return load_declaration(path)


def _clean_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CLEAN.read_text("utf-8"))
    return data


def _lint(data: dict[str, Any], today: dt.date | None = None) -> list[Finding]:
    return lint(Declaration.model_validate(data), today=today)


def _ids(findings: list[Finding]) -> set[str]:
    return {finding.id for finding in findings}


def _resolve(data: Any, path: str) -> None:
    """Walk ``path`` (``purposes[2].retention``) through the dumped declaration."""
    position = 0
    for match in _SEGMENT.finditer(path):
        assert match.start() in (position, position + 1), f"bad path syntax: {path}"
        position = match.end()
        name, index = match.groups()
        if name is not None:
            assert isinstance(data, dict), f"{path}: {name} is not inside a mapping"
            assert name in data, f"{path}: no field {name}"
            data = data[name]
        else:
            assert isinstance(data, list), f"{path}: [{index}] is not inside a list"
            assert int(index) < len(data), f"{path}: index {index} out of range"
            data = data[int(index)]
    assert position == len(path), f"bad path syntax: {path}"


def _named_thing(declaration: Declaration, path: str) -> str | None:
    """The id, key or name a finding at ``path`` must mention."""
    match = re.match(
        r"(purposes|recipients|cookies|data_categories|automated_decisions)\[(\d+)\]", path
    )
    if match is None:
        return None
    item = getattr(declaration, match.group(1))[int(match.group(2))]
    for attribute in ("id", "key", "name"):
        if hasattr(item, attribute):
            return str(getattr(item, attribute))
    return None


# --- the clean base and the corpus ------------------------------------------------------------


def test_clean_base_has_no_findings() -> None:
    expected, _ = _header(CLEAN)
    assert expected == set()
    assert lint(_load(CLEAN)) == []


def test_corpus_is_large_enough() -> None:
    assert len(FAULTY) >= 28


@pytest.mark.parametrize("path", FAULTY, ids=[p.stem for p in FAULTY])
def test_corpus_file_gives_exactly_its_expected_findings(path: Path) -> None:
    expected, today = _header(path)
    declaration = _load(path)
    findings = lint(declaration, today=today)
    assert _ids(findings) == expected
    dumped = declaration.model_dump(mode="python")
    for finding in findings:
        _resolve(dumped, finding.path)
        assert finding.severity is RULES[finding.id].severity
        assert finding.message.endswith(".")
        assert finding.hint.endswith(".")
        thing = _named_thing(declaration, finding.path)
        if thing is not None:
            assert thing in finding.message, finding


def test_corpus_exercises_every_rule() -> None:
    seen: set[str] = set()
    for path in FAULTY:
        seen |= _header(path)[0]
    assert seen <= set(RULES), seen - set(RULES)
    assert set(RULES) - seen == set()


def test_findings_are_sorted_by_path_then_id() -> None:
    findings = lint(_load(CORPUS / "unknown_keys.yaml"))
    assert findings == sorted(findings, key=Finding.sort_key)
    assert [f.path for f in findings] == [
        "data_categories[5].key",
        "purposes[4].data_use",
        "purposes[4].subjects[1]",
    ]
    assert lint(_load(CORPUS / "unknown_keys.yaml")) == findings


@given(st.integers(0, 500), st.integers(0, 500))
def test_list_indexes_sort_as_numbers(a: int, b: int) -> None:
    first = Finding("x.y", Severity.ERROR, f"purposes[{a}].retention", "m.", "h.")
    second = Finding("x.y", Severity.ERROR, f"purposes[{b}].retention", "m.", "h.")
    assert (first.sort_key() < second.sort_key()) == (a < b)


def test_finding_as_dict_and_has_errors() -> None:
    warning = Finding("dpo.missing", Severity.WARNING, "dpo", "No DPO.", "Add one.")
    error = Finding("purpose.retention-missing", Severity.ERROR, "purposes[0].retention", "a", "b")
    assert warning.to_dict() == {
        "id": "dpo.missing",
        "severity": "warning",
        "path": "dpo",
        "message": "No DPO.",
        "hint": "Add one.",
    }
    assert not has_errors([warning])
    assert has_errors([warning, error])
    assert not has_errors([])


def test_unknown_key_names_the_nearest_known_keys() -> None:
    findings = lint(_load(CORPUS / "unknown_keys.yaml"))
    by_id = {f.id: f for f in findings}
    assert "'user.contact.email'" in by_id["category.unknown-key"].message
    assert "'essential.service.security'" in by_id["use.unknown-key"].message
    assert "'visitor'" in by_id["subject.unknown-key"].message


def test_custom_keys_pass_when_described() -> None:
    data = _clean_data()
    data["data_categories"].append(
        {"key": "x_loyalty.points", "description": {"de": "Treuepunkte", "en": "Loyalty points"}}
    )
    data["purposes"][0]["categories"]["optional"] = ["x_loyalty.points"]
    data["purposes"][0]["data_use"] = "x_loyalty"
    data["purposes"][0]["subjects"] = ["x_member"]
    assert _lint(data) == []


def test_withdrawal_needs_no_channel_without_consent() -> None:
    data = _clean_data()
    data["purposes"] = [p for p in data["purposes"] if p["legal_basis"] != "consent"]
    data["cookies"] = [c for c in data["cookies"] if c["category"] == "necessary"]
    data["recipients"] = [r for r in data["recipients"] if r["id"] != "metrics"]
    data["data_categories"] = [
        c for c in data["data_categories"] if c["key"] != "user.device.cookie_id"
    ]
    data["rights_channels"] = [
        {"kind": "post", "rights": ["access", "rectification", "erasure", "restriction"]},
        {"kind": "email", "rights": ["portability", "objection"]},
    ]
    assert _lint(data) == []


def test_change_notice_units_are_compared_in_werktage() -> None:
    data = _clean_data()
    data["change_notice"] = {"days": 25, "unit": "arbeitstage"}
    assert _lint(data) == []
    data["change_notice"] = {"days": 24, "unit": "arbeitstage"}
    assert _ids(_lint(data)) == {"change-notice.too-short"}
    data["change_notice"] = {"days": 0}
    assert _ids(_lint(data)) == {"change-notice.too-short"}
    data["change_notice"] = {"days": 35, "unit": "calendar_days"}
    assert _lint(data) == []


def test_us_rules_stay_quiet_when_nothing_is_sold() -> None:
    data = _clean_data()
    data["us_privacy"] = {"applies": True, "honours_gpc": False}
    assert _lint(data) == []
    data["us_privacy"] = {"applies": False, "sells": True}
    assert _lint(data) == []
    data["us_privacy"] = {"applies": True, "sells": True}
    data["rights_channels"][0]["rights"] = ["access", "opt_out_sale", "withdrawal"]
    assert _lint(data) == []


# --- promises ---------------------------------------------------------------------------------


@pytest.mark.promise("P02")
def test_card_numbers_must_stay_with_a_processor() -> None:
    data = _clean_data()
    assert _lint(data) == []
    data["data_categories"][2]["held_by"] = []
    (finding,) = _lint(data)
    assert finding.id == "category.pan-stored"
    assert finding.severity is Severity.ERROR
    assert finding.path == "data_categories[2].held_by"
    data["data_categories"][2]["held_by"] = ["payco", "hosting"]
    assert _lint(data) == []


@pytest.mark.promise("P04")
def test_email_marketing_needs_consent() -> None:
    data = _clean_data()
    newsletter = data["purposes"][2]
    newsletter["legal_basis"] = "contract"
    (finding,) = _lint(data)
    assert finding.id == "purpose.electronic-marketing-without-consent"
    assert finding.path == "purposes[2].legal_basis"
    assert "'newsletter'" in finding.message


@pytest.mark.promise("P05")
def test_soft_opt_in_needs_legitimate_interests_and_a_link_in_every_mail() -> None:
    data = _clean_data()
    newsletter = data["purposes"][2]
    newsletter["soft_opt_in"] = True
    newsletter["legal_basis"] = "legitimate_interests"
    newsletter["legitimate_interest"] = {"de": "Ähnliche Angebote.", "en": "Similar offers."}
    assert _lint(data) == []
    newsletter["objection_channels"] = ["email"]
    assert _ids(_lint(data)) == {"purpose.soft-opt-in-without-unsubscribe-link"}
    newsletter["objection_channels"] = []
    assert _ids(_lint(data)) == {
        "purpose.soft-opt-in-without-unsubscribe-link",
        "purpose.direct-marketing-without-objection",
    }


@pytest.mark.promise("P12")
def test_only_necessary_cookies_go_without_consent() -> None:
    data = _clean_data()
    analytics_cookie = data["cookies"][1]
    analytics_cookie["consent_required"] = False
    (finding,) = _lint(data)
    assert (finding.id, finding.path) == (
        "cookie.non-necessary-without-consent",
        "cookies[1].consent_required",
    )
    del analytics_cookie["consent_required"]
    analytics_cookie["purpose"] = "security"
    analytics_cookie["provider"] = "hosting"
    (finding,) = _lint(data)
    assert (finding.id, finding.path) == (
        "cookie.non-necessary-without-consent",
        "cookies[1].purpose",
    )
    analytics_cookie["category"] = "necessary"
    analytics_cookie["party"] = "first"
    assert _lint(data) == []


@pytest.mark.promise("P14")
@pytest.mark.parametrize(
    ("safeguard", "judgment"),
    [("safe_harbor", "C-362/14"), ("privacy_shield", "C-311/18")],
)
def test_invalidated_transfer_schemes_are_errors(safeguard: str, judgment: str) -> None:
    data = _clean_data()
    data["recipients"][2]["transfers"][0]["safeguard"] = safeguard
    (finding,) = _lint(data)
    assert finding.id == "transfer.invalid-safeguard"
    assert finding.severity is Severity.ERROR
    assert finding.path == "recipients[2].transfers[0].safeguard"
    assert judgment in finding.message
    assert "'metrics'" in finding.message


@pytest.mark.promise("P14")
def test_transfers_need_a_valid_and_current_safeguard() -> None:
    data = _clean_data()
    assert _lint(data, today=dt.date(2026, 9, 1)) == []
    assert _ids(_lint(data, today=dt.date(2026, 9, 2))) == {"transfer.dpf-check-stale"}
    data["recipients"][2]["transfers"][0] = {
        "country": "US",
        "safeguard": "scc_2021_914",
        "scc_module": 2,
        "copy_available": {"de": "Auf Anfrage.", "en": "On request."},
    }
    assert _lint(data, today=dt.date(2030, 1, 1)) == []
    data["recipients"][2]["transfers"][0] = {"country": "CH", "safeguard": "adequacy"}
    data["recipients"][2]["country"] = "CH"
    assert _lint(data) == []
    data["recipients"][2]["transfers"][0] = {"country": "CN"}
    data["recipients"][2]["country"] = "CN"
    (finding,) = _lint(data)
    assert finding.id == "transfer.missing-safeguard"
    assert "scc_2021_914" in finding.hint


@pytest.mark.promise("P21")
def test_controller_outside_the_eea_needs_a_reachable_representative() -> None:
    data = _clean_data()
    data["controller"]["address"] = {
        "street": "Bahnhofstrasse 1",
        "postal_code": "8001",
        "city": "Zürich",
        "country": "CH",
    }
    (finding,) = _lint(data)
    assert (finding.id, finding.path) == ("representative.missing", "controller.representative")
    data["controller"]["representative"] = {"name": "Vertretung GmbH", "email": "rep@v.example"}
    assert _lint(data) == []
    data["controller"]["address"]["country"] = "NO"
    del data["controller"]["representative"]
    assert _lint(data) == []


@pytest.mark.promise("P21")
def test_every_contact_the_statement_points_to_exists() -> None:
    data = _clean_data()
    del data["controller"]["contacts"]["web"]
    data["rights_channels"].append({"kind": "fax", "address": "+49 30 5550199"})
    assert _lint(data) == []
    data["rights_channels"][0].pop("address")
    (finding,) = _lint(data)
    assert (finding.id, finding.path) == (
        "controller.contact-missing",
        "rights_channels[0].address",
    )
    assert "controller.contacts.web" in finding.hint
    data = _clean_data()
    del data["dpo"]["email"]
    assert _ids(_lint(data)) == {"dpo.contact-missing"}
    data["dpo"]["phone"] = "+49 30 5550150"
    assert _lint(data) == []


@pytest.mark.promise("P22")
@pytest.mark.parametrize(
    ("retention", "warned"),
    [
        ({"period": "P2Y"}, True),
        ({"period": "P13M"}, True),
        ({"criteria": {"de": "Bis zur Klärung.", "en": "Until resolved."}}, True),
        ({"period": "P1Y"}, False),
        ({"period": "P30D"}, False),
        ({"statutory": {"law": "§ 8 GwG", "period": "P5Y"}}, False),
    ],
)
def test_id_documents_and_recordings_are_kept_briefly(
    retention: dict[str, Any], warned: bool
) -> None:
    for key, extra in (
        ("user.government_id.passport_number", {}),
        ("x_support.call_recording", {"description": {"de": "Mitschnitte", "en": "Recordings"}}),
        ("user.health_and_medical", {}),
    ):
        data = _clean_data()
        data["data_categories"].append({"key": key, **extra})
        data["purposes"][0]["categories"]["optional"] = [key]
        data["purposes"][0]["special_category_ground"] = "explicit_consent"
        data["purposes"][0]["retention"] = retention
        findings = _lint(data)
        expected = {"sensitive.long-retention"} if warned else set()
        assert _ids(findings) == expected, key
        if warned:
            assert findings[0].severity is Severity.WARNING
            assert key in findings[0].message


# --- the example and the docs -----------------------------------------------------------------


def test_example_declaration_has_no_errors() -> None:
    findings = lint(load_declaration(EXAMPLE))
    assert not has_errors(findings), [f.to_dict() for f in findings if f.severity == "error"]


def test_docs_list_every_rule_with_its_severity() -> None:
    rows = re.findall(r"^\| `([a-z0-9.-]+)` \| (error|warning) \|", DOCS.read_text("utf-8"), re.M)
    assert dict(rows) == {rule.id: str(rule.severity) for rule in RULES.values()}
    assert len(rows) == len(RULES)
