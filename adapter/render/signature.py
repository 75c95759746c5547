"""Contents of the signature block of a rendered form.

:class:`SignatureSummary` is built from a verification result
(:class:`signing.verify.VerificationResult`) or from any object with the same
attributes, so rendering does not depend on the signing package being
installed or on which version of it produced the result.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["SignatureState", "SignatureSummary"]


class SignatureState(enum.StrEnum):
    """Overall state of a signature, from best to worst."""

    VALID = "valid"
    """Intact, the certificate path leads to a trusted root, not revoked."""
    UNTRUSTED = "untrusted"
    """Intact, but the certificate is not trusted (unknown root, expired, no signing rights)."""
    WITH_PROBLEMS = "with-problems"
    """Intact and trusted, but a check found problems, such as a signer who may not sign this document."""
    REVOCATION_UNKNOWN = "revocation-unknown"
    """Intact and trusted, but whether the certificate was revoked is unknown and the policy does not accept that."""
    REVOKED = "revoked"
    """Intact, but the certificate was revoked at the signing time."""
    INVALID = "invalid"
    """The signature does not match the document: changed after signing or broken."""
    NOT_VERIFIED = "not-verified"
    """The document carries a signature that was not checked."""


@dataclass(frozen=True, slots=True)
class SignatureSummary:
    """The facts about one signature that a rendered form shows.

    ``problems`` and ``warnings`` hold the verification's findings already
    rendered as text in the language of the form.
    """

    state: SignatureState
    full_name: str | None = None
    iin: str | None = None
    bin: str | None = None
    role: str | None = None
    certificate_serial: str | None = None
    certificate_issuer: str | None = None
    signing_time: dt.datetime | None = None
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @classmethod
    def not_verified(cls) -> SignatureSummary:
        """Return the summary of a signature that was present but not checked."""
        return cls(SignatureState.NOT_VERIFIED)

    @classmethod
    def from_verification(cls, result: Any, *, language: str | None = None) -> SignatureSummary:
        """Build a summary from a verification result.

        ``result`` needs ``intact``, ``trusted`` and ``revoked`` flags and
        may have ``revocation_accepted`` (an unknown revocation status
        accepted by the policy), ``signer`` (with ``full_name``, ``iin``, ``bin``, ``role``
        or ``roles``, ``serial_number``, ``issuer``, or a ``certificate``
        holding them), ``signing_time``, ``problems`` and ``warnings``. A
        :class:`SignatureSummary` passes through unchanged.
        """
        if isinstance(result, SignatureSummary):
            return result
        signer = getattr(result, "signer", None)
        certificate = getattr(signer, "certificate", None)
        return cls(
            state=_state(result),
            full_name=_text(_first_attribute((signer, certificate), "full_name")),
            iin=_text(_first_attribute((signer, certificate), "iin")),
            bin=_text(_first_attribute((signer, certificate), "bin")),
            role=_role(signer, certificate),
            certificate_serial=_serial(_first_attribute((signer, certificate), "serial_number", "certificate_serial", "serial")),
            certificate_issuer=_text(_first_attribute((signer, certificate), "issuer", "certificate_issuer")),
            signing_time=getattr(result, "signing_time", None) or getattr(signer, "signing_time", None),
            problems=tuple(_problem_text(problem, language) for problem in getattr(result, "problems", None) or ()),
            warnings=tuple(_problem_text(problem, language) for problem in getattr(result, "warnings", None) or ()),
        )


def _state(result: Any) -> SignatureState:
    if not getattr(result, "intact", False):
        return SignatureState.INVALID
    revoked = getattr(result, "revoked", None)
    if revoked:
        return SignatureState.REVOKED
    if not getattr(result, "trusted", False):
        return SignatureState.UNTRUSTED
    if revoked is None and not getattr(result, "revocation_accepted", False):
        return SignatureState.REVOCATION_UNKNOWN
    if getattr(result, "problems", None) or getattr(result, "policy_ok", True) is False:
        return SignatureState.WITH_PROBLEMS
    return SignatureState.VALID


def _first_attribute(sources: Iterable[Any], *names: str) -> Any:
    for source in sources:
        if source is None:
            continue
        for name in names:
            value = getattr(source, name, None)
            if value not in (None, "", ()):
                return value
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    rfc4514 = getattr(value, "rfc4514_string", None)
    if callable(rfc4514):
        return str(rfc4514())
    return str(value)


def _serial(value: Any) -> str | None:
    """Format a certificate serial number as upper-case hex, the way NCA RK prints it."""
    if isinstance(value, int):
        return format(value, "X")
    return _text(value)


def _role(signer: Any, certificate: Any) -> str | None:
    role = _first_attribute((signer, certificate), "role")
    if role is None:
        roles = _first_attribute((signer, certificate), "roles")
        if roles:
            role = next(iter(roles))
    if role is None:
        return None
    return str(getattr(role, "value", role))


def _problem_text(problem: Any, language: str | None) -> str:
    localized = getattr(problem, "localized", None)
    if callable(localized):
        return str(localized(language))
    return str(problem)
