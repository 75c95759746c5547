"""A real zeep client against the real waitress server on loopback: the operations that succeed."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
import requests
import zeep
from lxml import etree

from adapter.service.server import ServerThread
from adapter.service.soap import BaseChannelHandler, SoapApplication
from adapter.transport import (
    AsyncSendResult,
    EnvelopeHooks,
    GatewayClient,
    MessageInfo,
    MessageState,
    MessageStatus,
    MessageType,
    ReceivedMessage,
    ReceiveStatus,
    ServiceSettings,
    Status,
    SyncReply,
)
from transport_support import gateway_settings, make_key_pair

CARD_NS = "urn:test:card"


class RecordingHandler(BaseChannelHandler):
    """Handler that records each request, returns a receipt for SendMessage and serves an in-memory queue."""

    def __init__(self) -> None:
        self.requests = []
        self.queue: list[ReceivedMessage] = []
        self.notifications = []
        self.lock = threading.Lock()

    def send_message(self, request, payload, caller):
        with self.lock:
            self.requests.append((request, etree.tostring(payload, encoding="utf-8"), caller))
        receipt = etree.Element(f"{{{CARD_NS}}}receipt")
        receipt.text = f"registered {request.message_id}"
        return SyncReply(payload=receipt, status=Status("SCSS001", "ok"))

    def send_async_message(self, message, payload, caller):
        with self.lock:
            self.queue.append(ReceivedMessage(message, payload))
        return AsyncSendResult(message.message_id, dt.datetime.now(dt.timezone.utc), message.correlation_id)

    def get_messages(self, query, caller):
        with self.lock:
            found = [m for m in self.queue if query.message_id in (None, m.info.message_id)]
        return found[: query.amount or None]

    def send_delivery_notification(self, notification, caller):
        with self.lock:
            self.notifications.append(notification)
            self.queue = [m for m in self.queue if m.info.message_id != notification.message_id]

    def get_message_status(self, message_id, caller):
        delivered = any(n.message_id == message_id for n in self.notifications)
        state = MessageState.DELIVERED if delivered else MessageState.ON_DELIVERY
        return MessageStatus(message_id, state, "OK", dt.datetime.now(dt.timezone.utc), "status message")


@pytest.fixture(scope="module")
def sender():
    return make_key_pair("Sender body")


@pytest.fixture(scope="module")
def receiver():
    return make_key_pair("Receiving body", kind="ec")


@pytest.fixture
def handler():
    return RecordingHandler()


@pytest.fixture
def server(handler, sender, receiver):
    app = SoapApplication(handler, ServiceSettings(), trust=[sender.certificate], signer=receiver.signer)
    with ServerThread(app) as running:
        yield running


def _card(text: str = "Құжат") -> etree._Element:
    card = etree.Element(f"{{{CARD_NS}}}docOutgoing")
    etree.SubElement(card, f"{{{CARD_NS}}}docNo").text = text
    return card


def test_send_message_signed_and_verified(server, handler, sender, receiver):
    client = GatewayClient(gateway_settings(server.url), signer=sender.signer, trust=[receiver.certificate])
    card = _card()
    result = client.send_message(card, message_id="3b4a2d4e-0000-4000-8000-000000000001", properties={"docKind": "notification"})
    assert result.status.code == "SCSS001"
    assert result.message_id == "3b4a2d4e-0000-4000-8000-000000000001"
    assert result.payload.tag == f"{{{CARD_NS}}}receipt"
    assert result.payload.text == "registered 3b4a2d4e-0000-4000-8000-000000000001"
    request, payload, caller = handler.requests[0]
    assert caller.certificate == sender.certificate
    assert request.service_id == "ESEDO_UNIVERSAL_SERVICE"
    assert request.route_id == "R_ESEDO"
    assert request.sender_id == "KZ-TEST-SENDER"
    assert request.properties == (("docKind", "notification"),)
    assert "Құжат".encode() in payload
    assert card.getparent() is None
    assert card[0].text == "Құжат"


def test_password_sent_from_environment(server, handler, sender, monkeypatch):
    monkeypatch.setenv("EDMS_TEST_GATEWAY_PASSWORD", "s3cret-Pa55")
    settings = gateway_settings(server.url, password_env="EDMS_TEST_GATEWAY_PASSWORD")
    GatewayClient(settings, signer=sender.signer).send_message(_card())
    request = handler.requests[0][0]
    assert request.password == "s3cret-Pa55"
    assert "s3cret" not in repr(request)


def test_password_never_logged(server, sender, tmp_path, caplog):
    secret_file = tmp_path / "gateway-password"
    secret_file.write_text("Very-Secret-42\n", encoding="utf-8")
    settings = gateway_settings(server.url, password_file=str(secret_file))
    client = GatewayClient(settings, signer=sender.signer)
    with caplog.at_level(logging.DEBUG):
        client.send_message(_card())
    assert "Very-Secret-42" not in caplog.text
    assert "<password>***</password>" in caplog.text
    info_lines = [r for r in caplog.records if r.levelno == logging.INFO and r.name == "adapter.transport.client"]
    assert len(info_lines) == 1
    assert "SendMessage messageId=" in info_lines[0].getMessage()
    assert "status=SCSS001" in info_lines[0].getMessage()


def test_async_channel_round_trip(server, handler, sender):
    client = GatewayClient(gateway_settings(server.url), signer=sender.signer)
    sent = client.send_async_message(_card("A-1"), message_type=MessageType.REQUEST, properties=[("k", "v")])
    assert sent.message_id

    messages = client.get_messages(amount=10)
    assert [m.info.message_id for m in messages] == [sent.message_id]
    received = messages[0]
    assert isinstance(received.info, MessageInfo)
    assert received.info.message_type is MessageType.REQUEST
    assert received.info.properties == (("k", "v"),)
    assert received.payload.find(f"{{{CARD_NS}}}docNo").text == "A-1"

    assert client.get_message_status(sent.message_id).state is MessageState.ON_DELIVERY
    client.send_delivery_notification(sent.message_id, accepted=True)
    assert handler.notifications[0].receive_status is ReceiveStatus.ACCEPTED
    assert client.get_messages() == ()
    status = client.get_message_status(sent.message_id)
    assert status.state is MessageState.DELIVERED
    assert status.status_message == "status message"


def test_reply_needs_correlation_id(server, sender):
    from adapter.errors import InputError

    client = GatewayClient(gateway_settings(server.url), signer=sender.signer)
    with pytest.raises(InputError):
        client.send_async_message(_card(), message_type=MessageType.RESPONSE)


def test_hooks_see_envelopes(server, sender):
    seen = []
    hooks = EnvelopeHooks(
        on_egress=lambda envelope, operation: seen.append(("out", operation, etree.QName(envelope).localname)),
        on_ingress=lambda envelope, operation: seen.append(("in", operation, etree.QName(envelope).localname)),
    )
    client = GatewayClient(gateway_settings(server.url), signer=sender.signer, plugins=[hooks])
    client.send_message(_card())
    assert seen == [("out", "SendMessage", "Envelope"), ("in", "SendMessage", "Envelope")]


def test_wsdl_served_with_request_address(server):
    response = requests.get(server.url + "?wsdl", timeout=5)
    assert response.status_code == 200
    wsdl = etree.fromstring(response.content)
    address = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == server.url
    client = zeep.Client(server.url + "?wsdl")
    operations = client.service._binding._operations
    assert "SendMessage" in operations
    async_client = zeep.Client(server.url + "?wsdl=AsyncChannel")
    assert {"sendMessage", "getMessages", "sendDeliveryNotification", "getMessageStatus"} <= set(
        async_client.service._binding._operations
    )


def test_request_and_response_match_schema(server, sender, receiver):
    xmlschema = pytest.importorskip("xmlschema")
    from schemas import schema_path

    schema = xmlschema.XMLSchema(str(schema_path("gateway/SyncChannel.xsd")))
    bodies = []
    hooks = EnvelopeHooks(on_ingress=lambda envelope, operation: bodies.append(envelope))
    client = GatewayClient(gateway_settings(server.url), signer=sender.signer, plugins=[hooks])
    sent = []
    original = client._transport.post

    def capture(address, message, headers):
        sent.append(message)
        return original(address, message, headers)

    client._transport.post = capture
    client.send_message(_card())
    request_body = etree.fromstring(sent[0]).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    response_body = bodies[-1].find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    schema.validate(request_body)
    schema.validate(response_body)


def test_async_messages_match_schema(server, sender):
    xmlschema = pytest.importorskip("xmlschema")
    from schemas import schema_path

    schema = xmlschema.XMLSchema(str(schema_path("gateway/AsyncChannel.xsd")))
    responses = []
    hooks = EnvelopeHooks(on_ingress=lambda envelope, operation: responses.append(envelope))
    client = GatewayClient(gateway_settings(server.url), signer=sender.signer, plugins=[hooks])
    requests_sent = []
    original = client._transport.post

    def capture(address, message, headers):
        requests_sent.append(message)
        return original(address, message, headers)

    client._transport.post = capture
    sent = client.send_async_message(_card(), properties={"k": "v"})
    client.get_messages(amount=5)
    client.send_delivery_notification(sent.message_id, accepted=False)
    client.get_message_status(sent.message_id)
    body_tag = "{http://schemas.xmlsoap.org/soap/envelope/}Body"
    for message in requests_sent:
        schema.validate(etree.fromstring(message).find(body_tag)[0])
    for envelope in responses:
        schema.validate(envelope.find(body_tag)[0])
    assert len(requests_sent) == 4
    assert len(responses) == 4


def test_unsigned_response_rejected_when_trusted(handler, sender, receiver):
    from adapter.errors import VerificationError

    app = SoapApplication(handler, ServiceSettings(), trust=[sender.certificate])
    with ServerThread(app) as unsigned_server:
        client = GatewayClient(gateway_settings(unsigned_server.url), signer=sender.signer, trust=[receiver.certificate])
        with pytest.raises(VerificationError):
            client.send_message(_card())
    assert len(handler.requests) == 1
