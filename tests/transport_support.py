"""Keys, certificates and servers shared by the tests of adapter.transport and adapter.service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from signing.keys import Pkcs12Signer


@dataclass(frozen=True)
class KeyPair:
    """A private key with its self-issued certificate, and a signer on it."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    signer: Pkcs12Signer


def make_key_pair(common_name: str, *, kind: str = "rsa", valid_days: int = 30) -> KeyPair:
    """Generate a key and a certificate valid from yesterday for ``valid_days`` days."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .sign(key, hashes.SHA256())
    )
    return KeyPair(key, certificate, Pkcs12Signer(certificate, (), kind, f"{common_name} test key", key))


def gateway_settings(url: str, **overrides):
    """Client settings for a loopback server: short timeouts and near-zero backoff."""
    from adapter.transport.settings import GatewaySettings

    values = {
        "endpoint": url,
        "sender_id": "KZ-TEST-SENDER",
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "retry_attempts": 3,
        "retry_base": 0.001,
        "retry_cap": 0.01,
    }
    values.update(overrides)
    return GatewaySettings(**values)
