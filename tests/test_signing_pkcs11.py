"""PKCS#11 signing keys on a real SoftHSM2 software token."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from adapter.errors import KeyLoadError, KeyUsageError
from signing.keys import PasswordSource, load_signer
from signing.pkcs11 import parse_pkcs11_uri
from signing.xmldsig import sign_xml, verify_xml_signature

MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
MODULE = next((path for path in MODULE_CANDIDATES if Path(path).is_file()), None)
PIN = "4831"
TOKEN = "edms-test"

pytestmark = pytest.mark.skipif(
    MODULE is None or shutil.which("softhsm2-util") is None,
    reason="the SoftHSM2 module (Debian package softhsm2) is not installed",
)


@pytest.fixture(scope="module")
def token(tmp_path_factory, test_pki):
    """A SoftHSM2 token holding the head's RSA and EC keys and the authentication key, with certificates."""
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    config = folder / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    # SoftHSM2 reads its configuration when the module is first initialised in the process.
    os.environ["SOFTHSM2_CONF"] = str(config)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "975310"], check=True, capture_output=True)
    identities = {"01": test_pki.head, "02": test_pki.head_ec, "03": test_pki.auth_only}
    for key_id, identity in identities.items():
        pem = folder / f"{key_id}.pem"
        pem.write_bytes(identity.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        subprocess.run(["softhsm2-util", "--import", str(pem), "--token", TOKEN, "--label", identity.name, "--id", key_id, "--pin", PIN], check=True, capture_output=True)
        pem.unlink()
    with pkcs11.lib(MODULE).get_token(token_label=TOKEN).open(rw=True, user_pin=PIN) as session:
        for key_id, identity in identities.items():
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.ID: bytes.fromhex(key_id),
                    Attribute.LABEL: identity.name,
                    Attribute.SUBJECT: identity.certificate.subject.public_bytes(),
                    Attribute.VALUE: identity.certificate.public_bytes(serialization.Encoding.DER),
                }
            )
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: "issuing-ca",
                Attribute.SUBJECT: test_pki.issuing_ca.subject.public_bytes(),
                Attribute.VALUE: test_pki.issuing_ca.public_bytes(serialization.Encoding.DER),
            }
        )
    pin_file = folder / "pin"
    pin_file.write_text(PIN + "\n")
    yield pin_file
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.mark.parametrize(("key_id", "key_type"), [("01", "rsa"), ("02", "ec")])
def test_token_key_signs(token, test_pki, key_id, key_type):
    uri = f"pkcs11:token={TOKEN};id=%{key_id}?module-path={MODULE}&pin-source=file:{token}"
    with load_signer(uri, password=None) as signer:
        assert signer.key_type == key_type
        assert signer.chain == (test_pki.issuing_ca,)
        signed = sign_xml(b'<roster xmlns="urn:edms-adapter:roster:1" Id="r-1"><n>1</n></roster>', signer, xades=True)
    check = verify_xml_signature(signed)
    assert check.intact, check.problems
    assert check.certificate == signer.certificate
    assert len(check.certificates) == 2


def test_token_key_by_label_and_pin_source(token, test_pki):
    signer = load_signer(f"pkcs11:token={TOKEN};object=head", password=PasswordSource.from_file(token), module=MODULE)
    try:
        assert signer.certificate == test_pki.head.certificate
    finally:
        signer.close()


def test_wrong_pin_is_named(token):
    with pytest.raises(KeyLoadError, match="wrong PIN"):
        load_signer(f"pkcs11:token={TOKEN};id=%01?module-path={MODULE}", password=PasswordSource.from_value("0000"))


def test_authentication_key_on_token_is_refused(token):
    with pytest.raises(KeyUsageError):
        load_signer(f"pkcs11:token={TOKEN};id=%03?module-path={MODULE}&pin-source=file:{token}", password=None)


def test_missing_token_and_key(token):
    with pytest.raises(KeyLoadError, match="no single PKCS#11 token"):
        load_signer(f"pkcs11:token=absent?module-path={MODULE}", password=PasswordSource.from_value(PIN))
    with pytest.raises(KeyLoadError, match="no single private key"):
        load_signer(f"pkcs11:token={TOKEN};id=%09?module-path={MODULE}&pin-source=file:{token}", password=None)


def test_pin_value_in_uri_is_refused():
    with pytest.raises(KeyLoadError, match="not accepted"):
        parse_pkcs11_uri(f"pkcs11:token={TOKEN}?pin-value={PIN}")


def test_uri_without_module_is_refused():
    with pytest.raises(KeyLoadError, match="module-path"):
        load_signer(f"pkcs11:token={TOKEN}", password=None)


def test_uri_parts_are_decoded():
    parts = parse_pkcs11_uri("pkcs11:token=NCA%20Kaztoken;object=RSA%20key;id=%01%A2?module-path=/usr/lib/kaztoken.so&pin-source=file:/run/pin")
    assert parts.token == "NCA Kaztoken"
    assert parts.object == "RSA key"
    assert parts.id == b"\x01\xa2"
    assert parts.module_path == "/usr/lib/kaztoken.so"
    assert parts.pin_source == "file:/run/pin"
