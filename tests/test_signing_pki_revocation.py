"""check_revocation: CRLs (the real NCA CRL and generated ones), OCSP on loopback, policy and cache."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp

from adapter.config import Config
from adapter.errors import ConfigError
from pki_support import with_algorithms
from signing.revocation import (
    CertStatus,
    RevocationCache,
    RevocationMethod,
    RevocationPolicy,
    RevocationSettings,
    check_revocation,
)
from signing.testpki import OcspResponder, TestPki

UTC = dt.timezone.utc


def _nca(nca_dir, name: str) -> x509.Certificate:
    _key, cert, _chain = pkcs12.load_key_and_certificates((nca_dir / name).read_bytes(), b"Qwerty12")
    assert cert is not None
    return cert


def _nca_ca(nca_dir) -> x509.Certificate:
    return x509.load_pem_x509_certificate((nca_dir / "nca_rsa_test.crt").read_bytes())


def _codes(status) -> list[str]:
    return [problem.code for problem in status.problems]


@pytest.fixture
def closed_port_url():
    """URL of a loopback port with nothing listening."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/ocsp"


# --- the real NCA CRL --------------------------------------------------------------------------


def test_nca_crl_revoked_key(nca_dir):
    cert = _nca(nca_dir, "individual_sign_rsa_revoked.p12")
    settings = RevocationSettings(crl_files=(str(nca_dir / "nca_rsa_test.crl"),))
    status = check_revocation(cert, _nca_ca(nca_dir), at=dt.datetime(2022, 6, 1, tzinfo=UTC), settings=settings)
    assert status.status is CertStatus.REVOKED
    assert status.revoked
    assert not status.acceptable
    assert status.revocation_time == dt.datetime(2022, 1, 18, 4, 40, 24, tzinfo=UTC)
    assert status.revocation_reason == "superseded"
    assert status.source.method is RevocationMethod.CRL
    assert _codes(status) == ["certificate-revoked"]


def test_nca_crl_valid_key(nca_dir):
    cert = _nca(nca_dir, "individual_sign_rsa_valid.p12")
    settings = RevocationSettings(crl_files=(str(nca_dir / "nca_rsa_test.crl"),))
    status = check_revocation(cert, _nca_ca(nca_dir), at=dt.datetime(2021, 6, 1, tzinfo=UTC), settings=settings)
    assert status.status is CertStatus.GOOD
    assert status.acceptable
    assert status.revocation_time is None
    assert status.source.next_update == dt.datetime(2022, 9, 25, 4, 18, 29, tzinfo=UTC)
    # The certificate names NCA's delta CRL, which is not among the files given.
    assert [problem.code for problem in status.problems] == ["crl-delta-unread"]
    assert "nca_d_rsa_test.crl" in status.problems[0].localized("en")


def test_nca_authentication_key_revoked(nca_dir):
    cert = _nca(nca_dir, "individual_auth_rsa_revoked.p12")
    settings = RevocationSettings(crl_files=(str(nca_dir / "nca_rsa_test.crl"),))
    status = check_revocation(cert, _nca_ca(nca_dir), at=dt.datetime(2022, 6, 1, tzinfo=UTC), settings=settings)
    assert status.status is CertStatus.REVOKED


def test_nca_signature_before_revocation(nca_dir):
    cert = _nca(nca_dir, "individual_sign_rsa_revoked.p12")
    settings = RevocationSettings(crl_files=(str(nca_dir / "nca_rsa_test.crl"),))
    before = dt.datetime(2022, 1, 18, 4, 40, 0, tzinfo=UTC)
    status = check_revocation(cert, _nca_ca(nca_dir), at=before, settings=settings)
    assert status.status is CertStatus.GOOD
    assert status.revoked_later
    assert status.revocation_time == dt.datetime(2022, 1, 18, 4, 40, 24, tzinfo=UTC)


def test_nca_crl_stale_now(nca_dir):
    cert = _nca(nca_dir, "individual_sign_rsa_valid.p12")
    crl_file = str(nca_dir / "nca_rsa_test.crl")
    now = dt.datetime.now(UTC)
    hard = check_revocation(cert, _nca_ca(nca_dir), at=now, settings=RevocationSettings(crl_files=(crl_file,)))
    soft = check_revocation(cert, _nca_ca(nca_dir), at=now, settings=RevocationSettings(crl_files=(crl_file,), policy="soft-fail"))
    assert hard.status is CertStatus.UNKNOWN
    assert _codes(hard) == ["crl-stale", "revocation-unknown"]
    assert not hard.acceptable
    assert soft.status is CertStatus.UNKNOWN
    assert soft.acceptable


def test_nca_crl_against_other_issuer(nca_dir, test_pki):
    settings = RevocationSettings(crl_files=(str(nca_dir / "nca_rsa_test.crl"),))
    status = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings)
    assert status.status is CertStatus.UNKNOWN
    assert _codes(status) == ["crl-other-issuer", "revocation-unknown"]


# --- generated CRLs -----------------------------------------------------------------------------


def test_generated_crl_revoked_and_good(test_pki):
    settings = RevocationSettings(crl_files=(str(test_pki.crl_path),))
    revoked = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings)
    good = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings)
    assert revoked.status is CertStatus.REVOKED
    assert revoked.revocation_reason == "keyCompromise"
    assert revoked.revocation_time == test_pki.revoked.revoked_at
    assert good.status is CertStatus.GOOD


def test_generated_crl_before_revocation(test_pki):
    settings = RevocationSettings(crl_files=(str(test_pki.crl_path),))
    at = test_pki.revoked.revoked_at - dt.timedelta(hours=1)
    status = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=at, settings=settings)
    assert status.status is CertStatus.GOOD
    assert status.revoked_later


def test_pem_crl_file(test_pki, tmp_path):
    crl = x509.load_der_x509_crl(test_pki.crl())
    pem = tmp_path / "issuing.pem"
    pem.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    status = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=RevocationSettings(crl_files=(str(pem),)))
    assert status.status is CertStatus.REVOKED


def test_crl_with_bad_signature(test_pki, tmp_path):
    forged = tmp_path / "forged.crl"
    forged.write_bytes(test_pki.crl(signed_by_root=True))
    status = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=RevocationSettings(crl_files=(str(forged),)))
    assert status.status is CertStatus.UNKNOWN
    assert _codes(status)[0] == "crl-bad-signature"


def test_crl_not_a_crl(test_pki, tmp_path):
    junk = tmp_path / "junk.crl"
    junk.write_bytes(b"not a CRL")
    missing = tmp_path / "missing.crl"
    settings = RevocationSettings(crl_files=(str(junk), str(missing)))
    status = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings)
    assert _codes(status) == ["crl-invalid", "crl-unreadable", "revocation-unknown"]


def test_second_crl_file_answers(test_pki, nca_dir):
    settings = RevocationSettings(crl_files=(str(nca_dir / "nca_rsa_test.crl"), str(test_pki.crl_path)))
    status = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings)
    assert status.status is CertStatus.REVOKED
    assert status.source.location == str(test_pki.crl_path)


def test_wrong_issuer(test_pki):
    settings = RevocationSettings(crl_files=(str(test_pki.crl_path),))
    status = check_revocation(test_pki.head.certificate, test_pki.root_ca, at=test_pki.now, settings=settings)
    assert status.status is CertStatus.UNKNOWN
    assert _codes(status) == ["revocation-wrong-issuer"]


def test_no_source_configured(test_pki):
    status = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now)
    assert status.status is CertStatus.UNKNOWN
    assert status.policy is RevocationPolicy.HARD_FAIL
    assert _codes(status) == ["revocation-no-source", "revocation-unknown"]
    assert not status.acceptable


def test_policy_off(test_pki):
    status = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=RevocationSettings(policy="off"))
    assert status.status is CertStatus.NOT_CHECKED
    assert status.acceptable


def test_invalid_policy_rejected():
    with pytest.raises(ConfigError) as caught:
        Config({"revocation": {"policy": "sometimes"}}).section("revocation", RevocationSettings)
    assert caught.value.key == "revocation.policy"
    assert "sometimes" in str(caught.value)


def test_invalid_method_rejected():
    with pytest.raises(ConfigError) as caught:
        RevocationSettings(methods=("ocsp", "dns"))
    assert caught.value.key == "revocation.methods"


def test_settings_from_config(test_pki):
    config = Config(test_pki.config_data())
    status = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=config)
    assert status.status is CertStatus.REVOKED
    settings = RevocationSettings.from_config(config)
    assert settings.cache_dir == str(test_pki.folder / "data" / "revocation-cache")


def test_problem_translated(test_pki):
    settings = RevocationSettings(crl_files=(str(test_pki.crl_path),))
    status = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings)
    problem = status.problems[0]
    assert "revoked" in problem.localized("en")
    assert "отозван" in problem.localized("ru")
    assert "кері қайтарылған" in problem.localized("kk")


# --- OCSP on loopback ---------------------------------------------------------------------------


def test_ocsp_good_revoked_unknown(test_pki, tmp_path):
    other = TestPki.create(tmp_path, key_set="other")
    with OcspResponder(test_pki) as responder:
        settings = RevocationSettings(ocsp_url=responder.url)
        good = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=RevocationCache())
        revoked = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=RevocationCache())
        # A certificate the responder's CA never issued, asked with its real issuer.
        unknown = check_revocation(other.head.certificate, other.issuing_ca, at=other.now, settings=settings, cache=RevocationCache())
    assert good.status is CertStatus.GOOD
    assert good.source.method is RevocationMethod.OCSP
    assert good.source.location == responder.url
    assert revoked.status is CertStatus.REVOKED
    assert revoked.revocation_reason == "keyCompromise"
    assert revoked.revocation_time == test_pki.revoked.revoked_at
    assert unknown.status is CertStatus.UNKNOWN
    assert "ocsp-unauthorised-signer" in _codes(unknown)


def test_ocsp_unknown_serial(tmp_path):
    pki = TestPki.create(tmp_path)
    # Issued a minute earlier, so its serial numbers differ from those of ``pki``.
    stranger = TestPki.create(tmp_path / "stranger", now=pki.now - dt.timedelta(minutes=1))
    with OcspResponder(pki) as responder:
        # Same keys and issuer name but a serial number the responder's PKI never issued.
        status = check_revocation(
            stranger.head.certificate, pki.issuing_ca, at=pki.now, settings=RevocationSettings(ocsp_url=responder.url), cache=RevocationCache()
        )
    assert stranger.head.serial_number != pki.head.serial_number
    assert status.status is CertStatus.UNKNOWN
    assert _codes(status) == ["ocsp-unknown", "revocation-unknown"]


def test_ocsp_signed_by_issuer(test_pki):
    with OcspResponder(test_pki, delegated=False) as responder:
        settings = RevocationSettings(ocsp_url=responder.url)
        status = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=RevocationCache())
    assert status.status is CertStatus.REVOKED


def test_ocsp_revoked_after_signing_time(tmp_path):
    pki = TestPki.create(tmp_path)
    pki.revoke(pki.employee, at=pki.now - dt.timedelta(hours=1), reason=x509.ReasonFlags.affiliation_changed)
    with OcspResponder(pki) as responder:
        settings = RevocationSettings(ocsp_url=responder.url)
        before = check_revocation(pki.employee.certificate, pki.issuing_ca, at=pki.now - dt.timedelta(hours=2), settings=settings, cache=RevocationCache())
        after = check_revocation(pki.employee.certificate, pki.issuing_ca, at=pki.now, settings=settings, cache=RevocationCache())
    assert before.status is CertStatus.GOOD
    assert before.revoked_later
    assert before.revocation_reason == "affiliationChanged"
    assert after.status is CertStatus.REVOKED


def test_ocsp_url_from_certificate_needs_fetch(tmp_path):
    with OcspResponder() as responder:
        pki = TestPki.create(tmp_path, ocsp_url=responder.url, crl_url=responder.crl_url)
        responder.pki = pki
        without_fetch = check_revocation(pki.head.certificate, pki.issuing_ca, at=pki.now, settings=RevocationSettings(), cache=RevocationCache())
        assert responder.request_count == 0
        assert responder.crl_request_count == 0
        with_fetch = check_revocation(
            pki.revoked.certificate, pki.issuing_ca, at=pki.now, settings=RevocationSettings(fetch=True), cache=RevocationCache()
        )
        assert responder.request_count == 1
    assert without_fetch.status is CertStatus.UNKNOWN
    assert with_fetch.status is CertStatus.REVOKED
    assert with_fetch.source.method is RevocationMethod.OCSP


def test_crl_url_from_certificate_with_fetch(tmp_path):
    with OcspResponder() as responder:
        pki = TestPki.create(tmp_path, ocsp_url=responder.url, crl_url=responder.crl_url)
        responder.pki = pki
        settings = RevocationSettings(fetch=True, methods=("crl",))
        status = check_revocation(pki.revoked.certificate, pki.issuing_ca, at=pki.now, settings=settings, cache=RevocationCache())
        assert responder.crl_request_count == 1
        assert responder.request_count == 0
    assert status.status is CertStatus.REVOKED
    assert status.source.location == responder.crl_url


def test_responder_down_hard_fail(test_pki, closed_port_url):
    settings = RevocationSettings(ocsp_url=closed_port_url, timeout_seconds=2)
    status = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=RevocationCache())
    assert status.status is CertStatus.UNKNOWN
    assert _codes(status) == ["revocation-connection-failed", "revocation-unknown"]
    assert not status.acceptable


def test_responder_down_soft_fail(test_pki, closed_port_url):
    settings = RevocationSettings(ocsp_url=closed_port_url, policy="soft-fail", timeout_seconds=2)
    status = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=RevocationCache())
    assert status.status is CertStatus.UNKNOWN
    assert status.acceptable
    assert "revocation-connection-failed" in _codes(status)


def test_responder_down_falls_back_to_crl(test_pki, closed_port_url):
    settings = RevocationSettings(ocsp_url=closed_port_url, crl_files=(str(test_pki.crl_path),), timeout_seconds=2)
    status = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=RevocationCache())
    assert status.status is CertStatus.REVOKED
    assert status.source.method is RevocationMethod.CRL


def test_responder_timeout(test_pki):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/ocsp"
        settings = RevocationSettings(ocsp_url=url, timeout_seconds=0.5)
        status = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=RevocationCache())
    assert _codes(status) == ["revocation-timeout", "revocation-unknown"]


def test_http_error_status(test_pki):
    with OcspResponder(test_pki) as responder:
        url = f"http://127.0.0.1:{responder.port}/crl/absent"
        responder.pki = None  # the CRL path then returns 404
        settings = RevocationSettings(crl_urls=(url,), methods=("crl",))
        status = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=RevocationCache())
    assert _codes(status) == ["revocation-http-status", "revocation-unknown"]
    assert status.problems[0].params["status"] == 404


def test_response_size_limit(test_pki):
    with OcspResponder(test_pki) as responder:
        settings = RevocationSettings(crl_urls=(responder.crl_url,), methods=("crl",), max_response_bytes=100)
        status = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=RevocationCache())
    assert _codes(status) == ["revocation-response-too-large", "revocation-unknown"]


# --- cache --------------------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(UTC) + self.offset


def test_ocsp_cache_honours_next_update(test_pki, tmp_path):
    clock = _Clock()
    cache = RevocationCache(tmp_path / "cache", clock=clock)
    with OcspResponder(test_pki, next_update=dt.timedelta(minutes=2)) as responder:
        settings = RevocationSettings(ocsp_url=responder.url)
        first = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=cache)
        second = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=cache)
        assert responder.request_count == 1
        clock.offset = dt.timedelta(minutes=3)
        third = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=cache)
        assert responder.request_count == 2
    assert first.status is CertStatus.GOOD
    assert second.status is CertStatus.GOOD
    assert third.status is CertStatus.GOOD


def test_crl_cache_memory_and_disk(test_pki, tmp_path):
    clock = _Clock()
    folder = tmp_path / "cache"
    with OcspResponder(test_pki) as responder:
        settings = RevocationSettings(crl_urls=(responder.crl_url,), methods=("crl",))
        cache = RevocationCache(folder, clock=clock)
        first = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=cache)
        check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=cache)
        assert responder.crl_request_count == 1
        # A new process: only the disk layer remains.
        from_disk = RevocationCache(folder, clock=clock)
        again = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=from_disk)
        assert responder.crl_request_count == 1
        # Past the CRL's nextUpdate (seven days) the CRL is downloaded again.
        clock.offset = dt.timedelta(days=8)
        refreshed = check_revocation(test_pki.revoked.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=from_disk)
        assert responder.crl_request_count == 2
    assert first.status is CertStatus.REVOKED
    assert again.status is CertStatus.REVOKED
    assert refreshed.status is CertStatus.REVOKED
    assert len(list(folder.iterdir())) == 1


def test_cache_ignores_items_without_next_update(tmp_path):
    cache = RevocationCache(tmp_path)
    cache.put("key", b"data", None)
    cache.put("old", b"data", dt.datetime.now(UTC) - dt.timedelta(seconds=1))
    assert cache.get("key") is None
    assert cache.get("old") is None
    assert list(tmp_path.iterdir()) == []


def test_forged_crl_download_not_cached(test_pki, tmp_path):
    forged = test_pki.crl(signed_by_root=True)

    class ForgedResponder(OcspResponder):
        def crl(self):
            self.crl_request_count += 1
            return forged

    with ForgedResponder(test_pki) as responder:
        settings = RevocationSettings(crl_urls=(responder.crl_url,), methods=("crl",))
        cache = RevocationCache(tmp_path)
        first = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=cache)
        check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=cache)
        assert responder.crl_request_count == 2
    assert _codes(first) == ["crl-bad-signature", "revocation-unknown"]


def test_ocsp_nonce_mismatch(test_pki):
    class ReplayingResponder(OcspResponder):
        def respond(self, body):
            request = ocsp.load_der_ocsp_request(body)
            replayed = (
                ocsp.OCSPRequestBuilder()
                .add_certificate_by_hash(request.issuer_name_hash, request.issuer_key_hash, request.serial_number, request.hash_algorithm)
                .add_extension(x509.OCSPNonce(b"an older nonce.."), critical=False)
                .build()
            )
            return test_pki.ocsp_response(replayed).public_bytes(serialization.Encoding.DER)

    with ReplayingResponder(test_pki) as responder:
        settings = RevocationSettings(ocsp_url=responder.url)
        status = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=RevocationCache())
    assert _codes(status) == ["ocsp-nonce-mismatch", "revocation-unknown"]


def test_ocsp_without_next_update_covers_only_this_update(test_pki):
    with OcspResponder(test_pki, next_update=None) as responder:
        settings = RevocationSettings(ocsp_url=responder.url)
        now = check_revocation(test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=RevocationCache())
        later = check_revocation(
            test_pki.head.certificate, test_pki.issuing_ca, at=test_pki.now + dt.timedelta(days=1), settings=settings, cache=RevocationCache()
        )
    assert now.status is CertStatus.GOOD
    assert now.source.next_update is None
    assert _codes(later) == ["ocsp-too-old", "revocation-unknown"]


def test_chain_revocation_with_root_crl(test_pki):
    from signing.revocation import check_chain_revocation
    from signing.trust import validate_path

    config = Config(test_pki.config_data())
    path = validate_path(test_pki.revoked.certificate, at=test_pki.now, settings=config)
    statuses = check_chain_revocation(path.chain, at=test_pki.now, settings=config)
    assert len(statuses) == 2
    assert statuses[0].status is CertStatus.REVOKED
    assert statuses[1].status is CertStatus.GOOD
    assert statuses[1].source.location == str(test_pki.root_crl_path)


def test_chain_revocation_nca_anchor(nca_dir):
    from signing.revocation import check_chain_revocation

    cert = _nca(nca_dir, "individual_sign_rsa_valid.p12")
    settings = RevocationSettings(crl_files=(str(nca_dir / "nca_rsa_test.crl"),))
    statuses = check_chain_revocation((cert, _nca_ca(nca_dir)), at=dt.datetime(2021, 6, 1, tzinfo=UTC), settings=settings)
    assert [status.status for status in statuses] == [CertStatus.GOOD]


def test_gost_certificate_not_checked(test_pki):
    gost = with_algorithms(test_pki.revoked.certificate, "1.2.398.3.10.1.1.2.2", "1.2.398.3.10.1.1.2.3.2")
    settings = RevocationSettings(crl_files=(str(test_pki.crl_path),))
    status = check_revocation(gost, test_pki.issuing_ca, at=test_pki.now, settings=settings)
    assert status.status is CertStatus.UNKNOWN
    assert _codes(status) == ["gost-unsupported"]
    assert not status.acceptable


def test_concurrent_checks_share_cache(test_pki, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with OcspResponder(test_pki) as responder:
        settings = RevocationSettings(crl_urls=(responder.crl_url,), methods=("crl",))
        cache = RevocationCache(tmp_path)
        identities = [test_pki.revoked, test_pki.head] * 4
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(
                pool.map(lambda identity: check_revocation(identity.certificate, test_pki.issuing_ca, at=test_pki.now, settings=settings, cache=cache), identities)
            )
    assert [status.status for status in statuses] == [CertStatus.REVOKED, CertStatus.GOOD] * 4
    assert [path.suffix for path in tmp_path.iterdir()] == [".bin"]
    cached = x509.load_der_x509_crl(RevocationCache(tmp_path).get(f"crl|{responder.crl_url}"))
    assert cached.get_revoked_certificate_by_serial_number(test_pki.revoked.serial_number) is not None
