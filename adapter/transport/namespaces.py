"""XML namespaces of the gateway's SOAP channels and of WS-Security."""

from __future__ import annotations

__all__ = [
    "ASYNC_INTERFACES_NS",
    "ASYNC_TYPES_NS",
    "COMMON_TYPES_NS",
    "DS_NS",
    "SOAP11_ENV_NS",
    "SOAP12_ENV_NS",
    "SYNC_INTERFACES_NS",
    "SYNC_TYPES_NS",
    "WSSE_NS",
    "WSU_NS",
    "XSI_NS",
]

SYNC_INTERFACES_NS = "http://bip.bee.kz/SyncChannel/v10/Interfaces"
SYNC_TYPES_NS = "http://bip.bee.kz/SyncChannel/v10/Types"
ASYNC_INTERFACES_NS = "http://bip.bee.kz/AsyncChannel/v10/Interfaces"
ASYNC_TYPES_NS = "http://bip.bee.kz/AsyncChannel/v10/Types"
COMMON_TYPES_NS = "http://bip.bee.kz/common/v10/Types"

SOAP11_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV_NS = "http://www.w3.org/2003/05/soap-envelope"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
