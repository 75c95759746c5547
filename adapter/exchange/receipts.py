"""Receipts: what the authorised body sends back about a received document.

They mirror the EDMS notification states: *delivered* (``stateDelivered``),
*registered* with a registration number (``stateRegistered``), *registration
refused* with a reason code (``stateNotValid``: 1 bad link, 2 signature check
failed, 3 violates the procedure rules, or free text), and the *decision* on
each fact: confirmed, or rejected with a mandatory justification. Each
receipt has its own ``Id`` and an enveloped XML-DSig signature of the
receiving side. Schema: ``schemas/receipt.xsd``, namespace :data:`RECEIPT_NS`::

    receipt = Receipt.registered(reference, "2026-000017", dt.date(2026, 8, 3))
    signed = sign_receipt(receipt, signer)
    ...
    checked = verify_receipt(signed, certificates=[receiver_certificate])
    checked.registration_number   # "2026-000017"
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import hashlib
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography import x509
from lxml import etree

from ..errors import InputError, InvalidDocumentError, Problem, VerificationError
from ..i18n import N_

__all__ = [
    "RECEIPT_NS",
    "DocumentReference",
    "FactDecision",
    "FactOutcome",
    "Receipt",
    "ReceiptKind",
    "RefusalReason",
    "build_receipt",
    "parse_receipt",
    "receipt_message",
    "sign_receipt",
    "unwrap_receipt_message",
    "verify_receipt",
]

RECEIPT_NS = "urn:edms-adapter:receipt:1"
_R = f"{{{RECEIPT_NS}}}"
_DS_NS = "http://www.w3.org/2000/09/xmldsig#"

#: Largest receipt accepted by :func:`parse_receipt` and :func:`verify_receipt`, in bytes.
#: A decision on 100,000 facts with long justifications stays well below it.
MAX_RECEIPT_BYTES = 64 * 1024 * 1024

_schema_lock = threading.Lock()
_schema: etree.XMLSchema | None = None


class ReceiptKind(enum.StrEnum):
    """Kind of receipt; the value is the name of its element in the receipt."""

    DELIVERED = "delivered"
    REGISTERED = "registered"
    REFUSED = "refused"
    DECISION = "decision"


class RefusalReason(enum.IntEnum):
    """Reason code of a registration refusal, as the EDMS numbers them."""

    BAD_LINK = 1
    SIGNATURE_INVALID = 2
    PROCEDURE_VIOLATED = 3


class FactOutcome(enum.StrEnum):
    """The authorised body's decision on one fact."""

    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class DocumentReference:
    """The document a receipt refers to: the sender's message id and the document's SHA-256."""

    message_id: str
    sha256: str
    doc_no: str | None = None
    doc_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class FactDecision:
    """The decision on one fact; a rejection carries its justification."""

    fact: int
    outcome: FactOutcome
    justification: str | None = None

    def __post_init__(self) -> None:
        if self.fact < 1:
            raise InputError(N_("fact number {value} is invalid; facts are numbered from 1"), field="fact", value=self.fact)
        if self.outcome is FactOutcome.REJECTED and not (self.justification and self.justification.strip()):
            raise InputError(
                N_("fact {value} is rejected without a justification; state why there is no violation"),
                field="justification",
                value=self.fact,
            )


@dataclass(frozen=True, slots=True)
class Receipt:
    """One receipt. Build it with :meth:`delivered`, :meth:`registered`, :meth:`refused` or :meth:`decision`.

    ``signer`` is the certificate that signed it, set by :func:`verify_receipt`.
    """

    id: str
    kind: ReceiptKind
    document: DocumentReference
    issued_at: dt.datetime
    issuer_bin: str | None = None
    delivered_at: dt.datetime | None = None
    registration_number: str | None = None
    registration_date: dt.date | None = None
    refusal_reason: RefusalReason | None = None
    refusal_text: str | None = None
    decisions: tuple[FactDecision, ...] = ()
    amended: bool = False
    signer: x509.Certificate | None = field(default=None, compare=False, repr=False)

    @staticmethod
    def new_id() -> str:
        """Return a fresh receipt id (an XML ``ID``: it starts with a letter)."""
        return f"receipt-{uuid.uuid4()}"

    @classmethod
    def delivered(cls, document: DocumentReference, when: dt.datetime, *, issuer_bin: str | None = None) -> Receipt:
        """Build a *delivered* receipt."""
        return cls(cls.new_id(), ReceiptKind.DELIVERED, document, _now(), issuer_bin, delivered_at=when)

    @classmethod
    def registered(cls, document: DocumentReference, number: str, day: dt.date, *, issuer_bin: str | None = None) -> Receipt:
        """Build a *registered* receipt with the registration number and date."""
        return cls(cls.new_id(), ReceiptKind.REGISTERED, document, _now(), issuer_bin, registration_number=number, registration_date=day)

    @classmethod
    def refused(
        cls,
        document: DocumentReference,
        reason: RefusalReason | int | None = None,
        text: str | None = None,
        *,
        issuer_bin: str | None = None,
    ) -> Receipt:
        """Build a *registration refused* receipt: a reason code, free text, or a code with a comment."""
        code = RefusalReason(reason) if reason is not None else None
        if code is None and not (text and text.strip()):
            raise InputError(N_("a refusal needs a reason code 1, 2 or 3 or a reason text"), field="reason", value="")
        return cls(cls.new_id(), ReceiptKind.REFUSED, document, _now(), issuer_bin, refusal_reason=code, refusal_text=text)

    @classmethod
    def decision(
        cls,
        document: DocumentReference,
        decisions: Iterable[FactDecision],
        *,
        amended: bool = False,
        issuer_bin: str | None = None,
    ) -> Receipt:
        """Build a *decision* receipt for one or more facts."""
        items = tuple(sorted(decisions, key=lambda item: item.fact))
        if not items:
            raise InputError(N_("a decision receipt needs at least one fact"), field="decisions", value="")
        return cls(cls.new_id(), ReceiptKind.DECISION, document, _now(), issuer_bin, decisions=items, amended=amended)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def build_receipt(receipt: Receipt) -> bytes:
    """Serialise ``receipt`` as UTF-8 XML without a signature (see :func:`sign_receipt`)."""
    return _serialise(_receipt_element(receipt))


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _receipt_element(receipt: Receipt) -> etree._Element:
    root = etree.Element(f"{_R}receipt", nsmap={None: RECEIPT_NS})
    root.set("Id", receipt.id)
    root.set("version", "1")
    etree.SubElement(root, f"{_R}issuedAt").text = receipt.issued_at.isoformat()
    if receipt.issuer_bin:
        etree.SubElement(root, f"{_R}issuerBin").text = receipt.issuer_bin

    reference = etree.SubElement(root, f"{_R}document")
    etree.SubElement(reference, f"{_R}messageId").text = receipt.document.message_id
    if receipt.document.doc_no:
        etree.SubElement(reference, f"{_R}docNo").text = receipt.document.doc_no
    if receipt.document.doc_date:
        etree.SubElement(reference, f"{_R}docDate").text = receipt.document.doc_date.isoformat()
    etree.SubElement(reference, f"{_R}sha256").text = receipt.document.sha256

    body = etree.SubElement(root, f"{_R}{receipt.kind.value}")
    if receipt.kind is ReceiptKind.DELIVERED:
        etree.SubElement(body, f"{_R}date").text = (receipt.delivered_at or receipt.issued_at).isoformat()
    elif receipt.kind is ReceiptKind.REGISTERED:
        etree.SubElement(body, f"{_R}registrationNumber").text = receipt.registration_number
        etree.SubElement(body, f"{_R}registrationDate").text = (receipt.registration_date or receipt.issued_at.date()).isoformat()
    elif receipt.kind is ReceiptKind.REFUSED:
        if receipt.refusal_reason is not None:
            etree.SubElement(body, f"{_R}reasonCode").text = str(int(receipt.refusal_reason))
            if receipt.refusal_text:
                etree.SubElement(body, f"{_R}comment").text = receipt.refusal_text
        else:
            etree.SubElement(body, f"{_R}reasonText").text = receipt.refusal_text
    else:
        if receipt.amended:
            body.set("amended", "true")
        for item in receipt.decisions:
            element = etree.SubElement(body, f"{_R}{item.outcome.value}")
            element.set("fact", str(item.fact))
            if item.outcome is FactOutcome.REJECTED:
                etree.SubElement(element, f"{_R}justification").text = item.justification
    return root


def sign_receipt(receipt: Receipt, signer: Any) -> bytes:
    """Serialise and sign ``receipt`` with the receiving side's ``signer`` (a :class:`signing.keys.Signer`).

    The receipt is checked against ``receipt.xsd`` before it is signed.
    """
    from signing.xmldsig import DS_NS, sign_xml

    root = _receipt_element(receipt)
    # receipt.xsd requires the signature but skips its content, so an empty
    # ds:Signature is appended for the check and removed before signing.
    placeholder = etree.SubElement(root, f"{{{DS_NS}}}Signature")
    _validate(root)
    root.remove(placeholder)
    return sign_xml(_serialise(root), signer)


def receipt_schema() -> etree.XMLSchema:
    """Return the compiled ``receipt.xsd`` (compiled once per process)."""
    global _schema
    with _schema_lock:
        if _schema is None:
            from schemas import schema_path

            _schema = etree.XMLSchema(etree.parse(str(schema_path("receipt.xsd"))))
        return _schema


def _parse(source: bytes, max_bytes: int = MAX_RECEIPT_BYTES) -> etree._Element:
    from ..xml import parse_tree

    root = parse_tree(source, max_bytes)
    return root.getroot() if isinstance(root, etree._ElementTree) else root


def _validate(root: etree._Element) -> None:
    schema = receipt_schema()
    if not schema.validate(root):
        problems = [
            Problem("receipt-schema", N_("the receipt does not match receipt.xsd: {reason}"), line=error.line or None, params={"reason": error.message})
            for error in schema.error_log
        ]
        raise InvalidDocumentError(problems, source="receipt")


def parse_receipt(source: bytes, *, max_bytes: int = MAX_RECEIPT_BYTES) -> Receipt:
    """Parse and validate a receipt WITHOUT checking its signature; use :func:`verify_receipt` for that."""
    root = _parse(source, max_bytes)
    _validate(root)
    return _read_receipt(root)


def verify_receipt(
    source: bytes,
    *,
    certificates: Iterable[x509.Certificate] = (),
    trust_settings: Any = None,
    at: dt.datetime | None = None,
) -> Receipt:
    """Check a receipt's signature and return the receipt read from the signed element.

    The signer must be one of ``certificates`` (the authorised body's
    receipt-signing certificates, pinned) or, when none are given, chain to
    the trust anchors of ``trust_settings`` (the configuration or its
    ``[trust]`` settings, see :func:`signing.trust.validate_path`) as of ``at``,
    by default now. A broken, untrusted or missing signature raises
    :class:`VerificationError`; a receipt that does not match the schema
    raises :class:`InvalidDocumentError`.
    """
    from signing.certificates import readable_name
    from signing.xmldsig import verify_xml_signature

    pinned = tuple(certificates)
    root = _parse(source)
    _validate(root)
    check = verify_xml_signature(source)
    if not check.intact or check.root is None or check.certificate is None:
        raise VerificationError(
            N_("the receipt's signature is broken: {reason}"),
            reason="; ".join(problem.localized() for problem in check.problems) or "-",
        )
    # Read the receipt from the element the digest covered, never from the
    # parsed input: that defeats signature wrapping.
    covered = check.root
    if etree.QName(covered).text != f"{_R}receipt":
        raise VerificationError(N_("the receipt's signature does not cover the receipt element"))
    signer_certificate = check.certificate
    if pinned:
        if signer_certificate not in pinned:
            raise VerificationError(
                N_("the receipt is signed by {subject}, which is not a configured receiver certificate; configure it as a receiver certificate if it is the authorised body's new key"),
                subject=readable_name(signer_certificate.subject),
            )
    elif trust_settings is not None:
        from signing.trust import validate_path

        moment = at or dt.datetime.now(dt.UTC)
        path = validate_path(signer_certificate, intermediates=tuple(check.certificates[1:]), at=moment, settings=trust_settings)
        if not path.trusted:
            raise VerificationError(
                N_("the receipt's signer {subject} is not trusted: {reason}"),
                subject=readable_name(signer_certificate.subject),
                reason="; ".join(item.localized() for item in path.problems) or "-",
            )
    else:
        raise VerificationError(N_("no receiver certificate or trust anchors are configured to check the receipt's signature; set them in the configuration"))
    return replace(_read_receipt(covered), signer=signer_certificate)


def receipt_message(signed: bytes, kind: ReceiptKind | str) -> etree._Element:
    """Wrap a signed receipt for the gateway: ``<receiptMessage>`` with the receipt byte-exact in base64."""
    message = etree.Element(f"{_R}receiptMessage", nsmap={None: RECEIPT_NS})
    etree.SubElement(message, f"{_R}kind").text = ReceiptKind(kind).value
    etree.SubElement(message, f"{_R}sha256").text = hashlib.sha256(signed).hexdigest()
    etree.SubElement(message, f"{_R}content").text = base64.b64encode(signed).decode("ascii")
    return message


def unwrap_receipt_message(payload: etree._Element | bytes) -> bytes:
    """Return the signed receipt bytes carried by a ``<receiptMessage>`` (element or XML).

    Raises :class:`InvalidDocumentError` when the payload is no receipt
    message or its content does not match the recorded SHA-256.
    """
    element = payload if isinstance(payload, etree._Element) else _parse(payload)
    problems: list[Problem] = []
    if etree.QName(element).text != f"{_R}receiptMessage":
        problems.append(Problem("receipt-message", N_("the payload is {value}, not a receipt message"), value=etree.QName(element).text))
        raise InvalidDocumentError(problems, source="receipt")
    try:
        content = base64.b64decode("".join((element.findtext(f"{_R}content") or "").split()), validate=True)
    except binascii.Error:
        problems.append(Problem("receipt-message", N_("the receipt content is not valid base64")))
        raise InvalidDocumentError(problems, source="receipt") from None
    expected = (element.findtext(f"{_R}sha256") or "").strip()
    if hashlib.sha256(content).hexdigest() != expected:
        problems.append(Problem("receipt-message", N_("the receipt content does not match its recorded SHA-256 {value}"), value=expected))
        raise InvalidDocumentError(problems, source="receipt")
    return content


def _read_receipt(root: etree._Element) -> Receipt:
    reference_element = root.find(f"{_R}document")
    doc_date = reference_element.findtext(f"{_R}docDate")
    reference = DocumentReference(
        message_id=reference_element.findtext(f"{_R}messageId") or "",
        sha256=reference_element.findtext(f"{_R}sha256") or "",
        doc_no=reference_element.findtext(f"{_R}docNo"),
        doc_date=dt.date.fromisoformat(doc_date) if doc_date else None,
    )
    issued_at = _parse_datetime(root.findtext(f"{_R}issuedAt") or "")
    common: dict[str, Any] = {
        "id": root.get("Id") or "",
        "document": reference,
        "issued_at": issued_at,
        "issuer_bin": root.findtext(f"{_R}issuerBin"),
    }
    body = next(child for child in root if etree.QName(child).localname in {kind.value for kind in ReceiptKind})
    kind = ReceiptKind(etree.QName(body).localname)
    if kind is ReceiptKind.DELIVERED:
        return Receipt(kind=kind, delivered_at=_parse_datetime(body.findtext(f"{_R}date") or ""), **common)
    if kind is ReceiptKind.REGISTERED:
        return Receipt(
            kind=kind,
            registration_number=body.findtext(f"{_R}registrationNumber"),
            registration_date=dt.date.fromisoformat(body.findtext(f"{_R}registrationDate") or ""),
            **common,
        )
    if kind is ReceiptKind.REFUSED:
        code = body.findtext(f"{_R}reasonCode")
        return Receipt(
            kind=kind,
            refusal_reason=RefusalReason(int(code)) if code else None,
            refusal_text=body.findtext(f"{_R}comment") if code else body.findtext(f"{_R}reasonText"),
            **common,
        )
    decisions = tuple(
        FactDecision(int(element.get("fact") or 0), FactOutcome(etree.QName(element).localname), element.findtext(f"{_R}justification"))
        for element in body
        if isinstance(element.tag, str)
    )
    return Receipt(kind=kind, decisions=decisions, amended=body.get("amended") in ("true", "1"), **common)


def _parse_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
