"""Revocation status of a certificate as of a given time, from CRLs and OCSP.

Sources, in the order of ``[revocation] methods``:

- OCSP, at ``ocsp_url`` or, when ``fetch = true``, at the URL in the
  certificate's authority information access extension;
- CRLs from ``crl_files``, from ``crl_urls`` and, when ``fetch = true``, from
  the certificate's CRL distribution points. A complete CRL is combined with
  the newest usable delta CRL of the same issuer and scope: one listed in
  ``crl_files`` or ``crl_urls`` (recognised by its delta CRL indicator) or,
  when ``fetch = true``, downloaded from the freshest CRL extension of the
  certificate or of the complete CRL. When the certificate or the CRL names a
  delta CRL and none could be used, the status of the complete CRL is kept,
  with a warning that later revocations are not seen. A delta CRL on a newer
  complete CRL than the one read makes the status from that CRL undetermined,
  unless the delta CRL lists the certificate as revoked.

Nothing is fetched from the network unless a URL is configured or
``fetch = true``. Downloaded CRLs and OCSP responses are cached in memory and
under ``cache_dir`` until their nextUpdate. A verified ``good`` status is
reused in memory for ``status_cache_seconds``, never past its source's
nextUpdate, so a receiving service does not re-read and re-verify the same
CRL or OCSP response on every request.

The CRL and OCSP checks are done here with ``cryptography`` rather than by
pyhanko-certvalidator, which (as of 0.33) fails to check a CRL whose issuer is
a trust anchor that is not self-signed, such as NCA's issuing CA. Each CRL
must name the issuer, verify with the issuer's key and be current at ``at``
(``at`` not after its nextUpdate). Each OCSP response must be signed by the
issuer or by a responder certificate with id-kp-OCSPSigning issued by it.
A certificate is revoked only when its revocation date is not after ``at``,
so a signature made before a revocation stays valid.

The policy decides what an undetermined status means: ``hard-fail`` rejects
the certificate, ``soft-fail`` accepts it with the problems reported, and
``off`` skips the check.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from adapter.config import Config
from adapter.errors import ConfigError, Problem
from adapter.i18n import N_

from .certificates import certificate_label, describe_certificate, fingerprint_sha256, gost_algorithm_oid, readable_name
from .trust import require_aware

__all__ = [
    "CertStatus",
    "RevocationCache",
    "RevocationMethod",
    "RevocationPolicy",
    "RevocationSettings",
    "RevocationSource",
    "RevocationStatus",
    "check_chain_revocation",
    "check_revocation",
]

logger = logging.getLogger(__name__)


class RevocationPolicy(enum.Enum):
    """Handling of an undetermined revocation status."""

    #: Reject the certificate when no source gives its status.
    HARD_FAIL = "hard-fail"
    #: Accept the certificate when no source gives its status, reporting why.
    SOFT_FAIL = "soft-fail"
    #: Do not check revocation at all.
    OFF = "off"


class RevocationMethod(enum.Enum):
    """A kind of revocation source."""

    OCSP = "ocsp"
    CRL = "crl"


class CertStatus(enum.Enum):
    """Revocation status of a certificate at the time checked."""

    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    NOT_CHECKED = "not-checked"


@dataclass(frozen=True, slots=True)
class RevocationSettings:
    """The ``[revocation]`` table."""

    #: hard-fail, soft-fail or off.
    policy: str = "hard-fail"
    #: Sources to ask, in order: "ocsp", "crl".
    methods: tuple[str, ...] = ("ocsp", "crl")
    #: CRL files (DER or PEM) to use, read on each check that the status cache does not serve.
    crl_files: tuple[str, ...] = ()
    #: CRL URLs to download (and cache); downloading them needs no ``fetch``.
    crl_urls: tuple[str, ...] = ()
    #: OCSP responder URL used for every certificate, in place of the one in the certificate.
    ocsp_url: str = ""
    #: Whether to download from the URLs in certificates (CRL distribution points, OCSP in AIA).
    fetch: bool = False
    #: Folder of downloaded CRLs and OCSP responses; empty means ``<data_dir>/revocation-cache``
    #: when read from a configuration file, and no disk cache otherwise.
    cache_dir: str = ""
    #: Timeout of one HTTP request, in seconds.
    timeout_seconds: float = 10.0
    #: Maximum size of a downloaded CRL or OCSP response, in bytes.
    max_response_bytes: int = 50 * 1024 * 1024
    #: Whether OCSP requests carry a nonce; a response without one is still accepted.
    ocsp_nonce: bool = True
    #: Clock difference tolerated between this host and the CA, in seconds.
    clock_skew_seconds: float = 300.0
    #: Seconds for which a verified ``good`` status is reused without reading
    #: its CRL or OCSP response again, never past that source's nextUpdate; 0 turns this off.
    status_cache_seconds: float = 300.0

    def __post_init__(self) -> None:
        policies = [policy.value for policy in RevocationPolicy]
        if self.policy not in policies:
            raise ConfigError(
                N_("invalid value {value!r} for setting {key}: expected {expected}"),
                key="revocation.policy",
                value=self.policy,
                expected=" | ".join(policies),
            )
        methods = [method.value for method in RevocationMethod]
        for method in self.methods:
            if method not in methods:
                raise ConfigError(
                    N_("invalid value {value!r} for setting {key}: expected {expected}"),
                    key="revocation.methods",
                    value=method,
                    expected=" | ".join(methods),
                )
        if self.timeout_seconds <= 0:
            raise ConfigError(
                N_("invalid value {value!r} for setting {key}: expected {expected}"),
                key="revocation.timeout_seconds",
                value=self.timeout_seconds,
                expected="> 0",
            )

    @classmethod
    def from_config(cls, config: Config) -> RevocationSettings:
        """Read ``[revocation]`` from ``config`` with paths resolved against the configuration file's folder."""
        return config.derived((cls, "resolved"), cls._resolved)

    @classmethod
    def _resolved(cls, config: Config) -> RevocationSettings:
        settings = config.section("revocation", cls)
        cache_dir = config.resolve_path(settings.cache_dir) if settings.cache_dir else config.data_dir / "revocation-cache"
        return cls(
            policy=settings.policy,
            methods=settings.methods,
            crl_files=tuple(str(config.resolve_path(path)) for path in settings.crl_files),
            crl_urls=settings.crl_urls,
            ocsp_url=settings.ocsp_url,
            fetch=settings.fetch,
            cache_dir=str(cache_dir),
            timeout_seconds=settings.timeout_seconds,
            max_response_bytes=settings.max_response_bytes,
            ocsp_nonce=settings.ocsp_nonce,
            clock_skew_seconds=settings.clock_skew_seconds,
            status_cache_seconds=settings.status_cache_seconds,
        )


@dataclass(frozen=True, slots=True)
class RevocationSource:
    """The CRL or OCSP response that gave a status."""

    method: RevocationMethod
    #: File path or URL.
    location: str
    this_update: dt.datetime
    next_update: dt.datetime | None


@dataclass(frozen=True, slots=True)
class RevocationStatus:
    """Result of :func:`check_revocation`.

    ``status`` is the status at :attr:`at`. A certificate revoked after
    :attr:`at` is ``GOOD`` with :attr:`revocation_time` set. ``problems``
    explains an ``UNKNOWN`` status (and a ``REVOKED`` one); :attr:`acceptable`
    applies the policy.
    """

    status: CertStatus
    policy: RevocationPolicy
    at: dt.datetime
    source: RevocationSource | None = None
    revocation_time: dt.datetime | None = None
    #: RFC 5280 reason name, such as ``keyCompromise``.
    revocation_reason: str | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def revoked(self) -> bool:
        """Whether the certificate was revoked at :attr:`at`."""
        return self.status is CertStatus.REVOKED

    @property
    def acceptable(self) -> bool:
        """Whether the policy accepts the certificate: good, not checked, or unknown under soft-fail."""
        if self.status is CertStatus.UNKNOWN:
            return self.policy is RevocationPolicy.SOFT_FAIL
        return self.status is not CertStatus.REVOKED

    @property
    def revoked_later(self) -> bool:
        """Whether the certificate was revoked, but only after :attr:`at`."""
        return self.status is CertStatus.GOOD and self.revocation_time is not None


@dataclass(frozen=True, slots=True)
class _CachedItem:
    data: bytes
    next_update: dt.datetime


@dataclass(frozen=True, slots=True)
class _CachedStatus:
    status: RevocationStatus
    next_update: dt.datetime
    expires: dt.datetime


# Verified statuses kept per cache; beyond this the oldest entries are dropped.
_MAX_CACHED_STATUSES = 4096


class RevocationCache:
    """Downloaded CRLs and OCSP responses, in memory and optionally on disk, kept until their nextUpdate.

    ``clock`` returns the current time; tests replace it to move past a nextUpdate.
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.folder = Path(folder) if folder else None
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._memory: dict[str, _CachedItem] = {}
        self._statuses: dict[tuple[object, ...], _CachedStatus] = {}
        self._lock = threading.Lock()

    def get_status(self, key: tuple[object, ...], at: dt.datetime) -> RevocationStatus | None:
        """Return the ``good`` status stored under ``key`` when it is still valid for a check as of ``at``."""
        now = self.clock()
        with self._lock:
            entry = self._statuses.get(key)
            if entry is not None and now >= entry.expires:
                del self._statuses[key]
                return None
        if entry is None or at > entry.next_update:
            return None
        return dataclasses.replace(entry.status, at=at)

    def put_status(self, key: tuple[object, ...], status: RevocationStatus, *, ttl: float) -> None:
        """Keep a ``good`` status for ``ttl`` seconds but not past its source's nextUpdate, for checks as of times up to then.

        Only a status whose source lists no revocation of the certificate at
        all is kept, so no later time checked can turn it into ``revoked``.
        """
        source = status.source
        if ttl <= 0 or status.status is not CertStatus.GOOD or status.revocation_time is not None:
            return
        if source is None or source.next_update is None:
            return
        # The entry expires at the source's nextUpdate too, so a fresh CRL or OCSP response is read then.
        expires = min(self.clock() + dt.timedelta(seconds=ttl), source.next_update)
        entry = _CachedStatus(status, source.next_update, expires)
        with self._lock:
            self._statuses[key] = entry
            while len(self._statuses) > _MAX_CACHED_STATUSES:
                del self._statuses[next(iter(self._statuses))]

    def get(self, key: str) -> bytes | None:
        """Return the cached bytes under ``key`` while their nextUpdate has not passed."""
        now = self.clock()
        with self._lock:
            item = self._memory.get(key)
        if item is None:
            item = self._read_disk(key)
            if item is not None:
                with self._lock:
                    self._memory[key] = item
        if item is None or item.next_update <= now:
            return None
        return item.data

    def put(self, key: str, data: bytes, next_update: dt.datetime | None) -> None:
        """Keep ``data`` until ``next_update``; without a nextUpdate nothing is cached."""
        if next_update is None or next_update <= self.clock():
            return
        item = _CachedItem(data, next_update)
        with self._lock:
            self._memory[key] = item
        if self.folder is not None:
            path = self._path(key)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                # A name of its own per writer, so two threads storing the same key do not mix their bytes.
                temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
                temporary.write_bytes(int(next_update.timestamp()).to_bytes(8, "big") + data)
                temporary.replace(path)
            except OSError as exc:
                logger.warning("failed to write the revocation cache file %s: %s", path, exc)

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / (hashlib.sha256(key.encode()).hexdigest() + ".bin")

    def _read_disk(self, key: str) -> _CachedItem | None:
        if self.folder is None:
            return None
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("failed to read the revocation cache file %s: %s", path, exc)
            return None
        if len(raw) < 8:
            return None
        next_update = dt.datetime.fromtimestamp(int.from_bytes(raw[:8], "big"), dt.timezone.utc)
        return _CachedItem(raw[8:], next_update)


# One cache per cache folder for the life of the process, so the in-memory layer is shared.
_caches: dict[str, RevocationCache] = {}
_caches_lock = threading.Lock()


def _default_cache(settings: RevocationSettings) -> RevocationCache:
    with _caches_lock:
        cache = _caches.get(settings.cache_dir)
        if cache is None:
            cache = _caches[settings.cache_dir] = RevocationCache(settings.cache_dir or None)
        return cache


class _Undetermined(Exception):
    """One source could not give a status, and ``problem`` gives the reason."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


@dataclass
class _Check:
    """State of one :func:`check_revocation` call."""

    cert: x509.Certificate
    issuer: x509.Certificate
    at: dt.datetime
    settings: RevocationSettings
    policy: RevocationPolicy
    cache: RevocationCache
    session: requests.Session | None
    label: str = field(init=False)
    #: CRLs already read in this check, by location, so none is read twice.
    crls: dict[str, x509.CertificateRevocationList] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.label = certificate_label(self.cert)

    @property
    def skew(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.clock_skew_seconds)

    def result(self, status: CertStatus, source: RevocationSource, revocation_time: dt.datetime | None = None, reason: str | None = None) -> RevocationStatus:
        problems: tuple[Problem, ...] = ()
        if status is CertStatus.REVOKED:
            assert revocation_time is not None
            problems = (
                Problem(
                    "certificate-revoked",
                    N_("certificate {certificate} was revoked at {time} (reason: {reason}), before the time checked, {at}"),
                    params={"certificate": self.label, "time": _format_time(revocation_time), "reason": reason or "unspecified", "at": _format_time(self.at)},
                ),
            )
        return RevocationStatus(status, self.policy, self.at, source, revocation_time, reason, problems)


def check_revocation(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    *,
    at: dt.datetime,
    settings: RevocationSettings | Config | None = None,
    cache: RevocationCache | None = None,
    session: requests.Session | None = None,
) -> RevocationStatus:
    """Return the revocation status of ``cert``, issued by ``issuer``, at the time ``at``.

    ``at`` is the signing time, timezone-aware. Sources are tried in the
    order of ``settings.methods`` until one gives a status. With
    ``settings=None`` the defaults apply: hard-fail and no sources, so the
    status is ``UNKNOWN`` and not acceptable.
    """
    moment = require_aware(at)
    if isinstance(settings, Config):
        settings = RevocationSettings.from_config(settings)
    settings = settings or RevocationSettings()
    policy = RevocationPolicy(settings.policy)
    if policy is RevocationPolicy.OFF:
        return RevocationStatus(CertStatus.NOT_CHECKED, policy, moment)

    cache = cache or _default_cache(settings)
    # The settings are part of the key, because other sources or another policy may give another status.
    status_key = (fingerprint_sha256(cert), fingerprint_sha256(issuer), settings)
    cached = cache.get_status(status_key, moment)
    if cached is not None:
        return cached
    check = _Check(cert, issuer, moment, settings, policy, cache, session)
    gost_oid = gost_algorithm_oid(cert) or gost_algorithm_oid(issuer)
    if gost_oid is not None:
        problem = Problem(
            "gost-unsupported",
            N_("certificate {certificate} or its issuer uses the GOST algorithm {algorithm}, which this build cannot verify, so its revocation status is not checked"),
            params={"certificate": check.label, "algorithm": gost_oid},
        )
        return RevocationStatus(CertStatus.UNKNOWN, policy, moment, problems=(problem,))
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        problem = Problem(
            "revocation-wrong-issuer",
            N_("certificate {certificate} was not issued by {issuer}, so its revocation status cannot be checked"),
            params={"certificate": check.label, "issuer": readable_name(issuer.subject)},
        )
        return RevocationStatus(CertStatus.UNKNOWN, policy, moment, problems=(problem,))

    problems: list[Problem] = []
    tried = False
    for method in settings.methods:
        for attempt in (_ocsp_attempts(check) if method == RevocationMethod.OCSP.value else _crl_attempts(check)):
            tried = True
            try:
                status = attempt()
            except _Undetermined as undetermined:
                logger.debug("no revocation status for %s from this source: %s", check.label, undetermined.problem.code)
                problems.append(undetermined.problem)
                continue
            # A status with a warning about a source that failed is not kept, so the next check tries that source again.
            if all(problem.code == "crl-delta-unread" for problem in status.problems):
                cache.put_status(status_key, status, ttl=settings.status_cache_seconds)
            return status

    if not tried:
        problems.append(
            Problem(
                "revocation-no-source",
                N_('no revocation source for certificate {certificate}: give the CRL of each CA with --crl FILE, or set [revocation] crl_files, crl_urls or ocsp_url, or fetch = true to use the URLs in the certificate; to accept an unknown status or skip the check instead, set [revocation] policy = "soft-fail" or "off"'),
                field="revocation",
                params={"certificate": check.label},
            )
        )
    problems.append(
        Problem(
            "revocation-unknown",
            N_("the revocation status of certificate {certificate} at {at} could not be determined (policy {policy})"),
            params={"certificate": check.label, "at": _format_time(moment), "policy": policy.value},
        )
    )
    return RevocationStatus(CertStatus.UNKNOWN, policy, moment, problems=tuple(problems))


def check_chain_revocation(
    chain: Sequence[x509.Certificate],
    *,
    at: dt.datetime,
    settings: RevocationSettings | Config | None = None,
    cache: RevocationCache | None = None,
    session: requests.Session | None = None,
) -> tuple[RevocationStatus, ...]:
    """Check every certificate of ``chain`` (from :attr:`PathValidation.chain`) except the trust anchor.

    ``chain`` runs from the end-entity certificate to the anchor, each
    certificate issued by the next. The statuses come in the same order.
    """
    if isinstance(settings, Config):
        settings = RevocationSettings.from_config(settings)
    return tuple(
        check_revocation(cert, issuer, at=at, settings=settings, cache=cache, session=session)
        for cert, issuer in zip(chain, chain[1:])
    )


# --- OCSP -------------------------------------------------------------------------------------


def _ocsp_attempts(check: _Check) -> Iterator[Callable[[], RevocationStatus]]:
    urls: list[str] = []
    if check.settings.ocsp_url:
        urls.append(check.settings.ocsp_url)
    elif check.settings.fetch:
        urls.extend(describe_certificate(check.cert).ocsp_urls)
    for url in urls:
        yield lambda url=url: _check_ocsp(check, url)


def _check_ocsp(check: _Check, url: str) -> RevocationStatus:
    request_builder = ocsp.OCSPRequestBuilder().add_certificate(check.cert, check.issuer, hashes.SHA1())
    nonce = os.urandom(16) if check.settings.ocsp_nonce else None
    if nonce is not None:
        request_builder = request_builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    request = request_builder.build()
    cache_key = f"ocsp|{url}|{request.issuer_key_hash.hex()}|{request.serial_number}"

    cached = check.cache.get(cache_key)
    if cached is not None:
        response = _load_ocsp(cached, url, check)
        nonce = None  # a cached response belongs to an earlier request, so its nonce cannot match
    else:
        body = _http(check, url, method="POST", data=request.public_bytes(serialization.Encoding.DER), content_type="application/ocsp-request")
        response = _load_ocsp(body, url, check)

    single = _verify_ocsp(check, response, request, url, nonce)
    if cached is None:
        check.cache.put(cache_key, response.public_bytes(serialization.Encoding.DER), single.next_update_utc)
    source = RevocationSource(RevocationMethod.OCSP, url, single.this_update_utc, single.next_update_utc)

    if single.certificate_status is ocsp.OCSPCertStatus.UNKNOWN:
        raise _Undetermined(
            Problem(
                "ocsp-unknown",
                N_("the OCSP responder {url} returned the status unknown for certificate {certificate}"),
                params={"url": url, "certificate": check.label},
            )
        )
    if single.certificate_status is ocsp.OCSPCertStatus.REVOKED:
        revocation_time = single.revocation_time_utc
        assert revocation_time is not None
        reason = _reason_name(single.revocation_reason)
        status = CertStatus.REVOKED if revocation_time <= check.at else CertStatus.GOOD
        return check.result(status, source, revocation_time, reason)
    # A response is current until its nextUpdate, like a CRL; without one it speaks only for thisUpdate.
    current_until = single.next_update_utc or single.this_update_utc + check.skew
    if check.at > current_until:
        raise _Undetermined(
            Problem(
                "ocsp-too-old",
                N_("the OCSP response from {url} reports the status until {next_update}, before the time checked, {at}"),
                params={"url": url, "next_update": _format_time(current_until), "at": _format_time(check.at)},
            )
        )
    return check.result(CertStatus.GOOD, source)


def _load_ocsp(body: bytes, url: str, check: _Check) -> ocsp.OCSPResponse:
    try:
        response = ocsp.load_der_ocsp_response(body)
    except ValueError as exc:
        raise _Undetermined(_ocsp_invalid("ocsp-malformed", N_("the response from {url} is not a DER OCSP response"), url, check)) from exc
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise _Undetermined(
            Problem(
                "ocsp-unsuccessful",
                N_("the OCSP responder {url} rejected the request for certificate {certificate} with the status {status}"),
                params={"url": url, "status": response.response_status.name.lower(), "certificate": check.label},
            )
        )
    return response


def _ocsp_invalid(code: str, message: str, url: str, check: _Check) -> Problem:
    return Problem(code, message, params={"url": url, "certificate": check.label})


def _verify_ocsp(
    check: _Check, response: ocsp.OCSPResponse, request: ocsp.OCSPRequest, url: str, nonce: bytes | None
) -> ocsp.OCSPSingleResponse:
    """Return the single response for the request after checking the signer, the signature, the nonce and the times."""
    single = next(
        (
            item
            for item in response.responses
            if item.serial_number == request.serial_number
            and item.issuer_key_hash == request.issuer_key_hash
            and item.issuer_name_hash == request.issuer_name_hash
        ),
        None,
    )
    if single is None:
        raise _Undetermined(
            _ocsp_invalid("ocsp-no-match", N_("the OCSP response from {url} does not cover certificate {certificate}"), url, check)
        )

    signer = _ocsp_signer(check, response)
    if signer is None:
        raise _Undetermined(
            _ocsp_invalid(
                "ocsp-unauthorised-signer",
                N_("the OCSP response from {url} for certificate {certificate} is signed neither by the issuing CA nor by an OCSP responder certificate that CA issued"),
                url,
                check,
            )
        )
    if not _signature_valid(signer.public_key(), response.signature, response.tbs_response_bytes, response.signature_hash_algorithm):
        raise _Undetermined(
            _ocsp_invalid("ocsp-bad-signature", N_("the signature of the OCSP response from {url} for certificate {certificate} does not verify"), url, check)
        )

    if nonce is not None:
        try:
            answered = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            answered = None
        if answered is not None and answered != nonce:
            raise _Undetermined(
                _ocsp_invalid("ocsp-nonce-mismatch", N_("the OCSP response from {url} carries a nonce other than the request's; it may be a replay"), url, check)
            )

    now = check.cache.clock()
    if single.this_update_utc > now + check.skew:
        raise _Undetermined(
            _ocsp_invalid("ocsp-future", N_("the OCSP response from {url} has a thisUpdate in the future; check the clock of this computer"), url, check)
        )
    if single.next_update_utc is not None and single.next_update_utc < now - check.skew:
        raise _Undetermined(
            _ocsp_invalid("ocsp-expired", N_("the OCSP response from {url} for certificate {certificate} is past its nextUpdate"), url, check)
        )
    return single


def _ocsp_signer(check: _Check, response: ocsp.OCSPResponse) -> x509.Certificate | None:
    """Return the certificate that signed ``response``: the issuer, or a delegated responder the issuer authorised."""
    if _is_responder(check.issuer, response):
        return check.issuer
    now = check.cache.clock()
    for candidate in response.certificates:
        if not _is_responder(candidate, response):
            continue
        try:
            candidate.verify_directly_issued_by(check.issuer)
            usages = candidate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm, x509.ExtensionNotFound):
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING not in usages:
            continue
        if not (candidate.not_valid_before_utc - check.skew <= now <= candidate.not_valid_after_utc + check.skew):
            continue
        return candidate
    return None


def _is_responder(cert: x509.Certificate, response: ocsp.OCSPResponse) -> bool:
    if response.responder_name is not None:
        return response.responder_name == cert.subject
    key_hash = response.responder_key_hash
    return key_hash is not None and key_hash == hashlib.sha1(_public_key_bits(cert)).digest()  # noqa: S324 - RFC 6960 KeyHash is SHA-1


def _public_key_bits(cert: x509.Certificate) -> bytes:
    """Return the BIT STRING content of the certificate's subjectPublicKey (what OCSP key hashes cover)."""
    from asn1crypto.keys import PublicKeyInfo

    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return bytes(PublicKeyInfo.load(spki)["public_key"].contents[1:])


def _signature_valid(public_key: object, signature: bytes, data: bytes, hash_algorithm: hashes.HashAlgorithm | None) -> bool:
    try:
        if isinstance(public_key, rsa.RSAPublicKey) and hash_algorithm is not None:
            public_key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey) and hash_algorithm is not None:
            public_key.verify(signature, data, ec.ECDSA(hash_algorithm))
        elif isinstance(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            public_key.verify(signature, data)
        else:
            # NOTE: RSASSA-PSS and GOST-signed OCSP responses are not verified, so they count as invalid.
            return False
    except InvalidSignature:
        return False
    return True


# --- CRL --------------------------------------------------------------------------------------


def _crl_attempts(check: _Check) -> Iterator[Callable[[], RevocationStatus]]:
    for path in check.settings.crl_files:
        yield lambda path=path: _check_complete_crl(check, _configured_crl(check, path, _read_crl_file), path)
    urls = list(check.settings.crl_urls)
    if check.settings.fetch:
        urls.extend(url for url in describe_certificate(check.cert).crl_urls if url not in urls)
    for url in urls:
        yield lambda url=url: _check_complete_crl(check, _configured_crl(check, url, _download_crl), url)


def _configured_crl(check: _Check, location: str, read: Callable[[_Check, str], x509.CertificateRevocationList]) -> x509.CertificateRevocationList:
    crl = check.crls.get(location)
    if crl is None:
        crl = check.crls[location] = read(check, location)
    return crl


def _extension(crl: x509.CertificateRevocationList, kind: type[x509.ExtensionType]) -> Any:
    """Return the value of the CRL extension of class ``kind``, or ``None`` when ``crl`` has none."""
    try:
        return crl.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _crl_number(crl: x509.CertificateRevocationList) -> int | None:
    number = _extension(crl, x509.CRLNumber)
    return None if number is None else number.crl_number


def _delta_base_number(crl: x509.CertificateRevocationList) -> int | None:
    """Return the number of the complete CRL that a delta CRL updates, or ``None`` for a complete CRL."""
    indicator = _extension(crl, x509.DeltaCRLIndicator)
    return None if indicator is None else indicator.crl_number


def _freshest_urls(extensions: x509.Extensions) -> list[str]:
    try:
        points = extensions.get_extension_for_class(x509.FreshestCRL).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [name.value for point in points for name in (point.full_name or ()) if isinstance(name, x509.UniformResourceIdentifier)]


def _check_complete_crl(check: _Check, crl: x509.CertificateRevocationList, location: str) -> RevocationStatus:
    """Return the status from the complete CRL ``crl``, updated by the newest usable delta CRL."""
    base_number = _delta_base_number(crl)
    if base_number is not None:
        raise _Undetermined(
            Problem(
                "crl-delta-only",
                N_("the CRL {location} is a delta CRL, which lists only the changes since CRL number {number}; give the complete CRL of its issuer too"),
                params={"location": location, "number": base_number},
            )
        )
    status = _check_crl(check, crl, location)

    named = list(dict.fromkeys([*_freshest_urls(check.cert.extensions), *_freshest_urls(crl.extensions)]))
    number = _crl_number(crl)
    scope = _scope(crl)
    failures: list[Problem] = []
    newest: tuple[int, x509.CertificateRevocationList, str] | None = None
    superseded: list[tuple[int, x509.CertificateRevocationList, str]] = []
    for delta, delta_location in _delta_crls(check, named, failures):
        delta_number = _crl_number(delta)
        delta_base = _delta_base_number(delta)
        # RFC 5280, 5.2.4 and 6.3.3: a delta CRL updates the complete CRLs of the
        # same scope numbered from its base CRL number on, and adds something
        # only when its own number is higher.
        if number is None or delta_number is None or delta_base is None or _scope(delta) != scope or delta_number <= number:
            continue
        try:
            _check_current(check, delta, delta_location)
        except _Undetermined as undetermined:
            failures.append(undetermined.problem)
            continue
        if delta_base > number:
            superseded.append((delta_base, delta, delta_location))
        elif newest is None or delta_number > newest[0]:
            newest = (delta_number, delta, delta_location)

    # A delta CRL on a newer complete CRL cannot be combined with this one, but
    # the revocations it lists were signed by the CA all the same.
    for _base, delta, delta_location in superseded:
        entry = delta.get_revoked_certificate_by_serial_number(check.cert.serial_number)
        if entry is not None:
            listed = _status_of_entry(check, entry, _delta_source(crl, location, delta, delta_location))
            if listed.revoked:
                return listed
    if newest is not None:
        return _apply_delta(check, status, crl, location, newest[1], newest[2])
    if superseded:
        newer_base, _delta, delta_location = max(superseded, key=lambda item: item[0])
        raise _Undetermined(
            Problem(
                "crl-superseded",
                N_("the CRL {location} (number {number}) is older than the complete CRL number {base} that the delta CRL {delta} updates; use the newer complete CRL"),
                params={"location": location, "number": number, "base": newer_base, "delta": delta_location},
            )
        )
    if status.revoked or not (named or failures):
        return status

    warning = Problem(
        "crl-delta-unread",
        N_("certificate {certificate} was checked against the complete CRL {location} of {this_update} only, because no usable delta CRL ({delta}) was read, so revocations since then are not seen; add the delta CRL to [revocation] crl_files or crl_urls, or set fetch = true"),
        params={"certificate": check.label, "location": location, "this_update": _format_time(crl.last_update_utc), "delta": ", ".join(named) or "-"},
    )
    return dataclasses.replace(status, problems=(*status.problems, *failures, warning))


def _scope(crl: x509.CertificateRevocationList) -> x509.IssuingDistributionPoint | None:
    """Return the issuing distribution point that limits what ``crl`` covers, or ``None`` when it covers everything."""
    return _extension(crl, x509.IssuingDistributionPoint)


def _covers(cert: x509.Certificate, scope: x509.IssuingDistributionPoint | None) -> bool:
    """Return whether a CRL with the issuing distribution point ``scope`` covers every revocation of ``cert`` (RFC 5280, 6.3.3 b.2)."""
    if scope is None:
        return True
    if scope.only_contains_attribute_certs or scope.indirect_crl or scope.only_some_reasons is not None:
        return False
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if (scope.only_contains_ca_certs and not is_ca) or (scope.only_contains_user_certs and is_ca):
        return False
    if scope.full_name:
        try:
            points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        except x509.ExtensionNotFound:
            return False
        named = {name for point in points for name in (point.full_name or ())}
        return any(name in named for name in scope.full_name)
    return True


# Configured CRL locations found not to be delta CRLs of an issuer, by
# (location, file version, issuer key), with the time until which that holds. They are not
# read again in the search for delta CRLs until then.
_not_deltas: dict[tuple[str, str, bytes], dt.datetime] = {}
_not_deltas_lock = threading.Lock()
_NOT_DELTAS_KEPT = 1024


def _delta_crls(check: _Check, named: list[str], failures: list[Problem]) -> Iterator[tuple[x509.CertificateRevocationList, str]]:
    """Yield the verified delta CRLs of the issuer: configured ones, then, with ``fetch``, those at the ``named`` URLs.

    A configured CRL that cannot be read is reported by its own attempt as a
    complete CRL, so only the failures of a delta CRL go to ``failures``.
    """
    issuer_key = fingerprint_sha256(check.issuer)
    now = check.cache.clock()
    configured = [(path, _read_crl_file) for path in check.settings.crl_files] + [(url, _fetch_crl) for url in check.settings.crl_urls]
    fetched = [(url, _fetch_crl) for url in named if url not in check.settings.crl_urls] if check.settings.fetch else []
    for location, read in [*configured, *fetched]:
        memo_key = (location, _file_version(location) if read is _read_crl_file else "", issuer_key)
        with _not_deltas_lock:
            until = _not_deltas.get(memo_key)
        if until is not None and now < until:
            continue
        try:
            delta = _configured_crl(check, location, read)
        except _Undetermined as undetermined:
            if (location, read) in fetched:
                failures.append(undetermined.problem)
            continue
        if _delta_base_number(delta) is None or delta.issuer != check.issuer.subject:
            with _not_deltas_lock:
                if len(_not_deltas) >= _NOT_DELTAS_KEPT:
                    _not_deltas.clear()
                _not_deltas[memo_key] = delta.next_update_utc or now + dt.timedelta(hours=1)
            continue
        try:
            _verify_crl(check, delta, location)
        except _Undetermined as undetermined:
            failures.append(undetermined.problem)
            continue
        if read is _fetch_crl:
            check.cache.put(f"crl|{location}", delta.public_bytes(serialization.Encoding.DER), delta.next_update_utc)
        yield delta, location


def _file_version(path: str) -> str:
    try:
        stat = os.stat(os.path.expanduser(path))
    except OSError:
        return ""
    return f"{stat.st_mtime_ns}:{stat.st_size}"


def _fetch_crl(check: _Check, url: str) -> x509.CertificateRevocationList:
    """Return the CRL at ``url`` from the cache or downloaded, not verified: the caller verifies a download before caching it."""
    cached = check.cache.get(f"crl|{url}")
    if cached is not None:
        return _parse_crl(cached, url)
    return _parse_crl(_http(check, url, method="GET"), url)


def _delta_source(crl: x509.CertificateRevocationList, location: str, delta: x509.CertificateRevocationList, delta_location: str) -> RevocationSource:
    next_updates = [moment for moment in (crl.next_update_utc, delta.next_update_utc) if moment is not None]
    return RevocationSource(RevocationMethod.CRL, f"{location} + {delta_location}", delta.last_update_utc, min(next_updates, default=None))


def _apply_delta(
    check: _Check,
    status: RevocationStatus,
    crl: x509.CertificateRevocationList,
    location: str,
    delta: x509.CertificateRevocationList,
    delta_location: str,
) -> RevocationStatus:
    source = _delta_source(crl, location, delta, delta_location)
    entry = delta.get_revoked_certificate_by_serial_number(check.cert.serial_number)
    if entry is None:
        return dataclasses.replace(status, source=source)
    updated = _status_of_entry(check, entry, source)
    # A certificate on hold at the time checked stays revoked then, even if the
    # delta CRL lists a later, final revocation.
    if status.revoked and updated.revoked_later:
        return dataclasses.replace(status, source=source)
    return updated


def _read_crl_file(check: _Check, path: str) -> x509.CertificateRevocationList:
    try:
        data = Path(os.path.expanduser(path)).read_bytes()
    except OSError as exc:
        raise _Undetermined(
            Problem(
                "crl-unreadable",
                N_("failed to read the CRL file {location}: {reason}; check [revocation] crl_files"),
                field="revocation.crl_files",
                value=path,
                params={"location": path, "reason": exc.strerror or str(exc)},
            )
        ) from exc
    return _parse_crl(data, path)


def _download_crl(check: _Check, url: str) -> x509.CertificateRevocationList:
    cache_key = f"crl|{url}"
    cached = check.cache.get(cache_key)
    if cached is not None:
        return _parse_crl(cached, url)
    data = _http(check, url, method="GET")
    crl = _parse_crl(data, url)
    # Only a CRL that verifies is cached, so a forged download is fetched again next time.
    _verify_crl(check, crl, url)
    check.cache.put(cache_key, crl.public_bytes(serialization.Encoding.DER), crl.next_update_utc)
    return crl


def _parse_crl(data: bytes, location: str) -> x509.CertificateRevocationList:
    try:
        if b"-----BEGIN X509 CRL-----" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise _Undetermined(
            Problem(
                "crl-invalid",
                N_("{location} is not a DER or PEM CRL"),
                params={"location": location},
            )
        ) from exc


def _verify_crl(check: _Check, crl: x509.CertificateRevocationList, location: str) -> None:
    if crl.issuer != check.issuer.subject:
        raise _Undetermined(
            Problem(
                "crl-other-issuer",
                N_("the CRL {location} is issued by {crl_issuer}, not by the issuer of certificate {certificate}"),
                params={"location": location, "crl_issuer": readable_name(crl.issuer), "certificate": check.label},
            )
        )
    try:
        valid = crl.is_signature_valid(check.issuer.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError, UnsupportedAlgorithm):
        valid = False
    if not valid:
        raise _Undetermined(
            Problem(
                "crl-bad-signature",
                N_("the signature of the CRL {location} does not verify with the key of its issuer {crl_issuer}"),
                params={"location": location, "crl_issuer": readable_name(crl.issuer)},
            )
        )


def _check_crl(check: _Check, crl: x509.CertificateRevocationList, location: str) -> RevocationStatus:
    _verify_crl(check, crl, location)
    _check_current(check, crl, location)
    if not _covers(check.cert, _scope(crl)):
        raise _Undetermined(
            Problem(
                "crl-other-scope",
                N_("the CRL {location} does not cover certificate {certificate}: its issuing distribution point limits it to other certificates, reasons or distribution points; use the CRL named in the certificate"),
                params={"location": location, "certificate": check.label},
            )
        )
    source = RevocationSource(RevocationMethod.CRL, location, crl.last_update_utc, crl.next_update_utc)
    entry = crl.get_revoked_certificate_by_serial_number(check.cert.serial_number)
    # NOTE: a CA may drop expired certificates from later CRLs, so the absence of an
    # entry in a CRL issued after the certificate expired is weaker evidence than it looks.
    if entry is None:
        return check.result(CertStatus.GOOD, source)
    return _status_of_entry(check, entry, source)


def _check_current(check: _Check, crl: x509.CertificateRevocationList, location: str) -> None:
    """Raise :class:`_Undetermined` unless ``crl`` is current at the time checked and not from the future."""
    this_update = crl.last_update_utc
    next_update = crl.next_update_utc
    if next_update is not None and check.at > next_update:
        raise _Undetermined(
            Problem(
                "crl-stale",
                N_("the CRL {location} was current until {next_update}, before the time checked, {at}; use a newer CRL"),
                params={"location": location, "next_update": _format_time(next_update), "at": _format_time(check.at)},
            )
        )
    if this_update > check.cache.clock() + check.skew:
        raise _Undetermined(
            Problem(
                "crl-future",
                N_("the CRL {location} has thisUpdate {this_update}, which is in the future; check the clock of this computer"),
                params={"location": location, "this_update": _format_time(this_update)},
            )
        )


def _status_of_entry(check: _Check, entry: x509.RevokedCertificate, source: RevocationSource) -> RevocationStatus:
    """Return the status that a CRL entry for the certificate gives."""
    reason = None
    try:
        reason = _reason_name(entry.extensions.get_extension_for_class(x509.CRLReason).value.reason)
    except x509.ExtensionNotFound:
        pass
    revocation_time = entry.revocation_date_utc
    if reason == "removeFromCRL":
        return check.result(CertStatus.GOOD, source)
    status = CertStatus.REVOKED if revocation_time <= check.at else CertStatus.GOOD
    return check.result(status, source, revocation_time, reason)


# --- shared helpers ---------------------------------------------------------------------------


def _http(check: _Check, url: str, *, method: str, data: bytes | None = None, content_type: str | None = None) -> bytes:
    """Send one HTTP request and return the body, or raise _Undetermined naming the URL."""
    headers = {"Content-Type": content_type} if content_type else {}
    session = check.session or requests.Session()
    limit = check.settings.max_response_bytes
    try:
        with session.request(method, url, data=data, headers=headers, timeout=check.settings.timeout_seconds, stream=True) as reply:
            if reply.status_code != 200:
                logger.warning("revocation request to %s failed: HTTP %s", url, reply.status_code)
                raise _Undetermined(
                    Problem(
                        "revocation-http-status",
                        N_("the request to {url} failed with HTTP status {status}; check the URL in [revocation]"),
                        params={"url": url, "status": reply.status_code},
                    )
                )
            body = bytearray()
            for chunk in reply.iter_content(64 * 1024):
                body.extend(chunk)
                if len(body) > limit:
                    raise _Undetermined(
                        Problem(
                            "revocation-response-too-large",
                            N_("the response from {url} is larger than {limit} bytes; raise [revocation] max_response_bytes if the source is trusted"),
                            params={"url": url, "limit": limit},
                        )
                    )
            return bytes(body)
    except requests.Timeout as exc:
        logger.warning("revocation request to %s timed out: %s", url, exc)
        raise _Undetermined(
            Problem(
                "revocation-timeout",
                N_("the request to {url} timed out after {seconds} seconds; check the network or raise [revocation] timeout_seconds"),
                params={"url": url, "seconds": check.settings.timeout_seconds},
            )
        ) from exc
    except requests.RequestException as exc:
        logger.warning("revocation request to %s failed: %s", url, exc)
        raise _Undetermined(
            Problem(
                "revocation-connection-failed",
                N_("the connection to {url} failed; check that the revocation server is reachable, or change [revocation] policy"),
                params={"url": url},
            )
        ) from exc
    finally:
        if check.session is None:
            session.close()


def _reason_name(reason: x509.ReasonFlags | None) -> str | None:
    return reason.value if reason is not None else None


def _format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
