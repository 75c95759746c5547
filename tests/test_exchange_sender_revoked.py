"""submit and sign with a revoked key: refused before anything is recorded or sent."""

from __future__ import annotations

import pytest

import signing.verify
from adapter.cli.main import main
from adapter.config import Config
from adapter.errors import InvalidDocumentError, SigningError
from adapter.exchange.sender import SenderClient
from adapter.xml import build_xml
from sender_support import SAMPLES, numbered_sample, start_exchange, write_toml
from signing.keys import load_signer
from signing.verify import sign_document

KEY_PASSWORD_ENV = "EDMS_TEST_REVOKED_PASSWORD"


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    running = start_exchange(tmp_path_factory.mktemp("exchange"))
    yield running
    running.close()


@pytest.fixture
def revoked_signer(exchange):
    return load_signer(str(exchange.pki.revoked.p12()), password=exchange.pki.password)


def test_sign_rejects_revoked_key(exchange, revoked_signer):
    config = exchange.sender_config()

    with pytest.raises(SigningError) as raised:
        sign_document(build_xml(numbered_sample(exchange)), revoked_signer, settings=config)

    message = str(raised.value)
    assert "revoked" in message
    assert f"0x{exchange.pki.revoked.serial_number:x}" in message


def test_sign_without_revocation_source_signs(exchange, revoked_signer):
    config = Config({"trust": exchange.trust})

    signed = sign_document(build_xml(numbered_sample(exchange)), revoked_signer, settings=config)

    assert b"SignatureValue" in signed


def test_submit_verifies_before_recording(exchange, revoked_signer, tmp_path, monkeypatch):
    # Skip the check made before signing, so only the verification after it can stop the document.
    monkeypatch.setattr(signing.verify, "_reject_revoked", lambda *args: None)
    client = SenderClient(exchange.sender_config(tmp_path / "sender"), signer=revoked_signer)

    with pytest.raises(InvalidDocumentError) as raised:
        client.submit(numbered_sample(exchange), evidence_folders=[SAMPLES])

    assert "certificate-revoked" in [problem.code for problem in raised.value.problems]
    assert client.recent() == ()
    client.close()


def test_cli_submit_revoked_key_exits_1(exchange, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(KEY_PASSWORD_ENV, exchange.pki.password)
    data = {name: dict(table) for name, table in exchange.sender_config(tmp_path / "sender").data.items()}
    data["signing"] = {"key": str(exchange.pki.revoked.p12()), "password_env": KEY_PASSWORD_ENV}
    config_file = str(write_toml(tmp_path / "edms-adapter.toml", data))

    code = main(["--config", config_file, "--lang", "en", "submit", str(SAMPLES / "notification.toml")])
    captured = capsys.readouterr()

    assert code == 1
    assert "revoked" in captured.err
    assert main(["--config", config_file, "--lang", "en", "status"]) == 0
    assert "No documents have been sent yet." in capsys.readouterr().out


def test_cli_sign_revoked_key_exits_1(exchange, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(KEY_PASSWORD_ENV, exchange.pki.password)
    data = {name: dict(table) for name, table in exchange.sender_config(tmp_path / "sender").data.items()}
    data["signing"] = {"password_env": KEY_PASSWORD_ENV}
    config_file = str(write_toml(tmp_path / "edms-adapter.toml", data))
    source = tmp_path / "notification.xml"
    source.write_bytes(build_xml(numbered_sample(exchange)))

    code = main(["--config", config_file, "--lang", "en", "sign", str(source), "--key", str(exchange.pki.revoked.p12())])

    assert code == 1
    assert "was revoked on" in capsys.readouterr().err
    assert not (tmp_path / "notification.signed.xml").exists()
