"""Serialise a notification or roster to XML.

The output is UTF-8 without pretty-printing: no whitespace is added between
elements, so a signature over the bytes does not depend on indentation. The
same document always gives the same bytes, because the element order is
fixed, attributes are written in a fixed order and the root ``Id`` is derived
from the document. :func:`write_xml` streams with :class:`lxml.etree.xmlfile`,
so only one fact at a time is held as XML; :func:`build_xml` returns the same
bytes in memory.

A value that is ``None`` is left out; the schema then reports a missing
required element. Neither function validates: use
:func:`adapter.xml.check_xml` on the result.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import idna
from lxml import etree

from ..codelists import OTHER
from ..errors import InputError
from ..i18n import N_
from ..model import (
    Document,
    DocumentHeader,
    Evidence,
    Fact,
    Notification,
    Organisation,
    Roster,
    Signatory,
    Violation,
)
from ..outputs import replacing
from .namespaces import namespace_of

__all__ = ["build_xml", "document_id", "write_xml"]

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

#: Characters XML 1.0 does not allow in a document, even escaped.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

#: How many facts are written between two calls of the progress callback.
PROGRESS_STEP = 1000

ProgressCallback = Callable[[int], None]


def document_id(document: Document) -> str:
    """Return the root ``Id`` of ``document``: its kind and a digest of sender BIN, number and date.

    The value is an XML NCName, so it is a valid ``xs:ID``, and it is the
    same every time the same document is built.
    """
    header = document.header
    key = "\n".join([document.kind.value, header.sender.bin or "", header.number, header.date.isoformat()])
    return f"{document.kind.value}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}"


def build_xml(document: Document, *, root_id: str | None = None) -> bytes:
    """Return ``document`` as UTF-8 XML bytes; ``root_id`` overrides the derived root ``Id``."""
    buffer = io.BytesIO()
    write_xml(document, buffer, root_id=root_id)
    return buffer.getvalue()


def write_xml(
    document: Document,
    target: str | os.PathLike[str] | BinaryIO,
    *,
    root_id: str | None = None,
    progress: ProgressCallback | None = None,
) -> None:
    """Write ``document`` as XML to a path or a binary file object.

    A path is written through a temporary file in the same folder that
    replaces it only when the whole document is written, so an error leaves
    an existing file untouched. A file object receives bytes as they are
    produced and contains a partial document after an error. ``progress`` is
    called with the number of facts or employees written so far, every
    :data:`PROGRESS_STEP` items and once at the end.

    Raises :class:`~adapter.errors.InputError` naming the field when a text
    contains a character that XML does not allow.
    """
    root_id = root_id or document_id(document)
    if isinstance(target, (str, os.PathLike)):
        _write_to_path(document, Path(target), root_id, progress)
    else:
        _DocumentWriter(target, document, progress).write(root_id)


def _write_to_path(document: Document, path: Path, root_id: str, progress: ProgressCallback | None) -> None:
    with replacing(path) as temporary, temporary.open("wb") as handle:
        _DocumentWriter(handle, document, progress).write(root_id)


class _DocumentWriter:
    """Stream one document to a binary file with :class:`lxml.etree.xmlfile`."""

    def __init__(self, output: BinaryIO, document: Document, progress: ProgressCallback | None) -> None:
        self.output = output
        self.document = document
        self.progress = progress
        self.namespace = namespace_of(document.kind)
        self.xf: etree.xmlfile | None = None
        # Location of the value being written, for error messages.
        self.location: str | None = None
        self.location_params: dict[str, object] = {}

    def write(self, root_id: str) -> None:
        self.output.write(XML_DECLARATION)
        with etree.xmlfile(self.output, encoding="UTF-8") as xf:
            self.xf = xf
            root_tag = self._tag(self.document.kind.value)
            with xf.element(root_tag, {"Id": root_id}, nsmap={None: self.namespace}):
                self._header(self.document.header)
                if isinstance(self.document, Notification):
                    self._notification_body(self.document)
                else:
                    self._roster_body(self.document)

    # Building blocks

    def _tag(self, local_name: str) -> str:
        return f"{{{self.namespace}}}{local_name}"

    @contextmanager
    def _element(self, local_name: str) -> Iterator[None]:
        assert self.xf is not None
        with self.xf.element(self._tag(local_name)):
            yield

    def _leaf(self, local_name: str, value: object, field: str, attributes: dict[str, str] | None = None) -> None:
        """Write ``<local_name>value</local_name>``, or nothing when ``value`` is ``None``."""
        if value is None:
            return
        text = value if isinstance(value, str) else str(value)
        self._check_text(text, field)
        if attributes:
            for attribute_value in attributes.values():
                self._check_text(attribute_value, field)
        assert self.xf is not None
        with self.xf.element(self._tag(local_name), attributes or {}):
            self.xf.write(text)

    def _check_text(self, text: str, field: str) -> None:
        bad = _NOT_XML_CHAR.search(text)
        if bad is None:
            return
        # The value itself stays out of the message: it may be personal data.
        raise InputError(
            N_("{field} contains the character {character} at position {position}, which XML does not allow; remove it"),
            field=field,
            location=self.location,
            character=f"U+{ord(bad.group()):04X}",
            position=bad.start() + 1,
            code="invalid-character",
            **self.location_params,
        )

    def _report_progress(self, count: int, total: int) -> None:
        if self.progress is not None and (count % PROGRESS_STEP == 0 or count == total):
            self.progress(count)

    # Shared parts

    def _header(self, header: DocumentHeader) -> None:
        with self._element("header"):
            self._leaf("number", header.number, "header.number")
            self._leaf("date", header.date.isoformat() if header.date is not None else None, "header.date")
            self._leaf("language", _code(header.language), "header.language")
            self._leaf("edition", header.edition, "header.edition")
            self._organisation("sender", header.sender)
            self._organisation("recipient", header.recipient)

    def _organisation(self, local_name: str, organisation: Organisation) -> None:
        with self._element(local_name):
            self._leaf("nameKk", organisation.name_kk, f"header.{local_name}.name_kk")
            self._leaf("nameRu", organisation.name_ru, f"header.{local_name}.name_ru")
            self._leaf("bin", organisation.bin, f"header.{local_name}.bin")

    def _signatory(self, signatory: Signatory) -> None:
        self.location, self.location_params = None, {}
        with self._element("signatory"):
            self._leaf("position", signatory.position, "signatory.position")
            self._leaf("fullName", signatory.full_name, "signatory.full_name")
            self._leaf("iin", signatory.iin, "signatory.iin")
            self._leaf("role", _code(signatory.role), "signatory.role")

    # Notification

    def _notification_body(self, notification: Notification) -> None:
        self._violation(notification.violation)
        total = len(notification.facts)
        with self._element("facts"):
            for count, fact in enumerate(notification.facts, start=1):
                self._fact(fact)
                self._report_progress(count, total)
        if notification.evidence:
            with self._element("evidence"):
                for evidence in notification.evidence:
                    self._evidence(evidence)
        self._signatory(notification.signatory)

    def _violation(self, violation: Violation) -> None:
        with self._element("violation"):
            if violation.type == OTHER:
                if violation.description is None:
                    raise InputError(
                        N_("violation type \"other\" needs a description that names the type; set violation.description"),
                        field="violation.description",
                        code="missing-value",
                    )
                self._leaf("other", violation.description, "violation.description")
            else:
                self._leaf("type", violation.type, "violation.type")
                self._leaf("description", violation.description, "violation.description")
            self._leaf("legalNorm", violation.legal_norm, "violation.legal_norm")

    def _fact(self, fact: Fact) -> None:
        self.location, self.location_params = N_("fact {fact}"), {"fact": fact.number}
        with self._element("fact"):
            self._leaf("number", fact.number, "facts.number")
            self._leaf("ip", fact.ip, "facts.ip")
            if fact.domain is not None:
                self._leaf("domain", fact.domain, "facts.domain", {"unicode": _domain_unicode(fact.domain)})
            self._leaf("url", fact.url, "facts.url")
            self._leaf("protocol", fact.protocol, "facts.protocol")
            self._leaf("mac", fact.mac, "facts.mac")
            self._leaf("imei", fact.imei, "facts.imei")
            self._leaf("description", fact.description, "facts.description")

    def _evidence(self, evidence: Evidence) -> None:
        self.location, self.location_params = N_("evidence file {evidence}"), {"evidence": evidence.number}
        with self._element("file"):
            self._leaf("number", evidence.number, "evidence.number")
            self._leaf("fileName", evidence.file_name, "evidence.file_name")
            self._leaf("mediaType", evidence.media_type, "evidence.media_type")
            self._leaf("size", evidence.size, "evidence.size")
            self._leaf("sha256", evidence.sha256, "evidence.sha256")
            self._leaf("fact", evidence.fact, "evidence.fact")

    # Roster

    def _roster_body(self, roster: Roster) -> None:
        total = len(roster.employees)
        with self._element("employees"):
            for count, employee in enumerate(roster.employees, start=1):
                self.location, self.location_params = N_("employee {employee}"), {"employee": employee.number}
                with self._element("employee"):
                    self._leaf("number", employee.number, "employees.number")
                    self._leaf("fullName", employee.full_name, "employees.full_name")
                    self._leaf("workEmail", employee.work_email, "employees.work_email")
                    self._leaf("mobilePhone", employee.mobile_phone, "employees.mobile_phone")
                self._report_progress(count, total)
        self._signatory(roster.signatory)


_LDH_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def _domain_unicode(domain: str) -> str:
    """Return the Unicode form of an A-label domain, as :attr:`Fact.domain_unicode` does.

    IDNA decoding works label by label, so each label is decoded once and
    cached: a list of 100,000 facts repeats the same few top-level domains.
    A domain that does not decode is returned unchanged.
    """
    try:
        return ".".join(_label_unicode(label) for label in domain.split("."))
    except idna.IDNAError:
        return domain


@functools.lru_cache(maxsize=4096)
def _label_unicode(label: str) -> str:
    if _LDH_LABEL.fullmatch(label) and not label.startswith("xn--"):
        return label
    return idna.ulabel(label)


def _code(value: object) -> str | None:
    """Return the code of an enum member (or a plain string) as written in XML."""
    if value is None:
        return None
    return str(getattr(value, "value", value))
