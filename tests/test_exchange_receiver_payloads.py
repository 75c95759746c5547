"""Document cards and receipts on their own: building, parsing, evidence binding, signatures."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib

import pytest
from lxml import etree

from adapter.errors import InputError, InvalidDocumentError, VerificationError
from adapter.exchange.card import CARD_NS, AttachedFile, build_card, card_schema, check_card, parse_card
from adapter.exchange.receipts import (
    RECEIPT_NS,
    DocumentReference,
    FactDecision,
    FactOutcome,
    Receipt,
    ReceiptKind,
    RefusalReason,
    build_receipt,
    parse_receipt,
    receipt_message,
    sign_receipt,
    unwrap_receipt_message,
    verify_receipt,
)
from adapter.xml import parse_xml
from receiver_support import make_config, png_bytes, signed_card, signer_of

REFERENCE = DocumentReference("{6f1c1c2e-8a51-4a39-9d0e-2b1f6d0f7a10}", "ab" * 32, "01-15/2041", dt.date(2026, 11, 30))


@pytest.fixture
def config(test_pki, tmp_path):
    return make_config(test_pki, tmp_path)


@pytest.fixture(scope="module")
def receiver_signer(test_pki):
    return signer_of(test_pki.receiver)


def test_card_round_trip(test_pki, config):
    card, signed = signed_card(test_pki, test_pki.head, config)

    parsed = parse_card(card.to_xml())

    assert parsed == card
    assert parsed.document.content == signed
    assert parsed.document_sha256 == card.document.sha256
    assert parsed.sender_bin == test_pki.sender_bin
    assert (parsed.fact_count, parsed.append_count) == (3, 2)
    assert parsed.description == "Хабарлама: Онлайн-казино және лицензиясыз құмар ойындар; фактілер саны: 3"


def test_card_element_from_envelope(test_pki, config):
    card, _signed = signed_card(test_pki, test_pki.head, config)
    envelope = etree.Element("{urn:example:envelope}wrapper", nsmap={"w": "urn:example:envelope"})
    envelope.append(etree.fromstring(card.to_xml()))

    assert parse_card(envelope[0]) == card


def test_card_needs_every_listed_evidence(test_pki, config):
    _card, signed = signed_card(test_pki, test_pki.head, config)
    first = AttachedFile("shot-1.png", "image/png", png_bytes(2))

    with pytest.raises(InvalidDocumentError) as caught:
        build_card(signed, evidence=[first])

    assert [problem.code for problem in caught.value.problems] == ["evidence-missing"]


def test_card_refuses_unlisted_file(test_pki, config):
    card, signed = signed_card(test_pki, test_pki.head, config)
    extra = AttachedFile("extra.png", "image/png", png_bytes(200))

    with pytest.raises(InvalidDocumentError) as caught:
        build_card(signed, evidence=[*card.attachments, extra])

    assert [problem.code for problem in caught.value.problems] == ["evidence-unlisted"]
    assert caught.value.problems[0].value == "extra.png"


def test_card_file_digest_mismatch(test_pki, config):
    card, _signed = signed_card(test_pki, test_pki.head, config)
    root = etree.fromstring(card.to_xml())
    content = root.find(f"{{{CARD_NS}}}attachments/{{{CARD_NS}}}attachment/{{{CARD_NS}}}content")
    content.text = base64.b64encode(png_bytes(99)).decode("ascii")

    with pytest.raises(InvalidDocumentError) as caught:
        parse_card(etree.tostring(root))

    fields = [problem.field for problem in caught.value.problems]
    assert "attachments[1].sha256" in fields
    assert all(problem.code == "card-file" for problem in caught.value.problems)


def test_card_schema_error_names_element(test_pki, config):
    card, _signed = signed_card(test_pki, test_pki.head, config)
    root = etree.fromstring(card.to_xml())
    root.remove(root.find(f"{{{CARD_NS}}}senderBin"))

    with pytest.raises(InvalidDocumentError) as caught:
        parse_card(etree.tostring(root))

    assert caught.value.problems[0].code == "card-schema"
    assert "signerNameKz" in caught.value.localized("en")


# Encodings of a one-byte and a two-byte file: the published schema's base64Binary
# accepts or rejects each, and parse_card must agree without libxml2's check.
BASE64_CONTENTS = [
    "QQ==",
    "QUI=",
    " QQ== ",
    "Q Q = =",
    "QQ\n==",
    "QQ=\t=",
    "\r\nQUI=\r\n",
    "QR==",
    "QUJ=",
    "QQ",
    "QQ=",
    "=QQ=",
    "QQ==QQ==",
    "QQ-=",
    "QQ==x",
]

# Characters outside base64Binary's lexical space. libxml2 lets some of them
# through (a no-break space, a letter after the padding); parse_card does not.
NOT_BASE64_CONTENTS = ["QQ==\u00a0", "Q\u2003Q==", "Q\u00e9==", "QQ==\u00e9"]


def _card_with_content(test_pki, config, encoded: str) -> tuple[etree._Element, bytes]:
    """Return a card whose first evidence file's content is ``encoded``, with size and hash of what it decodes to."""
    card, _signed = signed_card(test_pki, test_pki.head, config)
    root = etree.fromstring(card.to_xml())
    attachment = root.find(f"{{{CARD_NS}}}attachments/{{{CARD_NS}}}attachment")
    try:
        decoded = base64.b64decode("".join(encoded.split()))
    except ValueError:
        decoded = b""
    attachment.find(f"{{{CARD_NS}}}content").text = encoded
    # Size and hash follow the decoded bytes, so only the encoding can be wrong.
    attachment.find(f"{{{CARD_NS}}}size").text = str(len(decoded))
    attachment.find(f"{{{CARD_NS}}}sha256").text = hashlib.sha256(decoded).hexdigest()
    return root, decoded


@pytest.mark.parametrize("encoded", BASE64_CONTENTS, ids=repr)
def test_card_content_check_agrees_with_base64binary(test_pki, config, encoded):
    root, decoded = _card_with_content(test_pki, config, encoded)
    published = card_schema().validate(root)

    try:
        parsed = parse_card(etree.tostring(root, encoding="UTF-8"))
    except InvalidDocumentError as caught:
        assert not published, caught.localized("en")
        assert [problem.field for problem in caught.problems] == ["attachments[1].content"]
    else:
        assert published, f"card.xsd refuses {encoded!r}, parse_card accepted it"
        assert parsed.attachments[0].content == decoded


@pytest.mark.parametrize("encoded", NOT_BASE64_CONTENTS, ids=repr)
def test_card_content_outside_alphabet_rejected(test_pki, config, encoded):
    root, _decoded = _card_with_content(test_pki, config, encoded)

    with pytest.raises(InvalidDocumentError) as caught:
        parse_card(etree.tostring(root, encoding="UTF-8"))

    assert caught.value.problems[0].code == "card-file"
    assert "shot-1.png" in caught.value.localized("en")


def test_card_content_split_by_comment(test_pki, config):
    card, _signed = signed_card(test_pki, test_pki.head, config)
    xml = card.to_xml()
    encoded = base64.b64encode(card.attachments[0].content)
    split = encoded[:8] + b"<!-- wrapped by a gateway -->" + encoded[8:]

    parsed = parse_card(xml.replace(encoded, split, 1))

    assert parsed.attachments[0].content == card.attachments[0].content


def test_card_with_doctype_rejected(test_pki, config):
    card, _signed = signed_card(test_pki, test_pki.head, config)
    xml = card.to_xml().replace(b"?>", b'?><!DOCTYPE card [<!ENTITY x "y">]>', 1)

    with pytest.raises(InvalidDocumentError):
        parse_card(xml)


def test_check_card_against_document(test_pki, config):
    card, signed = signed_card(test_pki, test_pki.head, config)
    document = parse_xml(signed)
    changed = dataclasses.replace(card, doc_no="01-15/9999", fact_count=7)

    problems = check_card(changed, document)

    assert [problem.field for problem in problems] == ["docNo", "factCount"]
    assert check_card(card, document) == ()


def test_decision_rejection_needs_justification():
    with pytest.raises(InputError):
        FactDecision(3, FactOutcome.REJECTED, " ")
    with pytest.raises(InputError):
        FactDecision(0, FactOutcome.CONFIRMED)


def test_refusal_needs_code_or_text():
    with pytest.raises(InputError):
        Receipt.refused(REFERENCE)
    assert Receipt.refused(REFERENCE, 1).refusal_reason is RefusalReason.BAD_LINK


@pytest.mark.parametrize(
    "receipt",
    [
        Receipt.delivered(REFERENCE, dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)),
        Receipt.registered(REFERENCE, "2026-000017", dt.date(2026, 12, 1)),
        Receipt.refused(REFERENCE, RefusalReason.SIGNATURE_INVALID, "the signature covers another document"),
        Receipt.refused(REFERENCE, None, "the notification repeats 01-15/2040"),
        Receipt.decision(
            REFERENCE,
            [FactDecision(2, FactOutcome.REJECTED, "the page is a news report\nabout the ban"), FactDecision(1, FactOutcome.CONFIRMED)],
            amended=True,
        ),
    ],
    ids=["delivered", "registered", "refused-code", "refused-text", "decision"],
)
def test_receipt_sign_verify_round_trip(receipt, receiver_signer, test_pki):
    signed = sign_receipt(receipt, receiver_signer)

    checked = verify_receipt(signed, certificates=[test_pki.receiver.certificate])

    assert checked == receipt
    assert checked.signer == test_pki.receiver.certificate
    assert parse_receipt(signed) == receipt


def test_invalid_receipt_not_signed(receiver_signer):
    receipt = Receipt.delivered(REFERENCE, dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC), issuer_bin="123")

    with pytest.raises(InvalidDocumentError) as caught:
        sign_receipt(receipt, receiver_signer)

    assert [problem.code for problem in caught.value.problems] == ["receipt-schema"]
    assert "issuerBin" in caught.value.localized("en")


def test_receipt_trusted_by_anchors(receiver_signer, test_pki, config):
    from signing.trust import TrustSettings

    signed = sign_receipt(Receipt.registered(REFERENCE, "2026-000001", dt.date(2026, 12, 1)), receiver_signer)

    checked = verify_receipt(signed, trust_settings=TrustSettings.from_config(config))

    assert checked.registration_number == "2026-000001"


def test_receipt_from_other_key_rejected(test_pki):
    signed = sign_receipt(Receipt.delivered(REFERENCE, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)), signer_of(test_pki.head))

    with pytest.raises(VerificationError):
        verify_receipt(signed, certificates=[test_pki.receiver.certificate])


def test_receipt_altered_after_signing(receiver_signer, test_pki):
    signed = sign_receipt(Receipt.registered(REFERENCE, "2026-000017", dt.date(2026, 12, 1)), receiver_signer)
    altered = signed.replace(b"2026-000017", b"2026-000018")

    with pytest.raises(VerificationError):
        verify_receipt(altered, certificates=[test_pki.receiver.certificate])


def test_receipt_without_signature_invalid():
    with pytest.raises(InvalidDocumentError):
        parse_receipt(build_receipt(Receipt.delivered(REFERENCE, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))))


def test_receipt_needs_pinned_or_anchors(receiver_signer):
    signed = sign_receipt(Receipt.delivered(REFERENCE, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)), receiver_signer)

    with pytest.raises(VerificationError):
        verify_receipt(signed)


def test_receipt_message_round_trip(receiver_signer):
    signed = sign_receipt(Receipt.delivered(REFERENCE, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)), receiver_signer)
    message = receipt_message(signed, ReceiptKind.DELIVERED)
    reparsed = etree.fromstring(etree.tostring(message))

    assert unwrap_receipt_message(reparsed) == signed
    assert unwrap_receipt_message(etree.tostring(message)) == signed


def test_receipt_message_digest_checked(receiver_signer):
    signed = sign_receipt(Receipt.delivered(REFERENCE, dt.datetime(2026, 12, 1, tzinfo=dt.UTC)), receiver_signer)
    message = receipt_message(signed, "delivered")
    message.find(f"{{{RECEIPT_NS}}}sha256").text = "00" * 32

    with pytest.raises(InvalidDocumentError):
        unwrap_receipt_message(message)

