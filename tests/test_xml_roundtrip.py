"""Building and parsing XML: exact round trips, deterministic bytes, streaming."""

from __future__ import annotations

import dataclasses
import io

import pytest
from lxml import etree

from adapter.codelists import OTHER
from adapter.errors import InputError, InvalidDocumentError
from adapter.model import Violation
from adapter.xml import (
    DS_NS,
    NOTIFICATION_NS,
    ROSTER_NS,
    build_xml,
    document_id,
    parse_tree,
    parse_xml,
    read_tree,
    validate_xml,
    write_xml,
)

from xml_samples import VARIED_FACTS, many_facts, notification, roster

LIMIT = 50 * 1024 * 1024

SIGNATURE = (
    f'<ds:Signature xmlns:ds="{DS_NS}"><ds:SignedInfo>'
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
    '<ds:Reference URI="#x"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
    "<ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo>"
    "<ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"
).encode()


def test_notification_round_trip_exact():
    document = notification()
    data = build_xml(document)
    assert validate_xml(data, max_bytes=LIMIT) == ()
    assert parse_xml(data, max_bytes=LIMIT) == document


def test_roster_round_trip_exact():
    document = roster()
    data = build_xml(document)
    assert validate_xml(data, max_bytes=LIMIT) == ()
    assert parse_xml(data, max_bytes=LIMIT) == document


def test_other_violation_round_trip():
    document = notification(violation=Violation(OTHER, "Заңның 41-1-бабы", "Жаңа түрі: дипфейк жарнамасы"))
    data = build_xml(document)
    assert b"<other>" in data
    assert b"<type>" not in data
    assert validate_xml(data, max_bytes=LIMIT) == ()
    assert parse_xml(data, max_bytes=LIMIT) == document


def test_other_violation_needs_description():
    document = notification(violation=Violation(OTHER, "Заңның 41-1-бабы"))
    with pytest.raises(InputError) as caught:
        build_xml(document)
    assert caught.value.field == "violation.description"


def test_text_survives_whitespace_and_markup():
    parsed = parse_xml(build_xml(notification()), max_bytes=LIMIT)
    assert parsed.facts[4].description == "  көп жолды\r\nсипаттама\tқойындымен  "
    assert parsed.facts[0].url == "https://jackpot-sultan.kz/ru/slots?promo=welcome&x=<1>"
    assert parsed.facts[0].description == "Онлайн-казино: «слоттар» & бонус"


def test_domain_has_unicode_attribute():
    root = etree.fromstring(build_xml(notification()))
    domains = root.findall(f".//{{{NOTIFICATION_NS}}}domain")
    forms = {domain.text: domain.get("unicode") for domain in domains}
    assert forms["xn--80ahoqdq7e.xn--80ao21a"] == "ойындар.қаз"
    assert forms["xn--e1afmkfd.xn--p1ai"] == "пример.рф"
    assert forms["jackpot-sultan.kz"] == "jackpot-sultan.kz"


def test_same_document_same_bytes():
    first = build_xml(notification())
    second = build_xml(notification())
    rebuilt = build_xml(parse_xml(first, max_bytes=LIMIT))
    assert first == second
    assert rebuilt == first


def test_output_is_compact_utf8():
    data = build_xml(roster())
    declaration, body = data.split(b"\n", 1)
    assert declaration == b'<?xml version="1.0" encoding="UTF-8"?>'
    assert b"\n" not in body
    assert b"> <" not in body
    assert "Ахметова".encode() in body


def test_root_id_is_derived_and_overridable():
    document = notification()
    root = etree.fromstring(build_xml(document))
    assert root.get("Id") == document_id(document)
    assert root.get("Id").startswith("notification-")
    other = dataclasses.replace(document, header=dataclasses.replace(document.header, number="04-2-15/1188"))
    assert document_id(other) != document_id(document)
    assert etree.fromstring(build_xml(document, root_id="doc-1")).get("Id") == "doc-1"


def test_roster_namespace():
    root = etree.fromstring(build_xml(roster()))
    assert root.tag == f"{{{ROSTER_NS}}}roster"


def test_write_xml_to_path_matches_build(tmp_path):
    target = tmp_path / "notification.xml"
    write_xml(notification(), target)
    assert target.read_bytes() == build_xml(notification())


def test_write_xml_error_keeps_existing_file(tmp_path):
    target = tmp_path / "notification.xml"
    target.write_bytes(b"old content")
    broken = notification(facts=(dataclasses.replace(VARIED_FACTS[0], description="bell\x07"),))
    with pytest.raises(InputError) as caught:
        write_xml(broken, target)
    assert target.read_bytes() == b"old content"
    assert list(tmp_path.iterdir()) == [target]
    assert caught.value.field == "facts.description"
    assert "U+0007" in str(caught.value)


def test_invalid_character_message_hides_value():
    broken = dataclasses.replace(roster(), employees=(dataclasses.replace(roster().employees[0], full_name="Секрет\x00"),))
    with pytest.raises(InputError) as caught:
        build_xml(broken)
    assert caught.value.field == "employees.full_name"
    assert "Секрет" not in str(caught.value)


def test_write_xml_reports_progress():
    counts: list[int] = []
    write_xml(notification(facts=many_facts(2500)), io.BytesIO(), progress=counts.append)
    assert counts == [1000, 2000, 2500]


def test_signature_child_is_ignored():
    data = build_xml(notification())
    signed = data.replace(b"</notification>", SIGNATURE + b"</notification>")
    assert validate_xml(signed, max_bytes=LIMIT) == ()
    assert parse_xml(signed, max_bytes=LIMIT) == notification()


@pytest.mark.parametrize("document", [notification(), roster(), notification(facts=many_facts(300))], ids=["notification", "roster", "300 facts"])
def test_read_tree_matches_parse_xml(document):
    data = build_xml(document)
    assert read_tree(parse_tree(data, LIMIT).getroot()) == parse_xml(data, max_bytes=LIMIT) == document


def test_read_tree_skips_signature():
    signed = build_xml(notification()).replace(b"</notification>", SIGNATURE + b"</notification>")
    assert read_tree(parse_tree(signed, LIMIT).getroot()) == notification()


@pytest.mark.parametrize("markup", [b"<!-- x -->", b"<?note x?>"], ids=["comment", "processing instruction"])
def test_read_tree_reads_value_split_by_markup_whole(markup):
    # C14N without comments signs "60" here, so the model must read 60, not 6.
    data = build_xml(notification()).replace(b"<number>6</number>", b"<number>6" + markup + b"0</number>", 1)
    document = read_tree(parse_tree(data, LIMIT).getroot())
    assert document.facts[5].number == 60
    assert document == parse_xml(data, max_bytes=LIMIT)


def test_read_tree_names_element_it_cannot_read():
    data = build_xml(notification()).replace(b"<number>2</number>", b"<number>two</number>", 1)
    with pytest.raises(InvalidDocumentError) as caught:
        read_tree(parse_tree(data, LIMIT).getroot())
    with pytest.raises(InvalidDocumentError) as streamed:
        parse_xml(data, max_bytes=LIMIT, validate=False)
    problem = caught.value.problems[0]
    assert problem.code == "invalid-structure"
    assert "'two'" in problem.params["reason"]
    assert problem.location == "/notification/facts/fact[2]"
    assert (problem.location, problem.line) == (streamed.value.problems[0].location, streamed.value.problems[0].line)


def test_signature_must_be_last_child():
    data = build_xml(notification())
    misplaced = data.replace(b"<signatory>", SIGNATURE + b"<signatory>")
    problems = validate_xml(misplaced, max_bytes=LIMIT)
    assert problems
    assert any("Signature" in problem.localized("en") for problem in problems)


def test_hundred_thousand_facts(tmp_path):
    document = notification(facts=many_facts(100_000))
    target = tmp_path / "large.xml"
    write_xml(document, target)
    assert target.stat().st_size > 10_000_000
    assert validate_xml(target, max_bytes=LIMIT) == ()
    parsed = parse_xml(target, max_bytes=LIMIT)
    assert len(parsed.facts) == 100_000
    assert parsed == document


def test_write_xml_keeps_file_mode(tmp_path):
    fresh = tmp_path / "fresh.xml"
    write_xml(roster(), fresh)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~_umask()
    existing = tmp_path / "existing.xml"
    existing.write_bytes(b"old")
    existing.chmod(0o640)
    write_xml(roster(), existing)
    assert existing.stat().st_mode & 0o777 == 0o640


def _umask() -> int:
    import os

    current = os.umask(0)
    os.umask(current)
    return current
