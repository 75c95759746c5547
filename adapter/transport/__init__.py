"""Transport to the e-government gateway: the SOAP client, WS-Security and the messages both sides share.

::

    from adapter.transport import GatewayClient, GatewaySettings

    settings = GatewaySettings.from_config(config)
    with GatewayClient(settings, signer=signer) as client:
        result = client.send_message(card_element)
"""

from __future__ import annotations

from .client import GatewayClient
from .faults import ServiceErrorCode
from .http import EnvelopeHooks
from .messages import (
    AsyncSendResult,
    Caller,
    DeliveryNotification,
    ErrorInfo,
    MessageInfo,
    MessageQuery,
    MessageState,
    MessageStatus,
    MessageType,
    ReceivedMessage,
    ReceiveStatus,
    RequestInfo,
    ResendMode,
    ResponseInfo,
    Status,
    SyncReply,
    SyncResult,
)
from .retry import RetryPolicy
from .settings import GatewaySettings, ServiceSettings
from .wsse import BodySignature, EnvelopeSignatureError, sign_envelope, verify_envelope

__all__ = [
    "AsyncSendResult",
    "BodySignature",
    "Caller",
    "DeliveryNotification",
    "EnvelopeHooks",
    "EnvelopeSignatureError",
    "ErrorInfo",
    "GatewayClient",
    "GatewaySettings",
    "MessageInfo",
    "MessageQuery",
    "MessageState",
    "MessageStatus",
    "MessageType",
    "ReceiveStatus",
    "ReceivedMessage",
    "RequestInfo",
    "ResendMode",
    "ResponseInfo",
    "RetryPolicy",
    "ServiceErrorCode",
    "ServiceSettings",
    "Status",
    "SyncReply",
    "SyncResult",
    "sign_envelope",
    "verify_envelope",
]
