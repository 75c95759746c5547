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
import sys
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

__all__ = ["parse_xml", "read_tree"]

# Child elements of a fact in the order of Fact's fields.
_FACT_FIELDS = ("number", "protocol", "ip", "domain", "url", "mac", "imei", "description")

# Local names of the child elements the readers look up.
_LOCAL_NAMES = (
    "number", "date", "language", "edition", "sender", "recipient", "nameKk", "nameRu", "bin",
    "position", "fullName", "iin", "role", "type", "other", "legalNorm", "description",
    "protocol", "ip", "domain", "url", "mac", "imei", "fact", "fileName", "mediaType", "size", "sha256",
    "workEmail", "mobilePhone",
)  # fmt: skip


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


def read_tree(root: etree._Element) -> Document:
    """Return the Notification or Roster whose root element ``root`` is already parsed and validated.

    This is for a caller that has already checked the tree against the
    schema, such as the receiving service. It reads the same model as
    :func:`parse_xml` without parsing again. A ``ds:Signature`` child of the root is skipped.
    A tree with a comment or processing instruction inside the root is read
    by serialising and parsing it again, so that text split by a comment
    is read whole, as :func:`parse_xml` does.
    """
    if root.xpath("boolean(.//comment() | .//processing-instruction())"):
        return parse_xml(etree.tostring(root), max_bytes=sys.maxsize, validate=False)
    reader = _DocumentReader(document_kind(root.tag))
    # The schema fixes where each main element is: a child of the root, or an
    # item of a list that is a child of the root. Only those two levels are walked.
    for child in root:
        if not reader.read(child):
            reader.read_items(child)
    return reader.document(b"")


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
        self.local_names = {self._tag(name): name for name in _LOCAL_NAMES}
        self.fact_positions = {self._tag(name): position for position, name in enumerate(_FACT_FIELDS)}

    def _tag(self, local_name: str) -> str:
        return f"{{{self.ns}}}{local_name}"

    def read(self, element: etree._Element) -> bool:
        """Read ``element`` into the model when it is one of the main elements in its place; return whether it was."""
        entry = self.handlers.get(element.tag)
        if entry is None:
            return False
        parent = element.getparent()
        if parent is None or parent.tag != entry[0]:
            return False
        self._handle(entry[1], element)
        return True

    def read_items(self, element: etree._Element) -> None:
        """Read the list items among the children of ``element`` (facts, evidence files, employees)."""
        handlers = self.handlers
        element_tag = element.tag
        for item in element:
            entry = handlers.get(item.tag)
            if entry is not None and entry[0] == element_tag:
                self._handle(entry[1], item)

    def _handle(self, handler: Callable[[etree._Element], None], element: etree._Element) -> None:
        try:
            handler(element)
        except (KeyError, ValueError) as exc:
            raise _structure_error(element, exc, self._read_so_far(element.tag)) from exc

    def _read_so_far(self, tag: str) -> int | None:
        """Return the position of the list item with ``tag`` being read, or ``None`` for a single element."""
        lists = {self._tag("fact"): self.facts, self._tag("file"): self.evidence, self._tag("employee"): self.employees}
        read = lists.get(tag)
        return None if read is None else len(read) + 1

    def end(self, element: etree._Element) -> None:
        if not self.read(element):
            return
        parent = element.getparent()
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
        # Keyed by local name through a table, so a child in another namespace
        # (or a comment, whose tag is not a string) is left out without string work per child.
        names = self.local_names
        return {name: child for child in element if (name := names.get(child.tag)) is not None}

    def _values(self, element: etree._Element) -> dict[str, str]:
        """Return the text of each child element of ``element`` by local name, for leaf-only records."""
        names = self.local_names
        return {name: child.text or "" for child in element if (name := names.get(child.tag)) is not None}

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
        # A fact is the longest list, so its children go by position into
        # Fact's field order instead of through a mapping of names.
        values: list[str | None] = [None] * len(_FACT_FIELDS)
        positions = self.fact_positions
        for child in element:
            position = positions.get(child.tag)
            if position is not None:
                values[position] = child.text or ""
        number, protocol = values[0], values[1]
        if number is None or protocol is None:
            raise KeyError("number" if number is None else "protocol")
        values[0] = int(number)
        self.facts.append(Fact(*values))

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
        values = self._values(element)
        self.employees.append(
            Employee(
                number=int(values["number"]),
                full_name=values["fullName"],
                work_email=values["workEmail"],
                mobile_phone=values["mobilePhone"],
            )
        )


def _text(element: etree._Element) -> str:
    return element.text if element.text is not None else ""


def _optional(fields: dict[str, etree._Element], name: str) -> str | None:
    element = fields.get(name)
    return None if element is None else _text(element)


def _structure_error(element: etree._Element, exc: Exception, position: int | None) -> InvalidDocumentError:
    # The position is counted by the reader: the streaming reader has dropped
    # earlier siblings, so the tree no longer gives it.
    names = [etree.QName(node).localname for node in reversed([element, *element.iterancestors()])]
    path = "/" + "/".join(names) + ("" if position is None else f"[{position}]")
    detail: Any = f"missing element {exc.args[0]}" if isinstance(exc, KeyError) else str(exc)
    problem = Problem(
        "invalid-structure",
        N_("element {element} cannot be read: {reason}"),
        location=path,
        line=element.sourceline,
        params={"element": path, "reason": detail},
    )
    return InvalidDocumentError([problem])
