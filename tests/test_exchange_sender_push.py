"""Push mode, documents signed elsewhere, and rosters, against the real service on loopback."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from adapter.errors import GatewayFault
from adapter.exchange.receipts import DocumentReference, Receipt, receipt_message, sign_receipt
from adapter.exchange.sender import RECEIPT_REJECTED_CODE, create_push_app
from adapter.service.server import ServerThread
from adapter.store.inbox import OutgoingReceipt
from adapter.store.tracking import DocumentState
from adapter.transport import GatewayClient, GatewaySettings
from sender_support import SAMPLES, numbered_sample, sender, start_exchange


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    running = start_exchange(tmp_path_factory.mktemp("exchange"))
    yield running
    running.close()


def _pusher(url: str, signer) -> GatewayClient:
    return GatewayClient(GatewaySettings(endpoint=url, sender_id="EDMS_ADAPTER_RECEIVER", retry_attempts=1), signer=signer)


def test_pushed_receipts_update_document(exchange, tmp_path):
    with sender(exchange, tmp_path / "sender", sender={"receipts": "push"}) as client:
        submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
        exchange.registrar.register(exchange.inbox_id(submission.message_id))
        with exchange.inbox.session() as session:
            queued = session.scalars(
                select(OutgoingReceipt).where(OutgoingReceipt.in_reply_to == submission.message_id).order_by(OutgoingReceipt.id)
            ).all()
            receipts = [(row.message_id, row.kind, row.xml) for row in queued]
        assert [kind for _, kind, _ in receipts] == ["delivered", "registered"]

        with ServerThread(create_push_app(client.config, client=client)) as endpoint, _pusher(endpoint.url, exchange.receiver_signer) as pusher:
            for message_id, kind, xml in receipts:
                result = pusher.send_message(receipt_message(xml, kind), message_id=message_id, service_id="EDMS_ADAPTER_RECEIPTS")
                assert result.status.ok

            status = client.status(submission.document_id)
            assert status.state is DocumentState.REGISTERED
            assert status.registration_number

            forged = Receipt.refused(DocumentReference(submission.message_id, status.xml_sha256), 3)
            from signing.keys import load_signer

            impostor = load_signer(str(exchange.pki.other_org_head.p12()), password=exchange.pki.password)
            with pytest.raises(GatewayFault) as caught:
                pusher.send_message(receipt_message(sign_receipt(forged, impostor), "refused"), message_id="{forged}", service_id="EDMS_ADAPTER_RECEIPTS")
            assert caught.value.code == RECEIPT_REJECTED_CODE

            with _pusher(endpoint.url, impostor) as stranger, pytest.raises(GatewayFault):
                stranger.send_message(receipt_message(sign_receipt(forged, exchange.receiver_signer), "refused"), message_id="{stranger}")

        assert client.status(submission.document_id).state is DocumentState.REGISTERED
        assert [item.gateway_message_id for item in client.store.receipts(valid=False)] == ["{forged}"]


def test_send_document_signed_elsewhere(exchange, tmp_path):
    from signing.verify import sign_document

    from adapter.xml import build_xml

    document = numbered_sample(exchange, "SIGNED")
    signed = sign_document(build_xml(document), exchange.head_signer, settings=exchange.sender_config())
    folder = tmp_path / "outbox"
    folder.mkdir()
    (folder / "signed.xml").write_bytes(signed)
    for item in document.evidence:
        (folder / item.file_name).write_bytes(next(SAMPLES.rglob(item.file_name)).read_bytes())

    with sender(exchange, tmp_path / "sender") as client:
        submission = client.send(folder / "signed.xml")
        assert submission.sent
        assert client.store.signed_xml(submission.document_id) == signed
        assert client.status(submission.number).document_id == submission.document_id


def test_send_rejects_tampered_document(exchange, tmp_path):
    from signing.verify import sign_document

    from adapter.errors import InvalidDocumentError
    from adapter.xml import build_xml

    document = numbered_sample(exchange, "TAMPERED")
    signed = sign_document(build_xml(document), exchange.head_signer, settings=exchange.sender_config())
    tampered = signed.replace(document.header.number.encode(), b"X-0001", 1)
    path = tmp_path / "signed.xml"
    path.write_bytes(tampered)

    with sender(exchange, tmp_path / "sender") as client:
        with pytest.raises(InvalidDocumentError):
            client.send(path)
        assert client.recent() == ()


def test_roster_submit_and_due(exchange, tmp_path):
    from signing.keys import load_signer

    from adapter.exchange.demo import sample_path
    from adapter.exchange.sender import SenderClient

    deputy = load_signer(str(exchange.pki.deputy.p12()), password=exchange.pki.password)
    with SenderClient(exchange.sender_config(tmp_path / "sender"), signer=deputy) as client:
        assert client.roster_due().due
        submission = client.submit_roster(sample_path("roster.toml"))
        assert submission.sent
        assert submission.kind == "roster"
        due = client.roster_due(today=client.status(submission.document_id).document_date + dt.timedelta(days=10))
        assert not due.due
        assert due.age_days == 10
        late = client.roster_due(today=due.last.document_date + dt.timedelta(days=184))
        assert late.due
        assert late.due_date == due.last.document_date + dt.timedelta(days=183)


def test_receipt_service_id_matches_receiver():
    from adapter.exchange.receiver import RECEIPT_SERVICE_ID
    from adapter.exchange.sender import SenderSettings

    assert SenderSettings().receipt_service_id == RECEIPT_SERVICE_ID
