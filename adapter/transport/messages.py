"""Frozen dataclasses for what the gateway's channels carry, on both sides.

The client returns them and the receiving service hands them to its
:class:`~adapter.service.soap.ChannelHandler`. The payload of a message (the
one element inside ``requestData/data`` or ``messageData/data``) stays an
lxml element, so a signed document inside it keeps its bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography import x509
from lxml import etree

from ..errors import InputError
from ..i18n import N_

__all__ = [
    "AsyncSendResult",
    "Caller",
    "DeliveryNotification",
    "ErrorInfo",
    "MessageInfo",
    "MessageQuery",
    "MessageState",
    "MessageStatus",
    "MessageType",
    "Properties",
    "ReceiveStatus",
    "ReceivedMessage",
    "RequestInfo",
    "ResendMode",
    "ResponseInfo",
    "Status",
    "SyncReply",
    "SyncResult",
    "normalize_properties",
]

#: Status code of a message the gateway (or a receiving service) processed.
SUCCESS_CODE = "SCSS001"
#: Status code of a business error explained in the status message.
BUSINESS_ERROR_CODE = "SCSE001"

PROPERTY_KEY_MAX = 30
PROPERTY_VALUE_MAX = 500

#: Message properties as ordered ``(key, value)`` pairs; a key may repeat.
Properties = tuple[tuple[str, str], ...]


class MessageType(enum.Enum):
    """``messageInfo/messageType`` of an AsyncChannel message."""

    REQUEST = "REQUEST"
    NOTIFICATION = "NOTIFICATION"
    UPDATE = "UPDATE"
    RESPONSE = "RESPONSE"


class ReceiveStatus(enum.Enum):
    """``deliveryStatus/receiveStatus``; the gateway spells the rejection ``MESSAGE_NOT_ACCTEPTED``."""

    ACCEPTED = "MESSAGE_ACCEPTED"
    NOT_ACCEPTED = "MESSAGE_NOT_ACCTEPTED"


class ResendMode(enum.Enum):
    """``deliveryStatus/resendMessage``: whether the gateway should deliver the message again."""

    RESEND = "RESEND"
    NOT_RESEND = "NOT_RESEND"


class MessageState(enum.Enum):
    """Delivery state of an AsyncChannel message."""

    ON_DELIVERY = "ON_DELIVERY"
    DELIVERED = "DELIVERED"
    NOT_DELIVERED = "NOT_DELIVERED"
    DELIVERY_STOPPED = "DELIVERY_STOPPED"


def normalize_properties(properties: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> Properties:
    """Return message properties as ``(key, value)`` pairs, checking the gateway's length limits."""
    if properties is None:
        return ()
    pairs = properties.items() if isinstance(properties, Mapping) else properties
    result = []
    for key, value in pairs:
        key, value = str(key), str(value)
        if not key or len(key) > PROPERTY_KEY_MAX:
            raise InputError(
                N_("message property key {value!r} must have 1 to {limit} characters; shorten it"),
                field="properties.key",
                value=key,
                limit=PROPERTY_KEY_MAX,
            )
        if len(value) > PROPERTY_VALUE_MAX:
            raise InputError(
                N_("value of message property {key} is {length} characters long, more than {limit}; shorten it"),
                field=f"properties.{key}",
                value=value[:40],
                key=key,
                length=len(value),
                limit=PROPERTY_VALUE_MAX,
            )
        result.append((key, value))
    return tuple(result)


@dataclass(frozen=True, slots=True)
class Status:
    """``status`` of a SyncChannel response: ``SCSS001`` when processed."""

    code: str = SUCCESS_CODE
    message: str = ""

    @property
    def ok(self) -> bool:
        """True for a success code (``SCSS...``)."""
        return self.code.startswith("SCSS")


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """The gateway's fault detail; ``sub_error`` nests the cause."""

    code: str
    message: str
    date: dt.datetime
    data: str | None = None
    session_id: str | None = None
    sub_error: ErrorInfo | None = None


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """``requestInfo`` of a SyncChannel ``SendMessage``."""

    message_id: str
    service_id: str
    message_date: dt.datetime
    sender_id: str
    correlation_id: str | None = None
    route_id: str | None = None
    properties: Properties = ()
    session_id: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    """``responseInfo`` of a SyncChannel ``SendMessageResponse``."""

    message_id: str
    response_date: dt.datetime
    status: Status
    correlation_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class SyncResult:
    """Result of ``SendMessage``: the response info and the payload element, if any."""

    info: ResponseInfo
    payload: etree._Element | None = None

    @property
    def message_id(self) -> str:
        """Message id the response refers to."""
        return self.info.message_id

    @property
    def status(self) -> Status:
        """Status the receiver gave."""
        return self.info.status


@dataclass(frozen=True, slots=True)
class SyncReply:
    """Reply of a receiving service's handler to ``SendMessage``."""

    payload: etree._Element | None = None
    status: Status = Status()
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """``messageInfo`` of an AsyncChannel message."""

    service_id: str
    message_type: MessageType
    message_date: dt.datetime
    sender_id: str
    message_id: str | None = None
    correlation_id: str | None = None
    route_id: str | None = None
    properties: Properties = ()
    session_id: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class AsyncSendResult:
    """Result of AsyncChannel ``sendMessage``."""

    message_id: str
    response_date: dt.datetime
    correlation_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One message returned by ``getMessages``."""

    info: MessageInfo
    payload: etree._Element | None = None


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """The request of ``getMessages``; ``amount`` ``None`` or 0 means the default number."""

    service_id: str
    request_date: dt.datetime
    sender_id: str
    message_id: str | None = None
    correlation_id: str | None = None
    amount: int | None = None
    properties: Properties = ()
    password: str | None = dataclasses.field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class DeliveryNotification:
    """``sendDeliveryNotification``: the acknowledgement of a pulled message."""

    message_id: str
    service_id: str
    notification_date: dt.datetime
    receive_status: ReceiveStatus
    status_date: dt.datetime
    resend: ResendMode = ResendMode.NOT_RESEND
    error: ErrorInfo | None = None
    sender_id: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """Result of ``getMessageStatus``."""

    message_id: str
    state: MessageState
    status_code: str
    status_date: dt.datetime
    status_message: str | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    """Sender of a request to the receiving service.

    ``certificate`` is the certificate whose WS-Security signature over the
    body was verified and trusted; ``None`` when the service does not check
    WS-Security.
    """

    certificate: x509.Certificate | None = None
    remote_address: str | None = None
    soap_action: str | None = None
