"""Certification path validation against configured trust anchors, as of a given time.

Kazakhstan has more than one certification authority (NCA RK, the CA of
state bodies, their test CAs), so trust anchors always come from the
configuration, never from code::

    [trust]
    anchors = ["/etc/edms-adapter/ca/"]        # files or folders of CA certificates
    intermediates = ["/etc/edms-adapter/ca/intermediate.pem"]

An anchor need not be self-signed: NCA's issuing CA certificate alone is a
valid anchor. Validity is judged at ``at``, the signing time of the document,
so a signature made while the certificate was valid stays verifiable after it
expires. Revocation is left to :mod:`signing.revocation`, because
pyhanko-certvalidator 0.33 cannot check a CRL signed by a trust anchor that is
not self-signed.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import dataclasses
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from stat import S_ISDIR
from typing import Any, TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as validation_errors
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy, RevocationCheckingRule

from adapter.config import Config
from adapter.errors import ConfigError, InputError, Problem
from adapter.i18n import N_

from .certificates import certificate_label, fingerprint_sha256, gost_algorithm_oid, load_certificates

__all__ = [
    "PathCache",
    "PathValidation",
    "TrustSettings",
    "default_path_cache",
    "load_trust_anchors",
    "require_aware",
    "validate_path",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TrustSettings:
    """The ``[trust]`` table: which CA certificates are trusted."""

    #: Files (PEM or DER, one or more certificates) or folders of trusted CA certificates.
    anchors: tuple[str, ...] = ()
    #: Files or folders of intermediate CA certificates used to build paths; never trusted on their own.
    intermediates: tuple[str, ...] = ()
    #: Seconds for which a successful path validation is reused (see :class:`PathCache`); 0 turns the cache off.
    path_cache_seconds: float = 300.0
    #: Maximum number of successful path validations kept in memory.
    path_cache_size: int = 1024

    @classmethod
    def from_config(cls, config: Config) -> TrustSettings:
        """Read ``[trust]`` from ``config`` with paths resolved against the configuration file's folder."""
        return config.derived((cls, "resolved"), cls._resolved)

    @classmethod
    def _resolved(cls, config: Config) -> TrustSettings:
        settings = config.section("trust", cls)
        return dataclasses.replace(
            settings,
            anchors=tuple(str(config.resolve_path(path)) for path in settings.anchors),
            intermediates=tuple(str(config.resolve_path(path)) for path in settings.intermediates),
        )


@dataclass(frozen=True, slots=True)
class PathValidation:
    """Result of :func:`validate_path`.

    ``chain`` runs from the certificate to the trust anchor (both included)
    when a path was found, and is just the certificate otherwise.
    ``warnings`` names the end-entity certificates that were found among the
    configured anchors and ignored; they do not make the path untrusted.
    """

    certificate: x509.Certificate
    trusted: bool
    at: dt.datetime
    chain: tuple[x509.Certificate, ...]
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()

    @property
    def trust_anchor(self) -> x509.Certificate | None:
        """The anchor the path ends at, when the certificate is trusted."""
        return self.chain[-1] if self.trusted else None

    @property
    def issuer(self) -> x509.Certificate | None:
        """The certificate of the CA that issued :attr:`certificate`, when the path was found."""
        return self.chain[1] if len(self.chain) > 1 else None


def require_aware(at: dt.datetime, field: str = "at") -> dt.datetime:
    """Return ``at`` in UTC; raise :class:`~adapter.errors.InputError` when it has no time zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(
            N_("the time {value} has no time zone; give it in UTC or with an offset"),
            field=field,
            value=at.isoformat(),
            code="naive-time",
        )
    return at.astimezone(dt.timezone.utc)


# Loaded certificate files by (path, modification time, size), so repeated
# validations do not parse the same anchors again.
_file_cache: dict[tuple[str, int, int], tuple[x509.Certificate, ...]] = {}
_file_cache_lock = threading.Lock()

# The sets that _load_anchor_sets built from unchanged files, by the path,
# setting, time and size of every file. Settings that name a folder are read
# again on each call, because a folder's time does not change when a file in it does.
_anchor_sets: dict[tuple[tuple[str, str, int, int], ...], tuple[tuple[x509.Certificate, ...], tuple[x509.Certificate, ...], tuple[Problem, ...]]] = {}
_ANCHOR_SETS_KEPT = 64


def _stat(path: str, key: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        raise ConfigError(
            N_("the certificate file or folder {path} of setting {key} is not found; fix the path"),
            key=key,
            path=path,
        ) from exc


def _load_cached(path: str, key: str, stat: os.stat_result | None = None) -> tuple[x509.Certificate, ...]:
    stat = stat or _stat(path, key)
    cache_key = (path, stat.st_mtime_ns, stat.st_size)
    with _file_cache_lock:
        cached = _file_cache.get(cache_key)
    if cached is not None and not S_ISDIR(stat.st_mode):
        return cached
    try:
        certificates = tuple(load_certificates(path))
    except InputError as exc:
        raise ConfigError(exc.message, key=key, **exc.params) from exc
    with _file_cache_lock:
        _file_cache[cache_key] = certificates
    return certificates


def load_trust_anchors(settings: TrustSettings) -> tuple[tuple[x509.Certificate, ...], tuple[x509.Certificate, ...]]:
    """Load the CA anchors and the intermediates named by ``settings``; raise ConfigError naming a bad path.

    End-entity certificates among the anchors are left out, as
    :func:`_load_anchor_sets` describes.
    """
    anchors, intermediates, _ignored = _load_anchor_sets(settings)
    return anchors, intermediates


# Fingerprints of the ignored end-entity anchors already logged, so the
# warning is written once per certificate and process, not on every validation.
_logged_ignored_anchors: set[bytes] = set()


def _load_anchor_sets(
    settings: TrustSettings,
) -> tuple[tuple[x509.Certificate, ...], tuple[x509.Certificate, ...], tuple[Problem, ...]]:
    """Return (CA anchors, intermediates, notes on the ignored end-entity anchors) named by ``settings``.

    Only a CA certificate (basicConstraints cA=TRUE: a root or an
    intermediate CA) can be a trust anchor. An end-entity certificate in an
    anchor file or folder would otherwise be trusted on its own, with no CA
    above it whose CRL or OCSP responder could report it revoked.
    """
    named = [(os.path.expanduser(path), "trust.anchors") for path in settings.anchors]
    named += [(os.path.expanduser(path), "trust.intermediates") for path in settings.intermediates]
    stats = [_stat(path, key) for path, key in named]
    memo_key = None
    if not any(S_ISDIR(stat.st_mode) for stat in stats):
        memo_key = tuple((path, key, stat.st_mtime_ns, stat.st_size) for (path, key), stat in zip(named, stats))
        with _file_cache_lock:
            found = _anchor_sets.get(memo_key)
        if found is not None:
            return found
    anchors: list[x509.Certificate] = []
    ignored: list[Problem] = []
    intermediates: list[x509.Certificate] = []
    for (path, key), stat in zip(named, stats):
        for cert in _load_cached(path, key, stat):
            if key == "trust.intermediates":
                intermediates.append(cert)
            elif _is_ca_certificate(cert):
                anchors.append(cert)
            else:
                ignored.append(_ignored_anchor(cert, path))
    result = (tuple(anchors), tuple(intermediates), tuple(ignored))
    if memo_key is not None:
        with _file_cache_lock:
            if len(_anchor_sets) >= _ANCHOR_SETS_KEPT:
                _anchor_sets.clear()
            _anchor_sets[memo_key] = result
    return result


def _is_ca_certificate(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return constraints.ca


def _ignored_anchor(cert: x509.Certificate, path: str) -> Problem:
    """Log an end-entity certificate found among the anchors (once) and return the note naming it."""
    label = certificate_label(cert)
    fingerprint = fingerprint_sha256(cert)
    if fingerprint not in _logged_ignored_anchors:
        _logged_ignored_anchors.add(fingerprint)
        logger.warning("ignored end-entity certificate serial 0x%x issued by %s in trust anchors %s: not a CA certificate", cert.serial_number, cert.issuer.rfc4514_string(), path)
    return Problem(
        "end-entity-anchor-ignored",
        N_("certificate {certificate} in [trust] anchors is not a CA certificate (basicConstraints cA is not TRUE), so it is ignored and never trusted on its own; keep only root and intermediate CA certificates there"),
        field="trust.anchors",
        params={"certificate": label},
    )


class PathCache:
    """Successful path validations, reused while a fresh validation would give the same result; thread-safe and bounded.

    An entry is keyed by the SHA-256 fingerprints of the certificate, of every
    other CA certificate offered for path building and of the trust anchors,
    so another anchor or intermediate set misses the cache. It serves a
    validation as of ``at`` only while ``at`` lies inside the validity
    periods of every certificate on the path (never past the earliest
    notAfter), and only for ``ttl`` seconds of ``clock`` after it was stored.
    Failed validations are never stored. Revocation is not part of a path
    validation, so :mod:`signing.revocation` caches it separately, never
    past a CRL's or OCSP response's nextUpdate.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: collections.OrderedDict[tuple[object, ...], _CachedPath] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...], at: dt.datetime) -> tuple[x509.Certificate, ...] | None:
        """Return the chain stored under ``key`` when it is still valid for a validation as of ``at``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self.clock() >= entry.expires:
                del self._entries[key]
                return None
            if not (entry.valid_from <= at <= entry.valid_until):
                return None
            self._entries.move_to_end(key)
            return entry.chain

    def put(self, key: tuple[object, ...], chain: tuple[x509.Certificate, ...], *, ttl: float, max_entries: int) -> None:
        """Store a successful validation's ``chain`` for ``ttl`` seconds, dropping the least recently used beyond ``max_entries``."""
        if ttl <= 0 or max_entries <= 0:
            return
        entry = _CachedPath(
            chain=chain,
            valid_from=max(item.not_valid_before_utc for item in chain),
            valid_until=min(item.not_valid_after_utc for item in chain),
            expires=self.clock() + ttl,
        )
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


@dataclass(frozen=True, slots=True)
class _CachedPath:
    chain: tuple[x509.Certificate, ...]
    valid_from: dt.datetime
    valid_until: dt.datetime
    expires: float


#: The process-wide cache that :func:`validate_path` uses unless given another.
default_path_cache = PathCache()


def validate_path(
    cert: x509.Certificate,
    *,
    intermediates: Iterable[x509.Certificate] = (),
    at: dt.datetime,
    settings: TrustSettings | Config | None = None,
    cache: PathCache | None = None,
) -> PathValidation:
    """Find and check a certification path from ``cert`` to a configured trust anchor, as of ``at``.

    ``intermediates`` adds CA certificates found with the signature (such as
    the KeyInfo of an XML signature) to those configured. Every certificate
    on the path must be valid at ``at``; a timezone-naive ``at`` raises
    InputError. Revocation is not checked here (see
    :func:`signing.revocation.check_revocation`). A successful validation is
    reused from ``cache`` (default: :data:`default_path_cache`) for
    ``[trust] path_cache_seconds``, as :class:`PathCache` describes.
    """
    moment = require_aware(at)
    intermediates = tuple(intermediates)
    if isinstance(settings, Config):
        settings = TrustSettings.from_config(settings)
    settings = settings or TrustSettings()
    anchors, configured_intermediates, ignored = _load_anchor_sets(settings)
    if not anchors:
        problem = Problem(
            "no-trust-anchors",
            N_("no trust anchors are configured, so certificate {certificate} cannot be trusted; set [trust] anchors to the CA certificate files or folders"),
            field="trust.anchors",
            params={"certificate": certificate_label(cert)},
        )
        return PathValidation(cert, False, moment, (cert,), (problem,), ignored)

    gost_oid = next((oid for oid in map(gost_algorithm_oid, (cert, *intermediates)) if oid), None)
    if gost_oid is not None:
        problem = Problem(
            "gost-unsupported",
            N_("the certification path of certificate {certificate} uses the GOST algorithm {algorithm}, which this build cannot verify; use an RSA or EC key"),
            params={"certificate": certificate_label(cert), "algorithm": gost_oid},
        )
        return PathValidation(cert, False, moment, (cert,), (problem,), ignored)

    cache = cache if cache is not None else default_path_cache
    others = (*configured_intermediates, *intermediates)
    cache_key = (fingerprint_sha256(cert), frozenset(map(fingerprint_sha256, others)), frozenset(map(fingerprint_sha256, anchors)))
    cached = cache.get(cache_key, moment)
    if cached is not None:
        return PathValidation(cert, True, moment, cached, (), ignored)

    context = ValidationContext(
        trust_roots=[_to_asn1(anchor) for anchor in anchors],
        other_certs=[_to_asn1(other) for other in others],
        moment=moment,
        allow_fetching=False,
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(
                ee_certificate_rule=RevocationCheckingRule.NO_CHECK,
                intermediate_ca_cert_rule=RevocationCheckingRule.NO_CHECK,
            )
        ),
    )
    validator = CertificateValidator(_to_asn1(cert), validation_context=context)
    try:
        path = _run(validator.async_validate_usage(set()))
    except validation_errors.PathBuildingError as exc:
        logger.debug("no certification path for %s: %s", certificate_label(cert), exc)
        problem = Problem(
            "untrusted-chain",
            N_("no certification path from certificate {certificate} to a configured trust anchor; add the issuing CA certificate to [trust] anchors or intermediates"),
            params={"certificate": certificate_label(cert)},
        )
        return PathValidation(cert, False, moment, (cert,), (problem,), ignored)
    except (validation_errors.ExpiredError, validation_errors.NotYetValidError) as exc:
        return PathValidation(cert, False, moment, (cert,), (_validity_problem(cert, moment, exc),), ignored)
    except validation_errors.DisallowedAlgorithmError as exc:
        problem = Problem(
            "weak-algorithm",
            N_("the certification path of certificate {certificate} uses an algorithm that is not allowed: {reason}"),
            params={"certificate": certificate_label(cert), "reason": str(exc)},
        )
        return PathValidation(cert, False, moment, (cert,), (problem,), ignored)
    except (validation_errors.PathValidationError, validation_errors.InvalidCertificateError) as exc:
        # pyhanko's text names the holder, so it goes to the debug log only.
        logger.debug("invalid certification path for %s: %s", certificate_label(cert), exc)
        problem = Problem(
            "invalid-path",
            N_("the certification path of certificate {certificate} is invalid: a signature, a name or an extension of a certificate on it does not verify; check the CA certificates in [trust]"),
            params={"certificate": certificate_label(cert)},
        )
        return PathValidation(cert, False, moment, (cert,), (problem,), ignored)

    chain = tuple(reversed([x509.load_der_x509_certificate(item.dump()) for item in path.iter_certs(include_root=True)]))
    cache.put(cache_key, chain, ttl=settings.path_cache_seconds, max_entries=settings.path_cache_size)
    return PathValidation(cert, True, moment, chain, (), ignored)


def _validity_problem(cert: x509.Certificate, moment: dt.datetime, exc: Exception) -> Problem:
    """Return the problem of a certificate on the path that was not valid at ``moment``."""
    label = certificate_label(cert)
    if not (cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc):
        return Problem(
            "certificate-not-valid-at-time",
            N_("certificate {certificate} was not valid at {at}: it is valid from {not_before} to {not_after}"),
            params={
                "certificate": label,
                "at": _format_time(moment),
                "not_before": _format_time(cert.not_valid_before_utc),
                "not_after": _format_time(cert.not_valid_after_utc),
            },
        )
    return Problem(
        "ca-not-valid-at-time",
        N_("a CA certificate on the path of certificate {certificate} was not valid at {at}: {reason}"),
        params={"certificate": label, "at": _format_time(moment), "reason": str(exc)},
    )


def _format_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine of pyhanko-certvalidator (an async-only API) from synchronous code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Called from inside an event loop: run the validation on a worker thread's own loop.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()

