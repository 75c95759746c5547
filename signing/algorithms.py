"""XML-DSig algorithm identifiers, as :class:`enum.Enum` values that are the W3C URIs.

Only the algorithms this build computes have a hash and a key type. The GOST
URIs of Kazakhstan's PKI are recognised, so a GOST signature is reported as
"GOST, not supported by this build" instead of "unknown algorithm".
SHA-1 is accepted on verification only when the caller allows it
(``signing.allow_sha1``); nothing is ever signed with SHA-1.
"""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives import hashes

__all__ = [
    "CanonicalizationMethod",
    "DigestMethod",
    "SignatureMethod",
    "Transform",
]


class DigestMethod(enum.Enum):
    """``ds:DigestMethod/@Algorithm`` values."""

    SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
    SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
    GOST34311 = "http://www.w3.org/2001/04/xmldsig-more#gost34311"
    GOST34112015_256 = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-256"
    GOST34112015_512 = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512"

    @property
    def is_gost(self) -> bool:
        """True for the GOST hash functions, which this build does not compute."""
        return self.name.startswith("GOST")

    @property
    def is_legacy(self) -> bool:
        """True for SHA-1, accepted on verification only by explicit setting."""
        return self is DigestMethod.SHA1

    def hash_algorithm(self) -> hashes.HashAlgorithm:
        """Return the :mod:`cryptography` hash; raises ``ValueError`` for GOST."""
        if self is DigestMethod.SHA256:
            return hashes.SHA256()
        if self is DigestMethod.SHA1:
            return hashes.SHA1()  # noqa: S303 - verification of legacy signatures only
        raise ValueError(f"{self.value} is not supported by this build")


class SignatureMethod(enum.Enum):
    """``ds:SignatureMethod/@Algorithm`` values."""

    RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
    RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    GOST34310_GOST34311 = "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311"
    GOST34102015_256 = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-256"
    GOST34102015_512 = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512"

    @property
    def is_gost(self) -> bool:
        """True for the GOST signature algorithms, which this build does not compute."""
        return self.name.startswith("GOST")

    @property
    def is_legacy(self) -> bool:
        """True for RSA with SHA-1, accepted on verification only by explicit setting."""
        return self is SignatureMethod.RSA_SHA1

    @property
    def key_type(self) -> str:
        """Key type the method needs: ``rsa``, ``ec`` or ``gost``."""
        if self.is_gost:
            return "gost"
        return "ec" if self is SignatureMethod.ECDSA_SHA256 else "rsa"

    def hash_algorithm(self) -> hashes.HashAlgorithm:
        """Return the :mod:`cryptography` hash; raises ``ValueError`` for GOST."""
        if self in (SignatureMethod.RSA_SHA256, SignatureMethod.ECDSA_SHA256):
            return hashes.SHA256()
        if self is SignatureMethod.RSA_SHA1:
            return hashes.SHA1()  # noqa: S303 - verification of legacy signatures only
        raise ValueError(f"{self.value} is not supported by this build")

    @classmethod
    def for_key_type(cls, key_type: str) -> SignatureMethod:
        """Return the method this build signs with for a ``rsa`` or ``ec`` key."""
        if key_type == "ec":
            return cls.ECDSA_SHA256
        if key_type == "rsa":
            return cls.RSA_SHA256
        raise ValueError(f"no signature method for key type {key_type!r}")


class CanonicalizationMethod(enum.Enum):
    """``ds:CanonicalizationMethod`` and canonicalization ``ds:Transform`` values."""

    EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#"
    EXCLUSIVE_WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
    C14N_1_0 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    C14N_1_0_WITH_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"

    @property
    def exclusive(self) -> bool:
        """True for exclusive XML canonicalization."""
        return self in (CanonicalizationMethod.EXCLUSIVE, CanonicalizationMethod.EXCLUSIVE_WITH_COMMENTS)

    @property
    def with_comments(self) -> bool:
        """True when comments are kept."""
        return self.value.endswith("WithComments")


class Transform(enum.Enum):
    """``ds:Transform`` values other than canonicalization."""

    ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
