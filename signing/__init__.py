"""Signing and verification of edms-adapter documents on the Kazakh PKI.

Names are imported on first use, so ``import signing`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> module that defines it. Keep sorted by module, then name.
_EXPORTS: dict[str, str] = {
    "CertificateInfo": "signing.certificates",
    "HolderRole": "signing.certificates",
    "KeyAlgorithm": "signing.certificates",
    "KeyUsageBit": "signing.certificates",
    "describe_certificate": "signing.certificates",
    "load_certificates": "signing.certificates",
    "CertStatus": "signing.revocation",
    "RevocationCache": "signing.revocation",
    "RevocationPolicy": "signing.revocation",
    "RevocationSettings": "signing.revocation",
    "RevocationStatus": "signing.revocation",
    "check_revocation": "signing.revocation",
    "OcspResponder": "signing.testpki",
    "TestPki": "signing.testpki",
    "PathValidation": "signing.trust",
    "TrustSettings": "signing.trust",
    "validate_path": "signing.trust",
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
