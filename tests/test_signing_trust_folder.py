"""Trust anchors from files and folders: CA certificates only, and the signer always checked for revocation."""

from __future__ import annotations

import datetime as dt
import logging
import shutil

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from adapter.cli.main import main
from adapter.config import Config
from adapter.errors import VerificationError
from adapter.exchange.receipts import DocumentReference, Receipt, sign_receipt, verify_receipt
from adapter.xml import build_xml
from signing.keys import Pkcs12Signer
from signing.testpki import _Revocation
from signing.trust import TrustSettings, load_trust_anchors, validate_path
from signing.verify import verify_document
from signing.xmldsig import sign_xml
from signing_support import notification_for, signer_for


@pytest.fixture
def trust_folder(tmp_path, test_pki):
    """A folder with both CA certificates and the revoked signer's own certificate."""
    folder = tmp_path / "trust"
    folder.mkdir()
    shutil.copy(test_pki.root_ca_path, folder / "root-ca.pem")
    shutil.copy(test_pki.issuing_ca_path, folder / "issuing-ca.pem")
    (folder / "signer.pem").write_bytes(test_pki.revoked.certificate.public_bytes(Encoding.PEM))
    return folder


@pytest.fixture
def revoked_signed(tmp_path, test_pki):
    signed = sign_xml(build_xml(notification_for(test_pki.revoked)), signer_for(test_pki.revoked), xades=True, signing_time=test_pki.now)
    path = tmp_path / "signed.xml"
    path.write_bytes(signed)
    return path


def _folder_config(pki, folder) -> Config:
    return Config({"trust": {"anchors": [str(folder)]}, "revocation": {"methods": ["crl"], "crl_files": [str(pki.crl_path), str(pki.root_crl_path)]}})


def test_end_entity_anchor_is_ignored(test_pki, trust_folder, caplog):
    with caplog.at_level(logging.WARNING, logger="signing.trust"):
        anchors, _ = load_trust_anchors(TrustSettings(anchors=(str(trust_folder),)))
    assert test_pki.revoked.certificate not in anchors
    assert set(anchors) == {test_pki.root_ca, test_pki.issuing_ca}
    serial = f"0x{test_pki.revoked.serial_number:x}"
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any(serial in message for message in warnings), warnings
    assert not any(test_pki.revoked.full_name in message for message in warnings)


def test_end_entity_anchor_note_on_path(test_pki, trust_folder):
    result = validate_path(test_pki.revoked.certificate, at=test_pki.now, settings=TrustSettings(anchors=(str(trust_folder),)))
    assert result.trusted
    assert result.chain[-1] != test_pki.revoked.certificate
    assert len(result.chain) > 1
    codes = [note.code for note in result.warnings]
    assert codes == ["end-entity-anchor-ignored"]
    message = result.warnings[0].localized()
    assert f"0x{test_pki.revoked.serial_number:x}" in message
    assert test_pki.revoked.full_name not in message


def test_end_entity_only_folder_is_untrusted(test_pki, tmp_path):
    (tmp_path / "signer.pem").write_bytes(test_pki.head.certificate.public_bytes(Encoding.PEM))
    result = validate_path(test_pki.head.certificate, at=test_pki.now, settings=TrustSettings(anchors=(str(tmp_path),)))
    assert not result.trusted


def test_revoked_signer_in_trust_folder(test_pki, trust_folder, revoked_signed):
    result = verify_document(revoked_signed.read_bytes(), settings=_folder_config(test_pki, trust_folder))
    assert result.trusted
    assert result.revoked is True
    assert not result.ok
    assert "certificate-revoked" in [problem.code for problem in result.problems]
    assert "end-entity-anchor-ignored" in [note.code for note in result.warnings]


def test_cli_verify_revoked_signer_in_trust_folder(test_pki, trust_folder, revoked_signed, capsys):
    code = main(
        ["--lang", "en", "verify", str(revoked_signed), "--trust", str(trust_folder), "--crl", str(test_pki.crl_path), "--crl", str(test_pki.root_crl_path)]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "Revocation: revoked" in out
    assert "Result: the document is NOT valid" in out
    assert "end-entity-anchor-ignored" in out


def test_signer_equal_to_anchor_is_checked(test_pki, tmp_path):
    # The issuing CA signs the document itself and is the only anchor; the root CA's CRL revokes it.
    revoked_at = test_pki.now - dt.timedelta(days=2)
    root_crl = tmp_path / "root.crl"
    root_crl.write_bytes(
        test_pki._sign_crl(
            test_pki.root_ca,
            test_pki._root_key,
            {test_pki.issuing_ca.serial_number: _Revocation(revoked_at, x509.ReasonFlags.ca_compromise)},
            test_pki.now - dt.timedelta(hours=1),
            test_pki.now + dt.timedelta(days=7),
        )
    )
    signer = Pkcs12Signer(test_pki.issuing_ca, (), "rsa", "issuing-ca", test_pki._issuing_key)
    signed = sign_xml(build_xml(notification_for(test_pki.head)), signer, xades=True, signing_time=test_pki.now)
    config = Config(
        {
            "trust": {"anchors": [str(test_pki.issuing_ca_path)], "intermediates": [str(test_pki.root_ca_path)]},
            "revocation": {"methods": ["crl"], "crl_files": [str(root_crl)]},
        }
    )
    result = verify_document(signed, settings=config)
    assert result.trusted
    assert result.revoked is True
    assert not result.ok


def test_receipt_signer_in_trust_folder_is_untrusted(test_pki, tmp_path):
    folder = tmp_path / "trust"
    folder.mkdir()
    (folder / "receiver.pem").write_bytes(test_pki.receiver.certificate.public_bytes(Encoding.PEM))
    reference = DocumentReference("msg-7d1c2a", "ab" * 32, "17-04/112", dt.date(2026, 5, 4))
    signed = sign_receipt(Receipt.registered(reference, "2026-000017", dt.date(2026, 5, 5)), signer_for(test_pki.receiver))

    with pytest.raises(VerificationError) as raised:
        verify_receipt(signed, trust_settings=TrustSettings(anchors=(str(folder),)), at=test_pki.now)

    assert "not trusted" in str(raised.value)


def test_no_revocation_source_names_crl_option(test_pki, revoked_signed, capsys):
    code = main(["--lang", "en", "verify", str(revoked_signed), "--trust", str(test_pki.root_ca_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "[revocation-no-source]" in out
    assert "--crl FILE" in out
    assert 'policy = "soft-fail"' in out
    assert '"off"' in out


@pytest.mark.parametrize(
    ("language", "issued_by"),
    [("en", "0x{serial:x} issued by {issuer}"), ("ru", "0x{serial:x} (издатель: {issuer})"), ("kk", "{issuer} берген 0x{serial:x}")],
)
def test_certificate_named_with_issuer(test_pki, language, issued_by):
    from adapter.i18n import use_language
    from signing.certificates import certificate_label, readable_name

    cert = test_pki.head.certificate
    label = certificate_label(cert)
    with use_language(language):
        text = f"{label}"
    assert text == issued_by.format(serial=cert.serial_number, issuer=readable_name(cert.issuer))


def test_problem_names_certificate_in_shown_language(test_pki, trust_folder):
    result = validate_path(test_pki.revoked.certificate, at=test_pki.now, settings=TrustSettings(anchors=(str(trust_folder),)))
    text = result.warnings[0].localized("kk")
    assert " берген 0x" in text
    assert "issued by" not in text
