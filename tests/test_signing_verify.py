"""sign_document and verify_document: policy, trust at the signing time, revocation, real NCA keys."""

from __future__ import annotations

import datetime as dt

import pytest

from adapter.config import Config
from adapter.errors import DocumentTooLargeError, KeyUsageError, SignatoryPolicyError, SigningError, VerificationError
from adapter.model import Notification, SignatoryRole
from adapter.xml import build_xml
from signing.algorithms import SignatureMethod
from signing.keys import load_signer
from signing.verify import sign_document, verify_document
from signing.xmldsig import sign_xml
from signing_support import NCA_PASSWORD, nca_config, notification, notification_for, pki_config, roster_for, signer_for

UTC = dt.timezone.utc


def _codes(result) -> list[str]:
    return [problem.code for problem in result.problems]


@pytest.fixture(scope="module")
def config(test_pki):
    return pki_config(test_pki)


def test_head_signed_notification_is_valid(test_pki, config):
    document = notification_for(test_pki.head, facts=5)
    signed = sign_document(build_xml(document), signer_for(test_pki.head), settings=config)
    result = verify_document(signed, settings=config)
    assert result.ok, result.problems
    assert result.intact
    assert result.trusted
    assert result.policy_ok
    assert result.revoked is False
    assert result.signer.iin == test_pki.head.iin
    assert result.signer.bin == test_pki.sender_bin
    assert result.signer.role == "head"
    assert result.signer.serial_number == test_pki.head.serial_number
    assert result.algorithm is SignatureMethod.RSA_SHA256
    assert result.signing_time == result.checked_at
    assert isinstance(result.document, Notification)
    assert result.document.header.number == document.header.number
    assert len(result.document.facts) == 5
    assert result.document.signatory.iin == test_pki.head.iin


def test_deputy_with_ec_key_and_roster_by_employee(test_pki, config):
    deputy = notification_for(test_pki.deputy, role=SignatoryRole.DEPUTY)
    result = verify_document(sign_document(build_xml(deputy), signer_for(test_pki.deputy), settings=config), settings=config)
    assert result.ok, result.problems
    roster = sign_document(build_xml(roster_for(test_pki.employee)), signer_for(test_pki.employee), settings=config)
    assert verify_document(roster, settings=config).ok


def test_policy_refuses_before_signing(test_pki, config):
    with pytest.raises(SignatoryPolicyError) as caught:
        sign_document(build_xml(notification_for(test_pki.employee)), signer_for(test_pki.employee), settings=config)
    assert caught.value.rule == "head-or-deputy"
    with pytest.raises(SignatoryPolicyError) as caught:
        sign_document(build_xml(notification_for(test_pki.other_org_head, sender_bin=test_pki.sender_bin)), signer_for(test_pki.other_org_head), settings=config)
    assert caught.value.rule == "bin-mismatch"


def test_authentication_key_is_refused_for_signing(test_pki, config):
    signer = load_signer(test_pki.auth_only.p12_path, password=test_pki.password, check_usage=False)
    with pytest.raises(KeyUsageError):
        sign_document(build_xml(notification_for(test_pki.auth_only)), signer, settings=config)


def test_policy_runs_on_verification(test_pki, config):
    # Signed without the policy check, by an employee: intact and trusted, but refused.
    signed = sign_xml(build_xml(notification_for(test_pki.employee)), signer_for(test_pki.employee), xades=True)
    result = verify_document(signed, settings=config)
    assert result.intact
    assert result.trusted
    assert not result.policy_ok
    assert _codes(result) == ["head-or-deputy"]
    assert not result.ok


def test_expected_sender_bin(test_pki, config):
    signed = sign_document(build_xml(notification_for(test_pki.head)), signer_for(test_pki.head), settings=config)
    result = verify_document(signed, settings=config, expected_sender_bin="110740004565")
    assert _codes(result) == ["sender-mismatch"]
    assert not result.ok


def test_tampered_document_is_not_parsed(test_pki, config):
    signed = sign_document(build_xml(notification_for(test_pki.head)), signer_for(test_pki.head), settings=config)
    result = verify_document(signed.replace(b"casino-1.example", b"casino-9.example"), settings=config)
    assert not result.intact
    assert not result.trusted
    assert result.document is None
    assert _codes(result) == ["digest-mismatch"]


def test_revoked_key_is_reported_revoked(test_pki, config):
    signed = sign_xml(build_xml(notification_for(test_pki.revoked)), signer_for(test_pki.revoked), xades=True, signing_time=test_pki.now)
    result = verify_document(signed, settings=config)
    assert result.intact
    assert result.trusted
    assert result.revoked is True
    assert not result.ok


def test_signature_before_revocation_stays_valid(test_pki, config):
    before = test_pki.revoked.revoked_at - dt.timedelta(days=1)
    signed = sign_xml(build_xml(notification_for(test_pki.revoked)), signer_for(test_pki.revoked), xades=True, signing_time=before)
    result = verify_document(signed, settings=config)
    assert result.revoked is False
    assert result.ok, result.problems


def test_expiry_is_judged_at_signing_time(test_pki, config):
    expired = test_pki.expired
    inside = expired.certificate.not_valid_before_utc + dt.timedelta(days=100)
    signed = sign_xml(build_xml(notification_for(expired)), signer_for(expired), xades=True, signing_time=inside)
    at_signing = verify_document(signed, settings=config)
    assert at_signing.trusted, at_signing.problems
    assert at_signing.checked_at == inside
    now = verify_document(signed, settings=config, at=dt.datetime.now(UTC))
    assert not now.trusted
    assert "certificate-not-valid-at-time" in _codes(now)


def test_expired_key_is_refused_for_signing(test_pki, config):
    with pytest.raises(SigningError, match="renew the key"):
        sign_document(build_xml(notification_for(test_pki.expired)), signer_for(test_pki.expired), settings=config)


def test_unknown_signing_time_is_a_problem(test_pki, config):
    signed = sign_document(build_xml(notification_for(test_pki.head)), signer_for(test_pki.head), settings=config, xades=False)
    result = verify_document(signed, settings=config)
    assert result.signing_time is None
    assert result.trusted
    assert _codes(result) == ["signing-time-unknown"]
    assert not result.ok
    assert verify_document(signed, settings=config, at=dt.datetime.now(UTC)).ok


def test_untrusted_without_anchors(test_pki):
    signed = sign_document(build_xml(notification_for(test_pki.head)), signer_for(test_pki.head))
    result = verify_document(signed)
    assert result.intact
    assert not result.trusted
    assert result.revoked is None
    assert "no-trust-anchors" in _codes(result)


def test_document_size_limit(test_pki, config):
    signed = sign_document(build_xml(notification_for(test_pki.head)), signer_for(test_pki.head), settings=config)
    with pytest.raises(DocumentTooLargeError):
        verify_document(signed, settings=Config({"documents": {"max_xml_bytes": 1000}}))
    with pytest.raises(VerificationError):
        verify_document(build_xml(notification_for(test_pki.head)), settings=config)


# --- The real NCA RK test keys -------------------------------------------------------------------

NCA_SIGNATORY = "ТЕСТОВ ТЕСТ ТЕСТОВИЧ"
NCA_IIN = "123456789011"


def _nca_document() -> bytes:
    return build_xml(notification(sender_bin="123456789021", full_name=NCA_SIGNATORY, iin=NCA_IIN))


def test_nca_valid_key_fails_policy(nca_dir):
    signer = load_signer(nca_dir / "individual_sign_rsa_valid.p12", password=NCA_PASSWORD)
    when = dt.datetime(2021, 6, 1, 9, 0, tzinfo=UTC)
    signed = sign_xml(_nca_document(), signer, xades=True, signing_time=when)
    result = verify_document(signed, settings=nca_config(nca_dir))
    assert result.intact
    assert result.trusted, result.problems
    assert result.revoked is False
    assert result.checked_at == when
    assert not result.policy_ok
    assert _codes(result) == ["employee-certificate", "head-or-deputy"]
    with pytest.raises(SignatoryPolicyError):
        sign_document(_nca_document(), signer, settings=nca_config(nca_dir), signing_time=when)


def test_nca_revoked_key_is_reported_revoked(nca_dir):
    signer = load_signer(nca_dir / "individual_sign_rsa_revoked.p12", password=NCA_PASSWORD)
    when = dt.datetime(2022, 6, 1, 9, 0, tzinfo=UTC)
    signed = sign_xml(_nca_document(), signer, xades=True, signing_time=when)
    result = verify_document(signed, settings=nca_config(nca_dir))
    assert result.intact
    assert result.trusted, result.problems
    assert result.revoked is True
    assert not result.ok


def test_nca_authentication_key_signature_is_refused(nca_dir):
    with pytest.raises(KeyUsageError):
        load_signer(nca_dir / "individual_auth_rsa_revoked.p12", password=NCA_PASSWORD)
    signer = load_signer(nca_dir / "individual_auth_rsa_revoked.p12", password=NCA_PASSWORD, check_usage=False)
    with pytest.raises(KeyUsageError):
        sign_document(_nca_document(), signer, settings=nca_config(nca_dir), signing_time=dt.datetime(2022, 6, 1, tzinfo=UTC))
    signed = sign_xml(_nca_document(), signer, xades=True, signing_time=dt.datetime(2022, 1, 19, tzinfo=UTC))
    result = verify_document(signed, settings=nca_config(nca_dir))
    assert _codes(result).count("signing-certificate") == 1
    assert not result.ok


def test_schema_checked_reads_same_document(test_pki, config):
    signed = sign_document(build_xml(notification_for(test_pki.head, facts=3)), signer_for(test_pki.head), settings=config)

    validated = verify_document(signed, settings=config)
    trusted_schema = verify_document(signed, settings=config, schema_checked=True)

    assert trusted_schema.ok, trusted_schema.problems
    assert trusted_schema.document == validated.document


def test_parsed_tree_is_checked(test_pki, config):
    from adapter.xml import parse_tree

    signed = sign_document(build_xml(notification_for(test_pki.head)), signer_for(test_pki.head), settings=config)
    tampered = signed.replace(b"casino-1.example", b"casino-9.example")

    intact = verify_document(signed, settings=config, tree=parse_tree(signed))
    altered = verify_document(tampered, settings=config, tree=parse_tree(tampered))

    assert intact.ok, intact.problems
    assert len(intact.document.facts) == len(notification_for(test_pki.head).facts)
    assert not altered.intact
    assert _codes(altered) == ["digest-mismatch"]


def test_tree_read_sees_value_split_by_comment(test_pki, config):
    from adapter.xml import parse_tree

    signed = sign_document(build_xml(notification_for(test_pki.head)), signer_for(test_pki.head), settings=config)
    # Comments are outside the digest, so the signature still holds, and the
    # signed value is the text on both sides of the comment.
    split = signed.replace(b">casino-1.example</domain>", b">casino-<!-- note -->1.example</domain>", 1)
    assert split != signed

    result = verify_document(split, settings=config, schema_checked=True, tree=parse_tree(split))

    assert result.ok, result.problems
    assert result.document == verify_document(signed, settings=config).document
    assert any(fact.domain == "casino-1.example" for fact in result.document.facts)

