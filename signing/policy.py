"""Who may sign which document: the signatory policy.

A notification is signed by the first head of the sending body or by a
person with signing rights (a deputy head). A staff roster may be signed by
any employee of the sender who has a signing certificate. In both cases the
certificate's BIN is the sender's BIN, its IIN is the signatory's IIN and its
holder's name is the signatory's name. NCA RK certificates show "first head" and "signing
rights" but not "deputy", so the ``[[signing.signatories]]`` list, when it has
an entry for the sender, decides who is head and who is deputy.

The same rules run before signing (:func:`enforce_signatory`, which raises)
and on verification (:func:`check_signatory`, which lists problems).
"""

from __future__ import annotations

from adapter.errors import Problem, SignatoryPolicyError
from adapter.i18n import N_
from adapter.model import Document, DocumentKind, SignatoryRole

from .certificates import CertificateInfo
from .settings import SigningSettings

__all__ = ["check_signatory", "enforce_signatory", "names_agree"]


def names_agree(document_name: str, certificate_name: str) -> bool:
    """Return whether two full names are the same person's name.

    Case, ``ё``/``е`` and word order are tolerated; Kazakh letters are kept as
    they are (``Ә`` is not ``А``).
    """
    return _name_words(document_name) == _name_words(certificate_name)


def _name_words(name: str) -> list[str]:
    return sorted(name.casefold().replace("ё", "е").split())


def _mask(iin: str | None) -> str:
    """Return an IIN with its middle digits hidden, for messages."""
    if not iin:
        return "-"
    return iin[:4] + "*" * max(len(iin) - 6, 0) + iin[-2:] if len(iin) > 6 else iin


def check_signatory(document: Document, cert_info: CertificateInfo, settings: SigningSettings | None = None) -> tuple[Problem, ...]:
    """Return the problems that keep the holder of ``cert_info`` from signing ``document``; empty when allowed."""
    settings = settings or SigningSettings()
    problems: list[Problem] = []
    signatory = document.signatory
    sender_bin = document.header.sender.bin
    holder = cert_info.full_name or cert_info.subject

    def add(code: str, message: str, field: str | None = None, **params: object) -> None:
        problems.append(Problem(code, message, field=field, params={"holder": holder, **params}))

    if not cert_info.can_sign:
        add("signing-certificate", N_("the certificate of {holder} is not a signing certificate (it lacks nonRepudiation or is for authentication only); sign with the RSA256_... signing key"))
    if not cert_info.is_employee or cert_info.bin is None:
        add("employee-certificate", N_("the certificate of {holder} belongs to an individual, not to an employee of the sending organisation; sign with a certificate issued to the organisation's employee"))
    if not sender_bin:
        add("sender-bin", N_("the document does not give the sender's BIN, so the signer's organisation cannot be checked; fill in header.sender.bin"), field="header.sender.bin")
    elif cert_info.bin is not None and cert_info.bin != sender_bin:
        add("bin-mismatch", N_("the certificate of {holder} is issued for BIN {certificate_bin}, but the sender's BIN in the document is {document_bin}; sign with a key of the sending organisation"), field="header.sender.bin", certificate_bin=cert_info.bin, document_bin=sender_bin)
    if cert_info.iin != signatory.iin:
        add("iin-mismatch", N_("the certificate's IIN {certificate_iin} differs from the signatory's IIN {document_iin} in the document; the signatory named in the document must sign"), field="signatory.iin", certificate_iin=_mask(cert_info.iin), document_iin=_mask(signatory.iin))
    if cert_info.full_name and not names_agree(signatory.full_name, cert_info.full_name):
        add("name-mismatch", N_("the signatory's full name in the document does not match the certificate holder {holder}; write the name as it is in the certificate"), field="signatory.full_name")

    listed = settings.signatories_of(sender_bin)
    if document.kind is DocumentKind.NOTIFICATION:
        _check_notification_role(document, cert_info, listed, add)
    elif listed is not None and signatory.role is not SignatoryRole.EMPLOYEE:
        _check_listed_role(signatory.role, signatory.iin, listed, add)
    return tuple(problems)


def _check_notification_role(document: Document, cert_info: CertificateInfo, listed, add) -> None:
    role = document.signatory.role
    if role is SignatoryRole.EMPLOYEE:
        add("role-not-allowed", N_("a notification is signed by the head or a deputy head, but the document gives the signatory's role as employee; set signatory.role to head or deputy"), field="signatory.role")
    if not cert_info.has_signing_rights:
        add("head-or-deputy", N_("the certificate of {holder} shows neither first head nor signing rights, so it cannot sign a notification; the head or a deputy head must sign"))
    if listed is not None:
        if role is not SignatoryRole.EMPLOYEE:
            _check_listed_role(role, cert_info.iin, listed, add)
        return
    # Without a list only the certificate can tell: "first head" or "signing rights".
    if role is SignatoryRole.HEAD and cert_info.has_signing_rights and not cert_info.is_head:
        add("role-mismatch", N_("the document gives the signatory's role as {role}, but the certificate of {holder} says {certificate_role}; correct signatory.role"), field="signatory.role", role="head", certificate_role="signing rights")
    elif role is SignatoryRole.DEPUTY and cert_info.is_head:
        add("role-mismatch", N_("the document gives the signatory's role as {role}, but the certificate of {holder} says {certificate_role}; correct signatory.role"), field="signatory.role", role="deputy", certificate_role="first head")


def _check_listed_role(role: SignatoryRole, iin: str | None, listed, add) -> None:
    """Check ``role`` against the configured heads and deputies of the sender."""
    if iin in listed.heads:
        actual = SignatoryRole.HEAD
    elif iin in listed.deputies:
        actual = SignatoryRole.DEPUTY
    else:
        add("signatory-list", N_("IIN {iin} is not among the head and deputies configured for BIN {bin} in [[signing.signatories]]; the head or a listed deputy must sign, or add the IIN to the list"), iin=_mask(iin), bin=listed.bin)
        return
    if actual is not role:
        add("role-mismatch", N_("the document gives the signatory's role as {role}, but [[signing.signatories]] lists IIN {iin} as {listed_role} of BIN {bin}; correct signatory.role"), field="signatory.role", role=role.value, iin=_mask(iin), listed_role=actual.value, bin=listed.bin)


def enforce_signatory(document: Document, cert_info: CertificateInfo, settings: SigningSettings | None = None) -> None:
    """Raise SignatoryPolicyError for the first failed rule when the holder of ``cert_info`` may not sign ``document``.

    ``error.rule`` is the rule's code; ``error.problems`` lists every failed rule.
    """
    problems = check_signatory(document, cert_info, settings)
    if problems:
        first = problems[0]
        error = SignatoryPolicyError(first.message, rule=first.code, **first.params)
        error.problems = problems  # type: ignore[attr-defined]
        raise error
