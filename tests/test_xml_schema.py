"""The XSDs: code lists equal the Python ones, documentation, problem reports."""

from __future__ import annotations

import dataclasses

import pytest
import xmlschema
from lxml import etree

from adapter import i18n
from adapter.codelists import OTHER, PROTOCOLS, VIOLATION_TYPES, protocol_codes
from adapter.editions import EDITIONS
from adapter.errors import InvalidDocumentError
from adapter.model import DocumentKind, Language, SignatoryRole
from adapter.xml import NOTIFICATION_NS, ROSTER_NS, build_xml, check_xml, parse_tree, validate_xml
from adapter.xml.schema import libxml2_schema, validate_tree
from schemas import schema_path

from xml_samples import VARIED_FACTS, notification, roster

XS = "{http://www.w3.org/2001/XMLSchema}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LIMIT = 10 * 1024 * 1024
SCHEMA_FILES = ("common.xsd", "notification.xsd", "roster.xsd")


def _schema(name: str) -> etree._Element:
    return etree.parse(str(schema_path(name))).getroot()


def _simple_type(name: str) -> etree._Element:
    for file_name in SCHEMA_FILES:
        found = _schema(file_name).find(f"{XS}simpleType[@name='{name}']")
        if found is not None:
            return found
    raise AssertionError(f"simpleType {name} not found")


def _enumeration(name: str) -> list[str]:
    return [item.get("value") for item in _simple_type(name).iter(f"{XS}enumeration")]


def _documentation(element: etree._Element) -> dict[str, str]:
    annotation = element.find(f"{XS}annotation")
    if annotation is None:
        return {}
    return {item.get(XML_LANG): (item.text or "").strip() for item in annotation.findall(f"{XS}documentation")}


def test_protocols_equal_codelist():
    assert _enumeration("protocolCode") == list(protocol_codes())


def test_protocol_names_equal_codelist():
    for item in _simple_type("protocolCode").iter(f"{XS}enumeration"):
        entry = PROTOCOLS[item.get("value")]
        assert _documentation(item) == {"kk": entry.kk, "ru": entry.ru, "en": entry.en}


def test_violation_types_equal_codelist():
    assert _enumeration("builtInViolationType") == [code for code in VIOLATION_TYPES if code != OTHER]


def test_violation_type_names_equal_codelist():
    for item in _simple_type("builtInViolationType").iter(f"{XS}enumeration"):
        entry = VIOLATION_TYPES[item.get("value")]
        assert _documentation(item) == {"kk": entry.kk, "ru": entry.ru, "en": entry.en}


def test_editions_languages_roles_equal_python():
    assert _enumeration("editionId") == list(EDITIONS)
    assert _enumeration("languageCode") == [language.value for language in Language]
    assert _enumeration("signatoryRoleCode") == [role.value for role in SignatoryRole]
    assert _enumeration("notificationSignatoryRole") == ["head", "deputy"]


def test_media_types():
    assert _enumeration("mediaType") == ["image/png", "image/jpeg", "application/pdf"]


@pytest.mark.parametrize("file_name", SCHEMA_FILES)
def test_every_element_documented(file_name):
    undocumented = []
    for element in _schema(file_name).iter(f"{XS}element"):
        languages = {language for language, text in _documentation(element).items() if text}
        if languages != {"kk", "ru", "en"}:
            undocumented.append(f"line {element.sourceline}: {element.get('name') or element.get('ref')}")
    assert not undocumented


def test_target_namespaces():
    assert _schema("notification.xsd").get("targetNamespace") == NOTIFICATION_NS
    assert _schema("roster.xsd").get("targetNamespace") == ROSTER_NS
    assert _schema("common.xsd").get("targetNamespace") is None


def test_xmlschema_agrees_on_valid_documents():
    for kind, document in ((DocumentKind.NOTIFICATION, notification()), (DocumentKind.ROSTER, roster())):
        schema = xmlschema.XMLSchema10(str(schema_path(f"{kind.value}.xsd")))
        assert schema.is_valid(etree.fromstring(build_xml(document)).getroottree())


def _with_fact(**changes) -> bytes:
    fact = dataclasses.replace(VARIED_FACTS[3], **changes)
    return build_xml(notification(facts=(*VARIED_FACTS[:3], fact, *VARIED_FACTS[4:])))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"imei": "49015420323751"}, "facts.imei"),
        ({"mac": "00:1a:2b:3c:4d:5e"}, "facts.mac"),
        ({"ip": "256.1.1.1"}, "facts.ip"),
        ({"ip": "2001:db8::1::2"}, "facts.ip"),
        ({"protocol": "GOPHER"}, "facts.protocol"),
        ({"domain": "bad_domain.kz"}, "facts.domain"),
        ({"url": "no scheme here"}, "facts.url"),
    ],
)
def test_fact_facets(changes, field):
    problems = validate_xml(_with_fact(**changes), detailed=True, max_bytes=LIMIT)
    assert [problem.field for problem in problems] == [field]
    assert problems[0].location is not None
    assert problems[0].params["path"].startswith("/notification/facts/fact[4]/")


def test_fact_without_address_rejected():
    data = _with_fact(ip=None, mac=None)
    problems = validate_xml(data, detailed=True, max_bytes=LIMIT)
    assert [problem.code for problem in problems] == ["unexpected-element"]
    assert "ip, domain, url" in problems[0].localized("en")


def test_valid_ipv6_forms():
    for address in ("2001:db8::1", "::1", "fe80::1:2:3:4", "2001:db8:0:0:0:0:2:1", "::ffff:192.0.2.128", "::"):
        assert validate_xml(_with_fact(ip=address), max_bytes=LIMIT) == (), address


def test_header_facets():
    document = notification()
    bad_sender = dataclasses.replace(document.header.sender, bin="12345")
    bad = dataclasses.replace(document, header=dataclasses.replace(document.header, sender=bad_sender, edition="2025-01"))
    problems = validate_xml(build_xml(bad), detailed=True, max_bytes=LIMIT)
    assert sorted(problem.field for problem in problems) == ["header.edition", "header.sender.bin"]


def test_evidence_facets():
    document = notification()
    evidence = dataclasses.replace(document.evidence[0], media_type="image/gif", sha256="AB" * 32, fact=99)
    bad = dataclasses.replace(document, evidence=(evidence, document.evidence[1]))
    problems = validate_xml(build_xml(bad), detailed=True, max_bytes=LIMIT)
    codes = {problem.field: problem.code for problem in problems}
    assert codes == {"evidence.media_type": "invalid-value", "evidence.sha256": "invalid-value", "evidence.fact": "unknown-fact"}


def test_duplicate_fact_number():
    facts = (*VARIED_FACTS[:2], dataclasses.replace(VARIED_FACTS[2], number=2))
    problems = validate_xml(build_xml(notification(facts=facts)), detailed=True, max_bytes=LIMIT)
    assert [(problem.code, problem.field) for problem in problems] == [("duplicate-number", "facts.number")]
    assert "2" in problems[0].localized("en")


def _numbers_changed(data: bytes, path: str, texts: list[str], namespace: str = NOTIFICATION_NS) -> etree._ElementTree:
    """Return ``data`` parsed, with the text of the elements at ``path`` replaced in order by ``texts`` (a '|' marks a comment)."""
    tree = parse_tree(data, LIMIT)
    elements = tree.getroot().findall(path.replace("n:", f"{{{namespace}}}"))
    for element, text in zip(elements, texts):
        before, _bar, after = text.partition("|")
        element.text = before
        if after:
            comment = etree.Comment(" split ")
            comment.tail = after
            element.append(comment)
    return etree.ElementTree(etree.fromstring(etree.tostring(tree)))


IDENTITY_CASES = {
    "distinct numbers": ("n:facts/n:fact/n:number", ["1", "2", "3"]),
    "repeated number": ("n:facts/n:fact/n:number", ["1", "2", "2"]),
    "same value written twice": ("n:facts/n:fact/n:number", ["1", "2", "02"]),
    "number split by a comment": ("n:facts/n:fact/n:number", ["1", "1|2", "12"]),
    "split number still distinct": ("n:facts/n:fact/n:number", ["1", "2|3", "4"]),
    "repeated evidence number": ("n:evidence/n:file/n:number", ["1", "1"]),
    "evidence of a missing fact": ("n:evidence/n:file/n:fact", ["9"]),
    "evidence of fact 01": ("n:evidence/n:file/n:fact", ["01"]),
}


@pytest.mark.parametrize("case", IDENTITY_CASES, ids=str)
def test_identity_constraints_agree_with_libxml2(case):
    path, texts = IDENTITY_CASES[case]
    tree = _numbers_changed(build_xml(notification(facts=VARIED_FACTS[:3])), path, texts)
    expected_valid = libxml2_schema(DocumentKind.NOTIFICATION).validate(tree)

    problems = validate_tree(tree)

    assert (problems == ()) == expected_valid, [problem.localized("en") for problem in problems]


@pytest.mark.parametrize("numbers", [["1", "2"], ["1", "1"], ["2", "002"]], ids=str)
def test_roster_identity_agrees_with_libxml2(numbers):
    tree = _numbers_changed(build_xml(roster()), "n:employees/n:employee/n:number", numbers, ROSTER_NS)
    expected_valid = libxml2_schema(DocumentKind.ROSTER).validate(tree)

    assert (validate_tree(tree) == ()) == expected_valid


def test_notification_signatory_must_be_head_or_deputy():
    document = dataclasses.replace(notification(), signatory=dataclasses.replace(notification().signatory, role=SignatoryRole.EMPLOYEE))
    problems = validate_xml(build_xml(document), detailed=True, max_bytes=LIMIT)
    assert [problem.field for problem in problems] == ["signatory.role"]
    assert "head, deputy" in problems[0].localized("en")


def _pretty(data: bytes) -> bytes:
    root = etree.fromstring(data)
    etree.indent(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_every_error_listed_with_path_and_line():
    data = _pretty(_with_fact(imei="123", protocol="GOPHER"))
    problems = validate_xml(data, detailed=True, max_bytes=LIMIT)
    lines = data.decode().splitlines()
    by_field = {problem.field: problem for problem in problems}
    assert set(by_field) == {"facts.imei", "facts.protocol"}
    imei = by_field["facts.imei"]
    assert imei.params["path"] == "/notification/facts/fact[4]/imei"
    assert "<imei>123</imei>" in lines[imei.line - 1]
    assert imei.value == "123"
    assert f"line {imei.line}" in imei.localized("en")
    assert "15" in imei.localized("en")


def test_fast_path_lists_errors_with_path_and_line():
    data = _pretty(_with_fact(imei="123", protocol="GOPHER"))
    problems = validate_xml(data, max_bytes=LIMIT)
    assert [problem.params["path"] for problem in problems] == [
        "/notification/facts/fact[4]/protocol",
        "/notification/facts/fact[4]/imei",
    ]
    assert all(problem.line and problem.line > 1 for problem in problems)


def test_problems_in_kazakh_and_russian():
    problems = validate_xml(_pretty(_with_fact(imei="123")), detailed=True, max_bytes=LIMIT)
    kazakh = problems[0].localized("kk")
    russian = problems[0].localized("ru")
    assert "мәні жарамсыз" in kazakh
    assert "15 цифр" in kazakh
    assert "недопустимое значение" in russian
    assert "15 цифр" in russian
    with i18n.use_language("ru"):
        assert str(InvalidDocumentError(problems)).count("строка") == 1


def test_roster_problems_hide_personal_data():
    document = roster()
    employee = dataclasses.replace(document.employees[0], work_email="секрет-без-собаки", mobile_phone="+7 123")
    bad = dataclasses.replace(document, employees=(employee, document.employees[1]))
    data = build_xml(bad)
    for detailed in (False, True):
        problems = validate_xml(data, detailed=detailed, max_bytes=LIMIT)
        assert {problem.field for problem in problems} == {"employees.work_email", "employees.mobile_phone"}
        for problem in problems:
            assert problem.value is None
            for language in i18n.LANGUAGES:
                text = problem.localized(language)
                assert "секрет" not in text
                assert "+7 123" not in text


def test_check_xml_returns_kind_or_raises():
    assert check_xml(build_xml(roster()), max_bytes=LIMIT) is DocumentKind.ROSTER
    with pytest.raises(InvalidDocumentError) as caught:
        check_xml(_with_fact(imei="1"), max_bytes=LIMIT)
    assert [problem.field for problem in caught.value.problems] == ["facts.imei"]


def test_other_only_as_own_element():
    data = build_xml(notification()).replace(b"<type>online-casino</type>", b"<type>other</type>")
    problems = validate_xml(data, detailed=True, max_bytes=LIMIT)
    assert [problem.field for problem in problems] == ["violation.type"]
    extension = build_xml(notification()).replace(b"<type>online-casino</type>", b"<type>deepfake-ads</type>")
    assert validate_xml(extension, max_bytes=LIMIT) == ()
