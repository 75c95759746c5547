"""The document card: what travels in the gateway's ``SendMessage`` to the authorised body.

The card follows the EDMS outgoing document card (``docOutgoing``): number,
date, language, signer and author names, summary, counts. It carries the signed
document byte-exact in base64 with its SHA-256, so the XML-DSig signature
survives any re-serialisation of the SOAP envelope, and the evidence files
that the signed notification binds by SHA-256 and size. Schema:
``schemas/card.xsd``, namespace :data:`CARD_NS`::

    card = build_card(signed_xml, evidence=["shot-1.png", "shot-2.png"])
    payload = card.to_xml()
    ...
    received = parse_card(payload)
    problems = check_card(received, document)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pybase64
from lxml import etree

from ..errors import InputError, InvalidDocumentError, Problem
from ..i18n import N_, translate
from ..model import Document, DocumentKind, Notification

__all__ = [
    "CARD_NS",
    "AttachedFile",
    "Card",
    "build_card",
    "check_card",
    "parse_card",
]

CARD_NS = "urn:edms-adapter:card:1"
_C = f"{{{CARD_NS}}}"

#: The EDMS carrier type of an electronic original.
ELECTRONIC_ORIGINAL = 1

_schema_lock = threading.Lock()
_schema: etree.XMLSchema | None = None
_reading_schema: etree.XMLSchema | None = None

#: XML's whitespace, which base64Binary allows between the encoded characters.
_XML_WHITESPACE = " \t\r\n"


@dataclass(frozen=True, slots=True)
class AttachedFile:
    """A file carried in the card: the signed document or one evidence file."""

    file_name: str
    media_type: str
    content: bytes = field(repr=False)
    #: SHA-256 of the content, lower-case hex; computed once, because a signed
    #: document of 100,000 facts takes tens of milliseconds to hash.
    sha256: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.content).hexdigest())

    @property
    def size(self) -> int:
        """Size of the content in bytes."""
        return len(self.content)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, media_type: str | None = None) -> AttachedFile:
        """Read a file from disk; the media type is guessed from the name unless given."""
        source = Path(path)
        try:
            content = source.read_bytes()
        except OSError as exc:
            raise InputError(
                N_("cannot read the evidence file {value}: {reason}; check the path"),
                field="evidence",
                value=str(source),
                reason=exc.strerror or str(exc),
            ) from exc
        guessed = media_type or mimetypes.guess_type(source.name)[0] or "application/octet-stream"
        return cls(source.name, guessed, content)


@dataclass(frozen=True, slots=True)
class Card:
    """A document card, as built by the sender or read by the receiver.

    ``document`` is the signed XML byte-exact; ``attachments`` are the
    evidence files. ``doc_lang`` is the EDMS code (``KZ``, ``RU``, ``KZRU``).
    """

    doc_no: str
    doc_date: dt.date
    doc_lang: str
    document_kind: DocumentKind
    sender_bin: str
    signer_name_kz: str
    signer_name_ru: str
    author_name_kz: str
    author_name_ru: str
    description: str
    fact_count: int
    append_count: int
    sheet_count: int
    document: AttachedFile
    attachments: tuple[AttachedFile, ...] = ()
    carrier_type: int = ELECTRONIC_ORIGINAL
    doc_to_number: str | None = None

    @property
    def document_sha256(self) -> str:
        """SHA-256 of the signed document, lower-case hex."""
        return self.document.sha256

    def to_xml(self) -> bytes:
        """Serialise the card as UTF-8 XML valid against ``card.xsd``."""
        return _card_to_xml(self)


def build_card(
    signed_xml: bytes,
    *,
    evidence: Iterable[AttachedFile | str | os.PathLike[str]] = (),
    doc_to_number: str | None = None,
    sheet_count: int | None = None,
    description: str | None = None,
    max_bytes: int | None = None,
) -> Card:
    """Build the card for a signed document and its evidence files.

    The header fields come from the document itself. Every evidence file the
    notification lists must be given with the same SHA-256 and size, and no
    other file; otherwise :class:`InvalidDocumentError` lists each mismatch.
    """
    from ..xml import parse_xml

    document = parse_xml(signed_xml, max_bytes=max_bytes)
    files = tuple(item if isinstance(item, AttachedFile) else AttachedFile.from_path(item) for item in evidence)
    header = document.header
    signatory = document.signatory
    if isinstance(document, Notification):
        count = len(document.facts)
    else:
        count = len(document.employees)
    summary = description or _summary(document, count)
    card = Card(
        doc_no=header.number,
        doc_date=header.date,
        doc_lang="KZ" if header.language == "kk" else "RU",
        document_kind=DocumentKind(document.kind),
        sender_bin=header.sender.bin or "",
        signer_name_kz=signatory.full_name,
        signer_name_ru=signatory.full_name,
        author_name_kz=header.sender.name_kk,
        author_name_ru=header.sender.name_ru,
        description=summary[:1000],
        fact_count=count,
        append_count=len(files),
        sheet_count=sheet_count if sheet_count is not None else 1,
        document=AttachedFile(f"{document.kind}-{_safe_file_part(header.number)}.xml", "application/xml", signed_xml),
        attachments=files,
        doc_to_number=doc_to_number,
    )
    problems = check_card(card, document)
    if problems:
        raise InvalidDocumentError(problems, source="card")
    return card


def _summary(document: Document, count: int) -> str:
    """Describe the document in its own language, as the EDMS card's ``description``."""
    language = str(document.header.language)
    if isinstance(document, Notification):
        from ..codelists import OTHER, VIOLATION_TYPES

        violation = document.violation
        entry = VIOLATION_TYPES.get(violation.type)
        if violation.type == OTHER or entry is None:
            kind = violation.description or violation.type
        else:
            kind = entry.name(language)
        return translate(N_("Notification: {kind}; facts: {count}"), language, kind=kind, count=count)
    return translate(N_("List of employees who record violations; employees: {count}"), language, count=count)


def _safe_file_part(number: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in number)[:80] or "document"


def _card_to_xml(card: Card) -> bytes:
    root = etree.Element(f"{_C}card", nsmap={None: CARD_NS})
    root.set("version", "1")

    def add(parent: etree._Element, name: str, text: object) -> etree._Element:
        child = etree.SubElement(parent, f"{_C}{name}")
        child.text = str(text)
        return child

    add(root, "docNo", card.doc_no)
    add(root, "docDate", card.doc_date.isoformat())
    add(root, "docLang", card.doc_lang)
    add(root, "documentKind", card.document_kind.value)
    add(root, "senderBin", card.sender_bin)
    add(root, "signerNameKz", card.signer_name_kz)
    add(root, "signerNameRu", card.signer_name_ru)
    add(root, "authorNameKz", card.author_name_kz)
    add(root, "authorNameRu", card.author_name_ru)
    add(root, "description", card.description)
    add(root, "factCount", card.fact_count)
    add(root, "appendCount", card.append_count)
    add(root, "sheetCount", card.sheet_count)
    add(root, "carrierType", card.carrier_type)
    if card.doc_to_number:
        add(root, "docToNumber", card.doc_to_number)
    _add_file(root, "document", card.document)
    if card.attachments:
        holder = etree.SubElement(root, f"{_C}attachments")
        for attached in card.attachments:
            _add_file(holder, "attachment", attached)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _add_file(parent: etree._Element, name: str, attached: AttachedFile) -> None:
    element = etree.SubElement(parent, f"{_C}{name}")
    for child_name, value in (
        ("fileName", attached.file_name),
        ("mediaType", attached.media_type),
        ("size", attached.size),
        ("sha256", attached.sha256),
    ):
        etree.SubElement(element, f"{_C}{child_name}").text = str(value)
    etree.SubElement(element, f"{_C}content").text = pybase64.b64encode(attached.content).decode("ascii")


def card_schema() -> etree.XMLSchema:
    """Return the compiled ``card.xsd`` (compiled once per process)."""
    global _schema
    with _schema_lock:
        if _schema is None:
            from schemas import schema_path

            _schema = etree.XMLSchema(etree.parse(str(schema_path("card.xsd"))))
        return _schema


def _card_reading_schema() -> etree.XMLSchema:
    """Return ``card.xsd`` with each file's ``content`` typed as a plain string.

    :func:`parse_card` decodes every content under base64Binary's lexical rules
    itself (:func:`_decode_base64`), which it must do anyway to check sizes
    and hashes. libxml2's own base64Binary check of the same text takes about
    30 times as long as the rest of the card.
    """
    global _reading_schema
    with _schema_lock:
        if _reading_schema is None:
            from schemas import schema_path

            source = etree.parse(str(schema_path("card.xsd")))
            for element in source.iter("{http://www.w3.org/2001/XMLSchema}element"):
                if element.get("name") == "content" and element.get("type") == "xs:base64Binary":
                    element.set("type", "xs:string")
            _reading_schema = etree.XMLSchema(source)
        return _reading_schema


def _decode_base64(text: str) -> bytes:
    """Decode ``text`` under XML Schema's base64Binary rules; raise ValueError where it breaks them.

    XML whitespace may occur anywhere, and no other character outside the
    base64 alphabet may occur at all. The padding must be complete, and the
    bits it leaves over must be zero: the character before ``==`` is one of
    ``AQgw`` and the one before a single ``=`` one of ``AEIMQUYcgkosw048``.
    """
    data = "".join(text.split())
    if len(data) != len(text) and len(text) - len(data) != sum(text.count(space) for space in _XML_WHITESPACE):
        raise ValueError("whitespace other than XML's")
    # pybase64 decodes with SIMD instructions: about 5 µs for a card of 100 KB, against 190 µs in binascii.
    decoded = pybase64.b64decode(data, validate=True)
    if data.endswith("=="):
        if data[-3] not in "AQgw":
            raise ValueError("unused bits set before ==")
    elif data.endswith("=") and data[-2] not in "AEIMQUYcgkosw048":
        raise ValueError("unused bits set before =")
    return decoded


def parse_card(source: bytes | etree._Element, *, max_bytes: int | None = None) -> Card:
    """Parse and validate a card; each file's content must match its recorded size and SHA-256.

    ``source`` is the card's XML or its element, already parsed by the SOAP
    layer. Bytes are parsed hardened (no DTD, no entities, no network,
    ``max_bytes``). Schema errors and file mismatches raise
    :class:`InvalidDocumentError` with one problem each, whose ``code`` is
    ``card-schema`` or ``card-file``.
    """
    if isinstance(source, etree._Element):
        # lxml validates an element inside a larger tree as the root of a
        # document of its own, so the card is checked without being copied out.
        root = source
    else:
        from ..xml import parse_tree

        parsed = parse_tree(source, max_bytes)
        root = parsed.getroot() if isinstance(parsed, etree._ElementTree) else parsed
    schema = _card_reading_schema()
    if not schema.validate(root):
        problems = [
            Problem("card-schema", N_("the card does not match card.xsd: {reason}"), line=error.line, params={"reason": error.message})
            for error in schema.error_log
        ]
        raise InvalidDocumentError(problems, source="card")

    def text(name: str) -> str:
        return root.findtext(f"{_C}{name}") or ""

    problems: list[Problem] = []
    document = _read_file(root.find(f"{_C}document"), "document", problems)
    attachments = tuple(
        _read_file(element, f"attachments[{index}]", problems)
        for index, element in enumerate(root.iterfind(f"{_C}attachments/{_C}attachment"), start=1)
    )
    if problems:
        raise InvalidDocumentError(problems, source="card")
    to_number = root.findtext(f"{_C}docToNumber")
    return Card(
        doc_no=text("docNo"),
        doc_date=dt.date.fromisoformat(text("docDate")[:10]),
        doc_lang=text("docLang"),
        document_kind=DocumentKind(text("documentKind")),
        sender_bin=text("senderBin"),
        signer_name_kz=text("signerNameKz"),
        signer_name_ru=text("signerNameRu"),
        author_name_kz=text("authorNameKz"),
        author_name_ru=text("authorNameRu"),
        description=text("description"),
        fact_count=int(text("factCount")),
        append_count=int(text("appendCount")),
        sheet_count=int(text("sheetCount")),
        carrier_type=int(text("carrierType")),
        doc_to_number=to_number,
        document=document,
        attachments=attachments,
    )


def _read_file(element: etree._Element, location: str, problems: list[Problem]) -> AttachedFile:
    name = element.findtext(f"{_C}fileName") or ""
    media_type = element.findtext(f"{_C}mediaType") or ""
    declared_size = int(element.findtext(f"{_C}size") or "0")
    declared_sha256 = element.findtext(f"{_C}sha256") or ""
    content_element = element.find(f"{_C}content")
    # A comment or processing instruction splits the text but is not part of the value.
    text = (content_element.text or "") if len(content_element) == 0 else "".join(content_element.itertext())
    try:
        content = _decode_base64(text)
    except ValueError:
        problems.append(Problem("card-file", N_("the content of {value} is not valid base64"), field=f"{location}.content", value=name, location=location))
        return AttachedFile(name, media_type, b"")
    attached = AttachedFile(name, media_type, content)
    if attached.size != declared_size:
        problems.append(
            Problem(
                "card-file",
                N_("{value} is {actual} bytes but the card records {expected} bytes"),
                field=f"{location}.size",
                value=name,
                location=location,
                params={"actual": attached.size, "expected": declared_size},
            )
        )
    if attached.sha256 != declared_sha256:
        problems.append(
            Problem(
                "card-file",
                N_("the SHA-256 of {value} is {actual} but the card records {expected}"),
                field=f"{location}.sha256",
                value=name,
                location=location,
                params={"actual": attached.sha256, "expected": declared_sha256},
            )
        )
    return attached


def check_card(card: Card, document: Document) -> tuple[Problem, ...]:
    """Compare the card with the signed document it carries and with the evidence files.

    The card's number, date, kind, sender BIN and fact count must equal the
    document's. Each evidence file the notification lists must be attached
    with the same SHA-256 and size, and no file may be attached that the
    notification does not list, because only the listed ones are covered by
    the signature.
    """
    header = document.header
    problems: list[Problem] = []

    def compare(field_name: str, card_value: object, document_value: object) -> None:
        if card_value != document_value:
            problems.append(
                Problem(
                    "card-mismatch",
                    N_("the card's {field} is {value} but the signed document has {expected}"),
                    field=field_name,
                    value=str(card_value),
                    params={"expected": str(document_value)},
                )
            )

    compare("docNo", card.doc_no, header.number)
    compare("docDate", card.doc_date, header.date)
    compare("documentKind", card.document_kind.value, str(document.kind))
    compare("senderBin", card.sender_bin, header.sender.bin or "")
    if isinstance(document, Notification):
        compare("factCount", card.fact_count, len(document.facts))
        problems.extend(_check_evidence(card, document))
    else:
        compare("factCount", card.fact_count, len(document.employees))
        compare("appendCount", card.append_count, 0)
    if card.append_count != len(card.attachments):
        compare("appendCount", card.append_count, len(card.attachments))
    return tuple(problems)


def _check_evidence(card: Card, notification: Notification) -> list[Problem]:
    problems: list[Problem] = []
    attached = {item.sha256: item for item in card.attachments}
    listed_hashes = set()
    for evidence in notification.evidence:
        listed_hashes.add(evidence.sha256)
        found = attached.get(evidence.sha256)
        if found is None:
            problems.append(
                Problem(
                    "evidence-missing",
                    N_("evidence {value} (SHA-256 {sha256}) listed in the signed notification is not attached; attach the exact file that was signed"),
                    field=f"evidence[{evidence.number}]",
                    value=evidence.file_name,
                    params={"sha256": evidence.sha256},
                )
            )
        elif found.size != evidence.size:
            problems.append(
                Problem(
                    "evidence-mismatch",
                    N_("evidence {value} is {actual} bytes but the signed notification records {expected} bytes"),
                    field=f"evidence[{evidence.number}].size",
                    value=evidence.file_name,
                    params={"actual": found.size, "expected": evidence.size},
                )
            )
    for item in card.attachments:
        if item.sha256 not in listed_hashes:
            problems.append(
                Problem(
                    "evidence-unlisted",
                    N_("the attached file {value} (SHA-256 {sha256}) is not listed in the signed notification; attach only the files the notification lists"),
                    field="attachments",
                    value=item.file_name,
                    params={"sha256": item.sha256},
                )
            )
    return problems
