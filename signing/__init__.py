"""Signing and verification of edms-adapter documents on the Kazakh PKI.

Names are imported on first use, so ``import signing`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> module that defines it. Keep sorted by module, then name.
_EXPORTS: dict[str, str] = {
    "CanonicalizationMethod": "signing.algorithms",
    "DigestMethod": "signing.algorithms",
    "SignatureMethod": "signing.algorithms",
    "Transform": "signing.algorithms",
    "CertificateInfo": "signing.certificates",
    "HolderRole": "signing.certificates",
    "KeyAlgorithm": "signing.certificates",
    "KeyUsageBit": "signing.certificates",
    "describe_certificate": "signing.certificates",
    "load_certificates": "signing.certificates",
    "PasswordSource": "signing.keys",
    "Pkcs12Signer": "signing.keys",
    "Signer": "signing.keys",
    "check_signing_usage": "signing.keys",
    "load_pkcs12": "signing.keys",
    "load_signer": "signing.keys",
    "Pkcs11Signer": "signing.pkcs11",
    "parse_pkcs11_uri": "signing.pkcs11",
    "check_signatory": "signing.policy",
    "enforce_signatory": "signing.policy",
    "names_agree": "signing.policy",
    "CertStatus": "signing.revocation",
    "RevocationCache": "signing.revocation",
    "RevocationPolicy": "signing.revocation",
    "RevocationSettings": "signing.revocation",
    "RevocationStatus": "signing.revocation",
    "check_chain_revocation": "signing.revocation",
    "check_revocation": "signing.revocation",
    "SignatoryList": "signing.settings",
    "SigningSettings": "signing.settings",
    "OcspResponder": "signing.testpki",
    "TestPki": "signing.testpki",
    "PathCache": "signing.trust",
    "PathValidation": "signing.trust",
    "TrustSettings": "signing.trust",
    "validate_path": "signing.trust",
    "SignerInfo": "signing.verify",
    "VerificationResult": "signing.verify",
    "sign_document": "signing.verify",
    "verify_document": "signing.verify",
    "SignatureCheck": "signing.xmldsig",
    "sign_xml": "signing.xmldsig",
    "verify_xml_signature": "signing.xmldsig",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'signing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
