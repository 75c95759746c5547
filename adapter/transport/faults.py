"""SOAP 1.1 faults with the gateway's ``ErrorInfo`` detail, on both sides.

The receiving service builds them with :func:`fault_envelope`; the client
reads them with :func:`error_info_from_detail`. Codes the receiving service
of edms-adapter uses are in :class:`ServiceErrorCode`; the gateway's own
codes (``SBF-VE-8``, ``VAL-R-004``...) pass through unchanged.
"""

from __future__ import annotations

import datetime as dt
import enum

from lxml import etree

from ..errors import InputError
from .messages import ErrorInfo
from .namespaces import COMMON_TYPES_NS, SOAP11_ENV_NS
from .wire import add_child, child, child_text, format_datetime, parse_datetime

__all__ = [
    "ServiceErrorCode",
    "error_info_element",
    "error_info_from_detail",
    "fault_envelope",
]

_MAX_NESTING = 10


class ServiceErrorCode(enum.Enum):
    """``errorCode`` values the receiving service of edms-adapter returns."""

    #: The handler rejected the request for a business reason.
    BUSINESS_ERROR = "SCSE001"
    INVALID_REQUEST = "INVALID_REQUEST"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    UNKNOWN_OPERATION = "UNKNOWN_OPERATION"
    UNSUPPORTED_OPERATION = "UNSUPPORTED_OPERATION"
    WSSE_MISSING = "WSSE_MISSING"
    WSSE_INVALID = "WSSE_INVALID"
    SENDER_NOT_TRUSTED = "SENDER_NOT_TRUSTED"
    INVALID_DOCUMENT = "INVALID_DOCUMENT"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    NOT_FOUND = "NOT_FOUND"
    #: Temporary failure; the client retries with the same message id.
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


def error_info_element(info: ErrorInfo, tag: str = f"{{{COMMON_TYPES_NS}}}ErrorInfo") -> etree._Element:
    """Return ``info`` as an ``ErrorInfo`` element with unqualified children."""
    element = etree.Element(tag, nsmap={"common": COMMON_TYPES_NS}) if tag.startswith("{") else etree.Element(tag)
    add_child(element, "errorCode", info.code)
    add_child(element, "errorMessage", info.message)
    if info.data is not None:
        add_child(element, "errorData", info.data)
    add_child(element, "errorDate", format_datetime(info.date))
    if info.sub_error is not None:
        element.append(error_info_element(info.sub_error, "subError"))
    if info.session_id is not None:
        add_child(element, "sessionId", info.session_id)
    return element


def _parse_error_info(element: etree._Element, depth: int = 0) -> ErrorInfo:
    date_text = child_text(element, "errorDate")
    try:
        date = parse_datetime(date_text, "errorDate") if date_text else dt.datetime.now(dt.timezone.utc)
    except InputError:
        date = dt.datetime.now(dt.timezone.utc)
    sub = child(element, "subError")
    return ErrorInfo(
        code=(child_text(element, "errorCode") or "").strip(),
        message=(child_text(element, "errorMessage") or "").strip(),
        date=date,
        data=child_text(element, "errorData"),
        session_id=child_text(element, "sessionId"),
        sub_error=_parse_error_info(sub, depth + 1) if sub is not None and depth < _MAX_NESTING else None,
    )


def error_info_from_detail(detail: etree._Element | None) -> ErrorInfo | None:
    """Return the ``ErrorInfo`` inside a fault's ``detail``, or ``None``.

    The gateway's wrapper element differs between operations and versions,
    so the first element that has an ``errorCode`` child is taken, whatever
    its name or namespace.
    """
    if detail is None:
        return None
    for element in detail.iter():
        if isinstance(element.tag, str) and child(element, "errorCode") is not None:
            return _parse_error_info(element)
    return None


def fault_envelope(info: ErrorInfo, *, server_side: bool) -> etree._Element:
    """Return a SOAP 1.1 envelope with a fault whose ``detail`` is ``info``.

    ``server_side`` selects the ``soap:Server`` fault code (the service
    failed) instead of ``soap:Client`` (the request is at fault).
    """
    envelope = etree.Element(f"{{{SOAP11_ENV_NS}}}Envelope", nsmap={"soap": SOAP11_ENV_NS})
    body = etree.SubElement(envelope, f"{{{SOAP11_ENV_NS}}}Body")
    fault = etree.SubElement(body, f"{{{SOAP11_ENV_NS}}}Fault")
    add_child(fault, "faultcode", "soap:Server" if server_side else "soap:Client")
    add_child(fault, "faultstring", info.message or info.code)
    detail = add_child(fault, "detail")
    detail.append(error_info_element(info))
    return envelope
