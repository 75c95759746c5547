"""The generated test PKI: identities, files, CRL and the OCSP responder on loopback."""

from __future__ import annotations

import datetime as dt
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp

from signing import testpki
from signing.certificates import HolderRole, KeyAlgorithm, describe_certificate
from signing.testpki import OcspResponder, P12Encryption, TestPki


def _check_digit(number: str) -> int | None:
    digits = [int(c) for c in number[:11]]
    total = sum(weight * digit for weight, digit in zip(range(1, 12), digits)) % 11
    if total == 10:
        total = sum(weight * digit for weight, digit in zip([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2], digits)) % 11
    return None if total == 10 else total


ROLE_TABLE = [
    # identity, roles, organisation BIN, can sign, authentication only
    ("head", (HolderRole.LEGAL_ENTITY_EMPLOYEE, HolderRole.FIRST_HEAD), testpki.SENDER_BIN, True, False),
    ("head_ec", (HolderRole.LEGAL_ENTITY_EMPLOYEE, HolderRole.FIRST_HEAD), testpki.SENDER_BIN, True, False),
    ("deputy", (HolderRole.LEGAL_ENTITY_EMPLOYEE, HolderRole.SIGNING_RIGHTS), testpki.SENDER_BIN, True, False),
    ("employee", (HolderRole.LEGAL_ENTITY_EMPLOYEE, HolderRole.EMPLOYEE), testpki.SENDER_BIN, True, False),
    ("individual", (HolderRole.INDIVIDUAL,), None, True, False),
    ("auth_only", (HolderRole.LEGAL_ENTITY_EMPLOYEE, HolderRole.FIRST_HEAD), testpki.SENDER_BIN, False, True),
    ("revoked", (HolderRole.LEGAL_ENTITY_EMPLOYEE, HolderRole.FIRST_HEAD), testpki.SENDER_BIN, True, False),
    ("expired", (HolderRole.LEGAL_ENTITY_EMPLOYEE, HolderRole.FIRST_HEAD), testpki.SENDER_BIN, True, False),
    ("other_org_head", (HolderRole.LEGAL_ENTITY_EMPLOYEE, HolderRole.FIRST_HEAD), testpki.OTHER_ORGANISATION_BIN, True, False),
    ("receiver", (HolderRole.LEGAL_ENTITY_EMPLOYEE, HolderRole.SIGNING_RIGHTS), testpki.AUTHORISED_BODY_BIN, True, False),
]


@pytest.mark.parametrize(("name", "roles", "bin_value", "can_sign", "auth_only"), ROLE_TABLE)
def test_identity_description(test_pki, name, roles, bin_value, can_sign, auth_only):
    identity = test_pki.identities[name]
    info = describe_certificate(identity.certificate)
    assert info.roles == roles
    assert info.bin == bin_value
    assert info.iin == identity.iin
    assert info.full_name == identity.full_name
    assert info.can_sign is can_sign
    assert info.is_authentication_only is auth_only
    assert info.country == "KZ"
    assert info.email == identity.person.email
    assert info.ocsp_urls == (testpki.DEFAULT_OCSP_URL,)
    assert info.crl_urls == (testpki.DEFAULT_CRL_URL,)


def test_default_identities(test_pki):
    assert test_pki.head.full_name == "ТЕСТОВ АСЫЛБЕК НҰРЛАНҰЛЫ"
    assert test_pki.head.iin == "780412300516"
    assert test_pki.deputy.full_name == "СЫНАҚОВА ӘЙГЕРІМ БОЛАТҚЫЗЫ"
    assert test_pki.deputy.iin == "850903400725"
    assert test_pki.sender_bin == "050340001235"
    assert test_pki.head.organisation == testpki.SENDER_NAME
    assert test_pki.receiver.organisation == testpki.AUTHORISED_BODY_NAME


@pytest.mark.parametrize(
    "number",
    [
        testpki.SENDER_BIN,
        testpki.OTHER_ORGANISATION_BIN,
        testpki.AUTHORISED_BODY_BIN,
        testpki.HEAD.iin,
        testpki.DEPUTY.iin,
        testpki.EMPLOYEE.iin,
        testpki.INDIVIDUAL.iin,
        testpki.OTHER_ORG_HEAD.iin,
        testpki.RECEIVER.iin,
    ],
)
def test_numbers_pass_check_digit(number):
    assert len(number) == 12
    assert _check_digit(number) == int(number[-1])


def test_role_flags(test_pki):
    head = describe_certificate(test_pki.head.certificate)
    deputy = describe_certificate(test_pki.deputy.certificate)
    employee = describe_certificate(test_pki.employee.certificate)
    individual = describe_certificate(test_pki.individual.certificate)
    assert head.is_head
    assert head.has_signing_rights
    assert not deputy.is_head
    assert deputy.has_signing_rights
    assert employee.is_employee
    assert not employee.has_signing_rights
    assert not individual.is_employee
    assert individual.organisation is None


def test_policies_and_key_usage(test_pki):
    assert describe_certificate(test_pki.head.certificate).certificate_policies == ("1.2.398.3.3.2.1",)
    assert describe_certificate(test_pki.auth_only.certificate).certificate_policies == ("1.2.398.3.3.2.2",)
    assert describe_certificate(test_pki.individual.certificate).certificate_policies == ("1.2.398.3.3.2.3",)


def test_key_algorithms(test_pki):
    head = describe_certificate(test_pki.head.certificate)
    head_ec = describe_certificate(test_pki.head_ec.certificate)
    assert head.key_algorithm is KeyAlgorithm.RSA
    assert head.key_size == 2048
    assert head_ec.key_algorithm is KeyAlgorithm.EC
    assert head_ec.key_size == 256


def test_expired_identity_dates(test_pki):
    info = describe_certificate(test_pki.expired.certificate)
    assert info.not_after < test_pki.now
    assert info.not_before < info.not_after


def test_chain_signatures(test_pki):
    test_pki.issuing_ca.verify_directly_issued_by(test_pki.root_ca)
    test_pki.root_ca.verify_directly_issued_by(test_pki.root_ca)
    for identity in test_pki.identities.values():
        identity.certificate.verify_directly_issued_by(test_pki.issuing_ca)


@pytest.mark.parametrize("encryption", list(P12Encryption))
def test_p12_opens_with_password(test_pki, encryption):
    data = test_pki.deputy.p12(encryption).read_bytes()
    key, certificate, chain = pkcs12.load_key_and_certificates(data, test_pki.password.encode())
    assert certificate == test_pki.deputy.certificate
    assert isinstance(key, rsa.RSAPrivateKey)
    assert chain == [test_pki.issuing_ca, test_pki.root_ca]
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(data, b"wrong password")


def test_ec_p12_opens(test_pki):
    key, certificate, _chain = pkcs12.load_key_and_certificates(test_pki.head_ec.p12_path.read_bytes(), b"Qwerty12")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.curve, ec.SECP256R1)
    assert certificate == test_pki.head_ec.certificate


def test_pem_files(test_pki):
    assert x509.load_pem_x509_certificate(test_pki.head.cert_path.read_bytes()) == test_pki.head.certificate
    assert x509.load_pem_x509_certificate(test_pki.root_ca_path.read_bytes()) == test_pki.root_ca
    assert x509.load_pem_x509_certificate(test_pki.issuing_ca_path.read_bytes()) == test_pki.issuing_ca


def test_crl_lists_revoked_key(test_pki):
    crl = x509.load_der_x509_crl(test_pki.crl_path.read_bytes())
    assert crl.issuer == test_pki.issuing_ca.subject
    assert crl.is_signature_valid(test_pki.issuing_ca.public_key())
    entry = crl.get_revoked_certificate_by_serial_number(test_pki.revoked.serial_number)
    assert entry is not None
    assert entry.revocation_date_utc == test_pki.revoked.revoked_at
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is x509.ReasonFlags.key_compromise
    assert crl.get_revoked_certificate_by_serial_number(test_pki.head.serial_number) is None
    assert len(crl) == 1


def test_create_with_custom_identities(tmp_path):
    pki = TestPki.create(tmp_path, password="Secret-1", sender_bin="110740004565", head_iin="700630302197", deputy_iin="880109403055")
    assert describe_certificate(pki.head.certificate).iin == "700630302197"
    assert describe_certificate(pki.deputy.certificate).iin == "880109403055"
    assert describe_certificate(pki.employee.certificate).bin == "110740004565"
    pkcs12.load_key_and_certificates(pki.head.p12_path.read_bytes(), b"Secret-1")


def test_key_sets_differ(tmp_path):
    first = TestPki.create(tmp_path / "a")
    again = TestPki.create(tmp_path / "b")
    other = TestPki.create(tmp_path / "c", key_set="other")
    assert first.head.certificate.public_key() == again.head.certificate.public_key()
    assert first.head.certificate.public_key() != other.head.certificate.public_key()


def test_key_cache_folder(tmp_path):
    cache = tmp_path / "keys"
    pki = TestPki.create(tmp_path / "pki", key_set="cached", key_cache=cache)
    assert (cache / "cached-head.pem").is_file()
    for slot in [slot for slot in testpki._key_pool if slot[0] == "cached"]:
        del testpki._key_pool[slot]
    again = TestPki.create(tmp_path / "pki2", key_set="cached", key_cache=cache)
    assert again.head.certificate.public_key() == pki.head.certificate.public_key()


def _ocsp_request(identity_cert, issuer, nonce=b"0123456789abcdef") -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(identity_cert, issuer, hashes.SHA1())
    builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _post(url: str, body: bytes) -> ocsp.OCSPResponse:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/ocsp-request"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return ocsp.load_der_ocsp_response(reply.read())


def test_responder_good_revoked_unknown(test_pki):
    other = TestPki.create(test_pki.folder / "other", key_set="other")
    with OcspResponder(test_pki) as responder:
        good = _post(responder.url, _ocsp_request(test_pki.head.certificate, test_pki.issuing_ca))
        revoked = _post(responder.url, _ocsp_request(test_pki.revoked.certificate, test_pki.issuing_ca))
        unknown = _post(responder.url, _ocsp_request(other.head.certificate, other.issuing_ca))
        assert responder.request_count == 3
    assert good.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_time_utc == test_pki.revoked.revoked_at
    assert revoked.revocation_reason is x509.ReasonFlags.key_compromise
    assert unknown.certificate_status is ocsp.OCSPCertStatus.UNKNOWN


def test_responder_signature_and_nonce(test_pki):
    with OcspResponder(test_pki) as responder:
        response = _post(responder.url, _ocsp_request(test_pki.head.certificate, test_pki.issuing_ca, nonce=b"nonce-1234567890"))
    assert response.certificates == [test_pki.ocsp_responder_cert]
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"nonce-1234567890"
    test_pki.ocsp_responder_cert.public_key().verify(
        response.signature, response.tbs_response_bytes, padding.PKCS1v15(), response.signature_hash_algorithm
    )
    assert response.next_update_utc - response.this_update_utc == dt.timedelta(hours=1)


def test_responder_signed_by_issuer(test_pki):
    with OcspResponder(test_pki, delegated=False) as responder:
        response = _post(responder.url, _ocsp_request(test_pki.head.certificate, test_pki.issuing_ca))
    assert response.certificates == []
    test_pki.issuing_ca.public_key().verify(
        response.signature, response.tbs_response_bytes, padding.PKCS1v15(), response.signature_hash_algorithm
    )


def test_responder_serves_crl_and_url_in_certificates(tmp_path):
    with OcspResponder() as responder:
        pki = TestPki.create(tmp_path, ocsp_url=responder.url, crl_url=responder.crl_url)
        responder.pki = pki
        with urllib.request.urlopen(responder.crl_url, timeout=10) as reply:
            crl = x509.load_der_x509_crl(reply.read())
        info = describe_certificate(pki.employee.certificate)
        response = _post(info.ocsp_urls[0], _ocsp_request(pki.employee.certificate, pki.issuing_ca))
    assert info.crl_urls == (responder.crl_url,)
    assert crl.get_revoked_certificate_by_serial_number(pki.revoked.serial_number) is not None
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD


def test_revoke_updates_state(tmp_path):
    pki = TestPki.create(tmp_path)
    pki.revoke(pki.employee, at=pki.now - dt.timedelta(minutes=5), reason=x509.ReasonFlags.affiliation_changed)
    crl = x509.load_der_x509_crl(pki.write_crl().read_bytes())
    entry = crl.get_revoked_certificate_by_serial_number(pki.employee.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is x509.ReasonFlags.affiliation_changed
    with OcspResponder(pki) as responder:
        response = _post(responder.url, _ocsp_request(pki.employee.certificate, pki.issuing_ca))
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED


def test_malformed_request_is_answered(test_pki):
    with OcspResponder(test_pki) as responder:
        response = _post(responder.url, b"not an OCSP request")
    assert response.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
