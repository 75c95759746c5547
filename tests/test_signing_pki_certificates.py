"""describe_certificate and load_certificates on the real NCA RK test certificates."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

from adapter.errors import InputError
from pki_support import with_algorithms
from signing.certificates import (
    HolderRole,
    KeyAlgorithm,
    KeyUsageBit,
    describe_certificate,
    load_certificates,
)

NCA_PASSWORD = b"Qwerty12"


def _nca_certificate(nca_dir, name: str) -> x509.Certificate:
    _key, certificate, _extra = pkcs12.load_key_and_certificates((nca_dir / name).read_bytes(), NCA_PASSWORD)
    assert certificate is not None
    return certificate


def test_nca_signing_certificate_holder(nca_dir):
    info = describe_certificate(_nca_certificate(nca_dir, "individual_sign_rsa_valid.p12"))
    assert info.common_name == "ТЕСТОВ ТЕСТ"
    assert info.surname == "ТЕСТОВ"
    assert info.first_name == "ТЕСТ"
    assert info.patronymic == "ТЕСТОВИЧ"
    assert info.full_name == "ТЕСТОВ ТЕСТ ТЕСТОВИЧ"
    assert info.country == "KZ"
    # The NCA test IIN fails the check digit and is still read as it is.
    assert info.iin == "123456789011"
    assert info.bin is None
    assert info.organisation is None


def test_nca_signing_certificate_uses(nca_dir):
    info = describe_certificate(_nca_certificate(nca_dir, "individual_sign_rsa_valid.p12"))
    assert info.roles == (HolderRole.INDIVIDUAL,)
    assert info.is_individual
    assert not info.is_employee
    assert not info.is_head
    assert not info.has_signing_rights
    assert info.extended_key_usages == ("1.3.6.1.5.5.7.3.4", "1.2.398.3.3.4.1.1")
    assert info.key_usage == {KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.NON_REPUDIATION}
    assert info.can_sign
    assert not info.is_authentication_only
    assert info.certificate_policies == ("1.2.398.3.3.2.3",)


def test_nca_signing_certificate_validity_and_key(nca_dir):
    info = describe_certificate(_nca_certificate(nca_dir, "individual_sign_rsa_valid.p12"))
    assert info.serial_number == 379496749873264604728628715165317934645180131281
    assert info.not_before == dt.datetime(2021, 1, 18, 13, 9, 14, tzinfo=dt.timezone.utc)
    assert info.not_after == dt.datetime(2022, 1, 18, 13, 9, 14, tzinfo=dt.timezone.utc)
    assert info.not_before.tzinfo is not None
    assert info.is_valid_at(dt.datetime(2021, 6, 1, tzinfo=dt.timezone.utc))
    assert not info.is_valid_at(dt.datetime(2023, 6, 1, tzinfo=dt.timezone.utc))
    assert info.key_algorithm is KeyAlgorithm.RSA
    assert info.key_size == 2048
    assert not info.is_gost
    assert info.subject_key_identifier == "e3fe35adda3b45cbea3a3f1ed48f263dc55c556e"


def test_nca_names_are_readable(nca_dir):
    info = describe_certificate(_nca_certificate(nca_dir, "individual_sign_rsa_valid.p12"))
    assert info.subject == "CN=ТЕСТОВ ТЕСТ, SURNAME=ТЕСТОВ, SERIALNUMBER=IIN123456789011, C=KZ, GIVENNAME=ТЕСТОВИЧ"
    assert info.issuer == "C=KZ, CN=ҰКО 3.0 (RSA TEST)"


def test_nca_certificate_urls(nca_dir):
    info = describe_certificate(_nca_certificate(nca_dir, "individual_sign_rsa_revoked.p12"))
    assert info.crl_urls == ("http://test.pki.gov.kz/crl/nca_rsa_test.crl",)
    assert info.ocsp_urls == ("http://test.pki.gov.kz/ocsp/",)
    assert info.ca_issuer_urls == ("http://test.pki.gov.kz/cert/nca_rsa_test.cer",)


def test_nca_authentication_certificate_cannot_sign(nca_dir):
    info = describe_certificate(_nca_certificate(nca_dir, "individual_auth_rsa_revoked.p12"))
    assert info.extended_key_usages == ("1.3.6.1.5.5.7.3.2", "1.2.398.3.3.4.1.1")
    assert info.key_usage == {KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.KEY_ENCIPHERMENT}
    assert info.is_authentication_only
    assert not info.can_sign
    assert info.certificate_policies == ("1.2.398.3.3.2.4",)


def test_nca_ca_certificate(nca_dir):
    [ca] = load_certificates(nca_dir / "nca_rsa_test.crt")
    info = describe_certificate(ca)
    assert info.is_ca
    assert info.common_name == "ҰКО 3.0 (RSA TEST)"
    assert info.full_name == "ҰКО 3.0 (RSA TEST)"
    assert info.iin is None
    assert info.roles == ()
    assert info.key_usage == {KeyUsageBit.KEY_CERT_SIGN, KeyUsageBit.CRL_SIGN}
    assert not info.can_sign
    assert info.key_size == 4096


@pytest.mark.parametrize(
    ("key_oid", "signature_oid", "algorithm", "size"),
    [
        ("1.2.398.3.10.1.1.2.2", "1.2.398.3.10.1.1.2.3.2", KeyAlgorithm.GOST_2015_512, 512),
        ("1.2.398.3.10.1.1.2.2", "1.2.398.3.10.1.1.2.3.1", KeyAlgorithm.GOST_2015_256, 256),
        ("1.2.398.3.10.1.1.1.2", "1.2.398.3.10.1.1.1.2", KeyAlgorithm.GOST_34310_2004, None),
        ("1.2.643.7.1.1.1.2", "1.2.643.7.1.1.3.3", KeyAlgorithm.GOST_2012_512, 512),
        ("1.2.643.7.1.1.1.1", "1.2.643.7.1.1.3.2", KeyAlgorithm.GOST_2012_256, 256),
        ("1.2.398.3.10.1.9", "1.2.398.3.10.1.9", KeyAlgorithm.GOST_OTHER, None),
    ],
)
def test_gost_certificate_is_described(nca_dir, key_oid, signature_oid, algorithm, size):
    gost = with_algorithms(_nca_certificate(nca_dir, "individual_sign_rsa_valid.p12"), key_oid, signature_oid)
    with pytest.raises((UnsupportedAlgorithm, ValueError)):
        gost.public_key()
    info = describe_certificate(gost)
    assert info.key_algorithm is algorithm
    assert info.is_gost
    assert info.key_size == size
    assert info.key_algorithm_oid == key_oid
    assert info.full_name == "ТЕСТОВ ТЕСТ ТЕСТОВИЧ"
    assert info.can_sign


def test_unknown_key_algorithm(nca_dir):
    odd = with_algorithms(_nca_certificate(nca_dir, "individual_sign_rsa_valid.p12"), "1.3.6.1.4.1.99999.1", "1.2.840.113549.1.1.11")
    info = describe_certificate(odd)
    assert info.key_algorithm is KeyAlgorithm.UNKNOWN
    assert not info.is_gost


def test_load_pem_der_and_folder(nca_dir, tmp_path):
    [ca] = load_certificates(nca_dir / "nca_rsa_test.crt")
    leaf = _nca_certificate(nca_dir, "individual_sign_rsa_valid.p12")
    (tmp_path / "b-leaf.der").write_bytes(leaf.public_bytes(Encoding.DER))
    (tmp_path / "a-bundle.pem").write_bytes(ca.public_bytes(Encoding.PEM) + leaf.public_bytes(Encoding.PEM))
    (tmp_path / "notes.txt").write_text("not a certificate")
    assert load_certificates(tmp_path / "b-leaf.der") == [leaf]
    assert load_certificates(tmp_path / "a-bundle.pem") == [ca, leaf]
    assert load_certificates(tmp_path) == [ca, leaf, leaf]


def test_load_rejects_non_certificate(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("hello")
    with pytest.raises(InputError) as caught:
        load_certificates(bad)
    assert caught.value.code == "certificate-invalid"
    assert str(bad) in str(caught.value)


def test_load_missing_file_names_path(tmp_path):
    with pytest.raises(InputError) as caught:
        load_certificates(tmp_path / "absent.crt")
    assert caught.value.code == "certificate-unreadable"
    assert "absent.crt" in str(caught.value)
