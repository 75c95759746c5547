"""XML namespaces, root elements and schema files of the two documents.

The namespace URNs carry a version: a change that makes old documents
invalid gets a new URN (``...:2``) and a new schema file.
"""

from __future__ import annotations

from lxml import etree

from ..errors import InvalidDocumentError, Problem
from ..i18n import N_
from ..model import DocumentKind

__all__ = [
    "DS_NS",
    "NOTIFICATION_NS",
    "ROOT_TAGS",
    "ROSTER_NS",
    "SCHEMA_FILES",
    "document_kind",
    "namespace_of",
]

NOTIFICATION_NS = "urn:edms-adapter:notification:1"
ROSTER_NS = "urn:edms-adapter:roster:1"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"

_NAMESPACES: dict[DocumentKind, str] = {
    DocumentKind.NOTIFICATION: NOTIFICATION_NS,
    DocumentKind.ROSTER: ROSTER_NS,
}

#: Clark-notation tag of each document's root element.
ROOT_TAGS: dict[str, DocumentKind] = {
    f"{{{NOTIFICATION_NS}}}notification": DocumentKind.NOTIFICATION,
    f"{{{ROSTER_NS}}}roster": DocumentKind.ROSTER,
}

#: Schema file of each document, as named for :func:`schemas.schema_path`.
SCHEMA_FILES: dict[DocumentKind, str] = {
    DocumentKind.NOTIFICATION: "notification.xsd",
    DocumentKind.ROSTER: "roster.xsd",
}


def namespace_of(kind: DocumentKind) -> str:
    """Return the namespace URN of documents of ``kind``."""
    return _NAMESPACES[kind]


def document_kind(root: etree._Element | str) -> DocumentKind:
    """Return the kind of document whose root element (or its Clark-notation tag) is ``root``.

    Raises :class:`~adapter.errors.InvalidDocumentError` for any other root,
    naming the root found and the two expected.
    """
    tag = root if isinstance(root, str) else root.tag
    kind = ROOT_TAGS.get(tag) if isinstance(tag, str) else None
    if kind is None:
        raise InvalidDocumentError(
            [
                Problem(
                    "unknown-root",
                    N_("the root element is {value}, not a notification or roster of edms-adapter; expected {expected}"),
                    field="root",
                    value=str(tag),
                    params={"expected": " | ".join(ROOT_TAGS)},
                )
            ]
        )
    return kind
