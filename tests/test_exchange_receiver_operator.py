"""Operator functions of the receiving side: register, refuse, decide, export; the CLI over them."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid

import pytest

from adapter.cli.main import main
from adapter.errors import InputError, NotFoundError
from adapter.exchange.receipts import FactOutcome, ReceiptKind, RefusalReason, verify_receipt
from adapter.exchange.receiver import ReceiverService, open_inbox
from adapter.exchange.registrar import Registrar, parse_fact_numbers
from adapter.store.inbox import DocumentState, OutgoingReceipt, ReceivedEvidence
from receiver_support import SENDER_ID, make_config, signed_card, signer_of, write_cli_config
from sqlalchemy import select


@pytest.fixture
def desk(test_pki, tmp_path):
    """A receiving service without HTTP and the registrar over the same inbox."""
    config = make_config(test_pki, tmp_path, sender_bins={SENDER_ID: test_pki.sender_bin}, registration_number_format="MCI-{year}/{seq:04d}")
    store = open_inbox(config)
    signer = signer_of(test_pki.receiver)
    service = ReceiverService(config, signer=signer, store=store)
    yield service, Registrar(config, signer=signer, store=store)
    store.close()


def _receive(service, pki, **options) -> int:
    card, _signed = signed_card(pki, pki.head, service.config, **options)
    return service.receive(message_id=str(uuid.uuid4()), sender_id=SENDER_ID, payload=card.to_xml()).document_id


def _queued(service) -> list[OutgoingReceipt]:
    with service.store.session() as session:
        return list(session.scalars(select(OutgoingReceipt).order_by(OutgoingReceipt.id)))


def _check(receipt_row, pki):
    return verify_receipt(receipt_row.xml, certificates=[pki.receiver.certificate])


def test_fact_numbers_with_ranges():
    assert parse_fact_numbers("1,2,5-7") == (1, 2, 5, 6, 7)
    assert parse_fact_numbers(" 3 , 1-2 ,3") == (1, 2, 3)
    for bad in ("x", "0", "5-3", "1-"):
        with pytest.raises(InputError):
            parse_fact_numbers(bad)


def test_register_numbers_and_receipt(desk, test_pki):
    service, registrar = desk
    first = _receive(service, test_pki, number="A-1")
    second = _receive(service, test_pki, number="A-2")

    one = registrar.register(first)
    two = registrar.register(second)

    assert one.registration_number.endswith("/0001")
    assert two.registration_number.endswith("/0002")
    assert one.registration_number.startswith("MCI-")
    checked = _check(_queued(service)[-2], test_pki)
    assert checked.kind is ReceiptKind.REGISTERED
    assert checked.registration_number == one.registration_number
    assert registrar.get(first).state is DocumentState.REGISTERED


def test_register_twice_is_error(desk, test_pki):
    service, registrar = desk
    document_id = _receive(service, test_pki)
    registrar.register(document_id)

    with pytest.raises(InputError) as caught:
        registrar.register(document_id)

    assert caught.value.localized("en") == f"document {document_id} is already registered; only a received document can be registered"
    assert caught.value.localized("kk") == f"{document_id} құжаты тіркеліп қойған; тек қабылданған құжатты тіркеуге болады"


def test_state_names_translated_in_errors(desk, test_pki):
    service, registrar = desk
    document_id = _receive(service, test_pki)

    with pytest.raises(InputError) as caught:
        registrar.decide(document_id, confirm="1")

    assert "«принят»" in caught.value.localized("ru")
    assert "«қабылданды»" in caught.value.localized("kk")
    assert 'in the state "received"' in caught.value.localized("en")


def test_unknown_document_not_found(desk):
    _service, registrar = desk
    with pytest.raises(NotFoundError):
        registrar.register(999)


def test_unknown_document_not_retried(desk, caplog):
    _service, registrar = desk
    caplog.set_level("WARNING", logger="adapter.exchange.registrar")

    with pytest.raises(NotFoundError):
        registrar.register(99)

    assert [record.getMessage() for record in caplog.records if record.name == "adapter.exchange.registrar"] == []


def test_refuse_with_code_and_text(desk, test_pki):
    service, registrar = desk
    coded = _receive(service, test_pki, number="R-1")
    texted = _receive(service, test_pki, number="R-2")

    registrar.refuse(coded, "3")
    registrar.refuse(texted, "the notification repeats number 01-15/2040")

    rows = _queued(service)
    by_code = _check(rows[-2], test_pki)
    by_text = _check(rows[-1], test_pki)
    assert by_code.refusal_reason is RefusalReason.PROCEDURE_VIOLATED
    assert by_text.refusal_reason is None
    assert by_text.refusal_text == "the notification repeats number 01-15/2040"
    assert registrar.get(coded).state is DocumentState.REFUSED
    with pytest.raises(InputError):
        registrar.register(coded)
    with pytest.raises(InputError):
        registrar.refuse(texted, "7")


def test_decide_needs_registration(desk, test_pki):
    service, registrar = desk
    document_id = _receive(service, test_pki)

    with pytest.raises(InputError):
        registrar.decide(document_id, confirm="1")


def test_decide_partly_then_all(desk, test_pki):
    service, registrar = desk
    document_id = _receive(service, test_pki, facts=5)
    registrar.register(document_id)

    registrar.decide(document_id, confirm="1-3")
    assert registrar.get(document_id).state is DocumentState.REGISTERED
    receipt = registrar.decide(document_id, reject="4,5", justification="the pages show licensed content")

    entry = registrar.get(document_id)
    assert entry.state is DocumentState.DECIDED
    assert (entry.confirmed, entry.rejected, entry.pending) == (3, 2, 0)
    assert entry.summary == "partly confirmed"
    checked = _check(_queued(service)[-1], test_pki)
    assert checked.id == receipt.id
    assert [(item.fact, item.outcome) for item in checked.decisions] == [(4, FactOutcome.REJECTED), (5, FactOutcome.REJECTED)]
    assert {item.justification for item in checked.decisions} == {"the pages show licensed content"}


def test_reject_needs_justification(desk, test_pki):
    service, registrar = desk
    document_id = _receive(service, test_pki)
    registrar.register(document_id)

    with pytest.raises(InputError) as caught:
        registrar.decide(document_id, reject="2", justification="  ")

    assert caught.value.field == "justification"


def test_changed_decision_needs_amend(desk, test_pki):
    service, registrar = desk
    document_id = _receive(service, test_pki)
    registrar.register(document_id)
    registrar.decide(document_id, confirm="1-3")

    with pytest.raises(InputError) as caught:
        registrar.decide(document_id, reject="2", justification="removed before the check")
    assert caught.value.value == "2"
    assert caught.value.localized("kk").startswith("2-факт бойынша шешім")
    assert caught.value.localized("en").startswith("fact 2 is already decided")
    receipt = registrar.decide(document_id, reject="2", justification="removed before the check", amend=True)

    assert receipt.amended is True
    assert _check(_queued(service)[-1], test_pki).amended is True
    entry = registrar.get(document_id)
    assert (entry.confirmed, entry.rejected) == (2, 1)


def test_decide_unknown_fact(desk, test_pki):
    service, registrar = desk
    document_id = _receive(service, test_pki)
    registrar.register(document_id)

    with pytest.raises(InputError) as caught:
        registrar.decide(document_id, confirm="2-9")

    assert caught.value.value == "4,5,6,7,8,9"
    assert "4,5,6,7,8,9-фактілер жоқ" in caught.value.localized("kk")


def test_decide_same_fact_twice_in_one_call(desk, test_pki):
    service, registrar = desk
    document_id = _receive(service, test_pki)
    registrar.register(document_id)

    with pytest.raises(InputError):
        registrar.decide(document_id, confirm="1-2", reject="2", justification="x")


def test_export_deduplicates(desk, test_pki):
    service, registrar = desk
    first = _receive(service, test_pki, number="E-1", facts=3)
    second = _receive(service, test_pki, number="E-2", facts=4)
    for document_id in (first, second):
        registrar.register(document_id)
        registrar.decide(document_id, confirm="1-3")

    rows = list(csv.DictReader(io.StringIO(registrar.export_confirmed(format="csv"))))

    # Facts 1-3 of both documents name the same resources: each appears once,
    # credited to the document that confirmed it first.
    assert [row["ip"] for row in rows] == ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    assert {row["doc_no"] for row in rows} == {"E-1"}
    assert {row["occurrences"] for row in rows} == {"2"}
    assert all(row["confirmed_at"] for row in rows)


def test_export_json_file(desk, test_pki, tmp_path):
    service, registrar = desk
    document_id = _receive(service, test_pki, facts=2)
    registrar.register(document_id)
    registrar.decide(document_id, confirm="1", reject="2", justification="no prohibited content on the page")
    output = tmp_path / "confirmed.json"

    registrar.export_confirmed(output, format="json")

    rows = json.loads(output.read_text(encoding="utf-8"))
    assert [row["fact"] for row in rows] == [1]
    assert rows[0]["document_id"] == document_id
    assert rows[0]["domain"] == "casino-1.example.kz"


def test_cli_inbox_register_decide_export(test_pki, tmp_path, monkeypatch, capsys):
    config_path = tmp_path / "edms-adapter.toml"
    write_cli_config(config_path, test_pki, tmp_path)
    monkeypatch.setenv("EDMS_TEST_RECEIVER_PASSWORD", test_pki.password)
    from adapter.config import load_config

    config = load_config(config_path)
    store = open_inbox(config)
    service = ReceiverService(config, signer=signer_of(test_pki.receiver), store=store)
    document_id = _receive(service, test_pki, facts=3)
    store.close()
    base = ["--lang", "en", "--config", str(config_path)]

    assert main([*base, "inbox"]) == 0
    listing = capsys.readouterr().out
    assert test_pki.head.full_name in listing
    assert "0/0/3" in listing

    assert main([*base, "register", str(document_id)]) == 0
    assert f"Document {document_id} registered as " in capsys.readouterr().out

    assert main([*base, "decide", str(document_id), "--reject", "3"]) == 1
    assert "justification" in capsys.readouterr().err

    assert main([*base, "decide", str(document_id), "--confirm", "1-2", "--reject", "3", "--justification", "the site is not reachable from Kazakhstan"]) == 0
    assert "2 confirmed, 1 rejected, 0 pending" in capsys.readouterr().out

    assert main([*base, "export-confirmed", "--format", "csv"]) == 0
    exported = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["fact"] for row in exported] == ["1", "2"]


def test_cli_refuse_in_kazakh(test_pki, tmp_path, monkeypatch, capsys):
    config_path = tmp_path / "edms-adapter.toml"
    write_cli_config(config_path, test_pki, tmp_path)
    monkeypatch.setenv("EDMS_TEST_RECEIVER_PASSWORD", test_pki.password)

    assert main(["--lang", "kk", "--config", str(config_path), "refuse", "42", "--reason", "1"]) == 1

    assert "42 идентификаторы бар қабылданған құжат жоқ" in capsys.readouterr().err


def test_unknown_revocation_is_retryable(test_pki, tmp_path):
    config = make_config(test_pki, tmp_path, sender_bins={SENDER_ID: test_pki.sender_bin})
    data = dict(config.data)
    data["revocation"] = {"policy": "hard-fail", "methods": ["crl"], "crl_files": []}
    from adapter.config import Config
    from adapter.exchange.receiver import ReceiverErrorCode, ReceiverFault

    config = Config(data)
    store = open_inbox(config)
    service = ReceiverService(config, signer=signer_of(test_pki.receiver), store=store)
    card, _signed = signed_card(test_pki, test_pki.head, config)
    try:
        with pytest.raises(ReceiverFault) as caught:
            service.receive(message_id="m-1", sender_id=SENDER_ID, payload=card.to_xml())
        # Nothing was recorded, so the same message id is checked afresh.
        with pytest.raises(ReceiverFault) as again:
            service.receive(message_id="m-1", sender_id=SENDER_ID, payload=card.to_xml())
        queued = _queued(service)
    finally:
        store.close()
    assert caught.value.error_code is ReceiverErrorCode.REVOCATION_UNKNOWN
    assert again.value.error_code is ReceiverErrorCode.REVOCATION_UNKNOWN
    assert queued == []


def test_roster_registered_not_decided(desk, test_pki):
    from adapter.exchange.card import build_card
    from adapter.model import Employee, Roster, SignatoryRole
    from adapter.xml import build_xml
    from receiver_support import notification
    from signing.verify import sign_document

    service, registrar = desk
    employee = test_pki.employee
    header = notification(test_pki, test_pki.head).header
    signatory = notification(test_pki, employee, role=SignatoryRole.EMPLOYEE).signatory
    roster = Roster(header, (Employee(1, "ТЕСТОВА АЙГҮЛ", "test@example.gov.kz", "+7 701 000 0001"),), signatory)
    card = build_card(sign_document(build_xml(roster), signer_of(employee), settings=service.config))

    document_id = service.receive(message_id=str(uuid.uuid4()), sender_id=SENDER_ID, payload=card.to_xml()).document_id
    registrar.register(document_id)

    entry = registrar.get(document_id)
    assert entry.kind == "roster"
    assert entry.state is DocumentState.REGISTERED
    with pytest.raises(InputError) as caught:
        registrar.decide(document_id, confirm="1")
    assert "roster" in str(caught.value)


def test_concurrent_repeats_store_once(desk, test_pki):
    from concurrent.futures import ThreadPoolExecutor

    service, _registrar = desk
    card, _signed = signed_card(test_pki, test_pki.head, service.config)
    payload = card.to_xml()

    def send(_index: int):
        return service.receive(message_id="same-message", sender_id=SENDER_ID, payload=payload)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(send, range(4)))

    assert {result.code for result in results} == {"SCSS001"}
    assert {result.document_id for result in results} == {results[0].document_id}
    assert [row.kind for row in _queued(service)] == ["delivered"]


def test_concurrent_registrations_get_distinct_numbers(desk, test_pki):
    from concurrent.futures import ThreadPoolExecutor

    service, registrar = desk
    document_ids = [_receive(service, test_pki, number=f"C-{index}") for index in range(4)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        receipts = list(pool.map(registrar.register, document_ids))

    numbers = sorted(receipt.registration_number for receipt in receipts)
    assert len(set(numbers)) == 4
    assert [number[-4:] for number in numbers] == ["0001", "0002", "0003", "0004"]


def test_receive_without_insert_returning(desk, test_pki, monkeypatch):
    service, registrar = desk
    # SQLite before 3.35 has no RETURNING: the id then comes from lastrowid.
    monkeypatch.setattr(service.store.engine.dialect, "insert_returning", False)

    first = _receive(service, test_pki, number="R-1")
    second = _receive(service, test_pki, number="R-2")

    assert second == first + 1
    assert registrar.get(second).doc_no == "R-2"
    assert [receipt.document_id for receipt in _queued(service)] == [first, second]


def test_inbox_on_postgresql(test_pki, tmp_path):
    pytest.importorskip("psycopg", reason="the PostgreSQL driver psycopg is not installed")
    import subprocess

    from sender_support import PostgresServer

    try:
        server = PostgresServer()
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no PostgreSQL server to test against: {exc}")
    try:
        config = make_config(test_pki, tmp_path, sender_bins={SENDER_ID: test_pki.sender_bin}, store_url=server.database_url())
        store = open_inbox(config)
        try:
            assert store.dialect == "postgresql"
            signer = signer_of(test_pki.receiver)
            service = ReceiverService(config, signer=signer, store=store)
            registrar = Registrar(config, signer=signer, store=store)
            document_id = _receive(service, test_pki, facts=4, evidence_count=2)
            registrar.register(document_id)
            registrar.decide(document_id, confirm="1,2,4", reject="3", justification="the page shows licensed content")

            entry = registrar.get(document_id)
            assert (entry.confirmed, entry.rejected, entry.pending) == (3, 1, 0)
            with store.session() as session:
                evidence = session.execute(select(ReceivedEvidence.number, ReceivedEvidence.sha256, ReceivedEvidence.content)).all()
            assert len(evidence) == 2
            assert all(hashlib.sha256(content).hexdigest() == sha256 for _number, sha256, content in evidence)
            exported = json.loads(registrar.export_confirmed(format="json"))
            assert sorted(row["fact"] for row in exported) == [1, 2, 4]

            card, _signed = signed_card(test_pki, test_pki.head, config, number="PG-2")
            message_id = str(uuid.uuid4())
            first = service.receive(message_id=message_id, sender_id=SENDER_ID, payload=card.to_xml())
            again = service.receive(message_id=message_id, sender_id=SENDER_ID, payload=card.to_xml())
            assert (first.duplicate, again.duplicate, again.document_id) == (False, True, first.document_id)
        finally:
            store.close()
    finally:
        server.stop()
