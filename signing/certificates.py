"""Certificates of Kazakhstan's PKI: their holders, organisations, roles and allowed uses.

NCA RK certificates name the holder in the subject (``CN`` = surname and first
name, ``SURNAME``, ``GIVENNAME`` = patronymic, ``SERIALNUMBER=IIN<12 digits>``),
the organisation of an employee in ``O`` and ``OU=BIN<12 digits>``, and the
holder's role in the organisation as extended key usage OIDs under
``1.2.398.3.3.4.1``. :func:`describe_certificate` reads all of that into a
:class:`CertificateInfo`; it never fails on a GOST certificate, whose public
key ``cryptography`` cannot load.

The IIN and BIN are read as they are, without checking the check digit,
because NCA's own test certificates carry numbers that fail it.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from adapter.errors import InputError
from adapter.i18n import N_, translate

__all__ = [
    "CERTIFICATE_SUFFIXES",
    "CertificateInfo",
    "HolderRole",
    "KeyAlgorithm",
    "KeyUsageBit",
    "certificate_label",
    "describe_certificate",
    "fingerprint_sha256",
    "gost_algorithm_oid",
    "is_gost_oid",
    "load_certificates",
    "readable_name",
]

#: File name suffixes :func:`load_certificates` reads from a folder.
CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der")

EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string

# Attribute names used by NCA's own tools, in place of cryptography's
# lowerCamel defaults (``surname``, ``givenName``) or bare OIDs.
_ATTRIBUTE_NAMES = {
    NameOID.COMMON_NAME: "CN",
    NameOID.SURNAME: "SURNAME",
    NameOID.GIVEN_NAME: "GIVENNAME",
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
    NameOID.COUNTRY_NAME: "C",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.EMAIL_ADDRESS: "E",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.BUSINESS_CATEGORY: "BUSINESSCATEGORY",
}


class HolderRole(enum.Enum):
    """Role of the holder, from NCA RK's extended key usage OIDs."""

    INDIVIDUAL = "1.2.398.3.3.4.1.1"
    #: Present in every certificate of an employee of a legal entity.
    LEGAL_ENTITY_EMPLOYEE = "1.2.398.3.3.4.1.2"
    FIRST_HEAD = "1.2.398.3.3.4.1.2.1"
    #: A person with the right to sign on behalf of the organisation, such as a deputy head.
    SIGNING_RIGHTS = "1.2.398.3.3.4.1.2.2"
    FINANCIAL_SIGNER = "1.2.398.3.3.4.1.2.3"
    HR_EMPLOYEE = "1.2.398.3.3.4.1.2.4"
    EMPLOYEE = "1.2.398.3.3.4.1.2.5"


class KeyAlgorithm(enum.Enum):
    """Public key algorithm of a certificate."""

    RSA = "rsa"
    EC = "ec"
    ED25519 = "ed25519"
    ED448 = "ed448"
    DSA = "dsa"
    #: Kazakhstan's GOST 34.310-2004 (NCA's ``GOSTKNCA`` keys).
    GOST_34310_2004 = "gost34310-2004"
    #: GOST R 34.10-2015 with a 256-bit key, as NCA RK issues it.
    GOST_2015_256 = "gost34.10-2015-256"
    #: GOST R 34.10-2015 with a 512-bit key (NCA's ``GOST512`` keys).
    GOST_2015_512 = "gost34.10-2015-512"
    #: GOST R 34.10-2012 with a 256-bit key (Russian OIDs).
    GOST_2012_256 = "gost34.10-2012-256"
    #: GOST R 34.10-2012 with a 512-bit key (Russian OIDs).
    GOST_2012_512 = "gost34.10-2012-512"
    #: A GOST variant under Kazakhstan's OID arc that is not listed above.
    GOST_OTHER = "gost"
    UNKNOWN = "unknown"

    @property
    def is_gost(self) -> bool:
        """Whether this is one of the GOST algorithms, which ``cryptography`` cannot use."""
        return self.value.startswith("gost")


# Signature and key OIDs of GOST algorithms. 1.2.398.3.10.1.1.2.2 is the
# GOST 2015 public key OID whatever the size, so the size comes from the
# certificate's signature algorithm when the key OID alone cannot tell.
_GOST_OIDS = {
    "1.2.398.3.10.1.1.1.2": KeyAlgorithm.GOST_34310_2004,
    "1.2.398.3.10.1.1.2.3.1": KeyAlgorithm.GOST_2015_256,
    "1.2.398.3.10.1.1.2.3.2": KeyAlgorithm.GOST_2015_512,
    "1.2.643.7.1.1.1.1": KeyAlgorithm.GOST_2012_256,
    "1.2.643.7.1.1.1.2": KeyAlgorithm.GOST_2012_512,
}
_GOST_2015_KEY_OID = "1.2.398.3.10.1.1.2.2"
_KAZAKH_GOST_ARC = "1.2.398.3.10."


def is_gost_oid(oid: str) -> bool:
    """Return whether ``oid`` (dotted) names a GOST key or signature algorithm."""
    return oid in _GOST_OIDS or oid == _GOST_2015_KEY_OID or oid.startswith(_KAZAKH_GOST_ARC) or oid.startswith("1.2.643.7.1.")


class KeyUsageBit(enum.Enum):
    """One bit of the keyUsage extension, named as in RFC 5280."""

    DIGITAL_SIGNATURE = "digitalSignature"
    NON_REPUDIATION = "nonRepudiation"
    KEY_ENCIPHERMENT = "keyEncipherment"
    DATA_ENCIPHERMENT = "dataEncipherment"
    KEY_AGREEMENT = "keyAgreement"
    KEY_CERT_SIGN = "keyCertSign"
    CRL_SIGN = "cRLSign"
    ENCIPHER_ONLY = "encipherOnly"
    DECIPHER_ONLY = "decipherOnly"


_KEY_USAGE_ATTRIBUTES = {
    KeyUsageBit.DIGITAL_SIGNATURE: "digital_signature",
    KeyUsageBit.NON_REPUDIATION: "content_commitment",
    KeyUsageBit.KEY_ENCIPHERMENT: "key_encipherment",
    KeyUsageBit.DATA_ENCIPHERMENT: "data_encipherment",
    KeyUsageBit.KEY_AGREEMENT: "key_agreement",
    KeyUsageBit.KEY_CERT_SIGN: "key_cert_sign",
    KeyUsageBit.CRL_SIGN: "crl_sign",
}


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """Holder, organisation, roles and allowed uses read from one certificate.

    Names are as written in the certificate (NCA writes them in capitals).
    ``iin`` and ``bin`` are the digits after the ``IIN``/``BIN`` prefixes,
    not checked. ``key_usage`` is ``None`` when the certificate has no
    keyUsage extension, which allows every use.
    """

    subject: str
    issuer: str
    serial_number: int
    common_name: str | None
    full_name: str | None
    surname: str | None
    first_name: str | None
    patronymic: str | None
    iin: str | None
    bin: str | None
    organisation: str | None
    email: str | None
    country: str | None
    roles: tuple[HolderRole, ...]
    extended_key_usages: tuple[str, ...]
    key_usage: frozenset[KeyUsageBit] | None
    certificate_policies: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    key_algorithm: KeyAlgorithm
    #: Size of the public key in bits, when known.
    key_size: int | None
    #: Dotted OID of the public key algorithm (from SubjectPublicKeyInfo).
    key_algorithm_oid: str
    signature_algorithm_oid: str
    is_ca: bool
    subject_key_identifier: str | None
    sha256_fingerprint: str
    crl_urls: tuple[str, ...]
    ocsp_urls: tuple[str, ...]
    ca_issuer_urls: tuple[str, ...]

    @property
    def is_head(self) -> bool:
        """Whether the holder is the first head of the organisation."""
        return HolderRole.FIRST_HEAD in self.roles

    @property
    def has_signing_rights(self) -> bool:
        """Whether the holder may sign for the organisation: the first head or a person with signing rights."""
        return HolderRole.FIRST_HEAD in self.roles or HolderRole.SIGNING_RIGHTS in self.roles

    @property
    def is_employee(self) -> bool:
        """Whether the certificate belongs to an employee of a legal entity rather than to an individual."""
        return any(role is not HolderRole.INDIVIDUAL for role in self.roles)

    @property
    def is_individual(self) -> bool:
        """Whether the certificate belongs to a private individual."""
        return HolderRole.INDIVIDUAL in self.roles

    @property
    def is_gost(self) -> bool:
        """Whether the key is a GOST key, which this build cannot sign or verify with."""
        return self.key_algorithm.is_gost

    @property
    def is_authentication_only(self) -> bool:
        """Whether the key is for authentication (clientAuth) and not for signatures (no nonRepudiation)."""
        non_repudiation = self.key_usage is not None and KeyUsageBit.NON_REPUDIATION in self.key_usage
        return CLIENT_AUTH in self.extended_key_usages and not non_repudiation

    @property
    def can_sign(self) -> bool:
        """Whether the key may make document signatures.

        That is EKU emailProtection or keyUsage nonRepudiation + digitalSignature,
        on a key that is not for authentication only and whose keyUsage, when
        present, allows signatures at all.
        """
        if self.is_authentication_only:
            return False
        usage = self.key_usage
        if usage is not None and not usage & {KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.NON_REPUDIATION}:
            return False
        if EMAIL_PROTECTION in self.extended_key_usages:
            return True
        return usage is not None and {KeyUsageBit.DIGITAL_SIGNATURE, KeyUsageBit.NON_REPUDIATION} <= usage

    def is_valid_at(self, moment: dt.datetime) -> bool:
        """Return whether ``moment`` (timezone-aware) lies inside the validity period."""
        return self.not_before <= moment <= self.not_after


def readable_name(name: x509.Name) -> str:
    """Return a distinguished name as ``CN=..., SURNAME=..., ...`` in the order it is encoded.

    RFC 4514 strings list the attributes in reverse; the encoded order is the
    one NCA's tools and users see.
    """
    parts = []
    for attribute in name:
        label = _ATTRIBUTE_NAMES.get(attribute.oid, attribute.oid.dotted_string)
        value = attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
        parts.append(f"{label}={value}")
    return ", ".join(parts)


def gost_algorithm_oid(cert: x509.Certificate) -> str | None:
    """Return the GOST OID of the certificate's signature or public key, or ``None`` when neither is GOST."""
    signature_oid = cert.signature_algorithm_oid.dotted_string
    if is_gost_oid(signature_oid):
        return signature_oid
    try:
        key_oid = cert.public_key_algorithm_oid.dotted_string
    except ValueError:
        return None
    return key_oid if is_gost_oid(key_oid) else None


_LABEL = N_("{serial} issued by {issuer}")


class CertificateLabel(str):
    """``0x<serial> issued by <issuer>``: a certificate's name in messages, without the holder's personal data.

    The string value is English. ``str()`` and ``format()`` render it in the
    current language, so a problem created in one language and shown in
    another names the certificate in the language shown.
    """

    serial: str
    issuer: str

    def __new__(cls, cert: x509.Certificate) -> CertificateLabel:
        serial = f"0x{cert.serial_number:x}"
        issuer = readable_name(cert.issuer)
        label = super().__new__(cls, _LABEL.format(serial=serial, issuer=issuer))
        label.serial = serial
        label.issuer = issuer
        return label

    def __str__(self) -> str:
        return translate(_LABEL, serial=self.serial, issuer=self.issuer)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def certificate_label(cert: x509.Certificate) -> CertificateLabel:
    """Return the name of ``cert`` for messages: its serial number and its issuer, named as the issuer."""
    return CertificateLabel(cert)


# Certificates compare and hash by their DER encoding, so a certificate met
# again, such as a trust anchor on every path validation, is hashed once.
@functools.lru_cache(maxsize=4096)
def fingerprint_sha256(cert: x509.Certificate) -> bytes:
    """Return the SHA-256 fingerprint of ``cert`` (of its DER encoding)."""
    return cert.fingerprint(hashes.SHA256())


# Certificates compare and hash by their DER encoding, so the receiving
# service reads each sender's certificate once, not on every request.
@functools.lru_cache(maxsize=256)
def describe_certificate(cert: x509.Certificate) -> CertificateInfo:
    """Read the holder, the organisation, the roles and the allowed uses of ``cert``."""
    subject = cert.subject
    common_name = _attribute(subject, NameOID.COMMON_NAME)
    surname = _attribute(subject, NameOID.SURNAME)
    patronymic = _attribute(subject, NameOID.GIVEN_NAME)
    first_name = _first_name(common_name, surname)
    extended_key_usages = _extended_key_usages(cert)
    key_algorithm, key_size, key_algorithm_oid = _key_algorithm(cert)
    crl_urls, ocsp_urls, ca_issuer_urls = _distribution_urls(cert)
    return CertificateInfo(
        subject=readable_name(subject),
        issuer=readable_name(cert.issuer),
        serial_number=cert.serial_number,
        common_name=common_name,
        full_name=_full_name(common_name, surname, first_name, patronymic),
        surname=surname,
        first_name=first_name,
        patronymic=patronymic,
        iin=_prefixed_number(_attribute(subject, NameOID.SERIAL_NUMBER), "IIN"),
        bin=_prefixed_number(_attribute(subject, NameOID.ORGANIZATIONAL_UNIT_NAME, prefix="BIN"), "BIN"),
        organisation=_attribute(subject, NameOID.ORGANIZATION_NAME),
        email=_email(cert),
        country=_attribute(subject, NameOID.COUNTRY_NAME),
        roles=tuple(role for role in HolderRole if role.value in extended_key_usages),
        extended_key_usages=extended_key_usages,
        key_usage=_key_usage(cert),
        certificate_policies=_policies(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_algorithm=key_algorithm,
        key_size=key_size,
        key_algorithm_oid=key_algorithm_oid,
        signature_algorithm_oid=cert.signature_algorithm_oid.dotted_string,
        is_ca=_is_ca(cert),
        subject_key_identifier=_subject_key_identifier(cert),
        sha256_fingerprint=fingerprint_sha256(cert).hex(),
        crl_urls=crl_urls,
        ocsp_urls=ocsp_urls,
        ca_issuer_urls=ca_issuer_urls,
    )


def load_certificates(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    """Read certificates from a PEM file (one or more), a DER file or a folder of such files.

    A folder is read in name order, taking the files ending in
    :data:`CERTIFICATE_SUFFIXES`. Raises :class:`~adapter.errors.InputError`
    naming the file when it is missing or contains no certificate.
    """
    source = Path(path)
    if source.is_dir():
        certificates: list[x509.Certificate] = []
        for child in sorted(source.iterdir()):
            if child.is_file() and child.suffix.lower() in CERTIFICATE_SUFFIXES:
                certificates.extend(_read_certificate_file(child))
        return certificates
    return _read_certificate_file(source)


def _read_certificate_file(path: Path) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            N_("failed to read the certificate file {value}: {reason}; check the path"),
            field="certificate",
            value=str(path),
            code="certificate-unreadable",
            reason=exc.strerror or str(exc),
        ) from exc
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise InputError(
            N_("{value} is not a PEM or DER X.509 certificate; give a .pem, .crt, .cer or .der certificate file"),
            field="certificate",
            value=str(path),
            code="certificate-invalid",
        ) from exc


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier, *, prefix: str | None = None) -> str | None:
    values = [attribute.value for attribute in name.get_attributes_for_oid(oid) if isinstance(attribute.value, str)]
    if prefix is not None:
        values = [value for value in values if value.upper().startswith(prefix)] or values
    return values[0].strip() if values else None


def _prefixed_number(value: str | None, prefix: str) -> str | None:
    """Return the digits of ``IIN123456789011`` / ``BIN...``; a bare 12-digit value is taken as it is."""
    if value is None:
        return None
    text = value.strip()
    if text.upper().startswith(prefix):
        text = text[len(prefix):].strip()
    elif not (len(text) == 12 and text.isdigit()):
        return None
    return text if text.isdigit() else None


def _first_name(common_name: str | None, surname: str | None) -> str | None:
    """Derive the first name from ``CN = SURNAME FIRSTNAME`` when the CN starts with the surname."""
    if not common_name or not surname:
        return None
    words = common_name.split()
    surname_words = surname.split()
    if len(words) <= len(surname_words) or [w.casefold() for w in words[: len(surname_words)]] != [w.casefold() for w in surname_words]:
        return None
    return words[len(surname_words)]


def _full_name(common_name: str | None, surname: str | None, first_name: str | None, patronymic: str | None) -> str | None:
    if surname and first_name:
        return " ".join(part for part in (surname, first_name, patronymic) if part)
    if common_name and patronymic and not common_name.casefold().endswith(patronymic.casefold()):
        return f"{common_name} {patronymic}"
    return common_name or surname


def _extension(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        # A malformed or duplicated extension: describe the rest of the certificate.
        return None


def _extended_key_usages(cert: x509.Certificate) -> tuple[str, ...]:
    value = _extension(cert, ExtensionOID.EXTENDED_KEY_USAGE)
    if not isinstance(value, x509.ExtendedKeyUsage):
        return ()
    return tuple(oid.dotted_string for oid in value)


def _key_usage(cert: x509.Certificate) -> frozenset[KeyUsageBit] | None:
    value = _extension(cert, ExtensionOID.KEY_USAGE)
    if not isinstance(value, x509.KeyUsage):
        return None
    bits = {bit for bit, attribute in _KEY_USAGE_ATTRIBUTES.items() if getattr(value, attribute)}
    if value.key_agreement:
        # encipher_only/decipher_only are defined (and readable) only with keyAgreement.
        if value.encipher_only:
            bits.add(KeyUsageBit.ENCIPHER_ONLY)
        if value.decipher_only:
            bits.add(KeyUsageBit.DECIPHER_ONLY)
    return frozenset(bits)


def _policies(cert: x509.Certificate) -> tuple[str, ...]:
    value = _extension(cert, ExtensionOID.CERTIFICATE_POLICIES)
    if not isinstance(value, x509.CertificatePolicies):
        return ()
    return tuple(policy.policy_identifier.dotted_string for policy in value)


def _is_ca(cert: x509.Certificate) -> bool:
    value = _extension(cert, ExtensionOID.BASIC_CONSTRAINTS)
    return isinstance(value, x509.BasicConstraints) and value.ca


def _subject_key_identifier(cert: x509.Certificate) -> str | None:
    value = _extension(cert, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    return value.digest.hex() if isinstance(value, x509.SubjectKeyIdentifier) else None


def _email(cert: x509.Certificate) -> str | None:
    value = _extension(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if isinstance(value, x509.SubjectAlternativeName):
        addresses = value.get_values_for_type(x509.RFC822Name)
        if addresses:
            return addresses[0]
    return _attribute(cert.subject, NameOID.EMAIL_ADDRESS)


def _uris(names: Iterable[x509.GeneralName] | None) -> list[str]:
    return [name.value for name in names or () if isinstance(name, x509.UniformResourceIdentifier)]


def _distribution_urls(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    crl_urls: list[str] = []
    points = _extension(cert, ExtensionOID.CRL_DISTRIBUTION_POINTS)
    if isinstance(points, x509.CRLDistributionPoints):
        for point in points:
            crl_urls.extend(_uris(point.full_name))
    ocsp_urls: list[str] = []
    ca_issuer_urls: list[str] = []
    access = _extension(cert, ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    if isinstance(access, x509.AuthorityInformationAccess):
        for description in access:
            if description.access_method == x509.AuthorityInformationAccessOID.OCSP:
                ocsp_urls.extend(_uris([description.access_location]))
            elif description.access_method == x509.AuthorityInformationAccessOID.CA_ISSUERS:
                ca_issuer_urls.extend(_uris([description.access_location]))
    return tuple(crl_urls), tuple(ocsp_urls), tuple(ca_issuer_urls)


def _key_algorithm(cert: x509.Certificate) -> tuple[KeyAlgorithm, int | None, str]:
    """Return the key algorithm, the key size and the key OID, without loading a GOST key."""
    try:
        key_oid = cert.public_key_algorithm_oid.dotted_string
    except ValueError:
        key_oid = ""
    signature_oid = cert.signature_algorithm_oid.dotted_string
    if is_gost_oid(key_oid):
        algorithm = _GOST_OIDS.get(key_oid)
        if algorithm is None and key_oid == _GOST_2015_KEY_OID:
            algorithm = _GOST_OIDS.get(signature_oid)
        if algorithm is None:
            algorithm = KeyAlgorithm.GOST_OTHER
        sizes = {KeyAlgorithm.GOST_2015_256: 256, KeyAlgorithm.GOST_2015_512: 512, KeyAlgorithm.GOST_2012_256: 256, KeyAlgorithm.GOST_2012_512: 512}
        return algorithm, sizes.get(algorithm), key_oid
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        return KeyAlgorithm.UNKNOWN, None, key_oid
    if isinstance(key, rsa.RSAPublicKey):
        return KeyAlgorithm.RSA, key.key_size, key_oid
    if isinstance(key, ec.EllipticCurvePublicKey):
        return KeyAlgorithm.EC, key.key_size, key_oid
    if isinstance(key, ed25519.Ed25519PublicKey):
        return KeyAlgorithm.ED25519, 256, key_oid
    if isinstance(key, ed448.Ed448PublicKey):
        return KeyAlgorithm.ED448, 456, key_oid
    if isinstance(key, dsa.DSAPublicKey):
        return KeyAlgorithm.DSA, key.key_size, key_oid
    return KeyAlgorithm.UNKNOWN, None, key_oid
