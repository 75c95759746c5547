"""Failures between the client and the service: typed errors, retries, rejected requests."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
import requests
from lxml import etree

from adapter.errors import (
    GatewayFault,
    InvalidDocumentError,
    Problem,
    TransientGatewayFault,
    TransientTransportError,
    TransportError,
)
from adapter.service.server import ServerThread
from adapter.service.soap import NoopChannelHandler, SoapApplication
from adapter.transport import GatewayClient, ServiceSettings, SyncReply
from adapter.transport.namespaces import COMMON_TYPES_NS, SOAP11_ENV_NS
from adapter.transport.retry import RetryPolicy
from adapter.transport.wsse import sign_envelope
from transport_support import gateway_settings, make_key_pair


@pytest.fixture(scope="module")
def sender():
    return make_key_pair("Sender body")


def _card() -> etree._Element:
    card = etree.Element("{urn:test:card}docOutgoing")
    card.text = "x"
    return card


class ScriptedHandler(NoopChannelHandler):
    """Handler that raises the scripted errors in turn, then returns SCSS001, and records every message id."""

    def __init__(self, *errors: Exception, delay: float = 0.0) -> None:
        self.errors = list(errors)
        self.delay = delay
        self.message_ids: list[str] = []
        self.lock = threading.Lock()

    def send_message(self, request, payload, caller):
        with self.lock:
            self.message_ids.append(request.message_id)
            error = self.errors.pop(0) if self.errors else None
        if self.delay:
            time.sleep(self.delay)
        if error is not None:
            raise error
        return SyncReply()


def _serve(handler, sender, **settings) -> ServerThread:
    app = SoapApplication(handler, ServiceSettings(**settings), trust=[sender.certificate])
    return ServerThread(app)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_is_transient(sender):
    sleeps = []
    url = f"http://127.0.0.1:{_free_port()}/"
    client = GatewayClient(gateway_settings(url), signer=sender.signer, sleep=sleeps.append)
    with pytest.raises(TransientTransportError) as caught:
        client.send_message(_card())
    assert caught.value.attempts == 3
    assert len(sleeps) == 2
    # The message names what happened in plain words, without the HTTP library's text.
    assert "refused" in caught.value.localized("en")
    assert "HTTPConnectionPool" not in caught.value.localized("en")
    assert "HTTPConnectionPool" not in caught.value.localized("ru")


def test_timeout_is_transient(sender):
    handler = ScriptedHandler(delay=1.0)
    with _serve(handler, sender) as server:
        settings = gateway_settings(server.url, read_timeout=0.2, retry_attempts=2)
        client = GatewayClient(settings, signer=sender.signer)
        with pytest.raises(TransientTransportError, match="timed out"):
            client.send_message(_card())
    assert len(handler.message_ids) == 2


def test_http_500_without_fault_is_transient(sender):
    calls = []

    def broken(environ, start_response):
        calls.append(environ["REQUEST_METHOD"])
        start_response("500 Internal Server Error", [("Content-Type", "text/html")])
        return [b"<html><body>proxy error</body></html>"]

    with ServerThread(broken) as server:
        client = GatewayClient(gateway_settings(server.url), signer=sender.signer)
        with pytest.raises(TransientTransportError, match="HTTP 500"):
            client.send_message(_card())
    assert calls == ["POST", "POST", "POST"]


def test_http_404_is_permanent(sender):
    calls = []

    def missing(environ, start_response):
        calls.append(environ["PATH_INFO"])
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b""]

    with ServerThread(missing) as server:
        client = GatewayClient(gateway_settings(server.url), signer=sender.signer)
        with pytest.raises(TransportError) as caught:
            client.send_message(_card())
    assert not isinstance(caught.value, TransientTransportError)
    assert len(calls) == 1


def test_fault_with_error_info_is_typed(sender):
    handler = ScriptedHandler(GatewayFault("rejected by rule {rule}", code="SBF-VE-8", rule="7"))
    with _serve(handler, sender) as server:
        client = GatewayClient(gateway_settings(server.url), signer=sender.signer)
        with pytest.raises(GatewayFault) as caught:
            client.send_message(_card())
    fault = caught.value
    assert fault.code == "SBF-VE-8"
    assert not isinstance(fault, TransientTransportError)
    assert fault.error_info.code == "SBF-VE-8"
    assert fault.error_info.message == "rejected by rule 7"
    assert handler.message_ids and len(handler.message_ids) == 1


def test_invalid_document_fault_in_configured_language(sender):
    problem = Problem("missing", "required element {field} is missing or empty", field="docNo")
    handler = ScriptedHandler(InvalidDocumentError([problem], source="card"))
    app = SoapApplication(handler, ServiceSettings(), trust=[sender.certificate], language="ru")
    with ServerThread(app) as server:
        client = GatewayClient(gateway_settings(server.url), signer=sender.signer)
        with pytest.raises(GatewayFault) as caught:
            client.send_message(_card())
    assert caught.value.code == "INVALID_DOCUMENT"
    assert "docNo" in caught.value.error_info.message
    assert "найдено проблем: 1" in caught.value.error_info.message


def test_transient_fault_retried_with_same_message_id(sender):
    unavailable = TransientTransportError("database is busy")
    handler = ScriptedHandler(unavailable, unavailable)
    sleeps = []
    with _serve(handler, sender) as server:
        settings = gateway_settings(server.url, retry_attempts=4, retry_base=0.5, retry_cap=0.8)
        client = GatewayClient(settings, signer=sender.signer, sleep=sleeps.append)
        result = client.send_message(_card())
    assert result.status.code == "SCSS001"
    assert len(handler.message_ids) == 3
    assert len(set(handler.message_ids)) == 1
    assert result.message_id == handler.message_ids[0]
    assert len(sleeps) == 2
    assert 0.0 <= sleeps[0] <= 0.5
    assert 0.0 <= sleeps[1] <= 0.8


def test_transient_code_exhausts_attempts(sender):
    busy = GatewayFault("try later", code="SERVICE_UNAVAILABLE")
    handler = ScriptedHandler(busy, busy, busy)
    with _serve(handler, sender) as server:
        client = GatewayClient(gateway_settings(server.url), signer=sender.signer)
        with pytest.raises(TransientGatewayFault) as caught:
            client.send_message(_card())
    assert caught.value.code == "SERVICE_UNAVAILABLE"
    assert isinstance(caught.value, GatewayFault)
    assert len(handler.message_ids) == 3


def test_backoff_is_bounded_full_jitter():
    policy = RetryPolicy(attempts=10, base=0.5, cap=4.0)
    import random

    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert min(delays) >= 0.0
        assert max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8


def test_unsigned_request_rejected(sender):
    handler = ScriptedHandler()
    with _serve(handler, sender) as server:
        client = GatewayClient(gateway_settings(server.url, sign_requests=False))
        with pytest.raises(GatewayFault) as caught:
            client.send_message(_card())
    assert caught.value.code == "WSSE_MISSING"
    assert handler.message_ids == []


def test_untrusted_signer_rejected(sender):
    stranger = make_key_pair("Unknown body", kind="ec")
    handler = ScriptedHandler()
    with _serve(handler, sender) as server:
        client = GatewayClient(gateway_settings(server.url), signer=stranger.signer)
        with pytest.raises(GatewayFault) as caught:
            client.send_message(_card())
    assert caught.value.code == "SENDER_NOT_TRUSTED"
    assert handler.message_ids == []


def _signed_request(sender, text: str) -> etree._Element:
    envelope = etree.fromstring(
        f"""<soap:Envelope xmlns:soap="{SOAP11_ENV_NS}"><soap:Body>
<t:SendMessage xmlns:t="http://bip.bee.kz/SyncChannel/v10/Types"><request><requestInfo>
<messageId>{uuid.uuid4()}</messageId><serviceId>ESEDO_UNIVERSAL_SERVICE</serviceId>
<messageDate>2026-05-01T10:00:00+05:00</messageDate><sender><senderId>S</senderId></sender></requestInfo>
<requestData><data><card xmlns="urn:test:card">{text}</card></data></requestData></request></t:SendMessage>
</soap:Body></soap:Envelope>""".encode()
    )
    return sign_envelope(envelope, sender.signer)


def _fault_code(response: requests.Response) -> str:
    root = etree.fromstring(response.content)
    return root.findtext(f".//{{{COMMON_TYPES_NS}}}ErrorInfo/errorCode")


def test_tampered_body_rejected(sender):
    handler = ScriptedHandler()
    with _serve(handler, sender) as server:
        envelope = _signed_request(sender, "original")
        good = requests.post(server.url, data=etree.tostring(envelope), headers={"Content-Type": "text/xml"}, timeout=5)
        envelope.find(".//{urn:test:card}card").text = "tampered"
        bad = requests.post(server.url, data=etree.tostring(envelope), headers={"Content-Type": "text/xml"}, timeout=5)
    assert good.status_code == 200
    assert bad.status_code == 500
    assert _fault_code(bad) == "WSSE_INVALID"
    assert len(handler.message_ids) == 1


def test_oversized_request_rejected(sender):
    handler = ScriptedHandler()
    with _serve(handler, sender, max_request_bytes=4096) as server:
        envelope = _signed_request(sender, "x" * 5000)
        response = requests.post(server.url, data=etree.tostring(envelope), timeout=5)
        client = GatewayClient(gateway_settings(server.url), signer=sender.signer)
        big = etree.Element("{urn:test:card}card")
        big.text = "y" * 5000
        with pytest.raises(TransportError) as caught:
            client.send_message(big)
    assert response.status_code == 413
    assert _fault_code(response) == "REQUEST_TOO_LARGE"
    assert caught.value.code == "REQUEST_TOO_LARGE"
    assert handler.message_ids == []


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&b;</soap:Body></soap:Envelope>',
        b'<?xml version="1.0"?><!DOCTYPE e SYSTEM "http://127.0.0.1:9/evil.dtd">'
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>',
        b"<soap:Envelope",
    ],
    ids=["entities", "external-dtd", "malformed"],
)
def test_dtd_and_malformed_requests_rejected(sender, document):
    handler = ScriptedHandler()
    with _serve(handler, sender) as server:
        response = requests.post(server.url, data=document, timeout=5)
    assert response.status_code == 500
    assert _fault_code(response) == "INVALID_REQUEST"
    assert handler.message_ids == []


def test_unknown_operation_rejected(sender):
    with _serve(ScriptedHandler(), sender) as server:
        body = f'<s:Envelope xmlns:s="{SOAP11_ENV_NS}"><s:Body><x:Other xmlns:x="urn:x"/></s:Body></s:Envelope>'
        response = requests.post(server.url, data=body.encode(), timeout=5)
    assert _fault_code(response) == "UNKNOWN_OPERATION"


def test_unexpected_handler_error_hidden(sender, caplog):
    handler = ScriptedHandler(RuntimeError("secret internal detail"))
    with _serve(handler, sender) as server:
        client = GatewayClient(gateway_settings(server.url), signer=sender.signer)
        with pytest.raises(GatewayFault) as caught:
            client.send_message(_card())
    assert caught.value.code == "INTERNAL_ERROR"
    assert "secret internal detail" not in caught.value.error_info.message
    assert len(handler.message_ids) == 1


def test_response_without_info_is_invalid(sender):
    response = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        b'<t:SendMessageResponse xmlns:t="http://bip.bee.kz/SyncChannel/v10/Types"><response><unknown/></response>'
        b"</t:SendMessageResponse></s:Body></s:Envelope>"
    )

    def incomplete(environ, start_response):
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [response]

    with ServerThread(incomplete) as server:
        client = GatewayClient(gateway_settings(server.url), signer=sender.signer)
        with pytest.raises(TransportError, match="invalid SOAP message") as caught:
            client.send_message(_card())
    assert not isinstance(caught.value, TransientTransportError)


def test_unknown_must_understand_header_rejected(sender):
    with _serve(ScriptedHandler(), sender) as server:
        envelope = _signed_request(sender, "x")
        header = envelope.find(f"{{{SOAP11_ENV_NS}}}Header")
        extra = etree.SubElement(header, "{urn:test:other}Routing")
        extra.set(f"{{{SOAP11_ENV_NS}}}mustUnderstand", "1")
        response = requests.post(server.url, data=etree.tostring(envelope), timeout=5)
    fault_code = etree.fromstring(response.content).findtext(f".//{{{SOAP11_ENV_NS}}}Fault/faultcode")
    assert fault_code == "soap:MustUnderstand"
    assert _fault_code(response) == "INVALID_REQUEST"


def test_soap12_envelope_rejected(sender):
    with _serve(ScriptedHandler(), sender) as server:
        body = b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>'
        response = requests.post(server.url, data=body, timeout=5)
    assert response.status_code == 500
    assert _fault_code(response) == "INVALID_REQUEST"


@pytest.mark.parametrize(
    ("query", "status", "root"),
    [
        ("?xsd=common.xsd", 200, "{http://www.w3.org/2001/XMLSchema}schema"),
        ("?wsdl=AsyncChannel", 200, "{http://schemas.xmlsoap.org/wsdl/}definitions"),
        ("?wsdl=Other", 404, None),
        ("?xsd=../../etc/passwd", 404, None),
    ],
)
def test_schema_files_served(sender, query, status, root):
    with _serve(ScriptedHandler(), sender) as server:
        response = requests.get(server.url + query, timeout=5)
    assert response.status_code == status
    if root is not None:
        assert etree.fromstring(response.content).tag == root
        assert b'schemaLocation="common.xsd"' not in response.content


def test_unknown_host_named_plainly(sender):
    import requests
    import urllib3

    def unresolved():
        # The chain requests builds when a host name does not resolve, made here without a DNS query.
        try:
            try:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            except socket.gaierror as lookup:
                raise urllib3.exceptions.NameResolutionError("gateway.invalid", None, lookup) from lookup
        except urllib3.exceptions.NameResolutionError as failure:
            raise requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", failure)) from failure

    client = GatewayClient(gateway_settings("http://gateway.invalid/"), signer=sender.signer)
    with pytest.raises(TransientTransportError) as caught:
        client._call_once("SendMessage", "http://gateway.invalid/", unresolved)

    assert "host name of http://gateway.invalid/ was not found" in caught.value.localized("en")
    assert "NameResolutionError" not in caught.value.localized("en")
