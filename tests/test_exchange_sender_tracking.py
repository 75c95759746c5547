"""The tracking store on a real SQLite file: states, the append-only log, receipts, decisions."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from sqlalchemy import select, text

from adapter.errors import NotFoundError, StoreError
from adapter.store.database import open_database
from adapter.store.tracking import (
    DecisionOutcome,
    DocumentState,
    StateTransition,
    StoredEvidence,
    TrackingStore,
)


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server for this module, or a skip naming what is missing."""
    pytest.importorskip("psycopg", reason="the PostgreSQL driver psycopg is not installed (pip install 'edms-adapter[test]')")
    from sender_support import PostgresServer

    try:
        server = PostgresServer()
    except FileNotFoundError as exc:
        pytest.skip(f"no PostgreSQL server to test against: {exc}")
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"the PostgreSQL test server did not start: {exc.stderr.decode(errors='replace')[-500:]}")
    yield server
    server.stop()


@pytest.fixture
def sqlite_store(tmp_path):
    tracking = TrackingStore(open_database(f"sqlite:///{tmp_path / 'tracking.sqlite3'}"))
    yield tracking
    tracking.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tracking.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres").database_url()
    tracking = TrackingStore(open_database(url))
    yield tracking
    tracking.close()


def _signed(store: TrackingStore, number: str = "01-02/15", facts: int = 3) -> str:
    evidence = [StoredEvidence(1, "shot.png", "image/png", 4, "ab" * 32, b"\x89PNG")]
    return store.record_signed(
        kind="notification",
        number=number,
        document_date=dt.date(2026, 8, 3),
        signed_xml=b"<notification/>",
        sender_bin="180240012347",
        item_count=facts,
        evidence=evidence,
    )


def _receipt(store, message_id, kind, gateway_id, **fields):
    return store.record_receipt(
        gateway_message_id=gateway_id,
        raw=b"<receipt/>",
        referenced_message_id=message_id,
        kind=kind,
        signer="receiver",
        **fields,
    )


def test_sqlite_pragmas(sqlite_store):
    store = sqlite_store
    with store.database.session() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_new_database_owner_only(tmp_path):
    import stat

    path = tmp_path / "new-folder" / "tracking.sqlite3"
    tracking = TrackingStore(open_database(f"sqlite:///{path}"))
    try:
        _signed(tracking)
    finally:
        tracking.close()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_queued_before_send_keeps_message_id(store):
    document_id = _signed(store)
    first = store.record_queued(document_id, service_id="ESEDO_UNIVERSAL_SERVICE", route_id="R_ESEDO")
    assert store.status(document_id).state is DocumentState.QUEUED
    assert [s.document_id for s in store.pending()] == [document_id]

    again = store.record_queued(document_id, service_id="ESEDO_UNIVERSAL_SERVICE", route_id="R_ESEDO")
    assert again == first
    assert first.startswith("{")
    assert first.endswith("}")


def test_sent_then_receipts_reach_decided(store):
    document_id = _signed(store)
    message_id = store.record_queued(document_id, service_id="S")
    assert store.record_attempt(message_id) == 1
    store.record_sent(message_id, code="SCSS001", message="ok")
    _receipt(store, message_id, "delivered", "r1")
    _receipt(store, message_id, "registered", "r2", registration_number="KZ-7", registration_date=dt.date(2026, 8, 4))
    _receipt(store, message_id, "decision", "r3", decisions=[(1, "confirmed", None), (2, "confirmed", None)])

    partly = store.status(document_id)
    assert partly.state is DocumentState.REGISTERED
    assert partly.confirmed == 2

    _receipt(store, message_id, "decision", "r4", decisions=[(3, "rejected", "the page is a news report")])
    final = store.status(message_id)
    assert final.state is DocumentState.DECIDED
    assert final.outcome is DecisionOutcome.PARTLY_CONFIRMED
    assert final.registration_number == "KZ-7"
    assert (final.confirmed, final.rejected) == (2, 1)
    assert final.final

    states = [t.state for t in store.timeline(document_id)]
    assert states == [
        DocumentState.SIGNED,
        DocumentState.QUEUED,
        DocumentState.SENT,
        DocumentState.DELIVERED,
        DocumentState.REGISTERED,
        DocumentState.DECIDED,
    ]
    decisions = store.decisions(document_id)
    assert [d.decision for d in decisions] == ["confirmed", "confirmed", "rejected"]
    assert decisions[2].justification == "the page is a news report"


def test_receipt_never_moves_state_back(store):
    document_id = _signed(store)
    message_id = store.record_queued(document_id, service_id="S")
    _receipt(store, message_id, "registered", "r1", registration_number="KZ-1", registration_date=dt.date(2026, 8, 4))
    _receipt(store, message_id, "delivered", "r2")
    store.record_sent(message_id, code="SCSS001")
    assert store.status(document_id).state is DocumentState.REGISTERED


def test_receipt_after_lost_sent_record(store):
    document_id = _signed(store)
    message_id = store.record_queued(document_id, service_id="S")
    _receipt(store, message_id, "delivered", "r1")
    assert store.status(document_id).state is DocumentState.DELIVERED
    assert store.pending() == ()


def test_duplicate_receipt_is_stored_once(store):
    document_id = _signed(store)
    message_id = store.record_queued(document_id, service_id="S")
    _receipt(store, message_id, "delivered", "r1")
    _receipt(store, message_id, "delivered", "r1")
    assert len(store.receipts(document_id)) == 1
    assert len(store.timeline(document_id)) == 3


def test_invalid_receipt_changes_nothing(store):
    document_id = _signed(store)
    message_id = store.record_queued(document_id, service_id="S")
    record = store.record_invalid_receipt(gateway_message_id="bad", raw=b"<x/>", problem="signature invalid", referenced_message_id=message_id)
    assert record.valid is False
    assert store.status(document_id).state is DocumentState.QUEUED
    assert [r.gateway_message_id for r in store.receipts(valid=False)] == ["bad"]


def test_unknown_message_receipt_kept(store):
    record = _receipt(store, "{00000000-0000-0000-0000-000000000000}", "delivered", "r9")
    assert record.document_id is None
    assert store.receipts()[0].referenced_message_id == "{00000000-0000-0000-0000-000000000000}"


def test_failed_and_retrying_keep_reason(store):
    document_id = _signed(store)
    message_id = store.record_queued(document_id, service_id="S")
    store.record_retrying(message_id, "connection refused")
    status = store.status(document_id)
    assert status.state is DocumentState.RETRYING
    assert status.reason == "connection refused"
    store.record_failed(message_id, "SOAP fault VAL-R-004", code="VAL-R-004")
    assert store.status(document_id).state is DocumentState.FAILED
    assert store.pending() == ()


def test_transition_log_is_append_only(store):
    document_id = _signed(store)
    with pytest.raises(StoreError):
        with store.database.session() as session:
            row = session.scalars(select(StateTransition)).first()
            row.state = "decided"
    with pytest.raises(StoreError):
        with store.database.session() as session:
            session.delete(session.scalars(select(StateTransition)).first())
    assert [t.state for t in store.timeline(document_id)] == [DocumentState.SIGNED]


def test_transition_log_rejects_raw_sql(store):
    document_id = _signed(store)
    statements = ["UPDATE outgoing_transitions SET state = 'decided'", "DELETE FROM outgoing_transitions"]
    if store.database.dialect == "postgresql":
        statements.append("TRUNCATE outgoing_transitions CASCADE")
    for statement in statements:
        with pytest.raises(StoreError) as caught:
            with store.database.session() as session:
                session.execute(text(statement))
        assert "append-only" in str(caught.value)
    assert [t.state for t in store.timeline(document_id)] == [DocumentState.SIGNED]


def test_postgresql_log_table_created_again(postgres):
    url = postgres.database_url()
    database = open_database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE outgoing_transitions"))
    database.close()

    # The trigger function outlives the table, and opening creates both again.
    reopened = TrackingStore(open_database(url))
    try:
        document_id = _signed(reopened)
        with pytest.raises(StoreError):
            with reopened.database.session() as session:
                session.execute(text("DELETE FROM outgoing_transitions"))
        assert [t.state for t in reopened.timeline(document_id)] == [DocumentState.SIGNED]
    finally:
        reopened.close()


def test_lookup_by_number_and_unknown(store):
    _signed(store, number="A-1")
    newer = _signed(store, number="A-1")
    assert store.status("A-1").document_id == newer
    with pytest.raises(NotFoundError):
        store.status("no-such-document")


def test_payload_and_evidence_kept(store):
    document_id = _signed(store)
    assert store.signed_xml(document_id) == b"<notification/>"
    (evidence,) = store.evidence(document_id)
    assert evidence.content == b"\x89PNG"
    assert evidence.file_name == "shot.png"


def test_last_sent_roster(store):
    assert store.last_sent("roster") is None
    roster_id = store.record_signed(kind="roster", number="R-1", document_date=dt.date(2026, 1, 5), signed_xml=b"<roster/>")
    assert store.last_sent("roster") is None
    store.record_queued(roster_id, service_id="S")
    assert store.last_sent("roster").document_id == roster_id


def test_newer_schema_version_rejected(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    database = open_database(url)
    with database.session() as session:
        session.execute(text("UPDATE schema_version SET version = 99"))
    database.close()
    with pytest.raises(StoreError) as caught:
        open_database(url)
    assert "99" in str(caught.value)


def test_schema_compiles_for_postgresql():
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    from adapter.store.database import Base

    dialect = postgresql.dialect()
    tables = {table.name: table for table in Base.metadata.sorted_tables}
    for name in ("outgoing_documents", "outgoing_messages", "outgoing_transitions", "received_receipts", "fact_decisions"):
        ddl = str(CreateTable(tables[name]).compile(dialect=dialect))
        assert "BIGSERIAL" in ddl or "BIGINT" in ddl, name
        for index in tables[name].indexes:
            assert str(CreateIndex(index).compile(dialect=dialect)).startswith("CREATE")
    documents = str(CreateTable(tables["outgoing_documents"]).compile(dialect=dialect))
    assert "TIMESTAMP WITH TIME ZONE" in documents


def test_status_lookups_use_indexes(sqlite_store):
    store = sqlite_store
    document_id = _signed(store)
    message_id = store.record_queued(document_id, service_id="S")
    queries = {
        "outgoing_documents": "SELECT id FROM outgoing_documents WHERE number = '01-02/15'",
        "outgoing_messages": f"SELECT id FROM outgoing_messages WHERE message_id = '{message_id}'",
        "state": "SELECT id FROM outgoing_documents WHERE state = 'queued'",
    }
    with store.database.session() as session:
        for name, query in queries.items():
            plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {query}")))
            assert "USING" in plan, (name, plan)
            assert "INDEX" in plan, (name, plan)


def test_amended_decision_changes_outcome(store):
    document_id = _signed(store, facts=2)
    message_id = store.record_queued(document_id, service_id="S")
    _receipt(store, message_id, "decision", "r1", decisions=[(1, "confirmed", None), (2, "rejected", "a news report")])
    assert store.status(document_id).outcome is DecisionOutcome.PARTLY_CONFIRMED

    _receipt(store, message_id, "decision", "r2", decisions=[(2, "confirmed", None)])

    status = store.status(document_id)
    assert status.outcome is DecisionOutcome.CONFIRMED
    assert (status.confirmed, status.rejected) == (2, 0)
    decided = [t.reason for t in store.timeline(document_id) if t.state is DocumentState.DECIDED]
    assert decided == ["partly-confirmed", "confirmed"]
    assert store.decisions(document_id)[1].justification is None
