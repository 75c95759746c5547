"""validate_path: certification paths to configured trust anchors, judged at the signing time."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from adapter.config import Config
from adapter.errors import ConfigError, InputError
from adapter.i18n import use_language
from pki_support import with_algorithms
from signing.trust import TrustSettings, validate_path

UTC = dt.timezone.utc


def _settings(pki, *, with_intermediates: bool = True) -> TrustSettings:
    intermediates = (str(pki.issuing_ca_path),) if with_intermediates else ()
    return TrustSettings(anchors=(str(pki.root_ca_path),), intermediates=intermediates)


def test_head_is_trusted(test_pki):
    result = validate_path(test_pki.head.certificate, at=test_pki.now, settings=_settings(test_pki))
    assert result.trusted
    assert result.problems == ()
    assert result.chain == (test_pki.head.certificate, test_pki.issuing_ca, test_pki.root_ca)
    assert result.issuer == test_pki.issuing_ca
    assert result.trust_anchor == test_pki.root_ca
    assert result.at == test_pki.now


def test_intermediate_from_signature(test_pki):
    result = validate_path(
        test_pki.deputy.certificate,
        intermediates=[test_pki.issuing_ca],
        at=test_pki.now,
        settings=_settings(test_pki, with_intermediates=False),
    )
    assert result.trusted
    assert result.issuer == test_pki.issuing_ca


def test_missing_intermediate_is_untrusted(test_pki):
    result = validate_path(test_pki.head.certificate, at=test_pki.now, settings=_settings(test_pki, with_intermediates=False))
    assert not result.trusted
    assert [problem.code for problem in result.problems] == ["untrusted-chain"]
    assert result.chain == (test_pki.head.certificate,)
    assert result.issuer is None
    assert result.trust_anchor is None


def test_other_pki_is_untrusted(test_pki, tmp_path):
    from signing.testpki import TestPki

    other = TestPki.create(tmp_path, key_set="other")
    result = validate_path(other.head.certificate, intermediates=[other.issuing_ca], at=other.now, settings=_settings(test_pki))
    assert not result.trusted
    assert result.problems[0].code == "untrusted-chain"
    assert "trust" in result.problems[0].localized()


def test_no_anchors_configured(test_pki):
    result = validate_path(test_pki.head.certificate, at=test_pki.now, settings=TrustSettings())
    assert not result.trusted
    assert result.problems[0].code == "no-trust-anchors"
    assert result.problems[0].field == "trust.anchors"


def test_expired_now_valid_at_signing_time(test_pki):
    expired = test_pki.expired.certificate
    signing_time = expired.not_valid_before_utc + dt.timedelta(days=100)
    at_signing = validate_path(expired, at=signing_time, settings=_settings(test_pki))
    at_now = validate_path(expired, at=test_pki.now, settings=_settings(test_pki))
    assert at_signing.trusted
    assert at_signing.problems == ()
    assert not at_now.trusted
    assert [problem.code for problem in at_now.problems] == ["certificate-not-valid-at-time"]


def test_not_yet_valid_at_time(test_pki):
    head = test_pki.head.certificate
    result = validate_path(head, at=head.not_valid_before_utc - dt.timedelta(days=1), settings=_settings(test_pki))
    assert not result.trusted
    assert result.problems[0].code == "certificate-not-valid-at-time"


def test_problem_messages_are_localized(test_pki):
    result = validate_path(test_pki.expired.certificate, at=test_pki.now, settings=_settings(test_pki))
    problem = result.problems[0]
    english = problem.localized("en")
    russian = problem.localized("ru")
    kazakh = problem.localized("kk")
    assert "was not valid at" in english
    assert english != russian
    assert english != kazakh
    assert kazakh != russian
    # The holder's name and IIN stay out of messages.
    assert test_pki.head.iin not in english
    assert "ТЕСТОВ" not in english
    with use_language("ru"):
        assert str(problem.localized()) == russian


def test_naive_time_rejected(test_pki):
    with pytest.raises(InputError) as caught:
        validate_path(test_pki.head.certificate, at=dt.datetime(2026, 1, 1), settings=_settings(test_pki))
    assert caught.value.field == "at"


def test_time_converted_to_utc(test_pki):
    almaty = dt.timezone(dt.timedelta(hours=5))
    result = validate_path(test_pki.head.certificate, at=test_pki.now.astimezone(almaty), settings=_settings(test_pki))
    assert result.trusted
    assert result.at.tzinfo == UTC


def test_settings_from_config(test_pki):
    config = Config(test_pki.config_data())
    result = validate_path(test_pki.employee.certificate, at=test_pki.now, settings=config)
    assert result.trusted


def test_relative_paths_resolve_against_config_file(test_pki, tmp_path):
    config_file = test_pki.folder / "edms-adapter.toml"
    config = Config({"trust": {"anchors": ["root-ca.pem"], "intermediates": ["issuing-ca.pem"]}}, path=config_file)
    settings = TrustSettings.from_config(config)
    assert settings.anchors == (str(test_pki.root_ca_path),)
    assert validate_path(test_pki.head.certificate, at=test_pki.now, settings=config).trusted


def test_anchor_folder(test_pki, tmp_path):
    folder = tmp_path / "anchors"
    folder.mkdir()
    (folder / "root.pem").write_bytes(test_pki.root_ca_path.read_bytes())
    (folder / "issuing.crt").write_bytes(test_pki.issuing_ca_path.read_bytes())
    result = validate_path(test_pki.head.certificate, at=test_pki.now, settings=TrustSettings(anchors=(str(folder),)))
    assert result.trusted


def test_rewritten_anchor_file_reread(test_pki, tmp_path):
    from signing.testpki import TestPki

    other = TestPki.create(tmp_path / "other", key_set="other")
    anchor = tmp_path / "anchor.pem"
    anchor.write_bytes(test_pki.root_ca_path.read_bytes())
    settings = TrustSettings(anchors=(str(anchor),), intermediates=(str(test_pki.issuing_ca_path),))
    assert validate_path(test_pki.head.certificate, at=test_pki.now, settings=settings).trusted

    anchor.write_bytes(other.root_ca_path.read_bytes())

    result = validate_path(test_pki.head.certificate, at=test_pki.now, settings=settings)
    assert not result.trusted
    assert [problem.code for problem in result.problems] == ["untrusted-chain"]


def test_anchor_files_keyed_by_setting(test_pki):
    # The same two files as anchors, as an anchor and an intermediate, and as intermediates only (no anchor at all).
    as_anchor = TrustSettings(anchors=(str(test_pki.root_ca_path), str(test_pki.issuing_ca_path)))
    as_intermediate = TrustSettings(anchors=(str(test_pki.root_ca_path),), intermediates=(str(test_pki.issuing_ca_path),))
    only_intermediate = TrustSettings(anchors=(), intermediates=(str(test_pki.root_ca_path), str(test_pki.issuing_ca_path)))

    assert validate_path(test_pki.head.certificate, at=test_pki.now, settings=as_anchor).trusted
    assert validate_path(test_pki.head.certificate, at=test_pki.now, settings=as_intermediate).trusted
    result = validate_path(test_pki.head.certificate, at=test_pki.now, settings=only_intermediate)
    assert [problem.code for problem in result.problems] == ["no-trust-anchors"]


def test_missing_anchor_file_names_setting(tmp_path, test_pki):
    settings = TrustSettings(anchors=(str(tmp_path / "absent.pem"),))
    with pytest.raises(ConfigError) as caught:
        validate_path(test_pki.head.certificate, at=test_pki.now, settings=settings)
    assert caught.value.key == "trust.anchors"
    assert "absent.pem" in str(caught.value)


def test_invalid_anchor_file_names_setting(tmp_path, test_pki):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError) as caught:
        validate_path(test_pki.head.certificate, at=test_pki.now, settings=TrustSettings(anchors=(str(bad),)))
    assert caught.value.key == "trust.anchors"


def test_inside_running_event_loop(test_pki):
    async def validate():
        return validate_path(test_pki.head.certificate, at=test_pki.now, settings=_settings(test_pki))

    assert asyncio.run(validate()).trusted


def test_nca_intermediate_anchor(nca_dir):
    _key, cert, _chain = pkcs12.load_key_and_certificates((nca_dir / "individual_sign_rsa_valid.p12").read_bytes(), b"Qwerty12")
    settings = TrustSettings(anchors=(str(nca_dir / "nca_rsa_test.crt"),))
    at_signing = validate_path(cert, at=dt.datetime(2021, 6, 1, tzinfo=UTC), settings=settings)
    at_now = validate_path(cert, at=dt.datetime.now(UTC), settings=settings)
    assert at_signing.trusted
    assert len(at_signing.chain) == 2
    assert at_signing.issuer == x509.load_pem_x509_certificate((nca_dir / "nca_rsa_test.crt").read_bytes())
    assert not at_now.trusted


def test_nca_certificate_untrusted_by_test_pki(nca_dir, test_pki):
    _key, cert, _chain = pkcs12.load_key_and_certificates((nca_dir / "individual_sign_rsa_valid.p12").read_bytes(), b"Qwerty12")
    result = validate_path(cert, at=dt.datetime(2021, 6, 1, tzinfo=UTC), settings=_settings(test_pki))
    assert not result.trusted


def test_gost_certificate_not_verifiable(test_pki):
    gost = with_algorithms(test_pki.head.certificate, "1.2.398.3.10.1.1.2.2", "1.2.398.3.10.1.1.2.3.2")
    result = validate_path(gost, at=test_pki.now, settings=_settings(test_pki))
    assert not result.trusted
    assert [problem.code for problem in result.problems] == ["gost-unsupported"]
    assert "1.2.398.3.10.1.1.2.3.2" in result.problems[0].localized()
