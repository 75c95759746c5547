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
import logging
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from lxml import etree

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
from ..transport.messages import Caller, ErrorInfo, MessageType
from ..transport.namespaces import ASYNC_TYPES_NS, SOAP11_ENV_NS, SOAP12_ENV_NS, SYNC_TYPES_NS, WSSE_NS
from ..transport.settings import ServiceSettings
from ..transport.wire import add_child, child, format_datetime, required_text
from ..transport.wsse import EnvelopeSignatureError, Trust, sign_envelope, verify_envelope
from .codec import (
    add_data,
    add_optional,
    payload_of,
    read_message_info,
    read_notification,
    read_query,
    read_request_info,
    request_element,
    response_envelope,
    utc_now,
    write_message_info,
)
from .handlers import BaseChannelHandler, ChannelHandler, NoopChannelHandler
from .wsdl import SCHEMA_FILES, WSDL_FILES, request_url, rewritten_schema

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
        base = request_url(environ)
        if "wsdl" in query:
            channel = query["wsdl"][0] or "SyncChannel"
            if channel not in WSDL_FILES:
                return "404 Not Found", b"unknown WSDL\n", "text/plain; charset=utf-8"
            return "200 OK", rewritten_schema(WSDL_FILES[channel], base), "text/xml; charset=utf-8"
        if "xsd" in query:
            name = query["xsd"][0]
            if name not in SCHEMA_FILES:
                return "404 Not Found", b"unknown schema\n", "text/plain; charset=utf-8"
            return "200 OK", rewritten_schema(name, base), "text/xml; charset=utf-8"
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
        request = request_element(operation)
        info = read_request_info(request)
        exchange.message_id, exchange.session_id = info.message_id, info.session_id
        reply = self.handler.send_message(info, payload_of(child(request, "requestData")), caller)
        exchange.status = reply.status.code
        envelope, response = response_envelope("SendMessageResponse", "types", SYNC_TYPES_NS)
        response_info = add_child(response, "responseInfo")
        add_child(response_info, "messageId", info.message_id)
        add_optional(response_info, "correlationId", reply.correlation_id or info.correlation_id)
        add_child(response_info, "responseDate", format_datetime(utc_now()))
        status = add_child(response_info, "status")
        add_child(status, "code", reply.status.code)
        add_child(status, "message", reply.status.message[:250])
        add_optional(response_info, "sessionId", info.session_id)
        add_data(response, "responseData", reply.payload)
        return envelope

    def _send_async_message(self, operation: etree._Element, caller: Caller, exchange: _Exchange) -> etree._Element:
        request = request_element(operation)
        info = read_message_info(child(request, "messageInfo"))
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
        result = self.handler.send_async_message(info, payload_of(child(request, "messageData")), caller)
        envelope, response = response_envelope("sendMessageResponse", "types", ASYNC_TYPES_NS)
        add_child(response, "messageId", result.message_id)
        add_optional(response, "correlationId", result.correlation_id)
        add_child(response, "responseDate", format_datetime(result.response_date))
        add_optional(response, "sessionId", result.session_id)
        return envelope

    def _get_messages(self, operation: etree._Element, caller: Caller, exchange: _Exchange) -> etree._Element:
        query = read_query(request_element(operation))
        exchange.message_id = query.message_id
        messages = self.handler.get_messages(query, caller)
        envelope, response = response_envelope("getMessagesResponse", "types", ASYNC_TYPES_NS)
        for message in messages:
            item = add_child(response, "messages")
            write_message_info(item, message.info)
            add_data(item, "messageData", message.payload)
        exchange.status = f"{len(messages)}-messages"
        return envelope

    def _send_delivery_notification(self, operation: etree._Element, caller: Caller, exchange: _Exchange) -> etree._Element:
        notification = read_notification(request_element(operation))
        exchange.message_id = notification.message_id
        self.handler.send_delivery_notification(notification, caller)
        envelope, response = response_envelope("sendDeliveryNotificationResponse", "types", ASYNC_TYPES_NS)
        add_child(response, "responseDate", format_datetime(utc_now()))
        return envelope

    def _get_message_status(self, operation: etree._Element, caller: Caller, exchange: _Exchange) -> etree._Element:
        request = request_element(operation)
        message_id = required_text(request, "messageId", "request")
        exchange.message_id = message_id
        result = self.handler.get_message_status(message_id, caller)
        envelope, response = response_envelope("getMessageStatusResponse", "types", ASYNC_TYPES_NS)
        add_child(response, "messageId", result.message_id)
        add_child(response, "messageState", result.state.value)
        status = add_child(response, "status")
        add_child(status, "statusCode", result.status_code)
        add_optional(status, "statusMessage", result.status_message)
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
        info = ErrorInfo(code=code, message=message, date=utc_now(), session_id=exchange.session_id)
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


def _request_parser(*, huge_tree: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=huge_tree,
        remove_comments=False,
    )


_PARSER = _request_parser(huge_tree=False)
# huge_tree lifts libxml2's limit of 10,000,000 bytes on one text node, which
# the base64 of an evidence file over about 7.5 MB, or of a signed
# notification of 100,000 facts, exceeds. It is used only for a UTF-8 request
# whose prolog has no DOCTYPE, so no entity can be declared, and
# service.max_request_bytes bounds the memory the tree takes.
_HUGE_PARSER = _request_parser(huge_tree=True)


def _parse(body: bytes) -> etree._Element:
    """Parse a request; a DTD (and so every entity declaration) is rejected."""
    if not body.strip():
        raise InputError(N_("the request body is empty; POST a SOAP envelope"), field="request", value=None)
    # lxml's parser objects are not thread-safe; waitress calls from several threads.
    parser = (_HUGE_PARSER if _prolog_is_safe(body) else _PARSER).copy()
    tree = etree.fromstring(body, parser).getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InputError(N_("the request contains a DTD, which is not allowed"), field="DOCTYPE", value=None)
    return tree.getroot()


def _prolog_is_safe(body: bytes) -> bool:
    """Return whether ``body`` is UTF-8 without a DOCTYPE before its root; raise InputError for a DOCTYPE.

    A request in another encoding returns ``False``, so it is parsed without
    huge_tree and a DTD in it is rejected after the parse.
    """
    from ..xml.security import check_prolog

    try:
        check_prolog(body)
    except InvalidDocumentError as exc:
        if any(problem.code == "dtd-forbidden" for problem in exc.problems):
            raise InputError(N_("the request contains a DTD, which is not allowed"), field="DOCTYPE", value=None) from exc
        return False
    return True


def noop_application(settings: ServiceSettings | None = None, *, trust: Trust | None = None) -> SoapApplication:
    """Return the no-op SOAP endpoint: the same stack as the receiving service, returning ``SCSS001``."""
    return SoapApplication(NoopChannelHandler(), settings, trust=trust)
