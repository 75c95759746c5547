"""Field normalizers: valid values come back canonical, invalid ones raise InputError naming field, value and fix."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from adapter import i18n
from adapter.errors import InputError
from adapter.inputs import load_input
from adapter.model import SignatoryRole
from adapter.validation import (
    NOTIFICATION_ROLES,
    ROSTER_ROLES,
    check_digit,
    domain_to_unicode,
    mask_personal,
    normalize_domain,
    normalize_email,
    normalize_imei,
    normalize_ip,
    normalize_mac,
    normalize_phone,
    normalize_protocol,
    normalize_role,
    normalize_url,
    normalize_violation_type,
    validate_bin,
    validate_iin,
    validate_roster,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

VALID = [
    (normalize_ip, "203.0.113.10", "203.0.113.10"),
    (normalize_ip, " 203.0.113.10 ", "203.0.113.10"),
    (normalize_ip, "10.0.0.1", "10.0.0.1"),
    (normalize_ip, "127.0.0.1", "127.0.0.1"),
    (normalize_ip, "2001:DB8:0:0::0:1", "2001:db8::1"),
    (normalize_ip, "[2001:db8::1]", "2001:db8::1"),
    (normalize_ip, "::ffff:203.0.113.1", "::ffff:203.0.113.1"),
    (normalize_ip, "::FFFF:CB00:7101", "::ffff:203.0.113.1"),
    (normalize_domain, "example.kz", "example.kz"),
    (normalize_domain, "Example.KZ.", "example.kz"),
    (normalize_domain, "пример.қаз", "xn--e1afmkfd.xn--80ao21a"),
    (normalize_domain, "ПРИМЕР.ҚАЗ", "xn--e1afmkfd.xn--80ao21a"),
    (normalize_domain, "xn--e1afmkfd.xn--80ao21a", "xn--e1afmkfd.xn--80ao21a"),
    (normalize_domain, "ұтыс-казино.қаз", "xn----8sbvehvhri4gu9c.xn--80ao21a"),
    (normalize_domain, "mirror-1.casino.kz", "mirror-1.casino.kz"),
    (normalize_url, "https://example.kz", "https://example.kz"),
    (normalize_url, "HTTPS://Example.KZ/Page?a=1#x", "https://example.kz/Page?a=1#x"),
    (normalize_url, "https://пример.қаз/казино", "https://xn--e1afmkfd.xn--80ao21a/%D0%BA%D0%B0%D0%B7%D0%B8%D0%BD%D0%BE"),
    (normalize_url, "http://example.kz/a%20b", "http://example.kz/a%20b"),
    (normalize_url, "http://203.0.113.150:8080/casino/", "http://203.0.113.150:8080/casino/"),
    (normalize_url, "https://[2001:DB8::1]/bonus", "https://[2001:db8::1]/bonus"),
    (normalize_url, "ftp://files.example.kz/promo/", "ftp://files.example.kz/promo/"),
    (normalize_url, "rtmp://stream.example.kz/live", "rtmp://stream.example.kz/live"),
    (normalize_mac, "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF"),
    (normalize_mac, "AA-BB-CC-DD-EE-0F", "AA-BB-CC-DD-EE-0F"),
    (normalize_mac, "aabb.ccdd.eeff", "AA-BB-CC-DD-EE-FF"),
    (normalize_mac, "AABBCCDDEEFF", "AA-BB-CC-DD-EE-FF"),
    (normalize_imei, "490154203237518", "490154203237518"),
    (normalize_imei, "49-015420-323751-8", "490154203237518"),
    (normalize_imei, "35 693803 564380 9", "356938035643809"),
    (normalize_imei, 356938035643809, "356938035643809"),
    (validate_iin, "750314301239", "750314301239"),
    (validate_iin, "820927404565", "820927404565"),
    (validate_iin, "7503 1430 1239", "750314301239"),
    (validate_bin, "210240012350", "210240012350"),
    (normalize_email, "a.nurlanov@example.gov.kz", "a.nurlanov@example.gov.kz"),
    (normalize_email, "A.Nurlanov@Example.GOV.kz", "A.Nurlanov@example.gov.kz"),
    (normalize_email, "d.toleuova@мысал.қаз", "d.toleuova@xn--80awbu3c.xn--80ao21a"),
    (normalize_email, "first+tag@example.kz", "first+tag@example.kz"),
    (normalize_phone, "+7 701 234 56 78", "+7 701 234 56 78"),
    (normalize_phone, "8 701 234 56 78", "+7 701 234 56 78"),
    (normalize_phone, "+7(701)234-56-78", "+7 701 234 56 78"),
    (normalize_phone, "8-777-234-56-78", "+7 777 234 56 78"),
    (normalize_phone, "87472345678", "+7 747 234 56 78"),
    (normalize_phone, "77082345678", "+7 708 234 56 78"),
    (normalize_phone, "7002345678", "+7 700 234 56 78"),
    (normalize_protocol, "https", "HTTPS"),
    (normalize_protocol, "HTTP", "HTTP"),
    (normalize_protocol, "BitTorrent", "BITTORRENT"),
    (normalize_protocol, "dns over https", "DOH"),
    (normalize_violation_type, "online-casino", "online-casino"),
    (normalize_violation_type, "Online-Casino", "online-casino"),
    (normalize_violation_type, "Онлайн-казино және лицензиясыз құмар ойындар", "online-casino"),
    (normalize_violation_type, "Финансовые пирамиды", "financial-pyramid"),
    (normalize_violation_type, "other", "other"),
]


@pytest.mark.parametrize(("normalize", "value", "expected"), VALID, ids=[f"{f.__name__}-{v}" for f, v, _ in VALID])
def test_valid_value_is_normalised(normalize, value, expected):
    assert normalize(value) == expected


INVALID = [
    (normalize_ip, "", "missing"),
    (normalize_ip, "203.0.113.256", "invalid-ip"),
    (normalize_ip, "203.0.113.010", "invalid-ip"),
    (normalize_ip, "203.0.113.10:80", "invalid-ip"),
    (normalize_ip, "203.0.113.0/24", "invalid-ip"),
    (normalize_ip, "fe80::1%eth0", "invalid-ip"),
    (normalize_ip, "example.kz", "invalid-ip"),
    (normalize_domain, "https://example.kz/page", "invalid-domain"),
    (normalize_domain, "example.kz/page", "invalid-domain"),
    (normalize_domain, "203.0.113.10", "invalid-domain"),
    (normalize_domain, "localhost", "invalid-domain"),
    (normalize_domain, "example.123", "invalid-domain"),
    (normalize_domain, "bad_name.kz", "invalid-domain"),
    (normalize_domain, "-bad.kz", "invalid-domain"),
    (normalize_domain, "bad-.kz", "invalid-domain"),
    (normalize_domain, "a..kz", "invalid-domain"),
    (normalize_domain, "with space.kz", "invalid-domain"),
    (normalize_domain, "xn--abc.kz", "invalid-domain"),
    (normalize_domain, "x" * 64 + ".kz", "invalid-domain"),
    (normalize_domain, ".".join(["a" * 60] * 5) + ".kz", "invalid-domain"),
    (normalize_url, "example.kz/page", "invalid-url"),
    (normalize_url, "//example.kz/page", "invalid-url"),
    (normalize_url, "https://", "invalid-url"),
    (normalize_url, "https://user:pass@example.kz/", "invalid-url"),
    (normalize_url, "https://example.kz:99999/", "invalid-url"),
    (normalize_url, "https://example.kz:/", "invalid-url"),
    (normalize_url, "https://example.kz/a b", "invalid-url"),
    (normalize_url, "https://bad_host.kz/", "invalid-url"),
    (normalize_url, "https://[203.0.113.1]/", "invalid-url"),
    (normalize_mac, "aa:bb:cc:dd:ee", "invalid-mac"),
    (normalize_mac, "aa:bb-cc:dd:ee:ff", "invalid-mac"),
    (normalize_mac, "gg:bb:cc:dd:ee:ff", "invalid-mac"),
    (normalize_mac, "aabb.ccdd.eeff.0011", "invalid-mac"),
    (normalize_imei, "49015420323751", "invalid-imei"),
    (normalize_imei, "4901542032375181", "invalid-imei"),
    (normalize_imei, "490154203237519", "invalid-imei"),
    (normalize_imei, "49015420323751A", "invalid-imei"),
    (normalize_imei, "1234", "invalid-imei"),
    (validate_iin, "75031430123", "invalid-iin"),
    (validate_iin, "750314301238", "invalid-iin"),
    (validate_iin, "750314001231", "invalid-iin"),
    (validate_iin, "751314301239", "invalid-iin"),
    (validate_iin, "123456789011", "invalid-iin"),
    (validate_bin, "21024001235", "invalid-bin"),
    (validate_bin, "210240012351", "invalid-bin"),
    (validate_bin, "211340012350", "invalid-bin"),
    (validate_bin, "210270012350", "invalid-bin"),
    (validate_bin, "210248012350", "invalid-bin"),
    (validate_bin, "123456789021", "invalid-bin"),
    (normalize_email, "no-at-sign.kz", "invalid-email"),
    (normalize_email, "a..b@example.kz", "invalid-email"),
    (normalize_email, "@example.kz", "invalid-email"),
    (normalize_email, "name@localhost", "invalid-email"),
    (normalize_email, "имя@example.kz", "invalid-email"),
    (normalize_email, "a" * 65 + "@example.kz", "invalid-email"),
    (normalize_phone, "+7 727 234 56 78", "invalid-phone"),
    (normalize_phone, "8 717 223 45 67", "invalid-phone"),
    (normalize_phone, "+7 750 234 56 78", "invalid-phone"),
    (normalize_phone, "+7 701 234 56", "invalid-phone"),
    (normalize_phone, "+998 90 123 45 67", "invalid-phone"),
    (normalize_phone, "phone", "invalid-phone"),
    (normalize_protocol, "gopher", "unknown-protocol"),
    (normalize_violation_type, "casino", "unknown-violation-type"),
]


@pytest.mark.parametrize(("normalize", "value", "code"), INVALID, ids=[f"{f.__name__}-{v}"[:60] for f, v, _ in INVALID])
def test_invalid_value_is_rejected(normalize, value, code):
    with pytest.raises(InputError) as caught:
        normalize(value)
    error = caught.value
    assert error.code == code
    assert error.field
    if code in ("invalid-iin", "invalid-email", "invalid-phone"):
        assert error.value == mask_personal(error.field, value)
        assert error.value in str(error)
    elif code != "missing":
        assert str(value) in str(error) or error.value == value


@pytest.mark.parametrize(("field", "value", "masked"), [
    ("employees.mobile_phone", "+7 777 555 43", "+7 777 \u2022\u2022\u2022 43"),
    ("employees.mobile_phone", "8 (701) 555-12-34", "8 (701) \u2022\u2022\u2022-\u2022\u2022-34"),
    ("employees.work_email", "r.ismailov@@example", "r\u2022\u2022\u2022\u2022\u2022v@@example"),
    ("employees.work_email", "no-at-sign", "n\u2022\u2022\u2022\u2022\u2022n"),
    ("employees.full_name", "Ким Виктор", "К\u2022\u2022\u2022 В\u2022\u2022\u2022"),
    ("signatory.iin", "921103300034", "9211******34"),
    ("sender.bin", "050340001235", "050340001235"),
])
def test_personal_value_is_masked(field, value, masked):
    assert mask_personal(field, value) == masked


def test_non_canonical_contact_is_masked():
    roster = load_input(EXAMPLES / "roster.toml")
    employee = dataclasses.replace(roster.employees[0], mobile_phone="87015550123")
    problems = validate_roster(dataclasses.replace(roster, employees=(employee, *roster.employees[1:])))
    assert [problem.code for problem in problems] == ["not-canonical"]
    text = problems[0].localized("en")
    assert "87015550123" not in text
    assert "+7 701 555 01 23" not in text
    assert "+7 701 \u2022\u2022\u2022 \u2022\u2022 23" in text


@pytest.mark.parametrize("value", ["", "   ", None])
def test_empty_value_is_missing(value):
    with pytest.raises(InputError) as caught:
        normalize_domain(value)
    assert caught.value.code == "missing"
    assert "facts.domain" in str(caught.value)


def test_non_text_value_is_rejected():
    with pytest.raises(InputError) as caught:
        normalize_ip(1.5)
    assert caught.value.code == "wrong-type"


def test_field_name_can_be_given():
    with pytest.raises(InputError) as caught:
        normalize_domain("bad_name.kz", field="recipient.domain")
    assert caught.value.field == "recipient.domain"
    assert "recipient.domain" in str(caught.value)


def test_fourteen_digit_imei_says_check_digit_missing():
    with pytest.raises(InputError) as caught:
        normalize_imei("49015420323751")
    assert "14 digits" in str(caught.value)
    assert "*#06#" in str(caught.value)


def test_url_without_scheme_suggests_https():
    with pytest.raises(InputError) as caught:
        normalize_url("example.kz/page")
    assert "https://example.kz/page" in str(caught.value)


def test_landline_number_is_not_mobile():
    with pytest.raises(InputError) as caught:
        normalize_phone("+7 727 234 56 78")
    assert "is not a Kazakh mobile number" in str(caught.value)


def test_domain_round_trips_to_unicode():
    assert domain_to_unicode(normalize_domain("Ұтыс-Казино.Қаз")) == "ұтыс-казино.қаз"
    assert domain_to_unicode("example.kz") == "example.kz"


CHECK_DIGITS = [
    ("75031430123", 9),
    ("82092740456", 5),
    ("21024001235", 0),
    ("12345678901", 3),  # the first weights give 10, the second 3
]


@pytest.mark.parametrize(("body", "digit"), CHECK_DIGITS)
def test_check_digit(body, digit):
    assert check_digit(body) == digit


def test_check_digit_uses_second_weights():
    # 1..11 weights give 10 for this body, so the 3..11,1,2 weights decide.
    body = "00000000010"
    first = sum(w * int(d) for w, d in zip(range(1, 12), body)) % 11
    assert first == 10
    assert check_digit(body) == sum(w * int(d) for w, d in zip((3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2), body)) % 11


def test_nca_test_certificate_numbers_fail_strict_check():
    # The NCA test certificates carry these numbers; a person typing them gets an error.
    with pytest.raises(InputError):
        validate_iin("123456789011")
    with pytest.raises(InputError):
        validate_bin("123456789021")


ROLE_CASES = [
    ("head", NOTIFICATION_ROLES, SignatoryRole.HEAD),
    ("Deputy", NOTIFICATION_ROLES, SignatoryRole.DEPUTY),
    ("employee", ROSTER_ROLES, SignatoryRole.EMPLOYEE),
    ("head", ROSTER_ROLES, SignatoryRole.HEAD),
]


@pytest.mark.parametrize(("value", "roles", "expected"), ROLE_CASES)
def test_role_is_accepted(value, roles, expected):
    assert normalize_role(value, roles=roles) is expected


def test_employee_cannot_sign_notification():
    with pytest.raises(InputError) as caught:
        normalize_role("employee", roles=NOTIFICATION_ROLES)
    assert "cannot sign a notification" in str(caught.value)


def test_unknown_role_lists_valid_roles():
    with pytest.raises(InputError) as caught:
        normalize_role("director", roles=ROSTER_ROLES)
    assert "head, deputy, employee" in str(caught.value)


MESSAGES = [
    (normalize_imei, "490154203237519", {"kk": "Luhn бақылау цифрынан өтпейді", "ru": "по алгоритму Луна", "en": "fails the Luhn check digit"}),
    (validate_iin, "750314301238", {"kk": "ЖСН бақылау цифрынан өтпейді", "ru": "ИИН «7503******38»", "en": "IIN \"7503******38\""}),
    (normalize_phone, "+7 727 234 56 78", {"kk": "қазақстандық ұялы нөмір емес", "ru": "не казахстанский мобильный номер", "en": "not a Kazakh mobile number"}),
    (normalize_domain, "bad_name.kz", {"kk": "домендік атауы жарамсыз", "ru": "недопустимое доменное имя", "en": "invalid domain name"}),
]


@pytest.mark.parametrize(("normalize", "value", "expected"), MESSAGES, ids=[f.__name__ for f, _, _ in MESSAGES])
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_message_in_each_language(normalize, value, expected, language):
    with pytest.raises(InputError) as caught:
        normalize(value)
    text = caught.value.localized(language)
    assert expected[language] in text
    assert caught.value.field in text


LENGTH_CASES = [
    (lambda value: normalize_url(value), "https://example.kz/" + "a" * 8200, "facts.url"),
    (lambda value: normalize_url(value), "https://example.kz/" + "ж" * 1400, "facts.url"),
    (lambda value: normalize_email(value), "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".kz", "employees.work_email"),
]


@pytest.mark.parametrize(("normalize", "value", "field"), LENGTH_CASES)
def test_value_longer_than_schema_allows(normalize, value, field):
    with pytest.raises(InputError) as caught:
        normalize(value)
    assert caught.value.code == "too-long"
    assert caught.value.field == field
    assert value not in str(caught.value)


def test_non_ascii_url_within_limit():
    assert normalize_url("https://example.kz/" + "ж" * 1000).startswith("https://example.kz/%D0%B6")
