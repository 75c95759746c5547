"""The sending side's commands, run in-process against the real service on loopback."""

from __future__ import annotations

import pytest

from adapter.cli.main import main
from sender_support import SAMPLES, start_exchange, write_toml

KEY_PASSWORD_ENV = "EDMS_TEST_HEAD_PASSWORD"


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    running = start_exchange(tmp_path_factory.mktemp("exchange"))
    yield running
    running.close()


@pytest.fixture
def config_file(exchange, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_PASSWORD_ENV, exchange.pki.password)
    data = {name: dict(table) for name, table in exchange.sender_config(tmp_path / "sender").data.items()}
    data["signing"] = {"key": str(exchange.pki.head.p12()), "password_env": KEY_PASSWORD_ENV}
    data["sender"]["watch_poll_seconds"] = 0.1
    return str(write_toml(tmp_path / "edms-adapter.toml", data))


def _run(config_file, capsys, *args):
    code = main(["--config", config_file, "--lang", "en", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_submit_status_pull_watch(exchange, config_file, capsys):
    code, out, err = _run(config_file, capsys, "submit", str(SAMPLES / "notification.toml"))
    assert code == 0, err
    assert ": sent; message id {" in out
    document_id = out.split()[1]

    code, out, _ = _run(config_file, capsys, "status")
    assert code == 0
    assert document_id in out

    inbox_id = exchange.inbox_id(_message_id(config_file, capsys, document_id))
    registered = exchange.registrar.register(inbox_id)
    facts = len(exchange.sample.facts)
    decided = exchange.registrar.decide(inbox_id, confirm=f"1-{facts - 1}", reject=str(facts), justification="not prohibited")

    code, out, _ = _run(config_file, capsys, "receipts", "pull")
    assert code == 0
    assert "3 receipt(s) accepted, 0 ignored." in out
    assert "decision on facts" in out
    # The sender shows the same receipt ids as the authorised body's register and decide commands.
    assert f"receipt {registered.id}: " in out
    assert f"receipt {decided.id}: " in out

    code, out, _ = _run(config_file, capsys, "receipts", "list", document_id)
    assert code == 0
    assert out.count("  signature valid") == 3
    assert f"  {registered.id}  " in out

    code, out, _ = _run(config_file, capsys, "receipts", "list", "--invalid")
    assert code == 0
    assert "No receipts are stored." in out

    code, out, _ = _run(config_file, capsys, "watch", document_id, "--timeout", "5")
    assert code == 0
    assert "State: decided" in out
    assert f"fact {facts}: rejected: not prohibited" in out
    assert f"facts 1-{facts - 1}: confirmed" in out

    code, out, _ = _run(config_file, capsys, "status", document_id)
    assert code == 0
    assert "Decision: some facts confirmed, some rejected" in out
    assert f"fact {facts}: rejected: not prohibited" in out
    assert f"facts 1-{facts - 1}: confirmed" in out


def _message_id(config_file, capsys, document_id: str) -> str:
    code, out, _ = _run(config_file, capsys, "status", document_id)
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("Message id: "))
    return line.split()[2]


def test_submit_with_preview(config_file, capsys, tmp_path):
    preview = tmp_path / "preview.html"
    code, out, err = _run(config_file, capsys, "submit", str(SAMPLES / "notification.toml"), "--preview", str(preview))
    assert code == 0, err
    assert f"Preview written to {preview}" in out
    assert preview.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_status_unknown_document(config_file, capsys):
    code, _, err = _run(config_file, capsys, "status", "no-such-document")
    assert code == 1
    assert "no-such-document" in err


def test_roster_due_without_roster(config_file, capsys):
    code, out, _ = _run(config_file, capsys, "roster", "due")
    assert code == 1
    assert "No staff roster has been sent yet" in out


def test_resend_with_nothing_pending(config_file, capsys):
    code, out, _ = _run(config_file, capsys, "resend")
    assert code == 0
    assert "No document is waiting to be sent." in out


def test_submit_receiver_down_exits_1(exchange, config_file, capsys, tmp_path):
    text = open(config_file, encoding="utf-8").read().replace(exchange.url, "http://127.0.0.1:9/")
    down = tmp_path / "down.toml"
    down.write_text(text, encoding="utf-8")
    code, out, err = _run(str(down), capsys, "submit", str(SAMPLES / "notification.toml"))
    assert code == 1
    assert "waiting to be sent again" in out
    assert "edms-adapter resend" in err


def test_help_in_russian(capsys):
    code = main(["--lang", "ru", "receipts", "pull", "--help"])
    out = capsys.readouterr().out
    assert code == 0
    assert "проверить их подписи" in out
