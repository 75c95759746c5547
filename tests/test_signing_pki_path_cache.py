"""Cached path validations and revocation statuses, reused only while a fresh check would give the same result."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

import signing.trust
from adapter.config import Config
from adapter.xml import build_xml
from signing.revocation import CertStatus, RevocationCache, RevocationSettings, check_revocation
from signing.testpki import TestPki
from signing.trust import PathCache, TrustSettings, validate_path
from signing.verify import verify_document
from signing.xmldsig import sign_xml
from signing_support import notification_for, pki_config, signer_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FailingValidator:
    """Stands in for pyhanko's CertificateValidator, so a test fails if a validation is not served from the cache."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("the certification path was validated again instead of being read from the cache")


def _settings(pki, **options: object) -> TrustSettings:
    return TrustSettings(anchors=(str(pki.root_ca_path),), intermediates=(str(pki.issuing_ca_path),), **options)


def test_second_validation_served_from_cache(test_pki, monkeypatch):
    cache = PathCache()
    first = validate_path(test_pki.head.certificate, at=test_pki.now, settings=_settings(test_pki), cache=cache)
    monkeypatch.setattr(signing.trust, "CertificateValidator", FailingValidator)

    later = test_pki.now + dt.timedelta(minutes=1)
    second = validate_path(test_pki.head.certificate, at=later, settings=_settings(test_pki), cache=cache)

    assert first.trusted
    assert second.trusted
    assert second.chain == first.chain
    assert second.at == later
    assert second.certificate is test_pki.head.certificate
    assert len(cache) == 1


def test_entry_expires_after_ttl(test_pki, monkeypatch):
    clock = FakeClock()
    cache = PathCache(clock)
    settings = _settings(test_pki, path_cache_seconds=60.0)
    validate_path(test_pki.head.certificate, at=test_pki.now, settings=settings, cache=cache)
    monkeypatch.setattr(signing.trust, "CertificateValidator", FailingValidator)

    clock.now += 59.0
    assert validate_path(test_pki.head.certificate, at=test_pki.now, settings=settings, cache=cache).trusted
    clock.now += 1.0
    with pytest.raises(AssertionError, match="validated again"):
        validate_path(test_pki.head.certificate, at=test_pki.now, settings=settings, cache=cache)
    assert len(cache) == 0


def test_expired_certificate_not_served_after_not_after(test_pki):
    cache = PathCache()
    expired = test_pki.expired.certificate
    while_valid = expired.not_valid_after_utc - dt.timedelta(days=1)
    assert validate_path(expired, at=while_valid, settings=_settings(test_pki), cache=cache).trusted
    assert len(cache) == 1

    after = validate_path(expired, at=expired.not_valid_after_utc + dt.timedelta(minutes=1), settings=_settings(test_pki), cache=cache)

    assert not after.trusted
    assert [problem.code for problem in after.problems] == ["certificate-not-valid-at-time"]


def test_revoked_certificate_reported_despite_cached_path(test_pki):
    config = pki_config(test_pki)
    before = test_pki.revoked.revoked_at - dt.timedelta(days=1)
    signed = sign_xml(build_xml(notification_for(test_pki.revoked)), signer_for(test_pki.revoked), xades=True, signing_time=before)
    signing.trust.default_path_cache.clear()

    earlier = verify_document(signed, settings=config, at=before)
    cached_entries = len(signing.trust.default_path_cache)
    now = verify_document(signed, settings=config, at=test_pki.now)

    assert earlier.revoked is False
    assert cached_entries == 1
    assert now.trusted
    assert now.revoked is True
    assert not now.ok


def test_other_anchor_set_misses_cache(test_pki, tmp_path):
    other = TestPki.create(tmp_path, key_set="other")
    cache = PathCache()
    head = test_pki.head.certificate
    assert validate_path(head, at=test_pki.now, settings=_settings(test_pki), cache=cache).trusted

    only_other = TrustSettings(anchors=(str(other.root_ca_path),), intermediates=(str(test_pki.issuing_ca_path),))
    result = validate_path(head, at=test_pki.now, settings=only_other, cache=cache)

    assert not result.trusted
    assert len(cache) == 1
    both = TrustSettings(anchors=(str(test_pki.root_ca_path), str(other.root_ca_path)), intermediates=(str(test_pki.issuing_ca_path),))
    assert validate_path(head, at=test_pki.now, settings=both, cache=cache).trusted
    assert len(cache) == 2


def test_failed_validation_not_cached(test_pki):
    cache = PathCache()
    without_intermediate = TrustSettings(anchors=(str(test_pki.root_ca_path),))

    result = validate_path(test_pki.head.certificate, at=test_pki.now, settings=without_intermediate, cache=cache)

    assert not result.trusted
    assert len(cache) == 0


def test_zero_ttl_disables_cache(test_pki):
    cache = PathCache()
    validate_path(test_pki.head.certificate, at=test_pki.now, settings=_settings(test_pki, path_cache_seconds=0.0), cache=cache)
    assert len(cache) == 0


def test_least_recently_used_entry_dropped(test_pki):
    cache = PathCache()
    settings = _settings(test_pki, path_cache_size=2)
    for identity in (test_pki.head, test_pki.deputy, test_pki.employee):
        validate_path(identity.certificate, at=test_pki.now, settings=settings, cache=cache)
    assert len(cache) == 2


def test_setting_read_from_config(test_pki):
    config = Config({"trust": {"anchors": [str(test_pki.root_ca_path)], "path_cache_seconds": 30, "path_cache_size": 10}})

    settings = TrustSettings.from_config(config)

    assert settings.path_cache_seconds == 30
    assert settings.path_cache_size == 10
    assert settings.anchors == (str(test_pki.root_ca_path),)


def test_concurrent_validations_agree(test_pki):
    cache = PathCache()
    results: list[bool] = []
    lock = threading.Lock()

    def validate() -> None:
        for _ in range(5):
            trusted = validate_path(test_pki.head.certificate, at=test_pki.now, settings=_settings(test_pki), cache=cache).trusted
            with lock:
                results.append(trusted)

    threads = [threading.Thread(target=validate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [True] * 20
    assert len(cache) == 1


class MovableClock:
    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + self.offset


@pytest.fixture
def own_pki(tmp_path):
    # A PKI of its own, because these tests revoke a certificate and rewrite the CRL.
    return TestPki.create(tmp_path / "pki")


def _crl_settings(pki, **options: object) -> RevocationSettings:
    return RevocationSettings(methods=("crl",), crl_files=(str(pki.crl_path),), **options)


def test_good_status_reused_until_ttl(own_pki):
    clock = MovableClock()
    cache = RevocationCache(clock=clock)
    settings = _crl_settings(own_pki, status_cache_seconds=60.0)
    deputy = own_pki.deputy.certificate
    first = check_revocation(deputy, own_pki.issuing_ca, at=own_pki.now, settings=settings, cache=cache)
    own_pki.revoke(own_pki.deputy, at=own_pki.now - dt.timedelta(hours=2))
    own_pki.write_crl()

    within_ttl = check_revocation(deputy, own_pki.issuing_ca, at=own_pki.now, settings=settings, cache=cache)
    clock.offset = dt.timedelta(seconds=61)
    after_ttl = check_revocation(deputy, own_pki.issuing_ca, at=own_pki.now, settings=settings, cache=cache)

    assert first.status is CertStatus.GOOD
    assert within_ttl.status is CertStatus.GOOD
    assert after_ttl.status is CertStatus.REVOKED


def test_good_status_not_served_past_next_update(own_pki):
    clock = MovableClock()
    cache = RevocationCache(clock=clock)
    next_update = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)
    own_pki.write_crl(next_update=next_update)
    settings = _crl_settings(own_pki, status_cache_seconds=3600.0)
    deputy = own_pki.deputy.certificate
    assert check_revocation(deputy, own_pki.issuing_ca, at=own_pki.now, settings=settings, cache=cache).status is CertStatus.GOOD
    own_pki.revoke(own_pki.deputy, at=own_pki.now - dt.timedelta(hours=2))
    own_pki.write_crl()

    clock.offset = dt.timedelta(minutes=3)
    status = check_revocation(deputy, own_pki.issuing_ca, at=own_pki.now, settings=settings, cache=cache)

    assert status.status is CertStatus.REVOKED


def test_status_for_later_time_than_next_update_rechecked(own_pki):
    cache = RevocationCache()
    next_update = own_pki.now + dt.timedelta(hours=1)
    own_pki.write_crl(next_update=next_update)
    settings = _crl_settings(own_pki)
    deputy = own_pki.deputy.certificate
    assert check_revocation(deputy, own_pki.issuing_ca, at=own_pki.now, settings=settings, cache=cache).status is CertStatus.GOOD

    later = check_revocation(deputy, own_pki.issuing_ca, at=next_update + dt.timedelta(minutes=1), settings=settings, cache=cache)

    assert later.status is CertStatus.UNKNOWN
    assert "crl-stale" in [problem.code for problem in later.problems]


def test_status_revoked_later_not_cached(own_pki):
    cache = RevocationCache()
    settings = _crl_settings(own_pki)
    revoked_at = own_pki.now + dt.timedelta(minutes=30)
    own_pki.revoke(own_pki.deputy, at=revoked_at)
    own_pki.write_crl()
    deputy = own_pki.deputy.certificate

    before = check_revocation(deputy, own_pki.issuing_ca, at=own_pki.now, settings=settings, cache=cache)
    after = check_revocation(deputy, own_pki.issuing_ca, at=revoked_at + dt.timedelta(minutes=1), settings=settings, cache=cache)

    assert before.status is CertStatus.GOOD
    assert before.revoked_later
    assert after.status is CertStatus.REVOKED


def test_other_revocation_settings_miss_status_cache(own_pki):
    cache = RevocationCache()
    deputy = own_pki.deputy.certificate
    check_revocation(deputy, own_pki.issuing_ca, at=own_pki.now, settings=_crl_settings(own_pki), cache=cache)

    without_sources = check_revocation(deputy, own_pki.issuing_ca, at=own_pki.now, settings=RevocationSettings(methods=("crl",)), cache=cache)

    assert without_sources.status is CertStatus.UNKNOWN
