"""The receiving service on loopback, called by the real zeep-based GatewayClient with keys of the test PKI."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
import uuid

import pytest
from lxml import etree

from adapter.errors import GatewayFault
from adapter.exchange.card import CARD_NS, AttachedFile
from adapter.exchange.receipts import ReceiptKind, RefusalReason, unwrap_receipt_message, verify_receipt
from adapter.exchange.receiver import RECEIPT_SERVICE_ID, ReceiverErrorCode, create_wsgi_app, open_inbox
from adapter.exchange.registrar import Registrar
from adapter.service.server import ServerThread
from adapter.service.soap import BaseChannelHandler, SoapApplication
from adapter.store.inbox import OutgoingReceipt, ReceivedDocument, ReceivedEvidence
from adapter.transport import GatewayClient
from adapter.transport.messages import SyncReply
from adapter.transport.settings import GatewaySettings
from receiver_support import SENDER_ID, ReceivingSide, card_with_document, make_config, signed_card, signer_of, tamper_signed
from sqlalchemy import func, select

from adapter.config import Config


def _client(url: str, signer, sender_id: str = SENDER_ID) -> GatewayClient:
    settings = GatewaySettings(
        endpoint=url,
        sender_id=sender_id,
        connect_timeout=2.0,
        read_timeout=20.0,
        retry_attempts=1,
        retry_base=0.001,
        retry_cap=0.01,
    )
    return GatewayClient(settings, signer=signer)


def _start(pki, folder, **receiver) -> ReceivingSide:
    receiver.setdefault("sender_bins", {SENDER_ID: pki.sender_bin})
    config = make_config(pki, folder, **receiver)
    store = open_inbox(config)
    app = create_wsgi_app(config, signer=signer_of(pki.receiver), store=store)
    return ReceivingSide(config, app.handler, ServerThread(app), store)


@pytest.fixture
def side(test_pki, tmp_path):
    receiving = _start(test_pki, tmp_path)
    yield receiving
    receiving.server.stop()
    receiving.store.close()


@pytest.fixture
def client(side, test_pki):
    gateway = _client(side.url, signer_of(test_pki.head))
    yield gateway
    gateway.close()


def _payload(card) -> etree._Element:
    return etree.fromstring(card.to_xml())


def _count(store, model) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def _pull(client) -> list:
    return list(client.get_messages(service_id=RECEIPT_SERVICE_ID, amount=50))


def _verified(message, pki):
    return verify_receipt(unwrap_receipt_message(message.payload), certificates=[pki.receiver.certificate])


def _fault(client, card, message_id: str) -> GatewayFault:
    with pytest.raises(GatewayFault) as caught:
        client.send_message(_payload(card), message_id=message_id)
    return caught.value


def test_accepted_card_is_stored(side, client, test_pki):
    card, signed = signed_card(test_pki, test_pki.head, side.config)
    message_id = str(uuid.uuid4())
    before = dt.datetime.now(dt.timezone.utc)

    result = client.send_message(_payload(card), message_id=message_id)

    assert result.status.code == "SCSS001"
    assert result.status.message == "document received"
    with side.store.session() as session:
        document = session.scalars(select(ReceivedDocument)).one()
        assert document.message_id == message_id
        assert document.doc_date == card.doc_date
        assert before - dt.timedelta(seconds=1) <= document.received_at <= dt.datetime.now(dt.timezone.utc)
        assert document.state_changed_at == document.received_at
        assert document.state == "received"
        receipt = session.scalars(select(OutgoingReceipt)).one()
        assert (receipt.state, receipt.push_attempts, receipt.document_id) == ("queued", 0, document.id)
        assert receipt.created_at.tzinfo is not None
        assert document.document_xml == signed
        assert document.sender_bin == test_pki.sender_bin
        assert document.signer_name == test_pki.head.full_name
        assert document.signer_role == "head"
        assert [fact.number for fact in document.facts] == [1, 2, 3]
        assert {fact.state for fact in document.facts} == {"pending"}
        stored = {item.sha256: item.content for item in session.scalars(select(ReceivedEvidence))}
    assert stored == {item.sha256: item.content for item in card.attachments}


def test_delivered_receipt_is_signed(side, client, test_pki):
    card, _signed = signed_card(test_pki, test_pki.head, side.config)
    message_id = str(uuid.uuid4())
    client.send_message(_payload(card), message_id=message_id)

    messages = _pull(client)

    assert len(messages) == 1
    assert messages[0].info.correlation_id == message_id
    receipt = _verified(messages[0], test_pki)
    assert receipt.kind is ReceiptKind.DELIVERED
    assert receipt.document.message_id == message_id
    assert receipt.document.sha256 == card.document_sha256
    assert receipt.document.doc_no == card.doc_no
    assert receipt.signer == test_pki.receiver.certificate


def test_repeated_message_id_same_answer(side, client, test_pki):
    card, _signed = signed_card(test_pki, test_pki.head, side.config)
    message_id = str(uuid.uuid4())

    first = client.send_message(_payload(card), message_id=message_id)
    second = client.send_message(_payload(card), message_id=message_id)

    assert (second.status.code, second.status.message) == (first.status.code, first.status.message)
    assert _count(side.store, ReceivedDocument) == 1
    assert _count(side.store, OutgoingReceipt) == 1


def test_repeated_message_id_invalid_card(side, client, test_pki):
    card, _signed = signed_card(test_pki, test_pki.head, side.config)
    message_id = str(uuid.uuid4())
    first = client.send_message(_payload(card), message_id=message_id)
    invalid = etree.Element(f"{{{CARD_NS}}}card", version="1")
    etree.SubElement(invalid, f"{{{CARD_NS}}}docNo").text = "1"

    second = client.send_message(invalid, message_id=message_id)

    assert (second.status.code, second.status.message) == (first.status.code, first.status.message)
    assert _count(side.store, ReceivedDocument) == 1


def test_same_document_new_message_id(side, client, test_pki):
    card, _signed = signed_card(test_pki, test_pki.head, side.config)
    client.send_message(_payload(card), message_id=str(uuid.uuid4()))
    Registrar(side.config, signer=side.service.signer, store=side.store).register(1)

    again = client.send_message(_payload(card), message_id=str(uuid.uuid4()))

    assert again.status.code == "SCSS001"
    assert _count(side.store, ReceivedDocument) == 1
    # One delivered and one registered receipt: the repeat added none.
    assert _count(side.store, OutgoingReceipt) == 2


def test_broken_signature_fault_and_refusal(side, client, test_pki):
    card, signed = signed_card(test_pki, test_pki.head, side.config)
    tampered = card_with_document(card, tamper_signed(signed))
    message_id = str(uuid.uuid4())

    fault = _fault(client, tampered, message_id)

    assert fault.code == ReceiverErrorCode.SIGNATURE.value
    assert "signature check failed" in str(fault)
    assert _count(side.store, ReceivedDocument) == 0
    messages = _pull(client)
    assert len(messages) == 1
    receipt = _verified(messages[0], test_pki)
    assert receipt.kind is ReceiptKind.REFUSED
    assert receipt.refusal_reason is RefusalReason.SIGNATURE_INVALID
    assert receipt.document.message_id == message_id


def test_broken_signature_repeat_same_fault(side, client, test_pki):
    card, signed = signed_card(test_pki, test_pki.head, side.config)
    tampered = card_with_document(card, tamper_signed(signed))
    message_id = str(uuid.uuid4())

    first = _fault(client, tampered, message_id)
    second = _fault(client, tampered, message_id)

    assert second.code == first.code
    assert _count(side.store, OutgoingReceipt) == 1


def test_revoked_signer_fault(side, client, test_pki):
    card, _signed = signed_card(test_pki, test_pki.revoked, side.config, policy=False)

    fault = _fault(client, card, str(uuid.uuid4()))

    assert fault.code == ReceiverErrorCode.SIGNATURE.value
    assert "revoked" in str(fault)


def test_employee_signer_policy_fault(side, client, test_pki):
    card, _signed = signed_card(test_pki, test_pki.employee, side.config, policy=False)

    fault = _fault(client, card, str(uuid.uuid4()))

    assert fault.code == ReceiverErrorCode.POLICY.value
    assert _count(side.store, ReceivedDocument) == 0
    assert _pull(client) == []


def test_sender_bin_mapping_fault(side, client, test_pki):
    card, _signed = signed_card(test_pki, test_pki.other_org_head, side.config)

    fault = _fault(client, card, str(uuid.uuid4()))

    assert fault.code == ReceiverErrorCode.SENDER.value
    assert test_pki.sender_bin in str(fault)


def test_evidence_mismatch_fault(side, client, test_pki):
    card, _signed = signed_card(test_pki, test_pki.head, side.config)
    replaced = AttachedFile(card.attachments[0].file_name, "image/png", card.attachments[0].content + b"\x00")
    altered = dataclasses.replace(card, attachments=(replaced, *card.attachments[1:]))

    fault = _fault(client, altered, str(uuid.uuid4()))

    assert fault.code == ReceiverErrorCode.CARD_MISMATCH.value
    assert card.attachments[0].sha256 in str(fault)


def test_invalid_card_fault(side, client):
    payload = etree.Element(f"{{{CARD_NS}}}card", version="1")
    etree.SubElement(payload, f"{{{CARD_NS}}}docNo").text = "1"

    with pytest.raises(GatewayFault) as caught:
        client.send_message(payload, message_id=str(uuid.uuid4()))

    assert caught.value.code == ReceiverErrorCode.CARD_SCHEMA.value


def test_edition_not_in_force_fault(side, client, test_pki):
    card, _signed = signed_card(test_pki, test_pki.head, side.config, edition="2026-04")

    fault = _fault(client, card, str(uuid.uuid4()))

    assert fault.code in (ReceiverErrorCode.EDITION.value, ReceiverErrorCode.DOCUMENT_SCHEMA.value)
    assert "2026-04" in str(fault)


def test_fault_in_configured_language(test_pki, tmp_path):
    side = _start(test_pki, tmp_path, language="ru")
    gateway = _client(side.url, signer_of(test_pki.head))
    try:
        card, _signed = signed_card(test_pki, test_pki.employee, side.config, policy=False)
        fault = _fault(gateway, card, str(uuid.uuid4()))
    finally:
        gateway.close()
        side.server.stop()
        side.store.close()
    assert "подписавший не вправе подписывать этот документ" in str(fault)


def test_pull_and_delivery_notification(side, client, test_pki):
    card, _signed = signed_card(test_pki, test_pki.head, side.config)
    message_id = str(uuid.uuid4())
    client.send_message(_payload(card), message_id=message_id)
    Registrar(side.config, signer=side.service.signer, store=side.store).register(1)

    pulled = _pull(client)
    assert [_verified(message, test_pki).kind for message in pulled] == [ReceiptKind.DELIVERED, ReceiptKind.REGISTERED]
    client.send_delivery_notification(pulled[0].info.message_id, service_id=RECEIPT_SERVICE_ID)

    remaining = _pull(client)
    assert [message.info.message_id for message in remaining] == [pulled[1].info.message_id]
    assert client.get_message_status(pulled[0].info.message_id).state.value == "DELIVERED"
    assert client.get_message_status(pulled[1].info.message_id).state.value == "ON_DELIVERY"
    document_status = client.get_message_status(message_id)
    assert document_status.state.value == "DELIVERED"
    assert document_status.status_code == "SCSS001"


def test_receipts_only_for_their_sender(side, client, test_pki):
    card, _signed = signed_card(test_pki, test_pki.head, side.config)
    client.send_message(_payload(card), message_id=str(uuid.uuid4()))
    other = _client(side.url, signer_of(test_pki.head), sender_id="ANOTHER_BODY")
    try:
        assert list(other.get_messages(service_id=RECEIPT_SERVICE_ID)) == []
        with pytest.raises(GatewayFault) as caught:
            other.send_delivery_notification(_pull(client)[0].info.message_id, service_id=RECEIPT_SERVICE_ID)
    finally:
        other.close()
    assert caught.value.code == ReceiverErrorCode.UNKNOWN_MESSAGE.value
    assert len(_pull(client)) == 1


def test_untrusted_transport_key_fault(side, test_pki, tmp_path):
    from signing.testpki import TestPki

    foreign = TestPki.create(tmp_path / "foreign-pki", key_set="foreign")
    gateway = _client(side.url, signer_of(foreign.head))
    card, _signed = signed_card(test_pki, test_pki.head, side.config)
    try:
        with pytest.raises(GatewayFault) as caught:
            gateway.send_message(_payload(card), message_id=str(uuid.uuid4()))
    finally:
        gateway.close()
    assert caught.value.code == "SENDER_NOT_TRUSTED"
    assert _count(side.store, ReceivedDocument) == 0
    # The fault names the certificate by serial number and issuer, never by its holder.
    text = str(caught.value)
    assert f"{foreign.head.certificate.serial_number:x}" in text
    assert foreign.head.iin not in text
    assert foreign.head.person.surname not in text
    assert "[trust]" in text


def test_trusted_senders_pin_transport_key(test_pki, tmp_path):
    side = _start(test_pki, tmp_path, trusted_senders={test_pki.sender_bin: str(test_pki.deputy.cert_path)})
    pinned = _client(side.url, signer_of(test_pki.deputy))
    unpinned = _client(side.url, signer_of(test_pki.head))
    card, _signed = signed_card(test_pki, test_pki.head, side.config)
    try:
        with pytest.raises(GatewayFault) as caught:
            unpinned.send_message(_payload(card), message_id=str(uuid.uuid4()))
        accepted = pinned.send_message(_payload(card), message_id=str(uuid.uuid4()))
    finally:
        pinned.close()
        unpinned.close()
        side.server.stop()
        side.store.close()
    assert caught.value.code == "SENDER_NOT_TRUSTED"
    assert accepted.status.code == "SCSS001"


def test_config_builds_service(test_pki, tmp_path):
    config = Config({"receiver": {"registration_number_format": "{year}/{seq:05d}"}})
    store = open_inbox(config, f"sqlite:///{tmp_path / 'inbox.sqlite3'}")
    try:
        app = create_wsgi_app(config, signer=signer_of(test_pki.receiver), store=store)
    finally:
        store.close()
    assert app.handler.settings.registration_number_format == "{year}/{seq:05d}"


def test_missing_trust_file_stops_service(test_pki, tmp_path):
    from adapter.errors import ConfigError

    config = make_config(test_pki, tmp_path)
    data = {section: dict(values) for section, values in config.data.items()}
    data["trust"]["anchors"] = [str(tmp_path / "absent-root.pem")]
    store = open_inbox(Config(data), f"sqlite:///{tmp_path / 'inbox-absent.sqlite3'}")
    try:
        with pytest.raises(ConfigError) as caught:
            create_wsgi_app(Config(data), signer=signer_of(test_pki.receiver), store=store)
    finally:
        store.close()
    assert caught.value.key == "trust.anchors"
    assert "absent-root.pem" in str(caught.value)


class _PushEndpoint(BaseChannelHandler):
    """A sender's endpoint for pushed receipts that records what arrives."""

    def __init__(self, receiver_certificate, *, answer_after: float = 0.0) -> None:
        self.receiver_certificate = receiver_certificate
        self.received: list[tuple[str, bytes]] = []
        # Seconds between recording a receipt and responding, as a slow sender takes.
        self.answer_after = answer_after

    def trust_sender(self, certificate) -> bool:
        return certificate == self.receiver_certificate

    def send_message(self, request, payload, caller) -> SyncReply:
        self.received.append((request.message_id, unwrap_receipt_message(payload)))
        time.sleep(self.answer_after)
        return SyncReply()


def _wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@contextlib.contextmanager
def _pushing_side(pki, folder, answer_after: float):
    """Yield (receiving side, sender's gateway client, push endpoint) with receipts pushed to that endpoint."""
    endpoint = _PushEndpoint(pki.receiver.certificate, answer_after=answer_after)
    push_server = ServerThread(SoapApplication(endpoint))
    side = _start(pki, folder, push_endpoints={SENDER_ID: push_server.url})
    gateway = _client(side.url, signer_of(pki.head))
    try:
        yield side, gateway, endpoint
    finally:
        gateway.close()
        side.server.stop()
        push_server.stop()
        side.store.close()


def test_receipts_pushed_to_sender_endpoint(test_pki, tmp_path):
    # The delivered receipt's push is still waiting for its response when the
    # registration pushes, and must not be sent a second time.
    with _pushing_side(test_pki, tmp_path, answer_after=0.5) as (side, gateway, endpoint):
        card, _signed = signed_card(test_pki, test_pki.head, side.config)
        gateway.send_message(_payload(card), message_id=str(uuid.uuid4()))
        _wait_for(lambda: len(endpoint.received) == 1)
        Registrar(side.config, signer=side.service.signer, store=side.store).register(1)
        remaining = _pull(gateway)

    kinds = [verify_receipt(xml, certificates=[test_pki.receiver.certificate]).kind for _message_id, xml in endpoint.received]
    assert kinds == [ReceiptKind.DELIVERED, ReceiptKind.REGISTERED]
    # Pushed receipts are delivered, so nothing is left to pull.
    assert remaining == []


def test_pushes_during_slow_push_coalesce(test_pki, tmp_path):
    with _pushing_side(test_pki, tmp_path, answer_after=0.3) as (side, gateway, endpoint):
        message_ids = [str(uuid.uuid4()) for _ in range(3)]
        for number, message_id in enumerate(message_ids, start=1):
            card, _signed = signed_card(test_pki, test_pki.head, side.config, number=f"P-{number}")
            gateway.send_message(_payload(card), message_id=message_id)
        # Each message started a background push. The later ones leave their
        # receipts to the push already running, which makes another round.
        _wait_for(lambda: len(endpoint.received) == 3)
        _wait_for(lambda: _pull(gateway) == [])

    documents = [verify_receipt(xml, certificates=[test_pki.receiver.certificate]).document.message_id for _message_id, xml in endpoint.received]
    assert sorted(documents) == sorted(message_ids)


def test_failed_push_leaves_receipt_queued(test_pki, tmp_path):
    side = _start(test_pki, tmp_path, push_endpoints={SENDER_ID: "http://127.0.0.1:9/"})
    gateway = _client(side.url, signer_of(test_pki.head))
    try:
        card, _signed = signed_card(test_pki, test_pki.head, side.config)
        gateway.send_message(_payload(card), message_id=str(uuid.uuid4()))
        _wait_for(lambda: _pushed_attempts(side.store) > 0)
        remaining = _pull(gateway)
    finally:
        gateway.close()
        side.server.stop()
        side.store.close()
    assert [_verified(message, test_pki).kind for message in remaining] == [ReceiptKind.DELIVERED]


def _pushed_attempts(store) -> int:
    with store.session() as session:
        return session.scalar(select(func.sum(OutgoingReceipt.push_attempts))) or 0


def test_driver_error_hides_values(tmp_path):
    from sqlalchemy import create_engine
    from sqlalchemy.exc import IntegrityError

    from adapter.exchange.receiver import _run

    engine = create_engine(f"sqlite:///{tmp_path / 'driver.sqlite3'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE names (name TEXT UNIQUE)")

    with pytest.raises(IntegrityError) as caught:
        with engine.begin() as connection:
            _run(connection, "INSERT INTO names VALUES (?)", ("Айгүл Сәрсенова",))
            _run(connection, "INSERT INTO names VALUES (?)", ("Айгүл Сәрсенова",))

    assert "UNIQUE" in str(caught.value)
    assert "Айгүл" not in str(caught.value)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM names").scalar_one() == 0
    engine.dispose()
