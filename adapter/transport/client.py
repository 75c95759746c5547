"""The gateway client: SyncChannel and AsyncChannel v10 over zeep.

One :class:`GatewayClient` contains a requests session, two zeep clients (one per
channel WSDL under ``schemas/gateway``) and the WS-Security signer. Every
operation is one exchange: it is signed, sent, retried on transient failures
with the same ``messageId`` (see :mod:`adapter.transport.retry`) and logged in
one INFO line with the operation, message id, status, HTTP status, attempts
and duration. Failures are typed: :class:`~adapter.errors.TransientTransportError`
for connection errors, timeouts, HTTP 5xx without a SOAP fault and fault
codes configured as transient; :class:`~adapter.errors.GatewayFault` (with
``code`` and ``error_info``) for other faults and non-success statuses;
:class:`~adapter.errors.TransportError` for the rest.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import requests
import zeep
import zeep.exceptions
from lxml import etree

from schemas import schema_path

from ..errors import (
    ConfigError,
    EdmsAdapterError,
    GatewayFault,
    InputError,
    TransientGatewayFault,
    TransientTransportError,
    TransportError,
)
from ..i18n import N_
from .http import GatewayTransport
from .messages import (
    AsyncSendResult,
    ErrorInfo,
    MessageInfo,
    MessageState,
    MessageStatus,
    MessageType,
    ReceivedMessage,
    ReceiveStatus,
    ResendMode,
    ResponseInfo,
    Status,
    SyncResult,
    normalize_properties,
)
from .namespaces import ASYNC_INTERFACES_NS, SYNC_INTERFACES_NS
from .faults import error_info_from_detail
from .retry import RetryPolicy, call_with_retry
from .settings import GatewaySettings, read_password
from .wsse import BodySignature, Trust

if TYPE_CHECKING:
    from signing.keys import Signer

__all__ = ["GatewayClient"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

PropertiesArg = Mapping[str, str] | Iterable[tuple[str, str]] | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _first_element(data: Any) -> etree._Element | None:
    """Return the payload element inside a parsed ``data`` value, or ``None``."""
    if data is None:
        return None
    values = getattr(data, "_value_1", None) or []
    if isinstance(values, etree._Element):
        return values
    for value in values:
        if isinstance(value, etree._Element):
            return value
    return None


def _data(payload: etree._Element | None) -> dict[str, Any]:
    # zeep appends the element to the request tree, which moves it out of the
    # caller's tree; a copy per attempt leaves the caller's element alone.
    return {"data": {"_value_1": [copy.deepcopy(payload)]}} if payload is not None else {}


def _error_info_dict(error: ErrorInfo) -> dict[str, Any]:
    return {
        "errorCode": error.code,
        "errorMessage": error.message,
        "errorData": error.data,
        "errorDate": error.date,
        "subError": _error_info_dict(error.sub_error) if error.sub_error else None,
        "sessionId": error.session_id,
    }


def _property_list(properties: PropertiesArg) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in normalize_properties(properties)]


def _properties(items: Any) -> tuple[tuple[str, str], ...]:
    return tuple((item.key, item.value) for item in items or ())


class GatewayClient:
    """Client of the gateway's SyncChannel and AsyncChannel (or of a receiving service of the same contract).

    ``signer`` signs the SOAP body of every request (required while
    ``sign_requests`` is on). ``trust``, when given, makes the client verify
    the WS-Security signature of every non-fault response against pinned
    certificates or a callback (see :data:`adapter.transport.wsse.Trust`).
    ``verifier`` is another name for ``trust``. ``plugins`` are zeep
    plugins, such as :class:`~adapter.transport.http.EnvelopeHooks`.
    """

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        signer: Signer | None = None,
        trust: Trust | None = None,
        verifier: Trust | None = None,
        plugins: Sequence[zeep.Plugin] = (),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not settings.sender_id:
            raise ConfigError(N_("gateway.sender_id is empty; set the participant id the gateway registered"), key="gateway.sender_id")
        if settings.sign_requests and signer is None:
            raise ConfigError(
                N_("gateway.sign_requests is on but no signing key was given; give a key or turn the setting off"),
                key="gateway.sign_requests",
            )
        self.settings = settings
        self.retry_policy = RetryPolicy(settings.retry_attempts, settings.retry_base, settings.retry_cap)
        self._password = read_password(settings)
        self._transport = GatewayTransport(settings, session)
        self._wsse = BodySignature(signer if settings.sign_requests else None, trust=trust if trust is not None else verifier)
        self._plugins = list(plugins)
        self._sleep = sleep
        self._clients: dict[str, zeep.Client] = {}
        self._services: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------

    def _service(self, channel: str) -> Any:
        with self._lock:
            if channel not in self._services:
                wsdl = schema_path(f"gateway/{channel}.wsdl")
                # The bundled XSD is written from the elements seen on the wire, not
                # from the gateway's own schema, so responses are parsed leniently:
                # an element it does not know is skipped instead of failing the call.
                zeep_settings = zeep.Settings(
                    strict=False, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
                )
                client = zeep.Client(
                    str(wsdl), transport=self._transport, wsse=self._wsse, plugins=self._plugins, settings=zeep_settings
                )
                if channel == "SyncChannel":
                    binding, address = f"{{{SYNC_INTERFACES_NS}}}SyncChannelHttpBinding", self.settings.endpoint
                else:
                    binding = f"{{{ASYNC_INTERFACES_NS}}}AsyncChannelHttpBinding"
                    address = self.settings.async_endpoint or self.settings.endpoint
                self._clients[channel] = client
                self._services[channel] = client.create_service(binding, address)
            return self._services[channel]

    def close(self) -> None:
        """Close the HTTP session."""
        self._transport.session.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _sender(self) -> dict[str, Any]:
        return {"senderId": self.settings.sender_id, "password": self._password}

    def _exchange(self, operation: str, endpoint: str, message_id: str | None, call: Callable[[], T], status_of: Callable[[T], str]) -> T:
        """Run one exchange with retries, typed errors and the INFO log line."""
        started = time.monotonic()
        attempts = 0
        status = "-"

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            self._transport.reset_status()
            return self._call_once(operation, endpoint, call)

        try:
            result, _ = call_with_retry(attempt, self.retry_policy, what=f"{operation} {message_id or '-'}", sleep=self._sleep)
            status = status_of(result)
            return result
        except GatewayFault as exc:
            status = exc.code or "fault"
            raise
        except EdmsAdapterError as exc:
            status = type(exc).__name__
            raise
        finally:
            logger.info(
                "%s messageId=%s status=%s http=%s attempts=%d duration=%.3fs",
                operation,
                message_id or "-",
                status,
                self._transport.last_status or "-",
                attempts,
                time.monotonic() - started,
            )

    def _call_once(self, operation: str, endpoint: str, call: Callable[[], T]) -> T:
        """Call zeep once and turn every failure into an adapter error."""
        try:
            return call()
        except EdmsAdapterError:
            raise
        except requests.exceptions.SSLError as exc:
            raise TransportError(
                N_("TLS connection to {endpoint} failed: {reason}; check gateway.tls_ca_bundle and the client certificate"),
                endpoint=endpoint,
                reason=str(exc),
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise TransientTransportError(
                N_("{operation} to {endpoint} timed out (connect {connect} s, read {read} s)"),
                operation=operation,
                endpoint=endpoint,
                connect=self.settings.connect_timeout,
                read=self.settings.read_timeout,
            ) from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            cause = _os_cause(exc)
            if isinstance(cause, ConnectionRefusedError):
                raise TransientTransportError(
                    N_("connection to {endpoint} refused: nothing listens there; check gateway.endpoint and that the gateway is running"), endpoint=endpoint
                ) from exc
            if isinstance(cause, socket.gaierror):
                raise TransientTransportError(N_("the host name of {endpoint} was not found; check gateway.endpoint and the DNS settings"), endpoint=endpoint) from exc
            raise TransientTransportError(
                N_("connection to {endpoint} failed: {reason}"), endpoint=endpoint, reason=str(cause or exc)
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise TransportError(N_("request to {endpoint} failed: {reason}"), endpoint=endpoint, reason=str(exc)) from exc
        except zeep.exceptions.Fault as exc:
            if exc.code is None and not isinstance(exc.detail, etree._Element):
                # zeep reports a non-200 XML response without soap:Fault (an
                # HTML error page of a proxy, say) as an "unknown fault".
                raise self._http_error(endpoint, self._transport.last_status or 500) from exc
            raise self._fault(operation, exc) from exc
        except zeep.exceptions.TransportError as exc:
            raise self._http_error(endpoint, exc.status_code) from exc
        except (
            zeep.exceptions.XMLSyntaxError,
            zeep.exceptions.XMLParseError,
            zeep.exceptions.ValidationError,
            # A response that lacks a required element or has an unknown enum
            # value surfaces as one of these while the result is read.
            AttributeError,
            TypeError,
            ValueError,
        ) as exc:
            raise TransportError(
                N_("invalid SOAP message in {operation} with {endpoint}: {reason}"),
                operation=operation,
                endpoint=endpoint,
                reason=str(exc),
            ) from exc

    @staticmethod
    def _http_error(endpoint: str, status: int) -> TransportError:
        error_type = TransientTransportError if status >= 500 else TransportError
        return error_type(N_("{endpoint} returned HTTP {status} without a SOAP fault"), endpoint=endpoint, status=status)

    def _fault(self, operation: str, fault: zeep.exceptions.Fault) -> GatewayFault:
        info = error_info_from_detail(fault.detail if isinstance(fault.detail, etree._Element) else None)
        code = (info.code if info and info.code else None) or (fault.code or "")
        reason = (info.message if info and info.message else None) or fault.message or ""
        error_type = TransientGatewayFault if code in self.settings.transient_codes else GatewayFault
        error = error_type(N_("{operation} failed with fault {code}: {reason}"), code=code, operation=operation, reason=reason)
        error.error_info = info  # type: ignore[attr-defined]
        return error

    # -- SyncChannel ------------------------------------------------------

    def send_message(
        self,
        data: etree._Element | None,
        *,
        message_id: str | None = None,
        service_id: str | None = None,
        route_id: str | None = None,
        correlation_id: str | None = None,
        properties: PropertiesArg = None,
        message_date: dt.datetime | None = None,
    ) -> SyncResult:
        """Send ``data`` by SyncChannel ``SendMessage`` and return the response.

        ``message_id`` defaults to a new UUID; every retry of this call sends
        the same id. A response status other than ``SCSS...`` raises
        :class:`~adapter.errors.GatewayFault` with the status code.
        """
        message_id = message_id or str(uuid.uuid4())
        request = {
            "requestInfo": {
                "messageId": message_id,
                "correlationId": correlation_id,
                "serviceId": service_id or self.settings.service_id,
                "messageDate": message_date or _now(),
                "routeId": route_id if route_id is not None else (self.settings.route_id or None),
                "sender": self._sender(),
                "properties": _property_list(properties),
            },
            "requestData": {},
        }
        service = self._service("SyncChannel")

        def call() -> SyncResult:
            request["requestData"] = _data(data)
            response = service.SendMessage(request=request)
            info = response.responseInfo
            status = Status(info.status.code, info.status.message or "")
            result = SyncResult(
                info=ResponseInfo(info.messageId, info.responseDate, status, info.correlationId, info.sessionId),
                payload=_first_element(response.responseData.data if response.responseData else None),
            )
            if not status.ok:
                error_type = TransientGatewayFault if status.code in self.settings.transient_codes else GatewayFault
                raise error_type(
                    N_("SendMessage of {message_id} returned status {code}: {reason}"),
                    code=status.code,
                    message_id=message_id,
                    reason=status.message,
                )
            return result

        return self._exchange("SendMessage", self.settings.endpoint, message_id, call, lambda r: r.status.code)

    # -- AsyncChannel -----------------------------------------------------

    @property
    def _async_endpoint(self) -> str:
        return self.settings.async_endpoint or self.settings.endpoint

    def send_async_message(
        self,
        data: etree._Element | None,
        *,
        message_type: MessageType = MessageType.REQUEST,
        message_id: str | None = None,
        correlation_id: str | None = None,
        service_id: str | None = None,
        route_id: str | None = None,
        properties: PropertiesArg = None,
        message_date: dt.datetime | None = None,
    ) -> AsyncSendResult:
        """Queue ``data`` by AsyncChannel ``sendMessage``; retries send the same message id."""
        if message_type is not MessageType.REQUEST and not correlation_id:
            raise InputError(
                N_("a {type} message needs the correlation id of the message it answers"),
                field="correlation_id",
                value=None,
                type=message_type.value,
            )
        message_id = message_id or str(uuid.uuid4())
        request = {
            "messageInfo": {
                "messageId": message_id,
                "correlationId": correlation_id,
                "serviceId": service_id or self.settings.service_id,
                "messageType": message_type.value,
                "routeId": route_id if route_id is not None else (self.settings.route_id or None),
                "messageDate": message_date or _now(),
                "sender": self._sender(),
                "properties": _property_list(properties),
            },
            "messageData": {},
        }
        service = self._service("AsyncChannel")

        def call() -> AsyncSendResult:
            request["messageData"] = _data(data)
            response = service.sendMessage(request=request)
            return AsyncSendResult(response.messageId, response.responseDate, response.correlationId, response.sessionId)

        return self._exchange("sendMessage", self._async_endpoint, message_id, call, lambda r: "accepted")

    def get_messages(
        self,
        *,
        service_id: str | None = None,
        message_id: str | None = None,
        correlation_id: str | None = None,
        amount: int | None = None,
        properties: PropertiesArg = None,
    ) -> tuple[ReceivedMessage, ...]:
        """Pull the messages the gateway holds for this sender (AsyncChannel ``getMessages``).

        Acknowledge each one with :meth:`send_delivery_notification`.
        """
        request = {
            "serviceId": service_id or self.settings.service_id,
            "messageId": message_id,
            "correlationId": correlation_id,
            "requestDate": _now(),
            "sender": self._sender(),
            "amount": amount,
            "properties": _property_list(properties),
        }
        service = self._service("AsyncChannel")

        def call() -> tuple[ReceivedMessage, ...]:
            response = service.getMessages(request=request)
            messages = []
            # zeep unwraps a response with one child, so the result is the
            # list of messages itself (or None when there are none).
            items = response if isinstance(response, list) else getattr(response, "messages", None)
            for item in items or ():
                info = item.messageInfo
                messages.append(
                    ReceivedMessage(
                        info=MessageInfo(
                            service_id=info.serviceId,
                            message_type=MessageType(info.messageType),
                            message_date=info.messageDate,
                            sender_id=info.sender.senderId,
                            message_id=info.messageId,
                            correlation_id=info.correlationId,
                            route_id=info.routeId,
                            properties=_properties(info.properties),
                            session_id=info.sessionId,
                        ),
                        payload=_first_element(item.messageData.data if item.messageData else None),
                    )
                )
            return tuple(messages)

        return self._exchange("getMessages", self._async_endpoint, message_id, call, lambda r: f"{len(r)}-messages")

    def send_delivery_notification(
        self,
        message_id: str,
        *,
        accepted: bool = True,
        resend: ResendMode = ResendMode.NOT_RESEND,
        error: ErrorInfo | None = None,
        service_id: str | None = None,
    ) -> None:
        """Acknowledge pulled message ``message_id`` as accepted or not accepted."""
        now = _now()
        request = {
            "notification": {
                "messageId": message_id,
                "serviceId": service_id or self.settings.service_id,
                "notificationDate": now,
                "deliveryStatus": {
                    "receiveStatus": (ReceiveStatus.ACCEPTED if accepted else ReceiveStatus.NOT_ACCEPTED).value,
                    "statusDate": now,
                    "resendMessage": resend.value,
                    "error": _error_info_dict(error) if error else None,
                },
            },
            "sender": self._sender(),
        }
        service = self._service("AsyncChannel")

        def call() -> None:
            service.sendDeliveryNotification(request=request)

        self._exchange(
            "sendDeliveryNotification", self._async_endpoint, message_id, call,
            lambda r: "accepted" if accepted else "not-accepted",
        )

    def get_message_status(self, message_id: str) -> MessageStatus:
        """Return the delivery state of AsyncChannel message ``message_id``."""
        request = {"messageId": message_id, "sender": self._sender()}
        service = self._service("AsyncChannel")

        def call() -> MessageStatus:
            response = service.getMessageStatus(request=request)
            return MessageStatus(
                message_id=response.messageId,
                state=MessageState(response.messageState),
                status_code=response.status.statusCode,
                status_date=response.status.statusDate,
                status_message=response.status.statusMessage,
            )

        return self._exchange("getMessageStatus", self._async_endpoint, message_id, call, lambda r: r.state.value)


def _os_cause(exc: BaseException) -> OSError | None:
    """Return the operating system's error under a requests or urllib3 connection error, or ``None``."""
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and not isinstance(current, requests.exceptions.RequestException) and type(current).__module__ in ("builtins", "socket"):
            return current
        linked = [getattr(current, "reason", None), current.__cause__, current.__context__, *getattr(current, "args", ())]
        pending.extend(item for item in linked if isinstance(item, BaseException))
    return None
