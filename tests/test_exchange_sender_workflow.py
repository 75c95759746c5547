"""The sender against the real receiving service on loopback: zeep client, waitress, test PKI keys."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from adapter.errors import InputError
from adapter.i18n import gettext
from adapter.exchange.receipts import DocumentReference, FactDecision, FactOutcome, Receipt, receipt_message
from adapter.exchange.receiver import queue_receipt
from adapter.store.inbox import OutgoingReceipt, ReceivedDocument
from adapter.store.tracking import DecisionOutcome, DocumentState
from sender_support import FOREIGN_SENDER_ID, SAMPLES, numbered_sample, sender, start_exchange


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    running = start_exchange(tmp_path_factory.mktemp("exchange"))
    yield running
    running.close()


@pytest.fixture
def client(exchange, tmp_path):
    sending = sender(exchange, tmp_path / "sender")
    yield sending
    sending.close()


def _inbox_count(exchange, message_id: str) -> int:
    with exchange.inbox.session() as session:
        return session.scalar(select(func.count()).select_from(ReceivedDocument).where(ReceivedDocument.message_id == message_id))


def test_submit_sends_and_tracks(exchange, client):
    submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])

    assert submission.sent
    assert submission.response_code == "SCSS001"
    assert submission.message_id.startswith("{")
    status = client.status(submission.document_id)
    assert status.state is DocumentState.SENT
    assert status.item_count == len(exchange.sample.facts)
    assert len(client.store.evidence(submission.document_id)) == len(exchange.sample.evidence)
    assert _inbox_count(exchange, submission.message_id) == 1
    assert [t.state for t in client.timeline(submission.document_id)] == [DocumentState.SIGNED, DocumentState.QUEUED, DocumentState.SENT]


def test_receipts_reach_decided(exchange, client):
    submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
    inbox_id = exchange.inbox_id(submission.message_id)
    exchange.registrar.register(inbox_id)
    facts = len(exchange.sample.facts)
    exchange.registrar.decide(inbox_id, confirm=range(1, facts), reject=[facts], justification="a news report")

    pulled = client.pull_receipts()

    assert pulled.rejected == ()
    assert {record.kind for record in pulled.accepted} == {"delivered", "registered", "decision"}
    status = client.status(submission.document_id)
    assert status.state is DocumentState.DECIDED
    assert status.outcome is DecisionOutcome.PARTLY_CONFIRMED
    assert (status.confirmed, status.rejected) == (facts - 1, 1)
    assert status.registration_number
    decisions = client.store.decisions(submission.document_id)
    assert decisions[-1].justification == "a news report"
    assert client.pull_receipts().accepted == ()


def test_duplicate_send_registers_once(exchange, client):
    first = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
    again = client.resend(first.document_id)

    assert again.message_id == first.message_id
    assert again.sent
    assert _inbox_count(exchange, first.message_id) == 1
    assert client.status(first.document_id).attempts == 2


def test_receiver_down_keeps_document(exchange, tmp_path):
    folder = tmp_path / "sender"
    down = sender(exchange, folder, gateway={"endpoint": "http://127.0.0.1:9/", "retry_attempts": 2, "retry_base": 0.01})
    submission = down.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
    down.close()

    assert submission.state is DocumentState.RETRYING
    assert "127.0.0.1:9" in submission.reason

    with sender(exchange, folder) as back:
        assert [item.document_id for item in back.store.pending()] == [submission.document_id]
        (resent,) = back.send_pending()
        assert resent.sent
        assert resent.message_id == submission.message_id
        assert back.store.pending() == ()
    assert _inbox_count(exchange, submission.message_id) == 1


def test_foreign_sender_fault_fails(exchange, tmp_path):
    with sender(exchange, tmp_path / "sender", gateway={"sender_id": FOREIGN_SENDER_ID}) as client:
        submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
        assert submission.state is DocumentState.FAILED
        assert submission.response_code == "EDMS-POL-002"
        assert client.store.pending() == ()


def test_bad_receipt_signature_ignored(exchange, client):
    submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
    client.pull_receipts()
    status_before = client.status(submission.document_id)
    forged = Receipt.registered(
        DocumentReference(submission.message_id, status_before.xml_sha256, status_before.number),
        "FORGED-1",
        dt.date.today(),
    )
    from signing.keys import load_signer

    impostor = load_signer(str(exchange.pki.other_org_head.p12()), password=exchange.pki.password)
    with exchange.inbox.session() as session:
        queue_receipt(session, forged, impostor, sender_id="DEMO_STATE_BODY", document_id=None)

    pulled = client.pull_receipts()

    assert pulled.accepted == ()
    assert len(pulled.rejected) == 1
    assert "not a configured receiver certificate" in pulled.rejected[0].reason
    after = client.status(submission.document_id)
    assert after.state is status_before.state
    assert after.registration_number is None
    invalid = client.store.receipts(valid=False)
    assert [item.gateway_message_id for item in invalid] == [pulled.rejected[0].gateway_message_id]
    with exchange.inbox.session() as session:
        row = session.scalars(select(OutgoingReceipt).where(OutgoingReceipt.receipt_id == forged.id)).one()
        assert row.state == "not_delivered"


def test_tampered_receipt_ignored(exchange, client):
    submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
    client.pull_receipts()
    status = client.status(submission.document_id)
    reference = DocumentReference(submission.message_id, status.xml_sha256, status.number)
    decision = Receipt.decision(reference, [FactDecision(1, FactOutcome.CONFIRMED)])
    with exchange.inbox.session() as session:
        row = queue_receipt(session, decision, exchange.receiver_signer, sender_id="DEMO_STATE_BODY", document_id=None)
        assert b'<confirmed fact="1"/>' in row.xml
        row.xml = row.xml.replace(b'<confirmed fact="1"/>', b'<confirmed fact="2"/>')

    pulled = client.pull_receipts()

    assert len(pulled.rejected) == 1
    assert client.store.decisions(submission.document_id) == ()


def test_receipt_for_other_digest_ignored(exchange, client):
    submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
    client.pull_receipts()
    reference = DocumentReference(submission.message_id, "0" * 64, "X")
    receipt = Receipt.registered(reference, "OTHER-1", dt.date.today())
    with exchange.inbox.session() as session:
        queue_receipt(session, receipt, exchange.receiver_signer, sender_id="DEMO_STATE_BODY", document_id=None)

    pulled = client.pull_receipts()

    assert len(pulled.rejected) == 1
    assert "SHA-256" in pulled.rejected[0].reason
    assert client.status(submission.document_id).registration_number is None


def test_watch_reports_progress(exchange, client):
    submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
    inbox_id = exchange.inbox_id(submission.message_id)
    exchange.registrar.register(inbox_id)
    exchange.registrar.decide(inbox_id, confirm=range(1, len(exchange.sample.facts) + 1))
    seen = []

    final = client.watch(submission.document_id, timeout=10, poll_seconds=0.1, progress=lambda status: seen.append(status.state))

    assert final.state is DocumentState.DECIDED
    assert final.outcome is DecisionOutcome.CONFIRMED
    assert seen[-1] is DocumentState.DECIDED


def test_watch_times_out(exchange, client):
    submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
    status = client.watch(submission.document_id, timeout=0.3, poll_seconds=0.1)
    assert not status.final


def test_roster_submit_and_due(exchange, client):
    assert client.roster_due().due
    with pytest.raises(InputError):
        client.submit_roster(exchange.sample)


def test_submit_from_input_file(exchange, client, tmp_path):
    from adapter.exchange.demo import sample_path

    copy = tmp_path / "input" / "notification.toml"
    (copy.parent / "screenshots").mkdir(parents=True)
    copy.write_bytes(sample_path().read_bytes())
    for source in sample_path().parent.joinpath("screenshots").iterdir():
        (copy.parent / "screenshots" / source.name).write_bytes(source.read_bytes())

    submission = client.submit(copy)

    assert submission.sent
    stored = client.store.evidence(submission.document_id)
    assert [item.file_name for item in stored] == [item.file_name for item in exchange.sample.evidence]


def test_edited_evidence_not_found(exchange, tmp_path):
    from adapter.exchange.sender import find_evidence

    first = exchange.sample.evidence[0]
    (tmp_path / first.file_name).write_bytes(b"an edited screenshot")
    with pytest.raises(InputError) as caught:
        find_evidence(exchange.sample, [tmp_path])
    assert caught.value.value == first.file_name


def test_watch_survives_gateway_down(exchange, tmp_path):
    folder = tmp_path / "sender"
    with sender(exchange, folder) as client:
        submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
    gateway = {"endpoint": "http://127.0.0.1:9/", "retry_attempts": 1}
    with sender(exchange, folder, gateway=gateway) as offline:
        status = offline.watch(submission.document_id, timeout=0.3, poll_seconds=0.1)
    assert status.state is DocumentState.SENT


def test_gateway_config_error_records_nothing(exchange, tmp_path):
    from adapter.errors import ConfigError

    with sender(exchange, tmp_path / "sender", gateway={"sender_id": ""}) as client:
        with pytest.raises(ConfigError) as caught:
            client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
        assert caught.value.key == "gateway.sender_id"
        assert client.recent() == ()


def test_submit_and_pull_on_postgresql(exchange, tmp_path):
    pytest.importorskip("psycopg", reason="the PostgreSQL driver psycopg is not installed")
    import subprocess

    from sender_support import PostgresServer

    try:
        server = PostgresServer()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no PostgreSQL server to test against: {exc}")
    try:
        with sender(exchange, tmp_path / "sender", store={"url": server.database_url()}) as client:
            assert client.store.database.dialect == "postgresql"
            submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
            exchange.registrar.register(exchange.inbox_id(submission.message_id))
            client.pull_receipts()
            status = client.status(submission.document_id)
            assert status.state is DocumentState.REGISTERED
            assert status.created_at.tzinfo is not None
    finally:
        server.stop()


def test_refused_receipt_is_final(exchange, client):
    from adapter.cli.exchange import format_status, format_timeline

    submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
    exchange.registrar.refuse(exchange.inbox_id(submission.message_id), 3)

    client.pull_receipts()

    status = client.status(submission.document_id)
    assert status.state is DocumentState.REFUSED
    assert status.final
    assert status.reason.startswith("3")
    assert "Reason: reason 3: the document violates the procedure rules" in format_status(status)
    assert format_timeline(client.timeline(submission.document_id))[-1].endswith("(reason 3: the document violates the procedure rules)")


def test_second_submit_needs_resubmit(exchange, client):
    document = numbered_sample(exchange)
    first = client.submit(document, evidence_folders=[SAMPLES])

    with pytest.raises(InputError) as caught:
        client.submit(document, evidence_folders=[SAMPLES])
    assert caught.value.code == "already-submitted"
    assert first.document_id in str(caught.value)
    state = client.status(first.document_id).state
    assert f"(күйі: {gettext(state.label, 'kk')})" in caught.value.localized("kk")
    assert f"(состояние: {gettext(state.label, 'ru')})" in caught.value.localized("ru")
    assert len(client.recent()) == 1

    second = client.submit(document, evidence_folders=[SAMPLES], resubmit=True)
    assert second.sent
    assert second.message_id != first.message_id
