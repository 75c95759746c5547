"""Transport faults while sending: the document is kept and a later resend carries the same message id."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from adapter.service.server import ServerThread
from adapter.store.inbox import ReceivedDocument
from adapter.store.tracking import DocumentState
from sender_support import SAMPLES, numbered_sample, sender, start_exchange


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    running = start_exchange(tmp_path_factory.mktemp("exchange"))
    yield running
    running.close()


def _slow_app(environ, start_response):
    environ["wsgi.input"].read()
    time.sleep(1.5)
    start_response("200 OK", [("Content-Type", "text/xml")])
    return [b""]


def _broken_app(environ, start_response):
    environ["wsgi.input"].read()
    start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
    return [b"upstream failed"]


def _received(exchange, message_id: str) -> int:
    with exchange.inbox.session() as session:
        return session.scalar(select(func.count()).select_from(ReceivedDocument).where(ReceivedDocument.message_id == message_id))


@pytest.mark.parametrize(
    ("app", "gateway", "reason"),
    [
        (_slow_app, {"read_timeout": 0.3}, "timed out"),
        (_broken_app, {}, ""),
    ],
    ids=["timeout", "http-500"],
)
def test_transient_fault_then_resend(exchange, tmp_path, app, gateway, reason):
    folder = tmp_path / "sender"
    with ServerThread(app) as failing:
        settings = {"endpoint": failing.url, "retry_attempts": 2, "retry_base": 0.01, **gateway}
        with sender(exchange, folder, gateway=settings) as client:
            submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])

    assert submission.state is DocumentState.RETRYING
    assert failing.url.rstrip("/") in submission.reason
    assert reason in submission.reason
    assert _received(exchange, submission.message_id) == 0

    with sender(exchange, folder) as client:
        status = client.status(submission.document_id)
        assert status.attempts == 1
        resent = client.resend(submission.document_id)
        assert resent.sent
        assert resent.message_id == submission.message_id
        assert client.status(submission.document_id).attempts == 2
        states = [item.state for item in client.timeline(submission.document_id)]
        assert states == [DocumentState.SIGNED, DocumentState.QUEUED, DocumentState.RETRYING, DocumentState.QUEUED, DocumentState.SENT]
    assert _received(exchange, submission.message_id) == 1


def test_gateway_fault_keeps_code_and_reason(exchange, tmp_path):
    from sender_support import FOREIGN_SENDER_ID

    with sender(exchange, tmp_path / "sender", gateway={"sender_id": FOREIGN_SENDER_ID}) as client:
        submission = client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])
        status = client.status(submission.document_id)

    assert submission.state is DocumentState.FAILED
    assert status.final
    assert "EDMS-POL-002" in status.reason
    assert _received(exchange, submission.message_id) == 0
