"""The bundled WSDL and XSD files as the receiving service serves them at ``?wsdl`` and ``?xsd=``."""

from __future__ import annotations

import urllib.parse
from typing import Any

from lxml import etree

from schemas import schema_path

__all__ = ["SCHEMA_FILES", "WSDL_FILES", "request_url", "rewritten_schema"]

SCHEMA_FILES = ("SyncChannel.xsd", "AsyncChannel.xsd", "common.xsd")
WSDL_FILES = {"SyncChannel": "SyncChannel.wsdl", "AsyncChannel": "AsyncChannel.wsdl"}
_XSD_NS = "http://www.w3.org/2001/XMLSchema"
_WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"


def request_url(environ: dict[str, Any]) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    path = urllib.parse.quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
    return f"{scheme}://{host}{path}"


def rewritten_schema(name: str, base: str) -> bytes:
    """Return a bundled WSDL or XSD with its address and schema locations pointing at ``base``."""
    tree = etree.parse(str(schema_path(f"gateway/{name}")), etree.XMLParser(resolve_entities=False, no_network=True))
    for element in tree.iter(f"{{{_XSD_NS}}}import", f"{{{_XSD_NS}}}include"):
        location = element.get("schemaLocation")
        if location in SCHEMA_FILES:
            element.set("schemaLocation", f"{base}?xsd={location}")
    for address in tree.iter(f"{{{_WSDL_SOAP_NS}}}address"):
        address.set("location", base)
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8")
