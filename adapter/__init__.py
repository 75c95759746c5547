"""edms-adapter: signed notifications about prohibited content through Kazakhstan's state EDMS.

The public API is the names in ``__all__``; ``docs/api.md`` documents them
with examples. Names are imported on first use, so ``import adapter`` stays
cheap for the CLI.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> module that defines it. Keep sorted by module, then name.
_EXPORTS: dict[str, str] = {
    "Config": "adapter.config",
    "load_config": "adapter.config",
    "ConfigError": "adapter.errors",
    "DocumentTooLargeError": "adapter.errors",
    "EdmsAdapterError": "adapter.errors",
    "GatewayFault": "adapter.errors",
    "InputError": "adapter.errors",
    "InvalidDocumentError": "adapter.errors",
    "KeyLoadError": "adapter.errors",
    "KeyUsageError": "adapter.errors",
    "NotFoundError": "adapter.errors",
    "Problem": "adapter.errors",
    "SignatoryPolicyError": "adapter.errors",
    "SigningError": "adapter.errors",
    "StoreError": "adapter.errors",
    "TransientGatewayFault": "adapter.errors",
    "TransientTransportError": "adapter.errors",
    "TransportError": "adapter.errors",
    "UnsupportedKeyError": "adapter.errors",
    "VerificationError": "adapter.errors",
    "Edition": "adapter.editions",
    "edition_for_date": "adapter.editions",
    "set_language": "adapter.i18n",
    "use_language": "adapter.i18n",
    "Document": "adapter.model",
    "DocumentHeader": "adapter.model",
    "DocumentKind": "adapter.model",
    "Employee": "adapter.model",
    "Evidence": "adapter.model",
    "Fact": "adapter.model",
    "Language": "adapter.model",
    "Notification": "adapter.model",
    "Organisation": "adapter.model",
    "Roster": "adapter.model",
    "Signatory": "adapter.model",
    "SignatoryRole": "adapter.model",
    "Violation": "adapter.model",
    "ServerThread": "adapter.service.server",
    "serve": "adapter.service.server",
    "BaseChannelHandler": "adapter.service.soap",
    "ChannelHandler": "adapter.service.soap",
    "NoopChannelHandler": "adapter.service.soap",
    "SoapApplication": "adapter.service.soap",
    "noop_application": "adapter.service.soap",
    "AsyncSendResult": "adapter.transport",
    "BodySignature": "adapter.transport",
    "Caller": "adapter.transport",
    "DeliveryNotification": "adapter.transport",
    "EnvelopeHooks": "adapter.transport",
    "EnvelopeSignatureError": "adapter.transport",
    "ErrorInfo": "adapter.transport",
    "GatewayClient": "adapter.transport",
    "GatewaySettings": "adapter.transport",
    "MessageInfo": "adapter.transport",
    "MessageQuery": "adapter.transport",
    "MessageState": "adapter.transport",
    "MessageStatus": "adapter.transport",
    "MessageType": "adapter.transport",
    "ReceiveStatus": "adapter.transport",
    "ReceivedMessage": "adapter.transport",
    "RequestInfo": "adapter.transport",
    "ResendMode": "adapter.transport",
    "ResponseInfo": "adapter.transport",
    "RetryPolicy": "adapter.transport",
    "ServiceErrorCode": "adapter.transport",
    "ServiceSettings": "adapter.transport",
    "Status": "adapter.transport",
    "SyncReply": "adapter.transport",
    "SyncResult": "adapter.transport",
    "sign_envelope": "adapter.transport",
    "verify_envelope": "adapter.transport",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'adapter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
