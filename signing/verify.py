"""Sign a document after the policy check, and verify a signed document the way a receiver must.

:func:`verify_document` reports four checks separately. Is the signature
intact (:mod:`signing.xmldsig`)? Does the certificate chain to a configured
trust anchor at the signing time (:mod:`signing.trust`)? Was it or a CA above
it revoked by then (:mod:`signing.revocation`)? May this signer sign this
document (:mod:`signing.policy`)? The certificate is judged at the time the
document was signed. That is the caller's ``at`` (for example the time the
gateway delivered the document), else the signed XAdES signing time. When
neither is known, it is judged at the current time and a
``signing-time-unknown`` problem reports that.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from lxml import etree

from adapter.config import Config
from adapter.errors import DocumentTooLargeError, InvalidDocumentError, Problem, SigningError, UnsupportedKeyError
from adapter.i18n import N_
from adapter.model import Document

from .algorithms import SignatureMethod
from .certificates import CertificateInfo, HolderRole, certificate_label, describe_certificate
from .keys import Signer, check_signing_usage
from .policy import check_signatory, enforce_signatory
from .revocation import CertStatus, RevocationPolicy, RevocationSettings, RevocationStatus, check_chain_revocation, check_revocation
from .settings import SigningSettings
from .trust import TrustSettings, load_trust_anchors, require_aware, validate_path
from .xmldsig import SignatureCheck, sign_xml, verify_xml_signature

__all__ = ["SignerInfo", "VerificationResult", "sign_document", "verify_document"]

logger = logging.getLogger(__name__)

# A signing time this far ahead of the verifier's clock is not believed.
_CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """The signer, as named by the signing certificate.

    ``role`` is ``head`` (first head), ``signing-rights``, ``employee`` or
    ``individual``, from the certificate's role OIDs.
    """

    full_name: str | None
    iin: str | None
    bin: str | None
    organisation: str | None
    role: str
    serial_number: int
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    certificate: x509.Certificate = field(repr=False, compare=False)

    @classmethod
    def from_certificate(cls, cert: x509.Certificate, info: CertificateInfo | None = None) -> SignerInfo:
        """Describe the holder of ``cert``."""
        info = info or describe_certificate(cert)
        if info.is_head:
            role = "head"
        elif HolderRole.SIGNING_RIGHTS in info.roles:
            role = "signing-rights"
        elif info.is_employee:
            role = "employee"
        else:
            role = "individual"
        return cls(info.full_name, info.iin, info.bin, info.organisation, role, info.serial_number, info.issuer, info.not_before, info.not_after, cert)


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """Result of :func:`verify_document`.

    ``revoked`` is ``None`` when the revocation status could not be
    established or revocation checking is off. ``revocation_accepted``
    applies ``[revocation] policy`` to it. Under soft-fail an unknown status
    is accepted, and its reasons go to ``warnings``, not ``problems``.
    ``checked_at`` is the time the certificate was judged at.
    ``document`` is parsed from ``signed_bytes``, the canonical bytes that the
    signature covers, so it contains nothing the signer did not sign.
    """

    intact: bool
    trusted: bool
    revoked: bool | None
    signer: SignerInfo | None
    signing_time: dt.datetime | None
    checked_at: dt.datetime | None
    algorithm: SignatureMethod | None
    policy_ok: bool
    problems: tuple[Problem, ...]
    revocation_accepted: bool = False
    warnings: tuple[Problem, ...] = ()
    document: Document | None = field(default=None, repr=False)
    signed_bytes: bytes | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when the signature is intact, trusted, not revoked and no problem was found."""
        return self.intact and self.trusted and self.revocation_accepted and self.revoked is not True and self.policy_ok and not self.problems


def _config(settings: Config | None) -> Config:
    return settings if settings is not None else Config()


def _parse_document(data: bytes, config: Config, *, validate: bool = True) -> Document:
    from adapter.xml import parse_xml

    return parse_xml(data, max_bytes=config.documents.max_xml_bytes, validate=validate)


def verify_document(
    xml: bytes,
    *,
    settings: Config | None = None,
    at: dt.datetime | None = None,
    expected_sender_bin: str | None = None,
    schema_checked: bool = False,
    tree: etree._ElementTree | None = None,
) -> VerificationResult:
    """Verify the signed document ``xml`` and return what was found.

    ``settings`` is the configuration (trust anchors, revocation, signatory
    lists; defaults when ``None``). ``at`` is the time to judge the
    certificate at, when the caller knows when the document was signed or
    received. ``expected_sender_bin`` is the BIN the document must come from,
    for a receiver that learns the sender from the transport.

    Set ``schema_checked`` only when the caller has already validated the
    whole of ``xml``, signature included, against its schema. The signed bytes
    are then read into the model without a second validation: the signature
    check accepts only an enveloped ``ds:Signature`` as the root's last child,
    which the schemas make optional, so the signed bytes are that valid
    document without it. ``tree`` is ``xml`` already parsed by the caller
    (see :func:`~signing.xmldsig.verify_xml_signature`), so it is not parsed
    again, and the check removes the signature from it. With both, the model
    is read from that tree.

    Raises VerificationError when ``xml`` is not XML or carries no signature,
    and DocumentTooLargeError above ``documents.max_xml_bytes``.
    """
    config = _config(settings)
    limit = config.documents.max_xml_bytes
    if len(xml) > limit:
        raise DocumentTooLargeError(size=len(xml), limit=limit)
    signing_settings = config.section("signing", SigningSettings)
    check = verify_xml_signature(xml, allow_sha1=signing_settings.allow_sha1, tree=tree)
    problems = list(check.problems)

    cert = check.certificate
    info = describe_certificate(cert) if cert is not None else None
    signer = SignerInfo.from_certificate(cert, info) if cert is not None else None

    now = dt.datetime.now(dt.timezone.utc)
    # NOTE: the XAdES signing time is the signer's own claim, not a time-stamp;
    # a receiver that has the time the gateway delivered the document should pass it as ``at``.
    checked_at = require_aware(at) if at is not None else check.signing_time
    if check.signing_time is not None and check.signing_time > now + _CLOCK_SKEW:
        problems.append(Problem("signing-time-future", N_("the signing time {time} is in the future; check the signer's clock"), params={"time": check.signing_time.isoformat()}))
    if checked_at is None and check.intact:
        checked_at = now
        problems.append(
            Problem(
                "signing-time-unknown",
                N_("the signature carries no signing time, so the certificate was checked as of now ({time}); give the time the document was signed or received (--at) to check it as of then"),
                params={"time": now.isoformat(timespec="seconds")},
            )
        )

    trusted = False
    revoked: bool | None = None
    revocation_accepted = False
    warnings: list[Problem] = []
    if check.intact and cert is not None and info is not None and checked_at is not None:
        trusted, revoked, revocation_accepted = _check_certificate(check, info, checked_at, config, problems, warnings)

    document: Document | None = None
    policy_ok = False
    if check.intact and check.signed_bytes is not None and info is not None:
        # A tree the caller validated is read without a second parse: after the
        # check it contains what the signature covers, the document without its signature.
        document, policy_ok = _check_document(
            check.signed_bytes,
            info,
            config,
            signing_settings,
            expected_sender_bin,
            problems,
            validate=not schema_checked,
            root=check.root if schema_checked and tree is not None else None,
        )

    # The key usage rule runs both here and in the signatory policy: report it once.
    problems = list({_problem_key(problem): problem for problem in problems}.values())
    result = VerificationResult(
        intact=check.intact,
        trusted=trusted,
        revoked=revoked,
        signer=signer,
        signing_time=check.signing_time,
        checked_at=checked_at,
        algorithm=check.signature_method,
        policy_ok=policy_ok,
        problems=tuple(problems),
        revocation_accepted=revocation_accepted,
        warnings=tuple(warnings),
        document=document,
        signed_bytes=check.signed_bytes,
    )
    logger.info(
        "verified document: intact=%s trusted=%s revoked=%s policy=%s problems=%s",
        result.intact, result.trusted, result.revoked, result.policy_ok, ",".join(p.code for p in result.problems) or "-",
    )
    return result


def _check_certificate(
    check: SignatureCheck,
    info: CertificateInfo,
    at: dt.datetime,
    config: Config,
    problems: list[Problem],
    warnings: list[Problem],
) -> tuple[bool, bool | None, bool]:
    """Judge the signing certificate at ``at``; return (trusted, revoked, revocation accepted).

    Problems go to ``problems``, and the reasons of a revocation status that
    the policy accepts anyway go to ``warnings``.
    """
    cert = check.certificate
    assert cert is not None
    if not info.can_sign:
        problems.append(Problem("signing-certificate", N_("the certificate of {holder} is not a signing certificate (it lacks nonRepudiation or is for authentication only); sign with the RSA256_... signing key"), params={"holder": info.full_name or info.subject}))
    intermediates = tuple(other for other in check.certificates if other is not cert)
    validation = validate_path(cert, intermediates=intermediates, at=at, settings=config)
    problems.extend(validation.problems)
    warnings.extend(validation.warnings)
    if not validation.trusted:
        return False, None, False
    chain = validation.chain
    if len(chain) == 1:
        # The signer's certificate is itself an anchor. check_chain_revocation
        # skips the anchor, but the signer is always checked, against its issuer.
        anchors, configured_intermediates = load_trust_anchors(TrustSettings.from_config(config))
        chain = (cert, _find_issuer(cert, (*intermediates, *configured_intermediates, *anchors)))
    statuses = check_chain_revocation(chain, at=at, settings=config)
    for status in statuses:
        (problems if not status.acceptable or status.revoked else warnings).extend(status.problems)
    revoked, accepted = _combine_revocation(statuses)
    return True, revoked, accepted


def _find_issuer(cert: x509.Certificate, candidates: tuple[x509.Certificate, ...]) -> x509.Certificate:
    """Return the certificate among ``candidates`` that issued ``cert``, or ``cert`` itself when none did.

    With ``cert`` itself, :func:`signing.revocation.check_revocation` reports
    that the issuer is unknown (unless ``cert`` is self-signed), so the status
    is undetermined and ``[revocation] policy`` decides.
    """
    for candidate in candidates:
        if candidate != cert and candidate.subject == cert.issuer:
            try:
                cert.verify_directly_issued_by(candidate)
            except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
                continue
            return candidate
    return cert


def _check_document(
    signed_bytes: bytes,
    info: CertificateInfo,
    config: Config,
    signing_settings: SigningSettings,
    expected_sender_bin: str | None,
    problems: list[Problem],
    *,
    validate: bool = True,
    root: etree._Element | None = None,
) -> tuple[Document | None, bool]:
    """Read the signed document, from ``root`` when given, and apply the signatory policy; return (document, policy passed)."""
    try:
        if root is not None:
            from adapter.xml import read_tree

            document = read_tree(root)
        else:
            document = _parse_document(signed_bytes, config, validate=validate)
    except InvalidDocumentError as exc:
        problems.append(Problem("document-invalid", N_("the signed document is not a valid notification or roster: {reason}"), params={"reason": exc.localized()}))
        return None, False
    policy_problems = check_signatory(document, info, signing_settings)
    problems.extend(policy_problems)
    sender_bin = document.header.sender.bin
    if expected_sender_bin is not None and sender_bin != expected_sender_bin:
        problems.append(
            Problem(
                "sender-mismatch",
                N_("the document names the sender BIN {document_bin}, but it was expected from BIN {expected_bin}"),
                field="header.sender.bin",
                params={"document_bin": sender_bin or "-", "expected_bin": expected_sender_bin},
            )
        )
        return document, False
    return document, not policy_problems


def _problem_key(problem: Problem) -> tuple[object, ...]:
    params = tuple(sorted((name, str(value)) for name, value in problem.params.items()))
    return (problem.code, problem.message, problem.field, problem.location, params)


def _combine_revocation(statuses: tuple[RevocationStatus, ...]) -> tuple[bool | None, bool]:
    """Return (revoked, accepted) for the signer's certificate and the CAs above it.

    A revoked CA certificate revokes the signer's too. ``revoked`` is
    ``None`` when any status is unknown or was not checked.
    """
    if any(status.revoked for status in statuses):
        return True, False
    accepted = all(status.acceptable for status in statuses)
    if all(status.status is CertStatus.GOOD for status in statuses):
        return False, accepted
    return None, accepted


def sign_document(
    xml: bytes,
    signer: Signer,
    *,
    settings: Config | None = None,
    xades: bool | None = None,
    signing_time: dt.datetime | None = None,
) -> bytes:
    """Check that ``signer`` may sign the document ``xml``, then return it signed.

    Raises KeyUsageError for an authentication key, UnsupportedKeyError for
    a GOST key, SigningError for a certificate outside its validity at the
    signing time or revoked by then (checked only when ``[revocation]``
    names a source, see :func:`_reject_revoked`), InvalidDocumentError when ``xml`` is not a valid document
    and SignatoryPolicyError (``rule`` names the rule) when the policy fails.
    ``xades`` defaults to ``signing.xades``; ``signing_time`` to now.
    """
    config = _config(settings)
    signing_settings = config.section("signing", SigningSettings)
    cert = signer.certificate
    info = describe_certificate(cert)
    if info.is_gost:
        raise UnsupportedKeyError(N_("the key of {holder} is a GOST key; this build signs with RSA or EC keys only"), holder=info.full_name or info.subject)
    check_signing_usage(cert)
    when = require_aware(signing_time, "signing_time") if signing_time is not None else dt.datetime.now(dt.timezone.utc)
    if not info.is_valid_at(when):
        raise SigningError(
            N_("the certificate of {holder} is valid from {not_before} to {not_after}, not at the signing time {time}; renew the key"),
            holder=info.full_name or info.subject,
            not_before=info.not_before.date().isoformat(),
            not_after=info.not_after.date().isoformat(),
            time=when.isoformat(timespec="seconds"),
        )
    _reject_revoked(signer, when, config)
    document = _parse_document(xml, config)
    enforce_signatory(document, info, signing_settings)
    use_xades = signing_settings.xades if xades is None else xades
    signed = sign_xml(xml, signer, xades=use_xades, signing_time=when)
    logger.info("signed %s %s (xades=%s)", document.kind.value, document.header.number, use_xades)
    return signed


def _reject_revoked(signer: Signer, when: dt.datetime, config: Config) -> None:
    """Raise SigningError when a configured revocation source reports the signing certificate revoked at ``when``.

    The issuer is looked up among the key's own chain and the ``[trust]``
    certificates. Without a source, an issuer or a definite status, signing
    goes on, and the verification before sending reports the status.
    """
    settings = RevocationSettings.from_config(config)
    has_source = bool(settings.crl_files or settings.crl_urls or settings.ocsp_url or settings.fetch)
    if settings.policy == RevocationPolicy.OFF.value or not has_source:
        return
    cert = signer.certificate
    anchors, intermediates = load_trust_anchors(TrustSettings.from_config(config))
    issuer = _find_issuer(cert, (*getattr(signer, "chain", ()), *intermediates, *anchors))
    if issuer is cert:
        return
    status = check_revocation(cert, issuer, at=when, settings=settings)
    if status.revoked:
        raise SigningError(
            N_("the signing certificate {certificate} was revoked on {time} (reason: {reason}); it cannot sign, so sign with a valid key"),
            certificate=certificate_label(cert),
            time=status.revocation_time.isoformat(timespec="seconds") if status.revocation_time else "-",
            reason=status.revocation_reason or "-",
        )
