"""The values a form template shows, prepared from a document in one language.

Templates only place values: every label, code list name and formatted date
is decided here, so the HTML and the PDF read the same.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import idna

from ..codelists import OTHER, PROTOCOLS, VIOLATION_TYPES, CodeListEntry
from ..errors import InputError
from ..i18n import LANGUAGES, N_, current_language, gettext, normalize_language, translate
from ..model import Document, Employee, Fact, Notification, Roster
from .forms import OFFICIAL_FORM_LANGUAGES, form_text
from .signature import SignatureState, SignatureSummary

__all__ = [
    "FactRow",
    "FormView",
    "build_view",
    "document_number_line",
    "format_date",
    "format_datetime",
    "page_label",
    "resolve_language",
    "role_name",
    "signature_fields",
    "ui_labels",
    "url_unicode",
]

# Labels the product adds to the order's forms, translated through the
# ``render`` catalog.
_UI_LABELS: Mapping[str, str] = MappingProxyType({
    "fact_number": N_("No."),
    "fact_ip": N_("IP address"),
    "fact_domain": N_("Domain name"),
    "fact_url": N_("Identifier of the internet resource or page (URL)"),
    "fact_protocol": N_("Protocol"),
    "fact_device": N_("Subscriber device codes (MAC, IMEI)"),
    "evidence_heading": N_("Attached materials"),
    "evidence_file": N_("File"),
    "evidence_type": N_("Type"),
    "evidence_size": N_("Size, bytes"),
    "evidence_fact": N_("Fact"),
    "signature_heading": N_("Electronic digital signature"),
    "signer": N_("Signer"),
    "iin": N_("IIN"),
    "bin": N_("BIN"),
    "role": N_("Role"),
    "certificate_serial": N_("Certificate serial number"),
    "certificate_issuer": N_("Certificate issuer"),
    "signing_time": N_("Signing time"),
    "signature_status": N_("Signature status"),
    "problems": N_("Problems found"),
    "warnings": N_("Warnings"),
    "sender": N_("Sender"),
    "signed_electronically": N_("signed with an electronic digital signature"),
})

_ROLE_NAMES: Mapping[str, str] = MappingProxyType({
    "head": N_("first head"),
    "deputy": N_("deputy head"),
    "signing-rights": N_("official with signing rights"),
    "employee": N_("employee"),
    "individual": N_("individual"),
})

_STATE_TEXT: Mapping[SignatureState, str] = MappingProxyType({
    SignatureState.VALID: N_("The signature is valid and the certificate is trusted."),
    SignatureState.UNTRUSTED: N_("The signature is intact, but the certificate is not trusted."),
    SignatureState.WITH_PROBLEMS: N_("The signature is intact and the certificate is trusted, but the checks found the problems listed below."),
    SignatureState.REVOCATION_UNKNOWN: N_("The signature is intact and the certificate is trusted, but whether the certificate was revoked is unknown."),
    SignatureState.REVOKED: N_("The signature is intact, but the certificate was revoked."),
    SignatureState.INVALID: N_("The signature is invalid: the document was changed after signing or the signature is damaged."),
    SignatureState.NOT_VERIFIED: N_("The signature was not verified."),
})

_TRANSLATION_NOTICE = N_(
    "Working translation: the labels of this form are translated from the Kazakh text of order No. 159-НҚ "
    "of 7 April 2026; the official text of the order in this language replaces them when published."
)
_TRANSLATION_MARK = N_("Working translation")
_DOCUMENT_LINE = N_("No. {number} of {date}")
_PAGE_LABEL = N_("Page {number}")


@dataclass(frozen=True, slots=True)
class FactRow:
    """One line of the facts table as people read it.

    ``domain`` and ``url`` are the Unicode forms people read. ``domain_ascii``
    and ``url_ascii`` are the forms the document carries (A-label host,
    percent-encoded path). They are present only when they differ, and they
    let a reader copy the exact value into a blocking list.
    """

    number: int
    ip: str
    domain: str
    domain_ascii: str
    url: str
    url_ascii: str
    protocol: str
    mac: str
    imei: str
    description: str


@dataclass(frozen=True, slots=True)
class EmployeeRow:
    """One line of the roster table as people read it.

    ``work_email`` has its domain in Unicode; ``work_email_ascii`` is the
    address the document carries (A-label domain), present only when it differs.
    """

    number: int
    full_name: str
    work_email: str
    work_email_ascii: str
    mobile_phone: str


@dataclass(frozen=True, slots=True)
class FormView:
    """Everything a form template shows, in one language.

    ``rows`` are the table lines: :class:`FactRow` for a notification,
    :class:`EmployeeRow` for a roster and the per-fact decisions
    of a receipt. The PDF renderer takes them in slices, one layout pass at
    a time.
    """

    kind: str
    template: str
    language: str
    form: Mapping[str, str]
    ui: Mapping[str, str]
    title: str
    document_line: str
    recipient: str
    sender: str
    sender_bin: str
    translation_notice: str
    translation_mark: str
    page_label: str
    rows: Sequence[Any]
    fields: Mapping[str, Any]
    signature: SignatureSummary | None
    signature_state_text: str
    signer_role: str

    def template_context(self, *, start: int, end: int, opening: bool, closing: bool) -> dict[str, Any]:
        """Return the template variables for rows ``start`` to ``end`` (exclusive)."""
        return {
            "view": self,
            "form": self.form,
            "ui": self.ui,
            "rows": self.rows[start:end],
            "row_offset": start,
            "opening": opening,
            "closing": closing,
            **self.fields,
        }


def resolve_language(language: str | None, document: Any) -> str:
    """Return the form language: ``language`` when given, else the document's own, else the current one."""
    if language is None:
        header = getattr(document, "header", None)
        language = str(getattr(header, "language", "") or current_language())
    normalized = normalize_language(language)
    if normalized is None:
        raise InputError(
            N_("unsupported form language {value!r}; use one of: {valid}"),
            field="language",
            value=language,
            valid=", ".join(LANGUAGES),
        )
    return normalized


def format_date(day: dt.date) -> str:
    """Format a date as ``DD.MM.YYYY``, the form used in Kazakh and Russian documents."""
    return day.strftime("%d.%m.%Y")


def format_datetime(moment: dt.datetime) -> str:
    """Format a time as ``DD.MM.YYYY HH:MM:SS`` with its UTC offset, or ``UTC`` when naive."""
    text = moment.strftime("%d.%m.%Y %H:%M:%S")
    offset = moment.utcoffset()
    if offset is None:
        return f"{text} UTC"
    return f"{text} UTC{moment.strftime('%z')[:3]}:{moment.strftime('%z')[3:]}"


def build_view(
    document: Any,
    *,
    language: str | None = None,
    verification: Any = None,
    violation_types: Mapping[str, CodeListEntry] | None = None,
) -> FormView:
    """Prepare the view of a notification, roster or receipt in ``language``.

    ``language`` defaults to the document's own; a receipt, which has none,
    defaults to the current language.
    """
    if isinstance(document, (Notification, Roster)):
        return _form_view(document, resolve_language(language, document), verification, violation_types)
    from .receipts import is_receipt, receipt_view

    if is_receipt(document):
        return receipt_view(document, language=resolve_language(language, document), verification=verification)
    raise TypeError(f"cannot render {type(document).__name__}: expected Notification, Roster or Receipt")


def signature_fields(verification: Any, language: str) -> dict[str, Any]:
    """Return the :class:`FormView` fields of a signature block from ``verification``."""
    signature = None if verification is None else SignatureSummary.from_verification(verification, language=language)
    return {
        "signature": signature,
        "signature_state_text": "" if signature is None else gettext(_STATE_TEXT[signature.state], language),
        "signer_role": "" if signature is None else role_name(signature.role, language),
    }


def _form_view(
    document: Document,
    language: str,
    verification: Any,
    violation_types: Mapping[str, CodeListEntry] | None,
) -> FormView:
    header = document.header
    form = form_text(language, header.edition)
    if isinstance(document, Notification):
        template, rows, fields = "notification.html", _FactRows(document.facts, language), _notification_fields(document, language, violation_types)
    else:
        template, rows, fields = "roster.html", [_employee_row(employee) for employee in document.employees], {"signatory": document.signatory}

    return FormView(
        kind=str(document.kind),
        template=template,
        language=language,
        form=form,
        ui=ui_labels(language),
        title=form["title"],
        document_line=document_number_line(header.number, header.date, language),
        recipient=header.recipient.name(language),
        sender=header.sender.name(language),
        sender_bin=header.sender.bin or "",
        translation_notice="" if language in OFFICIAL_FORM_LANGUAGES else gettext(_TRANSLATION_NOTICE, language),
        translation_mark="" if language in OFFICIAL_FORM_LANGUAGES else gettext(_TRANSLATION_MARK, language),
        page_label=gettext(_PAGE_LABEL, language),
        rows=rows,
        fields=MappingProxyType(fields),
        **signature_fields(verification, language),
    )


def ui_labels(language: str) -> Mapping[str, str]:
    """Return the product's own form labels (table columns, signature block) in ``language``."""
    return MappingProxyType({key: gettext(message, language) for key, message in _UI_LABELS.items()})


def document_number_line(number: str, day: dt.date | None, language: str) -> str:
    """Return ``No. {number} of {date}`` in ``language``, the way a document is cited."""
    return translate(_DOCUMENT_LINE, language, number=number, date=format_date(day) if day else "-")


def page_label(language: str) -> str:
    """Return the page footer label, ``Page {number}``, in ``language``."""
    return gettext(_PAGE_LABEL, language)


def role_name(role: str | None, language: str) -> str:
    """Return the display name of a signatory role code, or the code itself when unknown."""
    if not role:
        return ""
    message = _ROLE_NAMES.get(role)
    return role if message is None else gettext(message, language)


def _notification_fields(
    document: Notification,
    language: str,
    violation_types: Mapping[str, CodeListEntry] | None,
) -> dict[str, Any]:
    violation = document.violation
    entry = (violation_types or VIOLATION_TYPES).get(violation.type)
    if violation.type == OTHER or entry is None:
        # "other" names the type in its description; an unknown code shows as given.
        violation_name = violation.description or (entry.name(language) if entry else violation.type)
    else:
        violation_name = entry.name(language)
        if violation.description:
            violation_name = f"{violation_name}. {violation.description}"
    return {
        "violation_name": violation_name,
        "legal_norm": violation.legal_norm,
        "signatory": document.signatory,
        "evidence": document.evidence,
    }


class _FactRows(Sequence[FactRow]):
    """The facts of a notification as :class:`FactRow` lines, converted on access.

    Converting lazily keeps one slice of a 100,000-fact notification in
    memory at a time while the PDF renderer works through it.
    """

    def __init__(self, facts: Sequence[Fact], language: str) -> None:
        self._facts = facts
        self._language = language

    def __len__(self) -> int:
        return len(self._facts)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._row(fact) for fact in self._facts[index]]
        return self._row(self._facts[index])

    def _row(self, fact: Fact) -> FactRow:
        domain = fact.domain_unicode or ""
        url = url_unicode(fact.url) if fact.url else ""
        protocol = PROTOCOLS.get(fact.protocol)
        return FactRow(
            number=fact.number,
            ip=fact.ip or "",
            domain=domain,
            domain_ascii=fact.domain if fact.domain and fact.domain != domain else "",
            url=url,
            url_ascii=fact.url if fact.url and fact.url != url else "",
            protocol=protocol.name(self._language) if protocol else fact.protocol,
            mac=fact.mac or "",
            imei=fact.imei or "",
            description=fact.description or "",
        )


def _employee_row(employee: Employee) -> EmployeeRow:
    local, _at, domain = employee.work_email.rpartition("@")
    email = f"{local}@{_host_unicode(domain)}" if domain else employee.work_email
    return EmployeeRow(
        number=employee.number,
        full_name=employee.full_name,
        work_email=email,
        work_email_ascii=employee.work_email if email != employee.work_email else "",
        mobile_phone=employee.mobile_phone,
    )


_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def _decode_percent_run(match: re.Match[str]) -> str:
    """Decode one run of percent-escapes when it spells non-ASCII text only.

    An escaped ASCII character (``%2F``, ``%20``, ``%3F``) stays escaped,
    because decoding it would show a different address.
    """
    run = match.group(0)
    try:
        text = bytes.fromhex(run.replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        return run
    if any(ord(char) < 0x80 or not char.isprintable() for char in text):
        return run
    return text


def _host_unicode(host: str) -> str:
    labels = []
    for label in host.split("."):
        try:
            labels.append(idna.decode(label) if label.lower().startswith("xn--") else label)
        except idna.IDNAError:
            labels.append(label)
    return ".".join(labels)


def url_unicode(url: str) -> str:
    """Return ``url`` as people read it: the host in Unicode, escaped non-ASCII text decoded."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    host = parts.hostname or ""
    netloc = parts.netloc
    if host:
        start = netloc.lower().rfind(host)
        netloc = netloc[:start] + _host_unicode(host) + netloc[start + len(host):]
    path, query, fragment = (_PERCENT_RUN.sub(_decode_percent_run, part) for part in (parts.path, parts.query, parts.fragment))
    return urlunsplit((parts.scheme, netloc, path, query, fragment))
