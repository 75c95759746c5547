"""Hardened reading of XML: size limit, no DTD, no entities, no network.

Every document the product reads may come from another body or from the
network, so parsing follows one set of rules:

* the document must not be larger than a limit (``documents.max_xml_bytes``
  by default), checked before a byte is parsed;
* a DOCTYPE is rejected before parsing, so neither entity expansion
  ("billion laughs") nor external entities can happen. The parsed tree is
  checked again for a DTD;
* the parser never loads anything over the network or from other files;
* lxml's ``huge_tree`` (which lifts libxml2's 10,000,000-byte limit on one
  text node) is on only when the size limit is larger than that, for callers
  such as the SOAP layer whose base64 payloads can exceed it.

Only UTF-8 (or ASCII-compatible) documents are accepted: the DOCTYPE check
reads the bytes before the root element.
"""

from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

from ..errors import DocumentTooLargeError, InvalidDocumentError, Problem
from ..i18n import N_

__all__ = [
    "LIBXML2_MAX_TEXT_LENGTH",
    "Source",
    "check_prolog",
    "default_max_bytes",
    "parse_tree",
    "root_tag",
    "secure_parser",
    "source_name",
]

Source = bytes | str | os.PathLike[str]

#: libxml2's XML_MAX_TEXT_LENGTH: the largest text node parsed without huge_tree.
LIBXML2_MAX_TEXT_LENGTH = 10_000_000

_HEAD_BYTES = 64 * 1024
_ROOT_START_CHUNK = 2048
_WHITESPACE = b" \t\r\n"


def default_max_bytes() -> int:
    """Return ``documents.max_xml_bytes`` from the configuration file in use."""
    from ..config import load_config

    return load_config().documents.max_xml_bytes


def source_name(source: Source) -> str:
    """Return a name for ``source`` in messages: the path, or ``<bytes>``."""
    return "<bytes>" if isinstance(source, (bytes, bytearray)) else os.fspath(source)


def secure_parser(
    max_bytes: int | None = None,
    *,
    schema: etree.XMLSchema | None = None,
    remove_comments: bool = False,
) -> etree.XMLParser:
    """Return an lxml parser that loads no DTD, expands no entity and opens no network or file.

    ``huge_tree`` is on only when ``max_bytes`` exceeds libxml2's limit for
    one text node. ``schema`` validates while parsing. The parser alone does
    not reject a DOCTYPE: :func:`parse_tree` does, and callers that parse
    with this parser themselves should use :func:`parse_tree` instead.
    """
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=max_bytes is not None and max_bytes > LIBXML2_MAX_TEXT_LENGTH,
        remove_comments=remove_comments,
        remove_pis=remove_comments,
        schema=schema,
    )


def parse_tree(
    source: Source,
    max_bytes: int | None = None,
    *,
    remove_comments: bool = False,
) -> etree._ElementTree:
    """Parse ``source`` (bytes or a path) into an lxml tree under the rules of this module.

    ``max_bytes`` defaults to ``documents.max_xml_bytes``. Raises
    :class:`~adapter.errors.DocumentTooLargeError` above the limit and
    :class:`~adapter.errors.InvalidDocumentError` for a DOCTYPE or XML that
    is not well-formed.
    """
    limit = default_max_bytes() if max_bytes is None else max_bytes
    check_size(source, limit)
    check_prolog(source)
    parser = secure_parser(limit, remove_comments=remove_comments)
    try:
        if isinstance(source, (bytes, bytearray)):
            tree = etree.ElementTree(etree.fromstring(bytes(source), parser))
        else:
            tree = etree.parse(os.fspath(source), parser)
    except etree.XMLSyntaxError as exc:
        raise malformed_error(exc, source) from exc
    reject_dtd(tree, source)
    return tree


def check_size(source: Source, limit: int) -> int:
    """Return the size of ``source`` in bytes, or raise DocumentTooLargeError above ``limit``."""
    if isinstance(source, (bytes, bytearray)):
        size = len(source)
    else:
        try:
            size = Path(source).stat().st_size
        except OSError as exc:
            raise InvalidDocumentError(
                [Problem("unreadable", N_("cannot read {value}: {reason}"), value=os.fspath(source), params={"reason": exc.strerror or str(exc)})],
                source=source_name(source),
            ) from exc
    if size > limit:
        raise DocumentTooLargeError(size=size, limit=limit, source=source_name(source))
    return size


def check_prolog(source: Source) -> None:
    """Check what comes before the root element of ``source``, without parsing the root.

    Raises InvalidDocumentError when the prolog contains a DOCTYPE, when the
    document is not UTF-8, or when it has no root element, as
    :func:`root_tag` does.
    """
    size = _HEAD_BYTES
    while True:
        head = _read_head(source, size)
        complete = len(head) < size
        if _root_start(head, complete, source) is not None:
            return
        if complete:
            raise _problem_error("malformed-xml", N_("the document has no root element; it is not XML or it is cut off"), source)
        size *= 4


def root_tag(source: Source) -> str:
    """Return the Clark-notation tag of the root element, read from the start of ``source``.

    Returns ``""`` when the root start tag is not well-formed, which the full
    parse then reports with its line. Raises InvalidDocumentError when the
    prolog contains a DOCTYPE, when the document is not UTF-8, or when it has
    no root element.
    """
    size = _HEAD_BYTES
    while True:
        head = _read_head(source, size)
        complete = len(head) < size
        start = _root_start(head, complete, source)
        if start is not None:
            tag = _parse_root_start(head[start:])
            if tag is not None:
                return tag
        if complete:
            raise _problem_error("malformed-xml", N_("the document has no root element; it is not XML or it is cut off"), source)
        size *= 4


def _read_head(source: Source, size: int) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source[:size])
    with open(source, "rb") as handle:
        return handle.read(size)


def _root_start(head: bytes, complete: bool, source: Source) -> int | None:
    """Return the offset of the root element's ``<`` in ``head``, or ``None`` when more bytes are needed."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
        raise _problem_error("not-utf8", N_("the document is not UTF-8; save it as UTF-8"), source)
    index = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while True:
        while index < len(head) and head[index] in _WHITESPACE:
            index += 1
        if not complete and len(head) - index < len(b"<!DOCTYPE"):
            return None
        if index >= len(head):
            return None
        if head.startswith(b"<?", index):
            end = head.find(b"?>", index + 2)
            if end < 0:
                return None
            index = end + 2
        elif head.startswith(b"<!--", index):
            end = head.find(b"-->", index + 4)
            if end < 0:
                return None
            index = end + 3
        elif head.startswith(b"<!", index):
            # A DOCTYPE, or a declaration that is not allowed here at all.
            raise _problem_error(
                "dtd-forbidden",
                N_("the document contains a DOCTYPE (document type declaration); DTDs and entities are not accepted, so remove the DOCTYPE"),
                source,
            )
        else:
            return index


def _parse_root_start(data: bytes) -> str | None:
    """Return the root tag at the start of ``data``, ``""`` when it is not well-formed, or ``None`` when cut off."""
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, load_dtd=False, no_network=True)
    try:
        # Small pieces, so the parser stops soon after the root start tag
        # instead of building the first 64 KiB of the tree.
        for offset in range(0, len(data), _ROOT_START_CHUNK):
            parser.feed(data[offset : offset + _ROOT_START_CHUNK])
            for _event, element in parser.read_events():
                return str(element.tag)
    except etree.XMLSyntaxError:
        # The full parse reports the error with its line.
        return ""
    return None


def reject_dtd(tree: etree._ElementTree, source: Source) -> None:
    """Raise InvalidDocumentError when the parsed ``tree`` has a DTD."""
    info = tree.docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise _problem_error(
            "dtd-forbidden",
            N_("the document contains a DOCTYPE (document type declaration); DTDs and entities are not accepted, so remove the DOCTYPE"),
            source,
        )


def malformed_error(exc: etree.XMLSyntaxError, source: Source) -> InvalidDocumentError:
    """Return the InvalidDocumentError for XML that lxml could not parse."""
    line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
    reason = exc.msg or str(exc)
    problem = Problem("malformed-xml", N_("the document is not well-formed XML: {reason}"), line=line, params={"reason": reason})
    return InvalidDocumentError([problem], source=source_name(source))


def _problem_error(code: str, message: str, source: Source) -> InvalidDocumentError:
    return InvalidDocumentError([Problem(code, message)], source=source_name(source))
