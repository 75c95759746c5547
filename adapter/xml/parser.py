"""Read a notification or roster from XML into the model.

:func:`parse_xml` streams: lxml's ``iterparse`` validates against the XSD
while it reads, each fact or employee becomes a model object as soon as its
element ends, and the element is then dropped. A document of 100,000 facts is
therefore never held as a whole tree. Reading follows the rules of
:mod:`adapter.xml.security` (size limit, no DTD, no entities, no network).
Comments and processing instructions are dropped, so a comment inside a value
cannot split it. A ``ds:Signature`` child of the root is skipped: checking it
is :mod:`signing.verify`'s work.

For a document built by :func:`adapter.xml.build_xml` the round trip is
exact: ``parse_xml(build_xml(doc)) == doc``.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable
from typing import Any

from lxml import etree

from ..codelists import OTHER
from ..errors import InvalidDocumentError, Problem
from ..i18n import N_
from ..model import (
    Document,
    DocumentHeader,
    DocumentKind,
    Employee,
    Evidence,
    Fact,
    Language,
    Notification,
    Organisation,
    Roster,
    Signatory,
    SignatoryRole,
    Violation,
)
from .namespaces import document_kind, namespace_of
from .schema import libxml2_schema, validate_xml
from .security import (
    LIBXML2_MAX_TEXT_LENGTH,
    Source,
    check_size,
    default_max_bytes,
    malformed_error,
    parse_tree,
    reject_dtd,
    root_tag,
    source_name,
)

__all__ = ["parse_xml"]


def parse_xml(source: Source, *, max_bytes: int | None = None, validate: bool = True) -> Document:
    """Return the Notification or Roster in ``source`` (XML bytes or a path).

    ``max_bytes`` defaults to ``documents.max_xml_bytes``. With ``validate``
    (the default) the document must match its XSD. Raises
    :class:`~adapter.errors.DocumentTooLargeError` above the limit and
    :class:`~adapter.errors.InvalidDocumentError` listing every problem for a
    document that is not well-formed, has a DOCTYPE or does not match the
    schema.
    """
    limit = default_max_bytes() if max_bytes is None else max_bytes
    check_size(source, limit)
    tag = root_tag(source)
    if not tag:
        # The root start tag is not well-formed: the full parse reports where.
        parse_tree(source, limit)
    kind = document_kind(tag)
    reader = _DocumentReader(kind)
    handle = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray)) else open(os.fspath(source), "rb")  # noqa: SIM115 - closed below
    try:
        events = etree.iterparse(
            handle,
            events=("start", "end"),
            tag=reader.tags,
            schema=libxml2_schema(kind) if validate else None,
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=limit > LIBXML2_MAX_TEXT_LENGTH,
            remove_comments=True,
            remove_pis=True,
        )
        for event, element in events:
            if event == "start":
                if element.getparent() is None:
                    reject_dtd(element.getroottree(), source)
                continue
            reader.end(element)
    except etree.XMLSyntaxError as exc:
        if validate:
            problems = validate_xml(source, detailed=True, max_bytes=limit)
            if problems:
                raise InvalidDocumentError(problems, source=source_name(source)) from exc
        raise malformed_error(exc, source) from exc
    finally:
        handle.close()
    return reader.document(source)


class _DocumentReader:
    """Turn the end events of one document's main elements into model objects."""

    def __init__(self, kind: DocumentKind) -> None:
        self.kind = kind
        self.ns = namespace_of(kind)
        self.prefix = f"{{{self.ns}}}"
        self.root_tag = self._tag(kind.value)
        self.header: DocumentHeader | None = None
        self.violation: Violation | None = None
        self.signatory: Signatory | None = None
        self.facts: list[Fact] = []
        self.evidence: list[Evidence] = []
        self.employees: list[Employee] = []
        self.handlers: dict[str, tuple[str, Callable[[etree._Element], None]]] = {
            self._tag("header"): (self.root_tag, self._header),
            self._tag("signatory"): (self.root_tag, self._signatory),
        }
        if kind is DocumentKind.NOTIFICATION:
            self.handlers[self._tag("violation")] = (self.root_tag, self._violation)
            self.handlers[self._tag("fact")] = (self._tag("facts"), self._fact)
            self.handlers[self._tag("file")] = (self._tag("evidence"), self._evidence)
        else:
            self.handlers[self._tag("employee")] = (self._tag("employees"), self._employee)
        self.tags = [self.root_tag, *self.handlers]

    def _tag(self, local_name: str) -> str:
        return f"{{{self.ns}}}{local_name}"

    def end(self, element: etree._Element) -> None:
        entry = self.handlers.get(element.tag)
        if entry is None:
            return
        parent_tag, handler = entry
        parent = element.getparent()
        if parent is None or parent.tag != parent_tag:
            return
        try:
            handler(element)
        except (KeyError, ValueError) as exc:
            raise _structure_error(element, exc) from exc
        # Drop what has been read so memory stays bounded for long lists.
        element.clear(keep_tail=False)
        while element.getprevious() is not None:
            del parent[0]

    def document(self, source: Source) -> Document:
        missing = [name for name, value in (("header", self.header), ("signatory", self.signatory)) if value is None]
        if self.kind is DocumentKind.NOTIFICATION and self.violation is None:
            missing.append("violation")
        if missing:
            problems = [Problem("missing-element", N_("the document lacks the element {element}"), field=name, params={"element": name}) for name in missing]
            raise InvalidDocumentError(problems, source=source_name(source))
        assert self.header is not None and self.signatory is not None
        if self.kind is DocumentKind.NOTIFICATION:
            assert self.violation is not None
            return Notification(self.header, self.violation, tuple(self.facts), self.signatory, tuple(self.evidence))
        return Roster(self.header, tuple(self.employees), self.signatory)

    # Element readers

    def _children(self, element: etree._Element) -> dict[str, etree._Element]:
        prefix = self.prefix
        prefix_length = len(prefix)
        return {child.tag[prefix_length:]: child for child in element if isinstance(child.tag, str) and child.tag.startswith(prefix)}

    def _header(self, element: etree._Element) -> None:
        fields = self._children(element)
        self.header = DocumentHeader(
            number=_text(fields["number"]),
            date=dt.date.fromisoformat(_text(fields["date"])),
            language=Language(_text(fields["language"])),
            edition=_text(fields["edition"]),
            sender=self._organisation(fields["sender"]),
            recipient=self._organisation(fields["recipient"]),
        )

    def _organisation(self, element: etree._Element) -> Organisation:
        fields = self._children(element)
        return Organisation(_text(fields["nameKk"]), _text(fields["nameRu"]), _optional(fields, "bin"))

    def _signatory(self, element: etree._Element) -> None:
        fields = self._children(element)
        self.signatory = Signatory(
            position=_text(fields["position"]),
            full_name=_text(fields["fullName"]),
            iin=_text(fields["iin"]),
            role=SignatoryRole(_text(fields["role"])),
        )

    def _violation(self, element: etree._Element) -> None:
        fields = self._children(element)
        legal_norm = _text(fields["legalNorm"])
        if "other" in fields:
            self.violation = Violation(OTHER, legal_norm, _text(fields["other"]))
        else:
            self.violation = Violation(_text(fields["type"]), legal_norm, _optional(fields, "description"))

    def _fact(self, element: etree._Element) -> None:
        fields = self._children(element)
        self.facts.append(
            Fact(
                number=int(_text(fields["number"])),
                protocol=_text(fields["protocol"]),
                ip=_optional(fields, "ip"),
                domain=_optional(fields, "domain"),
                url=_optional(fields, "url"),
                mac=_optional(fields, "mac"),
                imei=_optional(fields, "imei"),
                description=_optional(fields, "description"),
            )
        )

    def _evidence(self, element: etree._Element) -> None:
        fields = self._children(element)
        fact = _optional(fields, "fact")
        self.evidence.append(
            Evidence(
                number=int(_text(fields["number"])),
                file_name=_text(fields["fileName"]),
                media_type=_text(fields["mediaType"]),
                size=int(_text(fields["size"])),
                sha256=_text(fields["sha256"]),
                fact=None if fact is None else int(fact),
            )
        )

    def _employee(self, element: etree._Element) -> None:
        fields = self._children(element)
        self.employees.append(
            Employee(
                number=int(_text(fields["number"])),
                full_name=_text(fields["fullName"]),
                work_email=_text(fields["workEmail"]),
                mobile_phone=_text(fields["mobilePhone"]),
            )
        )


def _text(element: etree._Element) -> str:
    return element.text if element.text is not None else ""


def _optional(fields: dict[str, etree._Element], name: str) -> str | None:
    element = fields.get(name)
    return None if element is None else _text(element)


def _structure_error(element: etree._Element, exc: Exception) -> InvalidDocumentError:
    path = element.getroottree().getpath(element)
    detail: Any = f"missing element {exc.args[0]}" if isinstance(exc, KeyError) else str(exc)
    problem = Problem(
        "invalid-structure",
        N_("element {element} cannot be read: {reason}"),
        location=path,
        line=element.sourceline,
        params={"element": path, "reason": detail},
    )
    return InvalidDocumentError([problem])
