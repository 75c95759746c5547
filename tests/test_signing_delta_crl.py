"""Delta CRLs: combined with the complete CRL of the same issuer, from files, URLs and the freshest CRL extension."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from signing.revocation import CertStatus, RevocationCache, RevocationSettings, check_revocation
from signing.testpki import OcspResponder, TestPki

BASE = 10


@pytest.fixture
def pki(tmp_path):
    # Each test revokes certificates, so it gets a PKI of its own.
    return TestPki.create(tmp_path / "pki")


def _write(folder, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def _check(pki, settings):
    return check_revocation(pki.head.certificate, pki.issuing_ca, at=pki.now, settings=settings, cache=RevocationCache())


def _codes(status) -> list[str]:
    return [problem.code for problem in status.problems]


def test_delta_lists_later_revocation(pki, tmp_path):
    base = _write(tmp_path, "base.crl", pki.crl(number=BASE))
    pki.revoke(pki.head, at=pki.now - dt.timedelta(minutes=30))
    delta = _write(tmp_path, "delta.crl", pki.crl(number=BASE + 1, delta_of=BASE))

    without_delta = _check(pki, RevocationSettings(crl_files=(base,)))
    with_delta = _check(pki, RevocationSettings(crl_files=(base, delta)))

    assert without_delta.status is CertStatus.GOOD
    assert with_delta.status is CertStatus.REVOKED
    assert with_delta.revocation_reason == "keyCompromise"
    assert with_delta.source.location == f"{base} + {delta}"
    assert _codes(with_delta) == ["certificate-revoked"]


def test_delta_removes_held_certificate(pki, tmp_path):
    pki.revoke(pki.head, at=pki.now - dt.timedelta(hours=2), reason=x509.ReasonFlags.certificate_hold)
    base = _write(tmp_path, "base.crl", pki.crl(number=BASE))
    pki.revoke(pki.head, at=pki.now - dt.timedelta(minutes=30), reason=x509.ReasonFlags.remove_from_crl)
    delta = _write(tmp_path, "delta.crl", pki.crl(number=BASE + 1, delta_of=BASE))

    on_hold = _check(pki, RevocationSettings(crl_files=(base,)))
    released = _check(pki, RevocationSettings(crl_files=(base, delta)))

    assert on_hold.status is CertStatus.REVOKED
    assert on_hold.revocation_reason == "certificateHold"
    assert released.status is CertStatus.GOOD
    assert released.problems == ()


def test_newest_delta_wins(pki, tmp_path):
    base = _write(tmp_path, "base.crl", pki.crl(number=BASE))
    pki.revoke(pki.head, at=pki.now - dt.timedelta(hours=2), reason=x509.ReasonFlags.certificate_hold)
    first = _write(tmp_path, "delta-1.crl", pki.crl(number=BASE + 1, delta_of=BASE))
    pki.revoke(pki.head, at=pki.now - dt.timedelta(minutes=30), reason=x509.ReasonFlags.remove_from_crl)
    second = _write(tmp_path, "delta-2.crl", pki.crl(number=BASE + 2, delta_of=BASE))

    status = _check(pki, RevocationSettings(crl_files=(base, second, first)))

    assert status.status is CertStatus.GOOD
    assert status.source.location == f"{base} + {second}"


def test_older_delta_not_applied(pki, tmp_path):
    pki.revoke(pki.head, at=pki.now - dt.timedelta(minutes=30))
    old_delta = _write(tmp_path, "delta.crl", pki.crl(number=BASE + 1, delta_of=BASE))
    pki.revocations.pop(pki.head.serial_number)
    newer_base = _write(tmp_path, "base.crl", pki.crl(number=BASE + 2))

    status = _check(pki, RevocationSettings(crl_files=(newer_base, old_delta)))

    assert status.status is CertStatus.GOOD
    assert status.source.location == newer_base
    assert status.problems == ()


def test_delta_alone_not_complete(pki, tmp_path):
    delta = _write(tmp_path, "delta.crl", pki.crl(number=BASE + 1, delta_of=BASE))

    status = _check(pki, RevocationSettings(crl_files=(delta,)))

    assert status.status is CertStatus.UNKNOWN
    assert _codes(status) == ["crl-delta-only", "revocation-unknown"]
    assert "complete CRL" in status.problems[0].localized("en")


def test_stale_delta_leaves_warning(tmp_path):
    pki = TestPki.create(tmp_path / "pki", delta_crl_url="http://127.0.0.1:9/delta.crl")
    base = _write(tmp_path, "base.crl", pki.crl(number=BASE))
    pki.revoke(pki.head, at=pki.now - dt.timedelta(hours=3))
    stale = pki.crl(number=BASE + 1, delta_of=BASE, this_update=pki.now - dt.timedelta(hours=4), next_update=pki.now - dt.timedelta(hours=2))
    delta = _write(tmp_path, "delta.crl", stale)

    status = _check(pki, RevocationSettings(crl_files=(base, delta)))

    assert status.status is CertStatus.GOOD
    assert status.acceptable
    assert _codes(status) == ["crl-stale", "crl-delta-unread"]
    assert "http://127.0.0.1:9/delta.crl" in status.problems[1].localized("en")


def test_forged_delta_not_applied(pki, tmp_path):
    base = _write(tmp_path, "base.crl", pki.crl(number=BASE))
    pki.revoke(pki.head, at=pki.now - dt.timedelta(minutes=30))
    forged = _write(tmp_path, "delta.crl", pki.crl(number=BASE + 1, delta_of=BASE, signed_by_root=True))

    status = _check(pki, RevocationSettings(crl_files=(base, forged)))

    assert status.status is CertStatus.GOOD
    assert _codes(status) == ["crl-bad-signature", "crl-delta-unread"]


def test_certificate_delta_url_fetched(tmp_path):
    with OcspResponder() as responder:
        pki = TestPki.create(tmp_path / "pki", ocsp_url=responder.url, crl_url=responder.crl_url, delta_crl_url=responder.delta_crl_url)
        responder.pki = pki
        cache = RevocationCache()
        settings = RevocationSettings(fetch=True, methods=("crl",), status_cache_seconds=0)

        # No delta published yet: the complete CRL decides, with a warning.
        first = check_revocation(pki.head.certificate, pki.issuing_ca, at=pki.now, settings=settings, cache=cache)
        base_number = x509.load_der_x509_crl(pki.crl()).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        pki.revoke(pki.head, at=pki.now - dt.timedelta(minutes=30))
        responder.delta_crl = pki.crl(number=base_number + 1, delta_of=base_number)
        # The complete CRL comes from the cache, as downloaded before the revocation.
        second = check_revocation(pki.head.certificate, pki.issuing_ca, at=pki.now, settings=settings, cache=cache)

    assert first.status is CertStatus.GOOD
    assert _codes(first)[-1] == "crl-delta-unread"
    assert second.status is CertStatus.REVOKED
    assert second.source.location == f"{responder.crl_url} + {responder.delta_crl_url}"
    assert responder.crl_request_count == 1


def test_delta_url_needs_fetch(tmp_path):
    with OcspResponder() as responder:
        pki = TestPki.create(tmp_path / "pki", ocsp_url=responder.url, crl_url=responder.crl_url, delta_crl_url=responder.delta_crl_url)
        responder.pki = pki
        base_number = x509.load_der_x509_crl(pki.crl()).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        responder.delta_crl = pki.crl(number=base_number + 1, delta_of=base_number)

        status = _check(pki, RevocationSettings(crl_urls=(responder.crl_url,), methods=("crl",)))

    assert status.status is CertStatus.GOOD
    assert _codes(status) == ["crl-delta-unread"]


CA_CERTIFICATES_ONLY = x509.IssuingDistributionPoint(
    full_name=None,
    relative_name=None,
    only_contains_user_certs=False,
    only_contains_ca_certs=True,
    only_some_reasons=None,
    indirect_crl=False,
    only_contains_attribute_certs=False,
)


def test_delta_of_other_scope_not_applied(pki, tmp_path):
    base = _write(tmp_path, "base.crl", pki.crl(number=BASE))
    pki.revoke(pki.head, at=pki.now - dt.timedelta(minutes=30))
    matching = _write(tmp_path, "delta-11.crl", pki.crl(number=BASE + 1, delta_of=BASE))
    other_scope = _write(tmp_path, "delta-12.crl", pki.crl(number=BASE + 2, delta_of=BASE, scope=CA_CERTIFICATES_ONLY))

    status = _check(pki, RevocationSettings(crl_files=(base, other_scope, matching)))

    assert status.status is CertStatus.REVOKED
    assert status.source.location == f"{base} + {matching}"


def test_other_scope_crl_not_used(pki, tmp_path):
    ca_only = _write(tmp_path, "ca-only.crl", pki.crl(number=BASE, scope=CA_CERTIFICATES_ONLY))

    status = _check(pki, RevocationSettings(crl_files=(ca_only,)))

    assert status.status is CertStatus.UNKNOWN
    assert _codes(status) == ["crl-other-scope", "revocation-unknown"]


def test_delta_on_newer_complete_crl(pki, tmp_path):
    old_base = _write(tmp_path, "base-10.crl", pki.crl(number=BASE))
    new_base = _write(tmp_path, "base-12.crl", pki.crl(number=BASE + 2))
    clean_delta = _write(tmp_path, "delta-13-clean.crl", pki.crl(number=BASE + 3, delta_of=BASE + 2))
    pki.revoke(pki.head, at=pki.now - dt.timedelta(minutes=30))
    listing_delta = _write(tmp_path, "delta-13.crl", pki.crl(number=BASE + 3, delta_of=BASE + 2))

    # The delta lists the certificate: revoked, though it cannot update the old complete CRL.
    listed = _check(pki, RevocationSettings(crl_files=(old_base, listing_delta)))
    # It does not list it: the old complete CRL is superseded, and the newer one gives the status.
    superseded = _check(pki, RevocationSettings(crl_files=(old_base, clean_delta)))
    newer_used = _check(pki, RevocationSettings(crl_files=(old_base, new_base, clean_delta)))

    assert listed.status is CertStatus.REVOKED
    assert superseded.status is CertStatus.UNKNOWN
    assert _codes(superseded)[0] == "crl-superseded"
    assert newer_used.status is CertStatus.GOOD
    assert newer_used.source.location == f"{new_base} + {clean_delta}"
    assert newer_used.problems == ()


def test_hold_stays_revoked_before_final_revocation(pki, tmp_path):
    pki.revoke(pki.head, at=pki.now - dt.timedelta(hours=2), reason=x509.ReasonFlags.certificate_hold)
    base = _write(tmp_path, "base.crl", pki.crl(number=BASE))
    pki.revoke(pki.head, at=pki.now + dt.timedelta(hours=1))
    delta = _write(tmp_path, "delta.crl", pki.crl(number=BASE + 1, delta_of=BASE))

    status = _check(pki, RevocationSettings(crl_files=(base, delta)))

    assert status.status is CertStatus.REVOKED
    assert status.revocation_reason == "certificateHold"
    assert status.source.location == f"{base} + {delta}"


def test_old_delta_keeps_unread_warning(tmp_path):
    pki = TestPki.create(tmp_path / "pki", delta_crl_url="http://127.0.0.1:9/delta.crl")
    old_delta = _write(tmp_path, "old-delta.crl", pki.crl(number=BASE - 1, delta_of=BASE - 2))
    base = _write(tmp_path, "base.crl", pki.crl(number=BASE))

    status = _check(pki, RevocationSettings(crl_files=(base, old_delta)))

    assert status.status is CertStatus.GOOD
    assert _codes(status) == ["crl-delta-unread"]


def test_other_crls_read_once(pki, tmp_path, monkeypatch):
    from signing import revocation

    base = _write(tmp_path, "base.crl", pki.crl(number=BASE))
    reads: list[str] = []
    original = revocation._read_crl_file

    def counted(check, path):
        reads.append(path)
        return original(check, path)

    monkeypatch.setattr(revocation, "_read_crl_file", counted)
    settings = RevocationSettings(crl_files=(base, str(pki.root_crl_path)), status_cache_seconds=0)
    for _ in range(3):
        assert _check(pki, settings).status is CertStatus.GOOD

    # The root CA's CRL is no delta of the issuing CA: read once, then remembered.
    assert reads.count(str(pki.root_crl_path)) == 1
    assert reads.count(base) == 3


def test_status_with_failed_delta_not_cached(tmp_path):
    with OcspResponder() as responder:
        pki = TestPki.create(tmp_path / "pki", ocsp_url=responder.url, crl_url=responder.crl_url, delta_crl_url=responder.delta_crl_url)
        responder.pki = pki
        cache = RevocationCache()
        settings = RevocationSettings(fetch=True, methods=("crl",))
        base_number = x509.load_der_x509_crl(pki.crl()).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

        # The delta CRL is missing (HTTP 404) on the first check.
        first = check_revocation(pki.head.certificate, pki.issuing_ca, at=pki.now, settings=settings, cache=cache)
        pki.revoke(pki.head, at=pki.now - dt.timedelta(minutes=30))
        responder.delta_crl = pki.crl(number=base_number + 1, delta_of=base_number)
        second = check_revocation(pki.head.certificate, pki.issuing_ca, at=pki.now, settings=settings, cache=cache)

    assert first.status is CertStatus.GOOD
    assert second.status is CertStatus.REVOKED
