"""A sender killed between the HTTP send and the outcome commit loses nothing and is registered once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapter.store.inbox import ReceivedDocument
from adapter.store.tracking import DocumentState
from sender_support import numbered_sample, sender, start_exchange

REPO_ROOT = Path(__file__).resolve().parent.parent

# Runs in a child process: submits one notification and kills itself with
# SIGKILL right after the receiving service responded, before the sender
# commits the outcome.
_CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from adapter.config import Config
    from adapter.exchange.sender import SenderClient
    from adapter.inputs import load_input
    from signing.keys import load_signer

    spec = json.loads(sys.argv[1])
    signer = load_signer(spec["key"], password=spec["password"])
    client = SenderClient(Config(spec["config"]), signer=signer)
    client._after_send_hook = lambda message_id: os.kill(os.getpid(), signal.SIGKILL)
    document = load_input(spec["input"])
    import dataclasses
    document = dataclasses.replace(document, header=dataclasses.replace(document.header, number=spec["number"]))
    client.submit(document, evidence_folders=[spec["evidence"]])
    print("not killed")
    """
)


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    running = start_exchange(tmp_path_factory.mktemp("exchange"))
    yield running
    running.close()


def _received(exchange, message_id: str) -> int:
    with exchange.inbox.session() as session:
        return session.scalar(select(func.count()).select_from(ReceivedDocument).where(ReceivedDocument.message_id == message_id))


def test_killed_after_send_resends_same_id(exchange, tmp_path):
    from adapter.exchange.demo import sample_path

    folder = tmp_path / "sender"
    config = exchange.sender_config(folder)
    spec = {
        "config": {name: dict(table) for name, table in config.data.items()},
        "key": str(exchange.pki.head.p12()),
        "password": exchange.pki.password,
        "input": str(sample_path()),
        "evidence": str(sample_path().parent),
        "number": numbered_sample(exchange, "CRASH").header.number,
    }
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(spec)], capture_output=True, text=True, env=environment, timeout=120)

    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert "not killed" not in child.stdout

    with sender(exchange, folder) as client:
        (pending,) = client.store.pending()
        assert pending.state is DocumentState.QUEUED
        assert pending.number == spec["number"]
        assert _received(exchange, pending.message_id) == 1

        (resent,) = client.send_pending()

        assert resent.sent
        assert resent.message_id == pending.message_id
        assert resent.document_id == pending.document_id
        assert _received(exchange, pending.message_id) == 1
        with exchange.inbox.session() as session:
            assert session.scalar(select(func.count()).select_from(ReceivedDocument).where(ReceivedDocument.doc_no == spec["number"])) == 1

        inbox_id = exchange.inbox_id(pending.message_id)
        exchange.registrar.register(inbox_id)
        client.pull_receipts()
        assert client.status(pending.document_id).state is DocumentState.REGISTERED
