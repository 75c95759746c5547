"""The notification and roster as XML: build, parse, validate.

* :func:`build_xml` / :func:`write_xml` turn a model object into XML;
* :func:`parse_xml` turns XML back into the model, hardened and streaming,
  and :func:`read_tree` reads the model from a tree already validated;
* :func:`validate_xml` / :func:`check_xml` check a document against its XSD;
* :func:`secure_parser` / :func:`parse_tree` give other parts of the product
  the same hardened parsing for their own XML.
"""

from __future__ import annotations

from .builder import build_xml, document_id, write_xml
from .namespaces import DS_NS, NOTIFICATION_NS, ROSTER_NS, document_kind
from .parser import parse_xml, read_tree
from .schema import check_xml, validate_xml
from .security import parse_tree, secure_parser

__all__ = [
    "DS_NS",
    "NOTIFICATION_NS",
    "ROSTER_NS",
    "build_xml",
    "check_xml",
    "document_id",
    "document_kind",
    "parse_tree",
    "parse_xml",
    "read_tree",
    "secure_parser",
    "validate_xml",
    "write_xml",
]
