"""Reading the gateway's request elements into dataclasses and writing response envelopes.

Children of the gateway's wrapper elements are unqualified, so they are
found by local name only (see :mod:`adapter.transport.wire`). Every missing
or invalid value raises :class:`~adapter.errors.InputError` naming the path
of the element.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lxml import etree

from ..errors import InputError
from ..i18n import N_
from ..transport.messages import (
    DeliveryNotification,
    ErrorInfo,
    MessageInfo,
    MessageQuery,
    MessageType,
    ReceiveStatus,
    RequestInfo,
    ResendMode,
)
from ..transport.namespaces import SOAP11_ENV_NS
from ..transport.wire import add_child, child, child_text, format_datetime, parse_datetime, required_text

__all__ = [
    "add_data",
    "add_optional",
    "payload_of",
    "read_message_info",
    "read_notification",
    "read_query",
    "read_request_info",
    "request_element",
    "response_envelope",
    "utc_now",
    "write_message_info",
]


def _sender(parent: etree._Element, path: str) -> tuple[str, str | None]:
    sender = child(parent, "sender")
    if sender is None:
        raise InputError(N_("required element {field} is missing or empty"), field=f"{path}/sender", value=None)
    return required_text(sender, "senderId", f"{path}/sender"), child_text(sender, "password")


def _read_properties(parent: etree._Element) -> tuple[tuple[str, str], ...]:
    return tuple(
        ((child_text(item, "key") or "").strip(), child_text(item, "value") or "")
        for item in parent
        if item.tag == "properties"
    )


def payload_of(parent: etree._Element | None) -> etree._Element | None:
    data = None if parent is None else child(parent, "data")
    if data is None:
        return None
    return next((element for element in data if isinstance(element.tag, str)), None)


def _date(parent: etree._Element, name: str, path: str) -> dt.datetime:
    return parse_datetime(required_text(parent, name, path), f"{path}/{name}")


def _enum(enum_type: type, parent: etree._Element, name: str, path: str) -> Any:
    text = required_text(parent, name, path)
    try:
        return enum_type(text)
    except ValueError:
        raise InputError(
            N_("{field} must be one of {allowed}, got {value!r}"),
            field=f"{path}/{name}",
            value=text,
            allowed=", ".join(member.value for member in enum_type),
        ) from None


def request_element(operation: etree._Element) -> etree._Element:
    request = child(operation, "request")
    if request is None:
        raise InputError(N_("required element {field} is missing or empty"), field="request", value=None)
    return request


def read_request_info(request: etree._Element) -> RequestInfo:
    info = child(request, "requestInfo")
    if info is None:
        raise InputError(N_("required element {field} is missing or empty"), field="request/requestInfo", value=None)
    path = "requestInfo"
    sender_id, password = _sender(info, path)
    return RequestInfo(
        message_id=required_text(info, "messageId", path),
        service_id=required_text(info, "serviceId", path),
        message_date=_date(info, "messageDate", path),
        sender_id=sender_id,
        correlation_id=child_text(info, "correlationId"),
        route_id=child_text(info, "routeId"),
        properties=_read_properties(info),
        session_id=child_text(info, "sessionId"),
        password=password,
    )


def read_message_info(info: etree._Element | None) -> MessageInfo:
    path = "messageInfo"
    if info is None:
        raise InputError(N_("required element {field} is missing or empty"), field=path, value=None)
    sender_id, password = _sender(info, path)
    return MessageInfo(
        service_id=required_text(info, "serviceId", path),
        message_type=_enum(MessageType, info, "messageType", path),
        message_date=_date(info, "messageDate", path),
        sender_id=sender_id,
        message_id=child_text(info, "messageId"),
        correlation_id=child_text(info, "correlationId"),
        route_id=child_text(info, "routeId"),
        properties=_read_properties(info),
        session_id=child_text(info, "sessionId"),
        password=password,
    )


def _read_error_info(element: etree._Element, path: str) -> ErrorInfo:
    sub = child(element, "subError")
    return ErrorInfo(
        code=required_text(element, "errorCode", path),
        message=child_text(element, "errorMessage") or "",
        date=_date(element, "errorDate", path),
        data=child_text(element, "errorData"),
        session_id=child_text(element, "sessionId"),
        sub_error=_read_error_info(sub, f"{path}/subError") if sub is not None else None,
    )


def read_query(request: etree._Element) -> MessageQuery:
    path = "request"
    sender_id, password = _sender(request, path)
    amount_text = child_text(request, "amount")
    try:
        amount = int(amount_text) if amount_text and amount_text.strip() else None
    except ValueError:
        raise InputError(
            N_("{field} must be a whole number, got {value!r}"), field="request/amount", value=amount_text
        ) from None
    return MessageQuery(
        service_id=required_text(request, "serviceId", path),
        request_date=_date(request, "requestDate", path),
        sender_id=sender_id,
        message_id=child_text(request, "messageId"),
        correlation_id=child_text(request, "correlationId"),
        amount=amount,
        properties=_read_properties(request),
        password=password,
    )


def read_notification(request: etree._Element) -> DeliveryNotification:
    notification = child(request, "notification")
    path = "notification"
    if notification is None:
        raise InputError(N_("required element {field} is missing or empty"), field=path, value=None)
    status = child(notification, "deliveryStatus")
    if status is None:
        raise InputError(N_("required element {field} is missing or empty"), field=f"{path}/deliveryStatus", value=None)
    status_path = f"{path}/deliveryStatus"
    error = child(status, "error")
    sender_id = password = None
    if child(request, "sender") is not None:
        sender_id, password = _sender(request, "request")
    return DeliveryNotification(
        message_id=required_text(notification, "messageId", path),
        service_id=required_text(notification, "serviceId", path),
        notification_date=_date(notification, "notificationDate", path),
        receive_status=_enum(ReceiveStatus, status, "receiveStatus", status_path),
        status_date=_date(status, "statusDate", status_path),
        resend=_enum(ResendMode, status, "resendMessage", status_path),
        error=_read_error_info(error, f"{status_path}/error") if error is not None else None,
        sender_id=sender_id,
        password=password,
    )


def response_envelope(wrapper_tag: str, nsmap_prefix: str, namespace: str) -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{{{SOAP11_ENV_NS}}}Envelope", nsmap={"soap": SOAP11_ENV_NS})
    body = etree.SubElement(envelope, f"{{{SOAP11_ENV_NS}}}Body")
    wrapper = etree.SubElement(body, f"{{{namespace}}}{wrapper_tag}", nsmap={nsmap_prefix: namespace})
    return envelope, add_child(wrapper, "response")


def add_data(parent: etree._Element, name: str, payload: etree._Element | None) -> None:
    container = add_child(parent, name)
    if payload is not None:
        add_child(container, "data").append(payload)


def add_optional(parent: etree._Element, name: str, value: str | None) -> None:
    if value is not None:
        add_child(parent, name, value)


def _add_sender(parent: etree._Element, sender_id: str) -> None:
    add_child(add_child(parent, "sender"), "senderId", sender_id)


def write_message_info(parent: etree._Element, info: MessageInfo) -> None:
    element = add_child(parent, "messageInfo")
    add_optional(element, "messageId", info.message_id)
    add_optional(element, "correlationId", info.correlation_id)
    add_child(element, "serviceId", info.service_id)
    add_child(element, "messageType", info.message_type.value)
    add_optional(element, "routeId", info.route_id)
    add_child(element, "messageDate", format_datetime(info.message_date))
    _add_sender(element, info.sender_id)
    for key, value in info.properties:
        item = add_child(element, "properties")
        add_child(item, "key", key)
        add_child(item, "value", value)
    add_optional(element, "sessionId", info.session_id)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
