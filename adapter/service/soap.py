"""The receiving SOAP service: SyncChannel ``SendMessage`` and the AsyncChannel operations as a WSGI app.

:class:`SoapApplication` parses each request with a hardened parser (no DTD,
no entities, no network, size limit) and checks its WS-Security signature.
It finds the operation from the Body's first child element, so ``SOAPAction``
is not needed. The request becomes the frozen dataclasses of
:mod:`adapter.transport.messages`, which go to a :class:`ChannelHandler`. What
the handler returns becomes the response; what it raises becomes a SOAP 1.1
fault with ``ErrorInfo`` in the configured language:

========================================  =======================  ===========
handler raises                            ``errorCode``            faultcode
========================================  =======================  ===========
GatewayFault(code=...)                    its code                 Client
InvalidDocumentError                      INVALID_DOCUMENT         Client
VerificationError                         SIGNATURE_INVALID        Client
InputError                                INVALID_REQUEST          Client
NotFoundError                             NOT_FOUND                Client
TransientTransportError                   SERVICE_UNAVAILABLE      Server
anything else (logged with traceback)     INTERNAL_ERROR           Server
========================================  =======================  ===========

``GET ?wsdl`` serves the SyncChannel WSDL (``?wsdl=AsyncChannel`` the other
one) with the service address and schema locations rewritten to the URL the
request came to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from lxml import etree

from schemas import schema_path

from ..errors import (
    ConfigError,
    EdmsAdapterError,
    GatewayFault,
    InputError,
    InvalidDocumentError,
    NotFoundError,
    TransientTransportError,
    VerificationError,
)
from ..i18n import N_, current_language, normalize_language, translate
from ..transport.faults import ServiceErrorCode, fault_envelope
from ..transport.messages import (
    AsyncSendResult,
    Caller,
    DeliveryNotification,
    ErrorInfo,
    MessageInfo,
    MessageQuery,
    MessageStatus,
    MessageType,
    ReceivedMessage,
    ReceiveStatus,
    RequestInfo,
    ResendMode,
    SyncReply,
)
from ..transport.namespaces import ASYNC_TYPES_NS, SOAP11_ENV_NS, SOAP12_ENV_NS, SYNC_TYPES_NS, WSSE_NS
from ..transport.settings import ServiceSettings
from ..transport.wire import add_child, child, child_text, format_datetime, parse_datetime, required_text
from ..transport.wsse import EnvelopeSignatureError, Trust, sign_envelope, verify_envelope

if TYPE_CHECKING:
    from signing.keys import Signer

__all__ = [
    "BaseChannelHandler",
    "ChannelHandler",
    "NoopChannelHandler",
    "SoapApplication",
    "noop_application",
]

logger = logging.getLogger(__name__)

_SCHEMA_FILES = ("SyncChannel.xsd", "AsyncChannel.xsd", "common.xsd")
_WSDL_FILES = {"SyncChannel": "SyncChannel.wsdl", "AsyncChannel": "AsyncChannel.wsdl"}
_XSD_NS = "http://www.w3.org/2001/XMLSchema"
_WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"


class ChannelHandler(Protocol):
    """What the receiving service calls for each operation.

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


# -- reading requests -------------------------------------------------------


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


def _payload(parent: etree._Element | None) -> etree._Element | None:
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


def _request(operation: etree._Element) -> etree._Element:
    request = child(operation, "request")
    if request is None:
        raise InputError(N_("required element {field} is missing or empty"), field="request", value=None)
    return request


def _read_request_info(request: etree._Element) -> RequestInfo:
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


def _read_message_info(info: etree._Element | None) -> MessageInfo:
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


def _read_query(request: etree._Element) -> MessageQuery:
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


def _read_notification(request: etree._Element) -> DeliveryNotification:
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


# -- writing responses ------------------------------------------------------


def _response_envelope(wrapper_tag: str, nsmap_prefix: str, namespace: str) -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{{{SOAP11_ENV_NS}}}Envelope", nsmap={"soap": SOAP11_ENV_NS})
    body = etree.SubElement(envelope, f"{{{SOAP11_ENV_NS}}}Body")
    wrapper = etree.SubElement(body, f"{{{namespace}}}{wrapper_tag}", nsmap={nsmap_prefix: namespace})
    return envelope, add_child(wrapper, "response")


def _add_data(parent: etree._Element, name: str, payload: etree._Element | None) -> None:
    container = add_child(parent, name)
    if payload is not None:
        add_child(container, "data").append(payload)


def _add_optional(parent: etree._Element, name: str, value: str | None) -> None:
    if value is not None:
        add_child(parent, name, value)


def _add_sender(parent: etree._Element, sender_id: str) -> None:
    add_child(add_child(parent, "sender"), "senderId", sender_id)


def _write_message_info(parent: etree._Element, info: MessageInfo) -> None:
    element = add_child(parent, "messageInfo")
    _add_optional(element, "messageId", info.message_id)
    _add_optional(element, "correlationId", info.correlation_id)
    add_child(element, "serviceId", info.service_id)
    add_child(element, "messageType", info.message_type.value)
    _add_optional(element, "routeId", info.route_id)
    add_child(element, "messageDate", format_datetime(info.message_date))
    _add_sender(element, info.sender_id)
    for key, value in info.properties:
        item = add_child(element, "properties")
        add_child(item, "key", key)
        add_child(item, "value", value)
    _add_optional(element, "sessionId", info.session_id)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class _Exchange:
    """Ids and status of one request, collected while it is processed, for the log line and faults."""

    __slots__ = ("message_id", "operation", "session_id", "status")

    def __init__(self) -> None:
        self.operation = "-"
        self.message_id: str | None = None
        self.session_id: str | None = None
        self.status = "-"


class SoapApplication:
    """WSGI application of the receiving service (see the module docstring).

    ``trust`` decides whose WS-Security signatures are accepted: pinned
    sender certificates, or a callback such as the handler's path and
    revocation check. Without ``trust`` the handler's ``trust_sender``
    method, when it has one, is used. ``signer``, when given, signs every
    response. ``language`` is the language of fault messages (default: the
    language in force when the application is created).
    """

    def __init__(
        self,
        handler: ChannelHandler,
        settings: ServiceSettings | None = None,
        *,
        trust: Trust | None = None,
        signer: Signer | None = None,
        language: str | None = None,
        allow_sha1: bool = False,
    ) -> None:
        self.handler = handler
        self.settings = settings or ServiceSettings()
        if trust is None:
            trust = getattr(handler, "trust_sender", None)
        if trust is not None and not callable(trust):
            trust = tuple(trust)
        if self.settings.require_wsse and trust is None:
            raise ConfigError(
                N_("service.require_wsse is on but no trusted sender certificates or trust check were given"),
                key="service.require_wsse",
            )
        self.trust = trust
        self.signer = signer
        self.language = normalize_language(language) or current_language()
        self.allow_sha1 = allow_sha1
        self._operations: dict[str, tuple[str, Callable[[etree._Element, Caller, _Exchange], etree._Element]]] = {
            f"{{{SYNC_TYPES_NS}}}SendMessage": ("SendMessage", self._send_message),
            f"{{{ASYNC_TYPES_NS}}}sendMessage": ("sendMessage", self._send_async_message),
            f"{{{ASYNC_TYPES_NS}}}getMessages": ("getMessages", self._get_messages),
            f"{{{ASYNC_TYPES_NS}}}sendDeliveryNotification": ("sendDeliveryNotification", self._send_delivery_notification),
            f"{{{ASYNC_TYPES_NS}}}getMessageStatus": ("getMessageStatus", self._get_message_status),
        }

    # -- WSGI -------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "POST":
            status, body = self._post(environ)
            content_type = "text/xml; charset=utf-8"
        elif method in ("GET", "HEAD"):
            status, body, content_type = self._get(environ)
        else:
            status, body, content_type = "405 Method Not Allowed", b"", "text/plain; charset=utf-8"
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        if status.startswith("405"):
            headers.append(("Allow", "GET, HEAD, POST"))
        start_response(status, headers)
        return [b"" if method == "HEAD" else body]

    # -- WSDL and XSD -----------------------------------------------------

    def _get(self, environ: dict[str, Any]) -> tuple[str, bytes, str]:
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        base = _request_url(environ)
        if "wsdl" in query:
            channel = query["wsdl"][0] or "SyncChannel"
            if channel not in _WSDL_FILES:
                return "404 Not Found", b"unknown WSDL\n", "text/plain; charset=utf-8"
            return "200 OK", _rewrite(_WSDL_FILES[channel], base), "text/xml; charset=utf-8"
        if "xsd" in query:
            name = query["xsd"][0]
            if name not in _SCHEMA_FILES:
                return "404 Not Found", b"unknown schema\n", "text/plain; charset=utf-8"
            return "200 OK", _rewrite(name, base), "text/xml; charset=utf-8"
        text = b"SOAP endpoint of edms-adapter: POST SOAP 1.1 requests here; the WSDL is at ?wsdl\n"
        return "200 OK", text, "text/plain; charset=utf-8"

    # -- SOAP -------------------------------------------------------------

    def _post(self, environ: dict[str, Any]) -> tuple[str, bytes]:
        started = time.monotonic()
        exchange = _Exchange()
        remote = environ.get("REMOTE_ADDR")
        try:
            envelope = self._process(environ, exchange, remote)
            exchange.status = "SCSS001" if exchange.status == "-" else exchange.status
            status = "200 OK"
        except _RequestTooLarge as exc:
            envelope = self._fault(exc.error, exchange)
            status = "413 Payload Too Large"
        except Exception as exc:  # noqa: BLE001 - every failure becomes a fault, none escapes to the server
            envelope = self._fault(exc, exchange)
            status = "500 Internal Server Error"
        if self.signer is not None:
            try:
                sign_envelope(envelope, self.signer)
            except Exception as exc:  # noqa: BLE001 - a key that fails to sign must still produce a fault
                envelope = self._fault(exc, exchange)
                status = "500 Internal Server Error"
        body = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        logger.info(
            "%s messageId=%s status=%s remote=%s duration=%.3fs",
            exchange.operation,
            exchange.message_id or "-",
            exchange.status,
            remote or "-",
            time.monotonic() - started,
        )
        return status, body

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        limit = self.settings.max_request_bytes
        length_text = environ.get("CONTENT_LENGTH") or ""
        length = int(length_text) if length_text.isdigit() else None
        if length is not None and length > limit:
            raise _RequestTooLarge(length, limit)
        stream = environ["wsgi.input"]
        body = stream.read(length) if length is not None else stream.read(limit + 1)
        if len(body) > limit:
            raise _RequestTooLarge(len(body), limit)
        return body

    def _process(self, environ: dict[str, Any], exchange: _Exchange, remote: str | None) -> etree._Element:
        root = _parse(self._read_body(environ))
        namespace = etree.QName(root).namespace
        if etree.QName(root).localname != "Envelope" or namespace not in (SOAP11_ENV_NS, SOAP12_ENV_NS):
            raise InputError(N_("the request is not a SOAP envelope"), field="Envelope", value=root.tag)
        if namespace != SOAP11_ENV_NS:
            raise InputError(N_("only SOAP 1.1 envelopes are accepted"), field="Envelope", value=namespace)
        body = root.find(f"{{{SOAP11_ENV_NS}}}Body")
        operation = None if body is None else next((e for e in body if isinstance(e.tag, str)), None)
        if operation is None or operation.tag not in self._operations:
            exchange.operation = "unknown"
            raise GatewayFault(
                N_("unknown operation {operation}; this service serves SyncChannel SendMessage and the AsyncChannel operations"),
                code=ServiceErrorCode.UNKNOWN_OPERATION.value,
                operation="-" if operation is None else operation.tag,
            )
        name, method = self._operations[operation.tag]
        exchange.operation = name
        self._check_headers(root)
        certificate = self._check_signature(root)
        caller = Caller(certificate=certificate, remote_address=remote, soap_action=environ.get("HTTP_SOAPACTION"))
        return method(operation, caller, exchange)

    def _check_headers(self, root: etree._Element) -> None:
        header = root.find(f"{{{SOAP11_ENV_NS}}}Header")
        for element in () if header is None else header:
            if not isinstance(element.tag, str) or element.tag == f"{{{WSSE_NS}}}Security":
                continue
            if element.get(f"{{{SOAP11_ENV_NS}}}mustUnderstand") in ("1", "true"):
                raise _MustUnderstand(element.tag)

    def _check_signature(self, root: etree._Element) -> Any:
        if self.trust is None:
            # NOTE: with require_wsse off and no trust given, a wsse:Security
            # header is accepted without being checked.
            return None
        header = root.find(f"{{{SOAP11_ENV_NS}}}Header")
        signed = header is not None and header.find(f"{{{WSSE_NS}}}Security") is not None
        if not signed and not self.settings.require_wsse:
            return None
        return verify_envelope(root, trust=self.trust, allow_sha1=self.allow_sha1)

    # -- operations -------------------------------------------------------

    def _send_message(self, operation: etree._Element, caller: Caller, exchange: _Exchange) -> etree._Element:
        request = _request(operation)
        info = _read_request_info(request)
        exchange.message_id, exchange.session_id = info.message_id, info.session_id
        reply = self.handler.send_message(info, _payload(child(request, "requestData")), caller)
        exchange.status = reply.status.code
        envelope, response = _response_envelope("SendMessageResponse", "types", SYNC_TYPES_NS)
        response_info = add_child(response, "responseInfo")
        add_child(response_info, "messageId", info.message_id)
        _add_optional(response_info, "correlationId", reply.correlation_id or info.correlation_id)
        add_child(response_info, "responseDate", format_datetime(_now()))
        status = add_child(response_info, "status")
        add_child(status, "code", reply.status.code)
        add_child(status, "message", reply.status.message[:250])
        _add_optional(response_info, "sessionId", info.session_id)
        _add_data(response, "responseData", reply.payload)
        return envelope

    def _send_async_message(self, operation: etree._Element, caller: Caller, exchange: _Exchange) -> etree._Element:
        request = _request(operation)
        info = _read_message_info(child(request, "messageInfo"))
        if info.message_type is not MessageType.REQUEST and not info.correlation_id:
            raise InputError(
                N_("a {type} message needs the correlation id of the message it answers"),
                field="messageInfo/correlationId",
                value=None,
                type=info.message_type.value,
            )
        exchange.message_id, exchange.session_id = info.message_id, info.session_id
        if info.message_id is None:
            # The gateway assigns the id of a message sent without one.
            info = dataclasses.replace(info, message_id=str(uuid.uuid4()))
            exchange.message_id = info.message_id
        result = self.handler.send_async_message(info, _payload(child(request, "messageData")), caller)
        envelope, response = _response_envelope("sendMessageResponse", "types", ASYNC_TYPES_NS)
        add_child(response, "messageId", result.message_id)
        _add_optional(response, "correlationId", result.correlation_id)
        add_child(response, "responseDate", format_datetime(result.response_date))
        _add_optional(response, "sessionId", result.session_id)
        return envelope

    def _get_messages(self, operation: etree._Element, caller: Caller, exchange: _Exchange) -> etree._Element:
        query = _read_query(_request(operation))
        exchange.message_id = query.message_id
        messages = self.handler.get_messages(query, caller)
        envelope, response = _response_envelope("getMessagesResponse", "types", ASYNC_TYPES_NS)
        for message in messages:
            item = add_child(response, "messages")
            _write_message_info(item, message.info)
            _add_data(item, "messageData", message.payload)
        exchange.status = f"{len(messages)}-messages"
        return envelope

    def _send_delivery_notification(self, operation: etree._Element, caller: Caller, exchange: _Exchange) -> etree._Element:
        notification = _read_notification(_request(operation))
        exchange.message_id = notification.message_id
        self.handler.send_delivery_notification(notification, caller)
        envelope, response = _response_envelope("sendDeliveryNotificationResponse", "types", ASYNC_TYPES_NS)
        add_child(response, "responseDate", format_datetime(_now()))
        return envelope

    def _get_message_status(self, operation: etree._Element, caller: Caller, exchange: _Exchange) -> etree._Element:
        request = _request(operation)
        message_id = required_text(request, "messageId", "request")
        exchange.message_id = message_id
        result = self.handler.get_message_status(message_id, caller)
        envelope, response = _response_envelope("getMessageStatusResponse", "types", ASYNC_TYPES_NS)
        add_child(response, "messageId", result.message_id)
        add_child(response, "messageState", result.state.value)
        status = add_child(response, "status")
        add_child(status, "statusCode", result.status_code)
        _add_optional(status, "statusMessage", result.status_message)
        add_child(status, "statusDate", format_datetime(result.status_date))
        exchange.status = result.state.value
        return envelope

    # -- faults -----------------------------------------------------------

    def _fault(self, exc: BaseException, exchange: _Exchange) -> etree._Element:
        code, server_side = _classify(exc)
        if code == ServiceErrorCode.INTERNAL_ERROR.value:
            logger.exception("%s messageId=%s failed", exchange.operation, exchange.message_id or "-")
            message = translate(N_("internal error of the receiving service; try again later"), self.language)
        elif isinstance(exc, EdmsAdapterError):
            message = exc.localized(self.language)
        else:
            message = translate(N_("the request is not valid XML: {reason}"), self.language, reason=str(exc))
        exchange.status = code
        info = ErrorInfo(code=code, message=message, date=_now(), session_id=exchange.session_id)
        envelope = fault_envelope(info, server_side=server_side)
        if isinstance(exc, _MustUnderstand):
            envelope.find(f".//{{{SOAP11_ENV_NS}}}Fault/faultcode").text = "soap:MustUnderstand"
        return envelope


class _RequestTooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(size, limit)
        self.error = InputError(
            N_("the request is {size} bytes, more than the limit of {limit} bytes (service.max_request_bytes)"),
            field="request",
            value=None,
            code=ServiceErrorCode.REQUEST_TOO_LARGE.value,
            size=size,
            limit=limit,
        )


class _MustUnderstand(InputError):
    def __init__(self, tag: str) -> None:
        super().__init__(N_("header {header} must be understood but this service does not process it"), field="Header", value=tag, header=tag)


def _classify(exc: BaseException) -> tuple[str, bool]:
    """Return the ``errorCode`` and whether the service (not the request) is at fault."""
    if isinstance(exc, GatewayFault):
        return exc.code or ServiceErrorCode.BUSINESS_ERROR.value, False
    if isinstance(exc, EnvelopeSignatureError):
        codes = {"missing": ServiceErrorCode.WSSE_MISSING, "untrusted": ServiceErrorCode.SENDER_NOT_TRUSTED}
        return codes.get(exc.reason, ServiceErrorCode.WSSE_INVALID).value, False
    if isinstance(exc, InvalidDocumentError):
        return ServiceErrorCode.INVALID_DOCUMENT.value, False
    if isinstance(exc, VerificationError):
        return ServiceErrorCode.SIGNATURE_INVALID.value, False
    if isinstance(exc, InputError):
        return (exc.code if exc.code == ServiceErrorCode.REQUEST_TOO_LARGE.value else ServiceErrorCode.INVALID_REQUEST.value), False
    if isinstance(exc, etree.XMLSyntaxError):
        return ServiceErrorCode.INVALID_REQUEST.value, False
    if isinstance(exc, NotFoundError):
        return ServiceErrorCode.NOT_FOUND.value, False
    if isinstance(exc, TransientTransportError):
        return ServiceErrorCode.SERVICE_UNAVAILABLE.value, True
    return ServiceErrorCode.INTERNAL_ERROR.value, True


_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


def _parse(body: bytes) -> etree._Element:
    """Parse a request; a DTD (and so every entity declaration) is rejected."""
    if not body.strip():
        raise InputError(N_("the request body is empty; POST a SOAP envelope"), field="request", value=None)
    # lxml's parser objects are not thread-safe; waitress calls from several threads.
    parser = _PARSER.copy()
    tree = etree.fromstring(body, parser).getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InputError(N_("the request contains a DTD, which is not allowed"), field="DOCTYPE", value=None)
    return tree.getroot()


def _request_url(environ: dict[str, Any]) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    path = urllib.parse.quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
    return f"{scheme}://{host}{path}"


def _rewrite(name: str, base: str) -> bytes:
    """Return a bundled WSDL or XSD with its address and schema locations pointing at ``base``."""
    tree = etree.parse(str(schema_path(f"gateway/{name}")), etree.XMLParser(resolve_entities=False, no_network=True))
    for element in tree.iter(f"{{{_XSD_NS}}}import", f"{{{_XSD_NS}}}include"):
        location = element.get("schemaLocation")
        if location in _SCHEMA_FILES:
            element.set("schemaLocation", f"{base}?xsd={location}")
    for address in tree.iter(f"{{{_WSDL_SOAP_NS}}}address"):
        address.set("location", base)
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8")


def noop_application(settings: ServiceSettings | None = None, *, trust: Trust | None = None) -> SoapApplication:
    """Return the no-op SOAP endpoint: the same stack as the receiving service, answering ``SCSS001``."""
    return SoapApplication(NoopChannelHandler(), settings, trust=trust)
