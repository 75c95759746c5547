"""Rendering of the authorised body's receipts."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from adapter.exchange.receipts import DocumentReference, FactDecision, FactOutcome, Receipt, RefusalReason, sign_receipt, verify_receipt
from adapter.render import render_html, render_pdf
from signing.keys import load_pkcs12

from render_support import pdf_text

REFERENCE = DocumentReference("msg-7d1c2a", "ab" * 32, "04-2-15/1187", dt.date(2026, 11, 20))


def _page(receipt, language):
    return html.unescape(render_html(receipt, language=language))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("kk", ["Фактілер бойынша шешім", "расталды", "қабылданбады", "Расталды: 2, қабылданбады: 1.", "Негіздеме"]),
        ("ru", ["Решение по фактам", "подтвержден", "отклонен", "Подтверждено: 2, отклонено: 1.", "Обоснование"]),
    ],
)
def test_decision_receipt(language, expected):
    receipt = Receipt.decision(
        REFERENCE,
        [
            FactDecision(1, FactOutcome.CONFIRMED),
            FactDecision(2, FactOutcome.REJECTED, "Сайт заңды лицензиямен жұмыс істейді"),
            FactDecision(3, FactOutcome.CONFIRMED),
        ],
        amended=True,
        issuer_bin="990340005977",
    )

    page = _page(receipt, language)

    for text in expected:
        assert text in page, text
    for text in ("Сайт заңды лицензиямен жұмыс істейді", "msg-7d1c2a", "ab" * 32, "990340005977", "04-2-15/1187", "20.11.2026", receipt.id):
        assert text in page, text
    assert 'class="amended"' in page


@pytest.mark.parametrize(
    ("receipt", "expected"),
    [
        (Receipt.registered(REFERENCE, "2026-000017", dt.date(2026, 11, 21)), ["Тіркелгені туралы түбіртек", "2026-000017", "21.11.2026"]),
        (Receipt.refused(REFERENCE, RefusalReason.SIGNATURE_INVALID, "Сертификат кері қайтарылған"), ["Тіркеуден бас тарту туралы түбіртек", "2: қолтаңбаны тексеру сәтсіз аяқталды", "Сертификат кері қайтарылған"]),
        (Receipt.refused(REFERENCE, None, "Құжат басқа органға жіберілуі тиіс"), ["Құжат басқа органға жіберілуі тиіс"]),
        (Receipt.delivered(REFERENCE, dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)), ["Жеткізілгені туралы түбіртек", "20.11.2026 09:30:00 UTC+00:00"]),
    ],
)
def test_state_receipts(receipt, expected):
    page = _page(receipt, "kk")

    for text in expected:
        assert text in page, text
    assert "<table class=\"rows decisions" not in page


def test_receipt_without_language_uses_current():
    from adapter import i18n

    receipt = Receipt.registered(REFERENCE, "2026-000017", dt.date(2026, 11, 21))

    with i18n.use_language("ru"):
        page = _page(receipt, None)

    assert "Квитанция о регистрации" in page


def test_verified_receipt_shows_signer(test_pki, tmp_path):
    receiver = test_pki.receiver
    receipt = Receipt.decision(REFERENCE, [FactDecision(1, FactOutcome.CONFIRMED)])
    signed = sign_receipt(receipt, load_pkcs12(receiver.p12_path, receiver.password))
    checked = verify_receipt(signed, certificates=[receiver.certificate])

    text = pdf_text(render_pdf(checked, language="kk"), tmp_path)

    assert "Қолтаңба жарамды, тіркеу куәлігі сенімді." in text
    assert receiver.full_name in text
    assert format(receiver.certificate.serial_number, "X") in text
