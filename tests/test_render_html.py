"""HTML rendering of the forms: labels, facts, editions, languages, signature block."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from types import SimpleNamespace

import pytest

from adapter.errors import InputError, Problem
from adapter.model import Fact, Violation
from adapter.render import SignatureState, SignatureSummary, render_html
from adapter.render.forms import form_text
from adapter.render.view import url_unicode

from render_support import KAZAKH_LETTERS, form_labels, notification, roster


def _text(page: str) -> str:
    """Return the HTML with entities decoded, for searching plain text."""
    return html.unescape(page)


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_notification_has_every_label(language):
    page = _text(render_html(notification(), language=language))

    for label in form_labels("notification", language):
        assert label in page, label
    assert RECIPIENT_NAMES[language] in page


RECIPIENT_NAMES = {
    "kk": "Қазақстан Республикасы Мәдениет және ақпарат министрлігі",
    "ru": "Министерство культуры и информации Республики Казахстан",
    "en": "Қазақстан Республикасы Мәдениет және ақпарат министрлігі",
}


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_notification_has_every_fact(language):
    page = _text(render_html(notification(), language=language))

    for value in ("203.0.113.17", "2001:db8:4a1c::25", "198.51.100.23", "jackpot-sultan.kz", "ftp://files.altyn-spin.kz/promo/", "00-1A-2B-3C-4D-5E", "490154203237518"):
        assert value in page, value
    for number in range(1, 6):
        assert f"<td>{number})</td>" in page
    assert KAZAKH_LETTERS in page


def test_idn_domain_and_url_shown_in_both_forms():
    page = _text(render_html(notification()))

    assert "ұтыс-казино.қаз" in page
    assert "xn----8sbvehvhri4gu9c.xn--80ao21a" in page
    assert "https://ұтыс-казино.қаз/тіркелу" in page
    assert "https://xn----8sbvehvhri4gu9c.xn--80ao21a/%D1%82%D1%96%D1%80%D0%BA%D0%B5%D0%BB%D1%83" in page


def test_url_unicode_keeps_escaped_ascii():
    assert url_unicode("https://example.kz/a%2Fb%20c") == "https://example.kz/a%2Fb%20c"
    assert url_unicode("https://example.kz/%D2%9B%ZZ") == "https://example.kz/қ%ZZ"
    assert url_unicode("https://[2001:db8::1]:8443/x") == "https://[2001:db8::1]:8443/x"
    assert url_unicode("https://user@xn--80ao21a:8080/") == "https://user@қаз:8080/"


def test_protocol_and_violation_names_follow_language():
    kk = _text(render_html(notification(), language="kk"))
    ru = _text(render_html(notification(), language="ru"))

    assert "Онлайн-казино және лицензиясыз құмар ойындар" in kk
    assert "Онлайн-казино и нелицензированные азартные игры" in ru
    assert "BitTorrent" in kk


def test_other_violation_shows_description():
    document = dataclasses.replace(notification(), violation=Violation("other", "Заң нормасы", "Жалған дәрі-дәрмек сату"))

    page = _text(render_html(document, language="ru"))

    assert "Жалған дәрі-дәрмек сату" in page
    assert "Иное" not in page


def test_russian_form_marked_as_working_translation():
    ru = _text(render_html(notification(), language="ru"))
    kk = _text(render_html(notification(), language="kk"))

    assert '<p class="translation-notice">Рабочий перевод: надписи этой формы переведены с казахского текста приказа № 159-НҚ' in ru
    assert 'class="translation-notice"' not in kk


def test_document_language_is_default():
    page = render_html(notification(language="ru"))

    assert '<html lang="ru">' in page
    assert "Уведомление" in page


def test_unsupported_language_rejected():
    with pytest.raises(InputError) as caught:
        render_html(notification(), language="de")

    assert caught.value.field == "language"
    assert "de" in str(caught.value)


def test_values_are_escaped():
    facts = (Fact(1, "HTTPS", url="https://evil.kz/", description="<script>alert(1)</script>"),)

    page = render_html(notification(facts))

    assert "<script>" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize(("edition", "system"), [("2026-04", "ақпараттық жүйеге"), ("2026-07-12", "цифрлық жүйеге")])
def test_roster_preamble_follows_edition(edition, system):
    page = _text(render_html(roster(edition=edition), language="kk"))

    assert form_text("kk", edition)["roster.preamble"] in page
    assert f"сілтемелерді {system} енгізу" in page


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_roster_has_labels_and_employees(language):
    page = _text(render_html(roster(), language=language))

    for label in form_labels("roster", language):
        assert label in page, label
    for value in ("Сәрсенбаев Нұрлан Ғаниұлы", "a.akhmetova@example.gov.kz", "+7 777 555 43 21", "Оспанова Әсем Қайратқызы", "Төрағаның орынбасары"):
        assert value in page


def test_roster_email_domain_in_unicode():
    document = roster()
    employee = dataclasses.replace(document.employees[0], work_email="d.toleuova@xn--80awbu3c.xn--80ao21a")
    page = render_html(dataclasses.replace(document, employees=(employee, *document.employees[1:])), language="kk")

    assert "d.toleuova@мысал.қаз" in page
    assert '<div class="ascii">d.toleuova@xn--80awbu3c.xn--80ao21a</div>' in page
    assert page.count('class="ascii"') == 1


def test_signature_block_inside_closing():
    result = SimpleNamespace(
        intact=True,
        trusted=True,
        revoked=False,
        signing_time=None,
        problems=(),
        signer=SimpleNamespace(full_name="ЖҰМАБЕКОВ ЕРЛАН", iin="750314301239", bin="210240012350", role="head", serial_number=1, issuer="CN=ROOT"),
    )
    for document in (notification(), roster()):
        page = render_html(document, language="kk", verification=result)
        closing = page.index('<div class="closing">')
        signature = page.index('<div class="signature ')
        assert closing < signature
        assert "</div>" not in page[closing:signature]


def test_roster_uses_its_own_official_wording():
    page = _text(render_html(roster(), language="kk"))

    assert "Уәкілетті лауазымды адам" in page
    assert "Уәкілетті лауазымды тұлға" not in page


def test_unsigned_document_has_no_signature_block():
    page = render_html(notification())

    assert 'class="signature ' not in page


def test_signature_block_from_verification_result():
    result = SimpleNamespace(
        intact=True,
        trusted=True,
        revoked=False,
        signing_time=dt.datetime(2026, 11, 20, 10, 5, tzinfo=dt.timezone(dt.timedelta(hours=5))),
        problems=(),
        signer=SimpleNamespace(full_name="ЖҰМАБЕКОВ ЕРЛАН", iin="750314301239", bin="210240012350", role="head", serial_number=0x4B2A1C, issuer="CN=ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA), C=KZ"),
    )

    page = _text(render_html(notification(), language="ru", verification=result))

    for value in ("ЖҰМАБЕКОВ ЕРЛАН", "750314301239", "210240012350", "первый руководитель", "4B2A1C", "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ", "20.11.2026 10:05:00 UTC+05:00"):
        assert value in page, value
    assert "Подпись действительна, сертификат доверенный." in page
    assert "signature-valid" in page


@pytest.mark.parametrize(
    ("flags", "state"),
    [
        ({"intact": True, "trusted": True, "revoked": False}, SignatureState.VALID),
        ({"intact": True, "trusted": False, "revoked": False}, SignatureState.UNTRUSTED),
        ({"intact": True, "trusted": True, "revoked": True}, SignatureState.REVOKED),
        ({"intact": False, "trusted": True, "revoked": False}, SignatureState.INVALID),
        ({"intact": True, "trusted": True, "revoked": None}, SignatureState.REVOCATION_UNKNOWN),
        ({"intact": True, "trusted": True, "revoked": None, "revocation_accepted": True}, SignatureState.VALID),
        ({"intact": True, "trusted": True, "revoked": False, "policy_ok": False}, SignatureState.WITH_PROBLEMS),
        ({"intact": True, "trusted": True, "revoked": False, "problems": (Problem("x", "y"),)}, SignatureState.WITH_PROBLEMS),
        ({"intact": True, "trusted": False, "revoked": True}, SignatureState.REVOKED),
    ],
)
def test_signature_state_from_flags(flags, state):
    assert SignatureSummary.from_verification(SimpleNamespace(**flags)).state is state


def test_signature_problems_rendered_in_form_language():
    problem = Problem("trust", "the certificate {value} is not trusted", value="X")
    result = SimpleNamespace(intact=True, trusted=False, revoked=False, problems=(problem,), signer=None, signing_time=None)

    page = _text(render_html(notification(), language="kk", verification=result))

    assert "the certificate X is not trusted" in page
    assert "Қолтаңба бүтін, бірақ тіркеу куәлігі сенімді емес." in page


def test_signature_warnings_listed():
    result = SimpleNamespace(intact=True, trusted=True, revoked=None, revocation_accepted=True, warnings=(Problem("ocsp", "the OCSP responder {value} timed out", value="ocsp.example"),))

    page = _text(render_html(notification(), language="ru", verification=result))

    assert "Предупреждения:" in page
    assert "the OCSP responder ocsp.example timed out" in page
    assert "signature-valid" in page


def test_not_verified_signature_block():
    page = _text(render_html(notification(), language="kk", verification=SignatureSummary.not_verified()))

    assert "Қолтаңба тексерілмеді." in page
    assert "signature-not-verified" in page
