"""Document checks: validate_notification and validate_roster find every problem of a document built in code."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from adapter import i18n
from adapter.config import Config
from adapter.errors import InvalidDocumentError
from adapter.inputs import load_input
from adapter.model import Employee, Evidence, Fact, SignatoryRole, Violation
from adapter.validation import check_notification, check_roster, validate_notification, validate_roster

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def notification():
    return load_input(EXAMPLES / "notification.toml")


@pytest.fixture(scope="module")
def roster():
    return load_input(EXAMPLES / "roster.toml")


def with_facts(notification, *facts):
    """Return the example with other facts and only its evidence that names no fact."""
    general = dataclasses.replace(notification.evidence[2], number=1)
    assert general.fact is None
    return dataclasses.replace(notification, facts=tuple(facts), evidence=(general,))


def codes(problems):
    return [problem.code for problem in problems]


def test_example_notification_is_valid(notification):
    assert validate_notification(notification) == ()
    check_notification(notification)


def test_example_roster_is_valid(roster):
    assert validate_roster(roster) == ()
    check_roster(roster)


def test_duplicate_facts_are_reported_by_number(notification):
    document = with_facts(
        notification,
        Fact(1, "HTTPS", domain="casino.kz"),
        Fact(2, "HTTP", domain="casino.kz"),
        Fact(3, "HTTPS", domain="casino.kz", description="the same resource again"),
    )
    problems = validate_notification(document)
    assert codes(problems) == ["duplicate-fact"]
    assert problems[0].localized("en").startswith("fact 3: the fact repeats fact 1")


HOST_CASES = [
    ("casino.kz", "https://casino.kz/slots", None, []),
    ("casino.kz", "https://www.casino.kz/slots", None, []),
    ("casino.kz", "https://a.b.casino.kz/", None, []),
    ("www.casino.kz", "https://casino.kz/", None, ["url-host-mismatch"]),
    ("casino.kz", "https://notcasino.kz/", None, ["url-host-mismatch"]),
    ("casino.kz", "https://casino.kz.evil.kz/", None, ["url-host-mismatch"]),
    ("casino.kz", "http://203.0.113.5/", None, ["url-host-mismatch"]),
    (None, "http://203.0.113.5/", "203.0.113.5", []),
    (None, "http://203.0.113.5/", "203.0.113.6", ["url-host-mismatch"]),
    (None, "https://[2001:db8::1]/", "2001:db8::1", []),
    ("xn--e1afmkfd.xn--80ao21a", "https://www.xn--e1afmkfd.xn--80ao21a/", None, []),
]


@pytest.mark.parametrize(("domain", "url", "ip", "expected"), HOST_CASES)
def test_url_host_against_domain_and_ip(notification, domain, url, ip, expected):
    document = with_facts(notification, Fact(1, "HTTPS", ip=ip, domain=domain, url=url))
    assert codes(validate_notification(document)) == expected


def test_host_mismatch_names_both_in_unicode(notification):
    document = with_facts(notification, Fact(1, "HTTPS", domain="xn--e1afmkfd.xn--80ao21a", url="https://example.kz/"))
    text = validate_notification(document)[0].localized("en")
    assert "пример.қаз" in text
    assert "example.kz" in text


def test_fact_without_resource(notification):
    document = with_facts(notification, Fact(1, "HTTPS", mac="AA-BB-CC-DD-EE-FF"))
    assert codes(validate_notification(document)) == ["no-resource"]


def test_non_canonical_fact_fields(notification):
    document = with_facts(
        notification,
        Fact(1, "https", domain="Пример.қаз", mac="aa:bb:cc:dd:ee:ff", ip="2001:DB8::1"),
    )
    problems = validate_notification(document)
    assert sorted(problem.field for problem in problems) == ["facts.domain", "facts.ip", "facts.mac", "facts.protocol"]
    assert all(problem.code == "not-canonical" for problem in problems)
    mac = next(problem for problem in problems if problem.field == "facts.mac")
    assert "AA-BB-CC-DD-EE-FF" in mac.localized("en")


def test_invalid_fact_fields(notification):
    document = with_facts(notification, Fact(1, "GOPHER", ip="999.1.1.1", imei="490154203237519"))
    assert sorted(codes(validate_notification(document))) == ["invalid-imei", "invalid-ip", "unknown-protocol"]


def test_fact_numbering(notification):
    document = with_facts(notification, Fact(1, "HTTPS", domain="a.kz"), Fact(3, "HTTPS", domain="b.kz"))
    assert codes(validate_notification(document)) == ["bad-numbering"]


def test_no_facts(notification):
    assert "no-facts" in codes(validate_notification(with_facts(notification)))


def test_role_employee_cannot_sign_notification(notification):
    signatory = dataclasses.replace(notification.signatory, role=SignatoryRole.EMPLOYEE)
    problems = validate_notification(dataclasses.replace(notification, signatory=signatory))
    assert codes(problems) == ["invalid-role"]


def test_signatory_iin_check_digit(notification):
    signatory = dataclasses.replace(notification.signatory, iin="750314301238")
    problems = validate_notification(dataclasses.replace(notification, signatory=signatory))
    assert codes(problems) == ["invalid-iin"]
    assert problems[0].field == "signatory.iin"


def test_sender_bin_check_digit(notification):
    sender = dataclasses.replace(notification.header.sender, bin="210240012351")
    header = dataclasses.replace(notification.header, sender=sender)
    problems = validate_notification(dataclasses.replace(notification, header=header))
    assert codes(problems) == ["invalid-bin"]


def test_edition_not_in_force_on_date(notification):
    header = dataclasses.replace(notification.header, edition="2026-04")
    problems = validate_notification(dataclasses.replace(notification, header=header))
    assert codes(problems) == ["edition-not-in-force"]
    assert "2026-07-12" in problems[0].localized("en")


def test_first_edition_start_comes_from_config(notification):
    header = dataclasses.replace(notification.header, date=dt.date(2026, 5, 1), edition="2026-04")
    document = dataclasses.replace(notification, header=header)
    assert validate_notification(document) == ()
    late_start = Config({"documents": {"first_edition_start": dt.date(2026, 6, 1)}})
    assert codes(validate_notification(document, config=late_start)) == ["invalid-value"]


VIOLATION_CASES = [
    (Violation("online-casino", "norm"), []),
    (Violation("other", "norm", "Sale of counterfeit medicines"), []),
    (Violation("other", "norm"), ["missing"]),
    (Violation("other", "norm", "  "), ["missing"]),
    (Violation("casino", "norm"), ["unknown-violation-type"]),
    (Violation("online-casino", " "), ["missing"]),
]


@pytest.mark.parametrize(("violation", "expected"), VIOLATION_CASES)
def test_violation_item(notification, violation, expected):
    assert codes(validate_notification(dataclasses.replace(notification, violation=violation))) == expected


def test_violation_type_from_configured_list(notification, tmp_path):
    extra = tmp_path / "types.toml"
    extra.write_text('[[violation_type]]\ncode = "counterfeit-medicines"\nkk = "Жалған дәрі"\nru = "Поддельные лекарства"\nen = "Counterfeit medicines"\n', encoding="utf-8")
    config = Config({"documents": {"violation_types_file": str(extra)}})
    document = dataclasses.replace(notification, violation=Violation("counterfeit-medicines", "norm"))
    assert codes(validate_notification(document)) == ["unknown-violation-type"]
    assert validate_notification(document, config=config) == ()


def evidence(number, name="shot.png", *, media_type="image/png", size=10, sha256="a" * 64, fact=None):
    return Evidence(number, name, media_type, size, sha256, fact)


EVIDENCE_CASES = [
    ((evidence(1),), []),
    ((), ["no-evidence"]),
    ((evidence(1, media_type="image/gif"),), ["invalid-evidence"]),
    ((evidence(1, size=0),), ["invalid-evidence"]),
    ((evidence(1, sha256="ABC"),), ["invalid-evidence"]),
    ((evidence(1, fact=99),), ["invalid-evidence"]),
    ((evidence(1, "../etc/passwd"),), ["invalid-evidence"]),
    ((evidence(1, ".hidden.png"),), ["invalid-evidence"]),
    ((evidence(1), evidence(2, "SHOT.png")), ["duplicate-evidence"]),
    ((evidence(2),), ["bad-numbering"]),
]


@pytest.mark.parametrize(("items", "expected"), EVIDENCE_CASES)
def test_evidence_list(notification, items, expected):
    assert codes(validate_notification(dataclasses.replace(notification, evidence=items))) == expected


def test_all_problems_are_collected(notification):
    signatory = dataclasses.replace(notification.signatory, iin="1", role=SignatoryRole.EMPLOYEE)
    document = dataclasses.replace(
        with_facts(notification, Fact(1, "HTTPS"), Fact(2, "HTTPS", ip="1.2.3")),
        signatory=signatory,
        violation=Violation("other", "norm"),
    )
    with pytest.raises(InvalidDocumentError) as caught:
        check_notification(document)
    assert sorted(codes(caught.value.problems)) == ["invalid-iin", "invalid-ip", "invalid-role", "missing", "no-resource"]


def test_problem_locations_are_translated(notification):
    document = with_facts(notification, Fact(1, "HTTPS", domain="a.kz"), Fact(2, "HTTPS", domain="a.kz"))
    problem = validate_notification(document)[0]
    assert problem.localized("en").startswith("fact 2: ")
    assert problem.localized("kk").startswith("2-факт: ")
    assert problem.localized("ru").startswith("факт 2: ")


# --- roster ----------------------------------------------------------------------------------


def with_employees(roster, *employees):
    return dataclasses.replace(roster, employees=tuple(employees))


def test_roster_duplicate_contacts_hide_the_values(roster):
    first = roster.employees[0]
    second = dataclasses.replace(roster.employees[1], work_email=first.work_email, mobile_phone=first.mobile_phone)
    problems = validate_roster(with_employees(roster, first, second))
    assert codes(problems) == ["duplicate-employee", "duplicate-employee"]
    for language in i18n.LANGUAGES:
        for problem in problems:
            text = problem.localized(language)
            assert first.work_email not in text
            assert first.mobile_phone not in text


def test_roster_employee_fields(roster):
    bad = Employee(1, "Ахметова", "not-an-address", "+7 727 234 56 78")
    problems = validate_roster(with_employees(roster, bad))
    assert codes(problems) == ["invalid-name", "invalid-email", "invalid-phone"]
    assert all(problem.localized("en").startswith("employee 1: ") for problem in problems)


def test_roster_name_is_left_out_of_message(roster):
    problems = validate_roster(with_employees(roster, Employee(1, "Ахметова", "a@example.kz", "+7 701 234 56 78")))
    assert "Ахметова" not in problems[0].localized("en")


def test_roster_phone_must_be_canonical(roster):
    employee = Employee(1, "Ахметова Айгерім", "a@example.kz", "87012345678")
    problems = validate_roster(with_employees(roster, employee))
    assert codes(problems) == ["not-canonical"]
    assert "+7 701 \u2022\u2022\u2022 \u2022\u2022 78" in problems[0].localized("en")
    assert "234 56" not in problems[0].localized("en")


def test_roster_without_employees(roster):
    assert codes(validate_roster(with_employees(roster))) == ["no-employees"]


def test_roster_may_be_signed_by_employee(roster):
    signatory = dataclasses.replace(roster.signatory, role=SignatoryRole.EMPLOYEE)
    assert validate_roster(dataclasses.replace(roster, signatory=signatory)) == ()


def test_check_roster_raises(roster):
    with pytest.raises(InvalidDocumentError) as caught:
        check_roster(with_employees(roster))
    assert caught.value.source == roster.header.number


def test_ipv4_mapped_url_host_matches_ip(notification):
    document = with_facts(notification, Fact(1, "HTTP", ip="::ffff:203.0.113.1", url="http://[::ffff:203.0.113.1]/"))
    assert validate_notification(document) == ()
