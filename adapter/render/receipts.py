"""The view of a receipt of the authorised body: delivered, registered, refused, or the decision on facts.

Receipts are the product's own documents, not forms of the order, so every
label comes from the ``render`` catalog and no working translation notice
applies. A receipt returned by :func:`adapter.exchange.receipts.verify_receipt`
carries its signer's certificate. Its signature block then shows the signer
as verified, because that function raises on a broken or untrusted signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..i18n import N_, gettext, translate
from .signature import SignatureState, SignatureSummary
from .view import FormView, document_number_line, format_date, format_datetime, page_label, signature_fields, ui_labels

__all__ = ["is_receipt", "receipt_view"]

_TITLES: Mapping[str, str] = MappingProxyType({
    "delivered": N_("Delivery receipt"),
    "registered": N_("Registration receipt"),
    "refused": N_("Registration refusal"),
    "decision": N_("Decision on the facts"),
})

_LABELS: Mapping[str, str] = MappingProxyType({
    "receipt_id": N_("Receipt ID"),
    "issued_at": N_("Issued at"),
    "issuer_bin": N_("BIN of the issuer"),
    "document": N_("Document"),
    "document_number": N_("Document number"),
    "document_date": N_("Document date"),
    "message_id": N_("Message ID"),
    "document_sha256": N_("SHA-256 of the document"),
    "delivered_at": N_("Delivered at"),
    "registration_number": N_("Registration number"),
    "registration_date": N_("Registration date"),
    "refusal_reason": N_("Reason for refusal"),
    "comment": N_("Comment"),
    "fact": N_("Fact"),
    "decision": N_("Decision"),
    "justification": N_("Justification"),
    "amended": N_("Amended decision: it replaces the earlier decision on the same facts."),
})

_REFUSAL_REASONS: Mapping[int, str] = MappingProxyType({
    1: N_("1: invalid reference to the document"),
    2: N_("2: the signature check failed"),
    3: N_("3: the document violates the procedure rules"),
})

_OUTCOMES: Mapping[str, str] = MappingProxyType({
    "confirmed": N_("confirmed"),
    "rejected": N_("rejected"),
})

_SUMMARY = N_("Confirmed: {confirmed}, rejected: {rejected}.")


def is_receipt(document: Any) -> bool:
    """Return whether ``document`` is a :class:`adapter.exchange.receipts.Receipt`."""
    try:
        from ..exchange.receipts import Receipt
    except ImportError:
        return False
    return isinstance(document, Receipt)


def _signer_summary(certificate: Any) -> SignatureSummary:
    """Describe the certificate that :func:`verify_receipt` accepted."""
    from signing.verify import SignerInfo

    signer = SignerInfo.from_certificate(certificate)
    return SignatureSummary(
        state=SignatureState.VALID,
        full_name=signer.full_name,
        iin=signer.iin,
        bin=signer.bin,
        role=signer.role,
        certificate_serial=format(signer.serial_number, "X"),
        certificate_issuer=signer.issuer,
    )


class _DecisionRows:
    """The per-fact decisions of a receipt as table lines, each with its outcome translated."""

    def __init__(self, decisions: Any, language: str) -> None:
        self._decisions = decisions
        self._outcomes = {code: gettext(message, language) for code, message in _OUTCOMES.items()}

    def __len__(self) -> int:
        return len(self._decisions)

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return [
            {
                "fact": item.fact,
                "outcome": str(item.outcome),
                "outcome_text": self._outcomes.get(str(item.outcome), str(item.outcome)),
                "justification": item.justification or "",
            }
            for item in self._decisions[index]
        ]


def receipt_view(receipt: Any, *, language: str, verification: Any = None) -> FormView:
    """Prepare the view of ``receipt`` in ``language``."""
    kind = str(receipt.kind)
    reference = receipt.document
    if verification is None and getattr(receipt, "signer", None) is not None:
        verification = _signer_summary(receipt.signer)

    details: list[tuple[str, str]] = []
    if kind == "delivered" and receipt.delivered_at is not None:
        details.append(("delivered_at", format_datetime(receipt.delivered_at)))
    if kind == "registered":
        details.append(("registration_number", receipt.registration_number or ""))
        if receipt.registration_date is not None:
            details.append(("registration_date", format_date(receipt.registration_date)))
    if kind == "refused":
        if receipt.refusal_reason is not None:
            code = int(receipt.refusal_reason)
            details.append(("refusal_reason", gettext(_REFUSAL_REASONS[code], language) if code in _REFUSAL_REASONS else str(code)))
            if receipt.refusal_text:
                details.append(("comment", receipt.refusal_text))
        else:
            details.append(("refusal_reason", receipt.refusal_text or ""))

    labels = {key: gettext(message, language) for key, message in _LABELS.items()}
    decisions = tuple(receipt.decisions)
    confirmed = sum(1 for item in decisions if str(item.outcome) == "confirmed")
    document_line = ""
    if reference.doc_no:
        document_line = document_number_line(reference.doc_no, reference.doc_date, language)

    return FormView(
        kind="receipt",
        template="receipt.html",
        language=language,
        form=MappingProxyType({}),
        ui=ui_labels(language),
        title=gettext(_TITLES.get(kind, _TITLES["delivered"]), language),
        document_line=document_line,
        recipient="",
        sender="",
        sender_bin="",
        translation_notice="",
        translation_mark="",
        page_label=page_label(language),
        rows=_DecisionRows(decisions, language),
        fields=MappingProxyType({
            "receipt": receipt,
            "reference": reference,
            "labels": labels,
            "details": tuple((labels[key], value) for key, value in details),
            "issued_at": format_datetime(receipt.issued_at),
            "summary": translate(_SUMMARY, language, confirmed=confirmed, rejected=len(decisions) - confirmed) if decisions else "",
        }),
        **signature_fields(verification, language),
    )
