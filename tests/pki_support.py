"""Helpers shared by the tests of certificates, trust and revocation."""

from __future__ import annotations

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding


def with_algorithms(cert: x509.Certificate, key_oid: str, signature_oid: str) -> x509.Certificate:
    """Return a copy of ``cert`` re-encoded with other key and signature algorithm OIDs (signature no longer valid).

    This is how a GOST certificate looks to ``cryptography``: it parses, but
    its public key cannot be loaded.
    """
    parsed = asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))
    tbs = parsed["tbs_certificate"]
    tbs["subject_public_key_info"]["algorithm"] = {"algorithm": key_oid}
    tbs["signature"] = {"algorithm": signature_oid}
    parsed["signature_algorithm"] = {"algorithm": signature_oid}
    return x509.load_der_x509_certificate(parsed.dump(force=True))
