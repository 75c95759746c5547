"""Input files: load_input reads TOML and JSON, hashes evidence and reports every problem."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import shutil
import tomllib
from pathlib import Path

import pytest

from adapter.config import Config
from adapter.errors import InvalidDocumentError
from adapter.inputs import describe_evidence_file, detect_media_type, load_input
from adapter.model import Language, Notification, Roster, SignatoryRole

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example_data(name: str) -> dict:
    with (EXAMPLES / name).open("rb") as handle:
        data = tomllib.load(handle)
    data["document"]["date"] = data["document"]["date"].isoformat()
    return data


@pytest.fixture
def folder(tmp_path):
    shutil.copytree(EXAMPLES / "screenshots", tmp_path / "screenshots")
    return tmp_path


@pytest.fixture
def notification_data():
    return example_data("notification.toml")


@pytest.fixture
def roster_data():
    return example_data("roster.toml")


def write_json(folder: Path, data: dict, name: str = "input.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def load_problems(path: Path, **kwargs):
    with pytest.raises(InvalidDocumentError) as caught:
        load_input(path, **kwargs)
    return caught.value


def codes(error: InvalidDocumentError) -> list[str]:
    return [problem.code for problem in error.problems]


# --- the examples ------------------------------------------------------------------------------


def test_example_notification_loads():
    document = load_input(EXAMPLES / "notification.toml")
    assert isinstance(document, Notification)
    assert document.header.edition == "2026-07-12"
    assert document.header.language is Language.KK
    assert document.header.sender.bin == "050340001235"
    assert document.header.recipient.bin == "230940007899"
    assert document.signatory.iin == "780412300516"
    assert document.signatory.role is SignatoryRole.HEAD
    assert len(document.facts) >= 20
    assert [fact.number for fact in document.facts] == list(range(1, len(document.facts) + 1))


def test_example_notification_has_varied_facts():
    facts = load_input(EXAMPLES / "notification.toml").facts
    domains = {fact.domain_unicode for fact in facts if fact.domain}
    assert any(domain.endswith(".қаз") for domain in domains)
    assert any(domain.endswith(".kz") for domain in domains)
    assert any(fact.ip and ":" in fact.ip for fact in facts)
    assert any(fact.ip and "." in fact.ip for fact in facts)
    assert any(fact.mac for fact in facts)
    assert any(fact.imei for fact in facts)
    assert any(fact.url and "/" in fact.url.split("://", 1)[1] for fact in facts)
    assert len({fact.protocol for fact in facts}) >= 5


def test_example_evidence_is_hashed():
    document = load_input(EXAMPLES / "notification.toml")
    media_types = [item.media_type for item in document.evidence]
    assert media_types == ["image/png", "image/jpeg", "application/pdf"]
    for item in document.evidence:
        data = (EXAMPLES / "screenshots" / item.file_name).read_bytes()
        assert item.size == len(data) < 30 * 1024
        assert item.sha256 == hashlib.sha256(data).hexdigest()
    assert document.evidence[0].fact == 1


def test_example_roster_loads():
    document = load_input(EXAMPLES / "roster.toml")
    assert isinstance(document, Roster)
    assert len(document.employees) == 5
    assert document.signatory.role is SignatoryRole.DEPUTY
    assert all(employee.mobile_phone.startswith("+7 7") for employee in document.employees)


def test_example_header_with_facts_files():
    expected = load_input(EXAMPLES / "notification.toml").facts
    for facts_file in ("facts.csv", "facts.xlsx"):
        document = load_input(EXAMPLES / "notification-header.toml", facts_file=EXAMPLES / facts_file)
        assert document.facts == expected, facts_file


def test_json_and_toml_give_the_same_document(folder, notification_data):
    from_json = load_input(write_json(folder, notification_data))
    assert from_json == load_input(EXAMPLES / "notification.toml")


# --- keys and tables ----------------------------------------------------------------------------


def test_unknown_key_suggests_the_fix(folder, notification_data):
    notification_data["document"]["nubmer"] = notification_data["document"].pop("number")
    error = load_problems(write_json(folder, notification_data))
    text = error.localized("en")
    assert "unknown key document.nubmer: did you mean number?" in text
    assert "number, date, language, edition" in text
    assert "document.number is required" in text


def test_unknown_key_in_fact_names_the_fact(folder, notification_data):
    notification_data["facts"][4]["port"] = "443"
    error = load_problems(write_json(folder, notification_data))
    assert codes(error) == ["unknown-key"]
    assert error.problems[0].localized("en").startswith("fact 5: unknown key facts.port")


def test_unknown_table(folder, notification_data):
    notification_data["signatories"] = {}
    error = load_problems(write_json(folder, notification_data))
    assert "unknown table signatories: did you mean signatory?" in error.localized("en")


def test_missing_table(folder, notification_data):
    del notification_data["signatory"]
    error = load_problems(write_json(folder, notification_data))
    assert codes(error) == ["missing"]
    assert "[signatory]" in error.localized("en")


def test_table_of_wrong_type(folder, notification_data):
    notification_data["sender"] = "Агенттік"
    assert codes(load_problems(write_json(folder, notification_data))) == ["wrong-type"]


def test_mixed_document(folder, notification_data, roster_data):
    notification_data["employees"] = roster_data["employees"]
    assert "mixed-document" in codes(load_problems(write_json(folder, notification_data)))


def test_neither_document(folder, notification_data):
    data = {key: notification_data[key] for key in ("document", "sender", "recipient", "signatory")}
    assert codes(load_problems(write_json(folder, data))) == ["unknown-document"]


def test_all_problems_are_collected(folder, notification_data):
    notification_data["sender"]["bin"] = "210240012351"
    notification_data["signatory"]["role"] = "employee"
    notification_data["facts"][0]["ip"] = "203.0.113.300"
    notification_data["facts"][1]["imei"] = "49015420323751"
    notification_data["violation"]["type"] = "casino"
    error = load_problems(write_json(folder, notification_data))
    assert sorted(codes(error)) == ["invalid-bin", "invalid-imei", "invalid-ip", "invalid-role", "unknown-violation-type"]
    text = error.localized("en")
    assert "fact 1: invalid IP address \"203.0.113.300\" in facts.ip" in text
    assert "fact 2: IMEI \"49015420323751\" in facts.imei has 14 digits" in text


def test_errors_render_in_each_language(folder, notification_data):
    notification_data["facts"][2]["domain"] = "bad_name.kz"
    error = load_problems(write_json(folder, notification_data))
    assert "3-факт: facts.domain өрісіндегі «bad_name.kz» домендік атауы жарамсыз" in error.localized("kk")
    assert "факт 3: недопустимое доменное имя «bad_name.kz» в поле facts.domain" in error.localized("ru")
    assert "fact 3: invalid domain name \"bad_name.kz\" in facts.domain" in error.localized("en")


def test_duplicate_facts(folder, notification_data):
    notification_data["facts"].append(dict(notification_data["facts"][0]))
    error = load_problems(write_json(folder, notification_data))
    assert codes(error) == ["duplicate-fact"]
    assert error.problems[0].localized("en").startswith(f"fact {len(notification_data['facts'])}: the fact repeats fact 1")


def test_duplicate_after_normalisation(folder, notification_data):
    notification_data["facts"] = [
        {"domain": "ПРИМЕР.ҚАЗ", "protocol": "https"},
        {"domain": "xn--e1afmkfd.xn--80ao21a", "protocol": "HTTPS"},
    ]
    notification_data["evidence"] = notification_data["evidence"][2:]
    assert codes(load_problems(write_json(folder, notification_data))) == ["duplicate-fact"]


def test_fact_needs_protocol_and_resource(folder, notification_data):
    notification_data["facts"] = [{"description": "nothing"}]
    notification_data["evidence"] = notification_data["evidence"][2:]
    assert sorted(codes(load_problems(write_json(folder, notification_data)))) == ["missing", "no-resource"]


def test_other_type_needs_description(folder, notification_data):
    notification_data["violation"] = {"type": "other", "legal_norm": "«Байланыс туралы» Заңның 41-1-бабы"}
    error = load_problems(write_json(folder, notification_data))
    assert codes(error) == ["missing"]
    assert error.problems[0].field == "violation.description"


def test_other_type_with_description_loads(folder, notification_data):
    notification_data["violation"] = {"type": "OTHER", "description": "Жалған дәрі-дәрмек сату", "legal_norm": "норма"}
    document = load_input(write_json(folder, notification_data))
    assert document.violation.type == "other"
    assert document.violation.description == "Жалған дәрі-дәрмек сату"


# --- header ---------------------------------------------------------------------------------------


DATE_CASES = [
    ("2026-11-20", None, "2026-07-12", []),
    ("2026-05-04", None, "2026-04", []),
    ("2026-05-04", "2026-04", "2026-04", []),
    ("2026-11-20", "2026-04", None, ["edition-not-in-force"]),
    ("2026-11-20", "2027", None, ["invalid-value"]),
    ("2026-01-10", None, None, ["invalid-value"]),
    ("20.11.2026", None, None, ["invalid-date"]),
]


@pytest.mark.parametrize(("date", "edition", "expected_edition", "expected_codes"), DATE_CASES)
def test_edition_from_date(folder, notification_data, date, edition, expected_edition, expected_codes):
    notification_data["document"]["date"] = date
    if edition:
        notification_data["document"]["edition"] = edition
    path = write_json(folder, notification_data)
    if expected_codes:
        assert codes(load_problems(path)) == expected_codes
    else:
        assert load_input(path).header.edition == expected_edition


def test_first_edition_start_from_config(folder, notification_data):
    notification_data["document"]["date"] = "2026-04-20"
    path = write_json(folder, notification_data)
    assert codes(load_problems(path)) == ["invalid-value"]
    config = Config({"documents": {"first_edition_start": dt.date(2026, 4, 15)}})
    assert load_input(path, config=config).header.edition == "2026-04"


def test_toml_date_and_text_number(folder):
    text = (EXAMPLES / "roster.toml").read_text(encoding="utf-8").replace('number = "04-2-15/1190"', "number = 1190")
    path = folder / "roster.toml"
    path.write_text(text, encoding="utf-8")
    document = load_input(path)
    assert document.header.number == "1190"
    assert document.header.date == dt.date(2026, 11, 20)


def test_document_language(folder, notification_data):
    notification_data["document"]["language"] = "RU"
    assert load_input(write_json(folder, notification_data)).header.language is Language.RU
    notification_data["document"]["language"] = "en"
    assert codes(load_problems(write_json(folder, notification_data))) == ["invalid-language"]


def test_recipient_bin_is_optional_but_checked(folder, notification_data):
    del notification_data["recipient"]["bin"]
    assert load_input(write_json(folder, notification_data)).header.recipient.bin is None
    notification_data["recipient"]["bin"] = "123456789021"
    error = load_problems(write_json(folder, notification_data))
    assert [problem.field for problem in error.problems] == ["recipient.bin"]


# --- evidence ------------------------------------------------------------------------------------


def test_missing_evidence_file(folder, notification_data):
    notification_data["evidence"][1]["path"] = "screenshots/absent.png"
    error = load_problems(write_json(folder, notification_data))
    assert codes(error) == ["evidence-not-found"]
    text = error.problems[0].localized("en")
    assert text.startswith("evidence 2: evidence file ")
    assert "absent.png" in text


def test_evidence_of_wrong_type(folder, notification_data):
    (folder / "screenshots" / "page.gif").write_bytes(b"GIF89a" + b"\x00" * 20)
    (folder / "screenshots" / "fake.png").write_bytes(b"<html>not a png</html>")
    notification_data["evidence"] = [{"path": "screenshots/page.gif"}, {"path": "screenshots/fake.png"}]
    error = load_problems(write_json(folder, notification_data))
    assert codes(error) == ["invalid-evidence", "invalid-evidence"]
    assert "page.gif" in error.problems[0].localized("en")
    assert "fake.png" in error.problems[1].localized("en")


def test_empty_evidence_file(folder, notification_data):
    (folder / "screenshots" / "empty.png").write_bytes(b"")
    notification_data["evidence"] = [{"path": "screenshots/empty.png"}]
    assert codes(load_problems(write_json(folder, notification_data))) == ["invalid-evidence"]


def test_no_evidence(folder, notification_data):
    del notification_data["evidence"]
    assert codes(load_problems(write_json(folder, notification_data))) == ["no-evidence"]


def test_evidence_fact_reference(folder, notification_data):
    notification_data["evidence"][0]["fact"] = 99
    notification_data["evidence"][1]["fact"] = "3"
    error = load_problems(write_json(folder, notification_data))
    assert codes(error) == ["wrong-type", "invalid-evidence"]


def test_evidence_same_name_twice(folder, notification_data):
    (folder / "other").mkdir()
    shutil.copy(folder / "screenshots" / "jackpot-sultan.png", folder / "other" / "jackpot-sultan.png")
    notification_data["evidence"].append({"path": "other/jackpot-sultan.png"})
    assert codes(load_problems(write_json(folder, notification_data))) == ["duplicate-evidence"]


def test_evidence_path_is_relative_to_input_file(folder, notification_data, monkeypatch):
    path = write_json(folder, notification_data)
    monkeypatch.chdir(Path("/"))
    assert len(load_input(path).evidence) == 3


MAGIC_CASES = [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"%PDF-1.7\n", "application/pdf"),
    (b"GIF89a", None),
    (b"PK\x03\x04", None),
    (b"", None),
]


@pytest.mark.parametrize(("head", "expected"), MAGIC_CASES)
def test_detect_media_type(head, expected):
    assert detect_media_type(head) == expected


def test_describe_evidence_file():
    item = describe_evidence_file(EXAMPLES / "screenshots" / "sultanbet-report.pdf", number=3)
    assert (item.number, item.file_name, item.media_type, item.fact) == (3, "sultanbet-report.pdf", "application/pdf", None)


# --- roster ----------------------------------------------------------------------------------------


def test_roster_rows_report_employee_number(folder, roster_data):
    roster_data["employees"][2]["mobile_phone"] = "+7 727 255 00 11"
    roster_data["employees"][3]["work_email"] = "toleuova.example.kz"
    error = load_problems(write_json(folder, roster_data))
    texts = [problem.localized("en") for problem in error.problems]
    assert texts[0].startswith("employee 3: employees.mobile_phone \"+7 727 \u2022\u2022\u2022 \u2022\u2022 11\" is not a Kazakh mobile number")
    assert texts[1].startswith("employee 4: invalid e-mail address \"t\u2022\u2022\u2022\u2022\u2022z\"")


def test_roster_duplicate_contacts(folder, roster_data):
    roster_data["employees"][4]["mobile_phone"] = "8 701 555 01 23"
    error = load_problems(write_json(folder, roster_data))
    assert codes(error) == ["duplicate-employee"]
    assert "employee 1" in error.problems[0].localized("en")
    assert "555" not in error.problems[0].localized("en")


def test_roster_signed_by_employee(folder, roster_data):
    roster_data["signatory"]["role"] = "employee"
    assert load_input(write_json(folder, roster_data)).signatory.role is SignatoryRole.EMPLOYEE


def test_roster_keys_are_fixed(folder, roster_data):
    roster_data["employees"][0]["phone"] = roster_data["employees"][0].pop("mobile_phone")
    error = load_problems(write_json(folder, roster_data))
    assert sorted(codes(error)) == ["missing", "unknown-key"]
    assert "did you mean mobile_phone?" in error.localized("en")


def test_roster_with_facts_file(folder, roster_data):
    error = load_problems(write_json(folder, roster_data), facts_file=EXAMPLES / "facts.csv")
    assert codes(error) == ["facts-for-roster"]


def test_personal_data_not_logged(folder, roster_data, caplog):
    caplog.set_level("DEBUG", logger="adapter")
    load_input(write_json(folder, roster_data))
    for employee in roster_data["employees"]:
        assert employee["full_name"] not in caplog.text
        assert employee["work_email"] not in caplog.text


def test_bad_contacts_masked_in_errors(folder, roster_data, caplog, capsys):
    from adapter.cli.main import main

    roster_data["employees"][2]["mobile_phone"] = "+7 777 555 43"
    roster_data["employees"][2]["work_email"] = "r.ismailov@@example"
    path = write_json(folder, roster_data)
    caplog.set_level("DEBUG")
    for language in ("kk", "ru", "en"):
        assert main(["--lang", language, "-v", "build", str(path), "-o", str(folder / "out.xml")]) == 1
        stderr = capsys.readouterr().err
        assert "employees.mobile_phone" in stderr
        assert "+7 777 \u2022\u2022\u2022 43" in stderr
        assert "r\u2022\u2022\u2022\u2022\u2022v@@example" in stderr
        assert "555 43" not in stderr
        assert "ismailov" not in stderr
    assert "command failed" in caplog.text
    assert "555 43" not in caplog.text
    assert "ismailov" not in caplog.text


# --- file level ---------------------------------------------------------------------------------


def test_unknown_input_file_type(folder):
    path = folder / "input.yaml"
    path.write_text("document: {}", encoding="utf-8")
    assert codes(load_problems(path)) == ["unknown-file-type"]


def test_input_file_not_found(folder):
    error = load_problems(folder / "absent.toml")
    assert codes(error) == ["unreadable"]
    assert "absent.toml" in error.localized("en")


def test_invalid_toml(folder):
    path = folder / "input.toml"
    path.write_text("[document\nnumber = 1", encoding="utf-8")
    error = load_problems(path)
    assert codes(error) == ["syntax"]
    assert f"{path}, line 1, column 10: invalid TOML syntax" in error.localized("en")


def test_invalid_json(folder):
    path = folder / "input.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert codes(load_problems(path)) == ["syntax"]


def test_facts_twice(folder, notification_data):
    error = load_problems(write_json(folder, notification_data), facts_file=EXAMPLES / "facts.csv")
    assert "facts-twice" in codes(error)


def test_input_is_not_modified(folder, notification_data):
    original = copy.deepcopy(notification_data)
    load_input(write_json(folder, notification_data))
    assert notification_data == original


def test_examples_use_test_pki_identities():
    testpki = pytest.importorskip("signing.testpki")
    notification = load_input(EXAMPLES / "notification.toml")
    roster = load_input(EXAMPLES / "roster.toml")
    assert notification.header.sender.bin == roster.header.sender.bin == testpki.SENDER_BIN
    assert notification.header.recipient.bin == testpki.AUTHORISED_BODY_BIN
    for signatory, person in ((notification.signatory, testpki.HEAD), (roster.signatory, testpki.DEPUTY)):
        assert signatory.iin == person.iin
        assert signatory.full_name.casefold().split() == [person.surname.casefold(), person.first_name.casefold(), person.patronymic.casefold()]


EMPTY_TABLE_CASES = [
    ("recipient", ["missing", "missing"]),
    ("signatory", ["missing", "missing", "missing", "missing"]),
    ("violation", ["missing", "missing"]),
    ("document", ["missing", "missing", "missing"]),
]


@pytest.mark.parametrize(("table", "expected"), EMPTY_TABLE_CASES)
def test_empty_table_reports_its_keys(folder, notification_data, table, expected):
    notification_data[table] = {}
    assert codes(load_problems(write_json(folder, notification_data))) == expected


def test_legal_norm_of_wrong_type(folder, notification_data):
    notification_data["violation"]["legal_norm"] = ["41-1"]
    error = load_problems(write_json(folder, notification_data))
    assert codes(error) == ["wrong-type"]
    assert error.problems[0].field == "violation.legal_norm"


LIMIT_CASES = [
    ("document", "number", "1" * 65, "document.number"),
    ("violation", "legal_norm", "н" * 4001, "violation.legal_norm"),
    ("signatory", "position", "Т" * 501, "signatory.position"),
]


@pytest.mark.parametrize(("table", "key", "value", "field"), LIMIT_CASES)
def test_text_longer_than_schema_allows(folder, notification_data, table, key, value, field):
    notification_data[table][key] = value
    error = load_problems(write_json(folder, notification_data))
    assert codes(error) == ["too-long"]
    assert error.problems[0].field == field


def test_long_fact_description(folder, notification_data):
    notification_data["facts"][0]["description"] = "с" * 4001
    error = load_problems(write_json(folder, notification_data))
    assert error.problems[0].localized("en") == "fact 1: facts.description has 4001 characters, more than the limit of 4000: shorten it"
