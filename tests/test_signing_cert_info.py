"""cert-info: validity status, named extended key usages, and the certificate of a GOST container."""

from __future__ import annotations

from adapter.cli.main import main
from test_signing_keys import _gost_container

PASSWORD_VARIABLE = "EDMS_TEST_CERT_INFO_PASSWORD"


def _cert_info(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--lang", "en", "cert-info", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_expired_certificate_is_flagged(test_pki, capsys):
    code, out, _ = _cert_info(capsys, str(test_pki.expired.cert_path))
    assert code == 0
    assert f"Status: EXPIRED on {test_pki.expired.certificate.not_valid_after_utc.date().isoformat()}" in out


def test_valid_certificate_status(test_pki, capsys):
    code, out, _ = _cert_info(capsys, str(test_pki.head.cert_path))
    assert code == 0
    assert f"Status: valid until {test_pki.head.certificate.not_valid_after_utc.date().isoformat()}" in out
    assert "EXPIRED" not in out


def test_extended_key_usages_are_named(test_pki, capsys):
    _, head, _ = _cert_info(capsys, str(test_pki.head.cert_path))
    _, auth, _ = _cert_info(capsys, str(test_pki.auth_only.cert_path))
    _, deputy, _ = _cert_info(capsys, str(test_pki.deputy.cert_path))
    assert "first head (1.2.398.3.3.4.1.2.1)" in head
    assert "employee of a legal entity (1.2.398.3.3.4.1.2)" in head
    assert "clientAuth (1.3.6.1.5.5.7.3.2)" in auth
    assert "person with signing rights (1.2.398.3.3.4.1.2.2)" in deputy


def test_extended_key_usages_named_in_kazakh(test_pki, capsys):
    assert main(["--lang", "kk", "cert-info", str(test_pki.head.cert_path)]) == 0
    out = capsys.readouterr().out
    assert "(1.2.398.3.3.4.1.2.1)" in out
    assert "first head (" not in out


def test_gost_container_is_described(test_pki, tmp_path, monkeypatch, capsys):
    path = tmp_path / "GOSTKNCA_0123.p12"
    path.write_bytes(_gost_container(test_pki.head.certificate, test_pki.password))
    monkeypatch.setenv(PASSWORD_VARIABLE, test_pki.password)

    code, out, err = _cert_info(capsys, str(path), "--password-env", PASSWORD_VARIABLE)

    assert code == 1
    assert f"IIN: {test_pki.head.iin}" in out
    assert f"BIN: {test_pki.sender_bin}" in out
    assert "Valid: " in out
    assert "GOST 34.310-2004" in err
