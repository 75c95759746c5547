"""The handler a receiving service calls, and two ready-made ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from lxml import etree

from ..errors import GatewayFault
from ..i18n import N_
from ..transport.faults import ServiceErrorCode
from ..transport.messages import (
    AsyncSendResult,
    Caller,
    DeliveryNotification,
    MessageInfo,
    MessageQuery,
    MessageStatus,
    ReceivedMessage,
    RequestInfo,
    SyncReply,
)

__all__ = ["BaseChannelHandler", "ChannelHandler", "NoopChannelHandler"]


class ChannelHandler(Protocol):
    """Protocol of the object the receiving service calls for each operation.

    Each method gets the request as frozen dataclasses, the payload element
    (the single element inside ``data``, or ``None``) and the :class:`Caller`
    (with the verified WS-Security certificate). Raise an
    :mod:`adapter.errors` exception to return a fault.
    """

    def send_message(self, request: RequestInfo, payload: etree._Element | None, caller: Caller) -> SyncReply:
        """Handle SyncChannel ``SendMessage``."""
        ...

    def send_async_message(self, message: MessageInfo, payload: etree._Element | None, caller: Caller) -> AsyncSendResult:
        """Handle AsyncChannel ``sendMessage``."""
        ...

    def get_messages(self, query: MessageQuery, caller: Caller) -> Sequence[ReceivedMessage]:
        """Handle AsyncChannel ``getMessages``."""
        ...

    def send_delivery_notification(self, notification: DeliveryNotification, caller: Caller) -> None:
        """Handle AsyncChannel ``sendDeliveryNotification``."""
        ...

    def get_message_status(self, message_id: str, caller: Caller) -> MessageStatus:
        """Handle AsyncChannel ``getMessageStatus``."""
        ...


def _unsupported(operation: str) -> GatewayFault:
    return GatewayFault(
        N_("operation {operation} is not supported by this service"),
        code=ServiceErrorCode.UNSUPPORTED_OPERATION.value,
        operation=operation,
    )


class BaseChannelHandler:
    """A handler that rejects every operation with an UNSUPPORTED_OPERATION fault; override what you serve."""

    def send_message(self, request: RequestInfo, payload: etree._Element | None, caller: Caller) -> SyncReply:
        raise _unsupported("SendMessage")

    def send_async_message(self, message: MessageInfo, payload: etree._Element | None, caller: Caller) -> AsyncSendResult:
        raise _unsupported("sendMessage")

    def get_messages(self, query: MessageQuery, caller: Caller) -> Sequence[ReceivedMessage]:
        raise _unsupported("getMessages")

    def send_delivery_notification(self, notification: DeliveryNotification, caller: Caller) -> None:
        raise _unsupported("sendDeliveryNotification")

    def get_message_status(self, message_id: str, caller: Caller) -> MessageStatus:
        raise _unsupported("getMessageStatus")


class NoopChannelHandler(BaseChannelHandler):
    """Handler that returns ``SCSS001`` for ``SendMessage`` and does nothing else, a baseline for benchmarks."""

    def send_message(self, request: RequestInfo, payload: etree._Element | None, caller: Caller) -> SyncReply:
        return SyncReply()
