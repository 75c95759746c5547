"""PKCS#12 keys: NCA's real containers, passwords, GOST containers, key usage."""

from __future__ import annotations

import hashlib
import hmac
import io
import os

import pytest
from asn1crypto import algos, cms
from asn1crypto import keys as asn1_keys
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.serialization import pkcs12

from adapter.errors import KeyLoadError, KeyUsageError, SigningError, UnsupportedKeyError
from signing.algorithms import SignatureMethod
from signing.keys import PasswordSource, Signer, _PrivateKeyInfo, load_pkcs12, load_signer, pkcs12_kdf
from signing.testpki import P12Encryption
from signing.xmldsig import sign_xml, verify_xml_signature
from signing_support import NCA_PASSWORD

GOST_2004_KEY_OID = "1.2.398.3.10.1.1.1.2"


def test_nca_signing_key_opens(nca_dir):
    signer = load_signer(nca_dir / "individual_sign_rsa_valid.p12", password=PasswordSource.from_value(NCA_PASSWORD))
    assert isinstance(signer, Signer)
    assert signer.key_type == "rsa"
    assert signer.certificate.serial_number == 0x4279390A141F5353A62947B61ED65E81741467D1
    assert "Qwerty12" not in repr(signer)


def test_nca_authentication_key_is_refused(nca_dir):
    with pytest.raises(KeyUsageError) as caught:
        load_signer(nca_dir / "individual_auth_rsa_revoked.p12", password=NCA_PASSWORD)
    assert caught.value.params["reason"] == "authentication-only"
    assert "authentication certificate" in str(caught.value)


def test_authentication_key_opens_without_usage_check(nca_dir):
    signer = load_signer(nca_dir / "individual_auth_rsa_revoked.p12", password=NCA_PASSWORD, check_usage=False)
    assert signer.key_type == "rsa"


def test_wrong_password_is_named(nca_dir):
    with pytest.raises(KeyLoadError) as caught:
        load_pkcs12(nca_dir / "individual_sign_rsa_valid.p12", PasswordSource.from_value("Qwerty13"))
    message = str(caught.value)
    assert "wrong password" in message
    assert "Qwerty13" not in message


def test_pkcs12_mac_key_derivation_matches_nca_file(nca_dir):
    # The container's SHA-1 MAC checks out only with the right password.
    from signing.keys import _verify_mac

    pfx = asn1_pkcs12.Pfx.load((nca_dir / "individual_sign_rsa_valid.p12").read_bytes())
    assert _verify_mac(pfx, NCA_PASSWORD.encode()) is True
    assert _verify_mac(pfx, b"qwerty12") is False


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(KeyLoadError, match="failed to read"):
        load_pkcs12(tmp_path / "absent.p12", "x")
    garbage = tmp_path / "garbage.p12"
    garbage.write_bytes(b"not a container")
    with pytest.raises(KeyLoadError, match="not a PKCS#12"):
        load_pkcs12(garbage, "x")


@pytest.mark.parametrize("encryption", list(P12Encryption))
def test_test_pki_containers_open(test_pki, encryption):
    signer = load_signer(test_pki.head.p12(encryption), password=test_pki.password)
    assert signer.certificate == test_pki.head.certificate
    assert test_pki.issuing_ca in signer.chain or signer.chain == ()


def test_test_pki_authentication_key_is_refused(test_pki):
    with pytest.raises(KeyUsageError):
        load_signer(test_pki.auth_only.p12_path, password=test_pki.password)


def test_ec_key_signs(test_pki):
    signer = load_signer(test_pki.head_ec.p12_path, password=test_pki.password)
    assert signer.key_type == "ec"
    check = verify_xml_signature(sign_xml(b"<a>1</a>", signer))
    assert check.intact, check.problems
    assert check.signature_method is SignatureMethod.ECDSA_SHA256


def test_signer_rejects_sha1_and_gost(test_pki):
    signer = load_pkcs12(test_pki.head.p12_path, test_pki.password)
    for method in (SignatureMethod.RSA_SHA1, SignatureMethod.GOST34310_GOST34311, SignatureMethod.ECDSA_SHA256):
        with pytest.raises(SigningError):
            signer.sign(b"data", method)


# --- Password sources ----------------------------------------------------------------------------


def test_password_from_environment(monkeypatch):
    monkeypatch.setenv("EDMS_TEST_KEY_PASSWORD", "Құпия-1")
    assert PasswordSource.from_env("EDMS_TEST_KEY_PASSWORD").read() == "Құпия-1".encode()
    monkeypatch.delenv("EDMS_TEST_KEY_PASSWORD")
    with pytest.raises(KeyLoadError, match="EDMS_TEST_KEY_PASSWORD"):
        PasswordSource.from_env("EDMS_TEST_KEY_PASSWORD").read()


def test_password_from_file_takes_first_line(tmp_path):
    path = tmp_path / "password"
    path.write_bytes(b"Qwerty12\r\nsecond line\n")
    assert PasswordSource.from_file(path).read() == b"Qwerty12"
    with pytest.raises(KeyLoadError, match="password file"):
        PasswordSource.from_file(tmp_path / "absent").read()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_password_from_prompt(monkeypatch):
    monkeypatch.setattr("sys.stdin", _Terminal())
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or "Qwerty12")
    assert PasswordSource.prompt("head.p12").read() == b"Qwerty12"
    assert prompts == ["Password for head.p12: "]


def test_password_source_repr_hides_secret():
    source = PasswordSource.from_value("Qwerty12")
    assert "Qwerty12" not in repr(source)
    assert source.describe() == "value"


# --- GOST containers -----------------------------------------------------------------------------


def _encrypt_3des(data: bytes, password: bytes, salt: bytes, iterations: int) -> bytes:
    key = pkcs12_kdf(password, salt, 1, iterations, 24)
    iv = pkcs12_kdf(password, salt, 2, iterations, 8)
    padder = padding.PKCS7(64).padder()
    encryptor = Cipher(TripleDES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()


def _gost_container(certificate, password: str, *, shrouded: bool = True) -> bytes:
    """A PKCS#12 file laid out as NCA's, whose private key's AlgorithmIdentifier is a GOST OID."""
    secret = password.encode()
    key_info = _PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": {"algorithm": GOST_2004_KEY_OID, "parameters": None},
            "private_key": os.urandom(32),
        }
    )

    if shrouded:
        salt = os.urandom(8)
        encrypted = asn1_keys.EncryptedPrivateKeyInfo(
            {
                "encryption_algorithm": algos.EncryptionAlgorithm(
                    {"algorithm": "pkcs12_sha1_tripledes_3key", "parameters": algos.Pbes1Params({"salt": salt, "iterations": 2048})}
                ),
                "encrypted_data": _encrypt_3des(key_info.dump(), secret, salt, 2048),
            }
        )
        key_bag = asn1_pkcs12.SafeBag({"bag_id": "pkcs8_shrouded_key_bag", "bag_value": encrypted})
    else:
        key_bag = asn1_pkcs12.SafeBag({"bag_id": "key_bag", "bag_value": asn1_keys.PrivateKeyInfo.load(key_info.dump())})

    cert = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    cert_bag = asn1_pkcs12.SafeBag({"bag_id": "cert_bag", "bag_value": asn1_pkcs12.CertBag({"cert_id": "x509", "cert_value": cert})})
    safe = asn1_pkcs12.SafeContents([key_bag, cert_bag])
    authenticated = asn1_pkcs12.AuthenticatedSafe([cms.ContentInfo({"content_type": "data", "content": safe.dump()})])
    authenticated_bytes = authenticated.dump()

    mac_salt = os.urandom(8)
    mac_key = pkcs12_kdf(secret, mac_salt, 3, 2048, 20)
    pfx = asn1_pkcs12.Pfx(
        {
            "version": 3,
            "auth_safe": cms.ContentInfo({"content_type": "data", "content": authenticated_bytes}),
            "mac_data": asn1_pkcs12.MacData(
                {
                    "mac": {"digest_algorithm": {"algorithm": "sha1"}, "digest": hmac.new(mac_key, authenticated_bytes, hashlib.sha1).digest()},
                    "mac_salt": mac_salt,
                    "iterations": 2048,
                }
            ),
        }
    )
    return pfx.dump()


@pytest.mark.parametrize("shrouded", [True, False])
def test_gost_container_is_reported_as_gost(tmp_path, test_pki, shrouded):
    path = tmp_path / "GOSTKNCA_0123.p12"
    path.write_bytes(_gost_container(test_pki.head.certificate, "Qwerty12", shrouded=shrouded))
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(path.read_bytes(), b"Qwerty12")
    with pytest.raises(UnsupportedKeyError) as caught:
        load_signer(path, password="Qwerty12")
    message = str(caught.value)
    assert "GOST 34.310-2004" in message
    assert GOST_2004_KEY_OID in message
    assert "RSA or EC" in message
    assert "password" not in message


def test_gost_container_with_wrong_password_says_wrong_password(tmp_path, test_pki):
    path = tmp_path / "GOSTKNCA_0123.p12"
    path.write_bytes(_gost_container(test_pki.head.certificate, "Qwerty12"))
    with pytest.raises(KeyLoadError, match="wrong password"):
        load_signer(path, password="Qwerty13")
