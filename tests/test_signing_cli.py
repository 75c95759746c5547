"""The sign, verify and cert-info commands."""

from __future__ import annotations

import pytest

from adapter.cli.main import main
from adapter.xml import build_xml
from signing_support import NCA_PASSWORD, notification_for, roster_for

PASSWORD_VARIABLE = "EDMS_TEST_KEY_PASSWORD"


@pytest.fixture
def config_file(tmp_path, test_pki):
    path = tmp_path / "edms-adapter.toml"
    path.write_text(
        f"""
[trust]
anchors = ["{test_pki.root_ca_path}"]

[revocation]
methods = ["crl"]
crl_files = ["{test_pki.crl_path}", "{test_pki.root_crl_path}"]

[signing]
password_env = "{PASSWORD_VARIABLE}"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def signed_file(tmp_path, test_pki, config_file, monkeypatch, capsys):
    source = tmp_path / "notification.xml"
    source.write_bytes(build_xml(notification_for(test_pki.head)))
    monkeypatch.setenv(PASSWORD_VARIABLE, test_pki.password)
    code = main(["--lang", "en", "--config", str(config_file), "sign", str(source), "--key", str(test_pki.head.p12_path)])
    output = capsys.readouterr()
    assert code == 0, output.err
    signed = tmp_path / "notification.signed.xml"
    assert str(signed) in output.out
    return signed


def test_sign_then_verify(signed_file, config_file, capsys):
    assert main(["--lang", "en", "--config", str(config_file), "verify", str(signed_file)]) == 0
    out = capsys.readouterr().out
    assert "Signature: intact" in out
    assert "Certificate: trusted" in out
    assert "Revocation: not revoked" in out
    assert "Role: first head" in out
    assert "Result: the document is valid" in out


def test_verify_logs_no_info_lines(signed_file, config_file):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    completed = subprocess.run(
        [sys.executable, "-c", "import sys; from adapter.cli.main import main; sys.exit(main())", "--lang", "en", "--config", str(config_file), "verify", str(signed_file)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(root)),
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    assert "Result: the document is valid" in completed.stdout
    # The result is the output; the log shows only warnings and errors.
    assert " INFO " not in completed.stderr


def test_verify_in_kazakh_and_russian(signed_file, config_file, capsys):
    assert main(["--lang", "kk", "--config", str(config_file), "verify", str(signed_file)]) == 0
    assert "Нәтиже: құжат жарамды" in capsys.readouterr().out
    assert main(["--lang", "ru", "--config", str(config_file), "verify", str(signed_file)]) == 0
    assert "Итог: документ действителен" in capsys.readouterr().out


def test_verify_with_trust_and_crl_options(signed_file, test_pki, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EDMS_ADAPTER_CONFIG", raising=False)
    (tmp_path / "edms-adapter.toml").unlink()
    args = ["--lang", "en", "verify", str(signed_file), "--trust", str(test_pki.root_ca_path), "--crl", str(test_pki.crl_path), "--crl", str(test_pki.root_crl_path)]
    assert main(args) == 0, capsys.readouterr().out
    assert main(["--lang", "en", "verify", str(signed_file)]) == 1
    assert "no trust anchors" in capsys.readouterr().out


def test_verify_tampered_file_fails(signed_file, config_file, capsys):
    signed_file.write_bytes(signed_file.read_bytes().replace(b"casino-2.example", b"casino-7.example"))
    assert main(["--lang", "en", "--config", str(config_file), "verify", str(signed_file)]) == 1
    out = capsys.readouterr().out
    assert "Signature: invalid" in out
    assert "Certificate: not checked: the signature is invalid" in out
    assert "Signatory policy: not checked" in out
    assert "not trusted" not in out
    assert "[digest-mismatch]" in out
    assert "Result: the document is NOT valid" in out


def test_verify_at_time(signed_file, config_file, capsys):
    assert main(["--lang", "en", "--config", str(config_file), "verify", str(signed_file), "--at", "2031-01-01T00:00:00Z"]) == 1
    assert "certificate-not-valid-at-time" in capsys.readouterr().out
    assert main(["--lang", "en", "--config", str(config_file), "verify", str(signed_file), "--at", "2026-05-04 10:00"]) == 1
    assert "no time zone" in capsys.readouterr().err


def test_sign_refuses_employee_for_notification(tmp_path, test_pki, config_file, monkeypatch, capsys):
    source = tmp_path / "notification.xml"
    source.write_bytes(build_xml(notification_for(test_pki.employee)))
    monkeypatch.setenv(PASSWORD_VARIABLE, test_pki.password)
    assert main(["--lang", "en", "--config", str(config_file), "sign", str(source), "--key", str(test_pki.employee.p12_path)]) == 1
    assert "head or a deputy head must sign" in capsys.readouterr().err
    assert not (tmp_path / "notification.signed.xml").exists()


def test_sign_roster_with_password_file_and_output(tmp_path, test_pki, config_file, capsys):
    source = tmp_path / "roster.xml"
    source.write_bytes(build_xml(roster_for(test_pki.employee)))
    password = tmp_path / "password.txt"
    password.write_text(test_pki.password + "\n")
    target = tmp_path / "out.xml"
    args = ["--lang", "en", "--config", str(config_file), "sign", str(source), "--key", str(test_pki.employee.p12_path), "--password-file", str(password), "-o", str(target), "--no-xades"]
    assert main(args) == 0, capsys.readouterr().err
    assert b"xades" not in target.read_bytes()


def test_wrong_password_file(tmp_path, test_pki, config_file, capsys):
    source = tmp_path / "notification.xml"
    source.write_bytes(build_xml(notification_for(test_pki.head)))
    password = tmp_path / "password.txt"
    password.write_text("not-the-password\n")
    assert main(["--lang", "en", "--config", str(config_file), "sign", str(source), "--key", str(test_pki.head.p12_path), "--password-file", str(password)]) == 1
    err = capsys.readouterr().err
    assert "wrong password" in err
    assert "not-the-password" not in err


def test_password_option_does_not_exist(tmp_path, test_pki, capsys):
    source = tmp_path / "notification.xml"
    source.write_bytes(b"<notification/>")
    assert main(["sign", str(source), "--key", str(test_pki.head.p12_path), "--password", "Qwerty12"]) == 2


def test_cert_info_of_key_and_certificate(test_pki, config_file, monkeypatch, capsys):
    monkeypatch.setenv(PASSWORD_VARIABLE, test_pki.password)
    assert main(["--lang", "en", "--config", str(config_file), "cert-info", str(test_pki.deputy.p12_path)]) == 0
    out = capsys.readouterr().out
    assert f"IIN: {test_pki.deputy.iin}" in out
    assert f"BIN: {test_pki.sender_bin}" in out
    assert "person with signing rights" in out
    assert "Use: document signing" in out
    assert main(["--lang", "ru", "cert-info", str(test_pki.head.cert_path)]) == 0
    out = capsys.readouterr().out
    assert f"ИИН: {test_pki.head.iin}" in out
    assert "первый руководитель" in out


def test_cert_info_shows_revocation(test_pki, config_file, monkeypatch, capsys):
    monkeypatch.setenv(PASSWORD_VARIABLE, test_pki.password)

    assert main(["--lang", "en", "--config", str(config_file), "cert-info", str(test_pki.revoked.p12_path)]) == 0
    revoked = capsys.readouterr().out
    assert main(["--lang", "en", "--config", str(config_file), "cert-info", str(test_pki.head.p12_path)]) == 0
    good = capsys.readouterr().out

    assert "Revocation: revoked" in revoked
    assert "Revocation: not revoked" in good


def test_cert_info_of_nca_authentication_key(nca_dir, monkeypatch, capsys):
    monkeypatch.setenv("NCA_PASSWORD", NCA_PASSWORD)
    assert main(["--lang", "en", "cert-info", str(nca_dir / "individual_auth_rsa_revoked.p12"), "--password-env", "NCA_PASSWORD"]) == 0
    out = capsys.readouterr().out
    assert "IIN: 123456789011" in out
    assert "authentication only" in out


def test_soft_fail_revocation_prints_warnings(signed_file, test_pki, tmp_path, capsys):
    config = tmp_path / "soft-fail.toml"
    config.write_text(f'[trust]\nanchors = ["{test_pki.root_ca_path}"]\n\n[revocation]\npolicy = "soft-fail"\nmethods = ["crl"]\n', encoding="utf-8")
    assert main(["--lang", "en", "--config", str(config), "verify", str(signed_file)]) == 0
    out = capsys.readouterr().out
    assert "Revocation: unknown" in out
    assert "Warnings:" in out
    assert "[revocation-no-source]" in out


def test_sign_into_missing_folder(tmp_path, test_pki, config_file, monkeypatch, capsys):
    source = tmp_path / "notification.xml"
    source.write_bytes(build_xml(notification_for(test_pki.head)))
    # No password source: the folder is checked before the password is needed.
    monkeypatch.delenv(PASSWORD_VARIABLE, raising=False)
    output = tmp_path / "missing" / "signed.xml"

    code = main(["--lang", "en", "--config", str(config_file), "sign", str(source), "--key", str(test_pki.head.p12_path), "-o", str(output)])

    err = capsys.readouterr().err
    assert code == 1
    assert f"output folder {output.parent} does not exist" in err
    assert "Traceback" not in err
