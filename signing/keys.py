"""Signing keys: PKCS#12 containers as NCA RK issues them, and PKCS#11 tokens.

A :class:`Signer` is what :func:`signing.xmldsig.sign_xml` needs: the signing
certificate, the chain known with it, the key type and a ``sign`` method. The
key itself never leaves the signer object, and passwords and PINs come from a
:class:`PasswordSource` (an environment variable, a file or a prompt), never
from the command line, and are never logged.

NCA RK containers use legacy PKCS#12 encryption (3DES key bag, RC2-40
certificate bag, SHA-1 MAC), which :mod:`cryptography` opens. It cannot open
a GOST container and reports that as an invalid password. :func:`load_pkcs12`
then reads the container's ASN.1 itself: it checks the MAC and decrypts the
key bag with the PKCS#12 key derivation of RFC 7292, appendix B. So a GOST
key is reported as GOST, and a wrong password as a wrong password.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import pkcs12

from adapter.errors import KeyLoadError, KeyUsageError, SigningError, UnsupportedKeyError
from adapter.i18n import N_, translate

from .algorithms import SignatureMethod
from .certificates import describe_certificate, is_gost_oid

__all__ = [
    "PasswordSource",
    "Pkcs12Signer",
    "Signer",
    "check_signing_usage",
    "ec_signature_to_xmldsig",
    "load_pkcs12",
    "load_signer",
]

logger = logging.getLogger(__name__)

# Names of the GOST families, for messages; the key OID decides which one applies.
_KAZAKH_GOST_2004_ARC = "1.2.398.3.10.1.1.1."
_KAZAKH_GOST_2015_ARC = "1.2.398.3.10.1.1.2."


@runtime_checkable
class Signer(Protocol):
    """A private key that signs, with its certificate.

    ``sign`` returns the value of ``ds:SignatureValue`` before base64: a
    PKCS#1 v1.5 signature for RSA, and ``r || s`` (each padded to the curve
    size, RFC 4050) for ECDSA.
    """

    @property
    def certificate(self) -> x509.Certificate: ...

    @property
    def chain(self) -> tuple[x509.Certificate, ...]: ...

    @property
    def key_type(self) -> str: ...

    def sign(self, data: bytes, method: SignatureMethod) -> bytes: ...


@dataclass(frozen=True, slots=True)
class PasswordSource:
    """Source of a key password or token PIN: ``env``, ``file``, ``prompt`` or ``value``.

    ``value`` is for library callers that already have the secret. The CLI
    offers only the other three, so a password never appears on a command
    line. The secret is read when :meth:`read` is called, and ``repr`` never
    shows it.
    """

    kind: str
    name: str = ""
    secret: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, name: str) -> PasswordSource:
        """Read the password from the environment variable ``name``."""
        return cls("env", name)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PasswordSource:
        """Read the password from the first line of the file at ``path``."""
        return cls("file", os.fspath(path))

    @classmethod
    def prompt(cls, label: str = "") -> PasswordSource:
        """Ask for the password on the terminal without echo; ``label`` names the key."""
        return cls("prompt", label)

    @classmethod
    def from_value(cls, secret: str | bytes) -> PasswordSource:
        """Use a password the caller already holds."""
        return cls("value", "", secret.encode("utf-8") if isinstance(secret, str) else secret)

    def read(self) -> bytes:
        """Return the password as UTF-8 bytes; raises KeyLoadError when it is not available."""
        if self.kind == "value":
            return self.secret or b""
        if self.kind == "env":
            value = os.environ.get(self.name)
            if value is None:
                raise KeyLoadError(
                    N_("the environment variable {name} that should contain the key password is not set; set it, or use --password-file or the prompt"),
                    name=self.name,
                )
            return value.encode("utf-8")
        if self.kind == "file":
            try:
                text = Path(self.name).read_bytes()
            except OSError as exc:
                raise KeyLoadError(
                    N_("failed to read the password file {path}: {reason}"),
                    path=self.name,
                    reason=exc.strerror or type(exc).__name__,
                ) from exc
            return text.splitlines()[0] if text.strip() else b""
        if self.kind == "prompt":
            label = self.name or "key"
            # Without a terminal getpass would read the piped input and warn in English.
            if sys.stdin is None or not sys.stdin.isatty():
                raise KeyLoadError(
                    N_("no terminal to ask for the password of {key}; give it in an environment variable or a file (edms-adapter options --password-env NAME or --password-file FILE)"),
                    key=label,
                )
            return getpass.getpass(translate(N_("Password for {key}: "), None, key=label)).encode("utf-8")
        raise ValueError(f"unknown password source kind {self.kind!r}")

    def describe(self) -> str:
        """Return where the password comes from, for messages (never the password)."""
        if self.kind == "env":
            return f"${self.name}"
        if self.kind == "file":
            return self.name
        return self.kind


def _as_password_source(password: PasswordSource | str | bytes | None) -> PasswordSource | None:
    if password is None or isinstance(password, PasswordSource):
        return password
    return PasswordSource.from_value(password)


def ec_signature_to_xmldsig(der_signature: bytes, key_size: int) -> bytes:
    """Convert a DER ECDSA signature to the ``r || s`` form of XML-DSig (RFC 4050)."""
    r, s = decode_dss_signature(der_signature)
    size = (key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _check_method(key_type: str, method: SignatureMethod) -> None:
    if method.is_legacy or method.is_gost:
        raise SigningError(N_("this build does not sign with {method}; use RSA-SHA256 or ECDSA-SHA256"), method=method.value)
    if method.key_type != key_type:
        raise SigningError(
            N_("the signature method {method} does not fit a {key_type} key"),
            method=method.value,
            key_type=key_type.upper(),
        )


@dataclass(frozen=True, slots=True, repr=False)
class Pkcs12Signer:
    """A key read from a PKCS#12 file; ``source`` is the file name, for messages."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key_type: str
    source: str
    _key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    def sign(self, data: bytes, method: SignatureMethod) -> bytes:
        """Sign ``data`` with ``method`` (RSA-SHA256 or ECDSA-SHA256)."""
        _check_method(self.key_type, method)
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, asym_padding.PKCS1v15(), method.hash_algorithm())
        der = self._key.sign(data, ec.ECDSA(method.hash_algorithm()))
        return ec_signature_to_xmldsig(der, self._key.curve.key_size)

    def __repr__(self) -> str:
        return f"Pkcs12Signer(source={self.source!r}, key_type={self.key_type!r}, serial={self.certificate.serial_number:x})"


def check_signing_usage(cert: x509.Certificate) -> None:
    """Raise KeyUsageError unless ``cert`` is a certificate for document signatures.

    An NCA RK authentication certificate (EKU clientAuth, keyUsage without
    nonRepudiation) is rejected: a signature made with it is not a legally
    binding signature.
    """
    info = describe_certificate(cert)
    if info.is_authentication_only:
        raise KeyUsageError(
            N_("the certificate of {holder} (serial {serial}) is an authentication certificate (clientAuth, no nonRepudiation) and cannot sign documents; use the signing key (the RSA256_... file), not the AUTH_RSA256_... one"),
            holder=info.full_name or info.subject,
            serial=f"{info.serial_number:x}",
            reason="authentication-only",
        )
    if not info.can_sign:
        raise KeyUsageError(
            N_("the certificate of {holder} (serial {serial}) does not allow document signatures: it needs keyUsage digitalSignature and nonRepudiation or EKU emailProtection"),
            holder=info.full_name or info.subject,
            serial=f"{info.serial_number:x}",
            reason="no-signing-usage",
        )


def load_pkcs12(path: str | os.PathLike[str], password: PasswordSource | str | bytes | None) -> Pkcs12Signer:
    """Open a PKCS#12 file and return its RSA or EC key as a signer.

    Raises KeyLoadError (missing file, wrong password, no key) and
    UnsupportedKeyError (GOST or another algorithm this build does not sign
    with). The key usage is not checked here; :func:`load_signer` does that.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise KeyLoadError(N_("failed to read the key file {path}: {reason}"), path=str(file), reason=exc.strerror or type(exc).__name__) from exc
    source = _as_password_source(password) or PasswordSource.prompt(file.name)
    secret = source.read()
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except ValueError as exc:
        raise _explain_pkcs12_failure(data, secret, str(file), source) from exc
    if cert is None:
        raise KeyLoadError(N_("the key file {path} contains no certificate; export the key together with its certificate"), path=str(file))
    if key is None:
        raise KeyLoadError(N_("the key file {path} contains no private key"), path=str(file))
    if isinstance(key, rsa.RSAPrivateKey):
        key_type = "rsa"
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        key_type = "ec"
    else:
        raise UnsupportedKeyError(
            N_("the key in {path} is a {algorithm} key; this build signs with RSA or EC keys"),
            path=str(file),
            algorithm=type(key).__name__.removeprefix("_").replace("PrivateKey", ""),
        )
    logger.debug("opened PKCS#12 key %s (%s)", file.name, key_type)
    return Pkcs12Signer(cert, tuple(extra), key_type, str(file), key)


def load_signer(
    spec: str | os.PathLike[str],
    *,
    password: PasswordSource | str | bytes | None,
    module: str | None = None,
    check_usage: bool = True,
) -> Signer:
    """Open the signing key named by ``spec``: a PKCS#12 file path or a ``pkcs11:`` URI.

    ``password`` is the container password or the token PIN; a ``pkcs11:``
    URI may name a PIN file with ``pin-source=file:...`` instead. ``module``
    is the PKCS#11 library when the URI has no ``module-path``. With
    ``check_usage`` (the default) an authentication key raises KeyUsageError.
    """
    text = os.fspath(spec)
    if text.startswith("pkcs11:"):
        from .pkcs11 import load_pkcs11_signer

        signer: Signer = load_pkcs11_signer(text, pin=_as_password_source(password), module=module)
    else:
        signer = load_pkcs12(text, password)
    if check_usage:
        try:
            check_signing_usage(signer.certificate)
        except KeyUsageError:
            close = getattr(signer, "close", None)
            if close is not None:
                close()
            raise
    return signer


# --- Why a PKCS#12 file did not open ---------------------------------------------------------


def _explain_pkcs12_failure(data: bytes, secret: bytes, path: str, source: PasswordSource) -> Exception:
    """Return the error to raise when :mod:`cryptography` could not open a PKCS#12 file."""
    from asn1crypto import pkcs12 as asn1_pkcs12

    try:
        pfx = asn1_pkcs12.Pfx.load(data)
        pfx.native  # noqa: B018 - forces a full parse, so garbage fails here
    except Exception as exc:  # asn1crypto raises ValueError, TypeError and others on garbage
        logger.debug("not a PKCS#12 structure: %s", exc)
        return KeyLoadError(N_("{path} is not a PKCS#12 key container (.p12/.pfx)"), path=path)

    mac_ok = _verify_mac(pfx, secret)
    gost_oid = _find_gost_oid(pfx, secret) or _scan_for_gost_oid(data)
    if gost_oid is not None:
        error = UnsupportedKeyError(
            N_("the key in {path} is a {algorithm} key (OID {oid}); this build signs with RSA or EC keys only, so use an RSA key (RSA256_... file) from NCA RK"),
            path=path,
            algorithm=_gost_family(gost_oid),
            oid=gost_oid,
        )
        # The certificate bags open without the key, so callers can still describe the holder.
        error.certificates = _certificates_in(pfx, secret)
        return error
    if mac_ok is False:
        return KeyLoadError(
            N_("wrong password for the key file {path} (password from {source}); check the password"),
            path=path,
            source=source.describe(),
        )
    return KeyLoadError(N_("the key file {path} could not be opened: its key or certificate uses an unsupported format"), path=path)


def _gost_family(oid: str) -> str:
    if oid.startswith(_KAZAKH_GOST_2004_ARC):
        return "GOST 34.310-2004"
    if oid.startswith(_KAZAKH_GOST_2015_ARC):
        return "GOST R 34.10-2015"
    if oid.startswith("1.2.643."):
        return "GOST R 34.10-2012"
    return "GOST"


def _bmp_password(secret: bytes) -> bytes:
    """Return the password as PKCS#12 wants it for its key derivation: UTF-16BE with a terminating NUL."""
    return secret.decode("utf-8").encode("utf-16-be") + b"\x00\x00"


def pkcs12_kdf(secret: bytes, salt: bytes, purpose: int, iterations: int, size: int, hash_name: str = "sha1") -> bytes:
    """Derive key material with the PKCS#12 key derivation function (RFC 7292, appendix B.2).

    ``purpose`` is 1 for a cipher key, 2 for an IV and 3 for a MAC key.
    """
    block_size = hashlib.new(hash_name).block_size
    password = _bmp_password(secret) if secret else b""

    def stretch(value: bytes) -> bytes:
        if not value:
            return b""
        length = block_size * -(-len(value) // block_size)
        return (value * (length // len(value) + 1))[:length]

    diversifier = bytes([purpose]) * block_size
    block = bytearray(stretch(salt) + stretch(password))
    output = b""
    while len(output) < size:
        hashed = hashlib.new(hash_name, diversifier + bytes(block)).digest()
        for _ in range(iterations - 1):
            hashed = hashlib.new(hash_name, hashed).digest()
        output += hashed
        extended = int.from_bytes(stretch(hashed), "big")
        for start in range(0, len(block), block_size):
            chunk = int.from_bytes(block[start : start + block_size], "big")
            chunk = (chunk + extended + 1) % (1 << (8 * block_size))
            block[start : start + block_size] = chunk.to_bytes(block_size, "big")
    return output[:size]


def _verify_mac(pfx, secret: bytes) -> bool | None:
    """Return whether the container's MAC matches ``secret``; ``None`` when it cannot be checked."""
    mac_data = pfx["mac_data"]
    if not mac_data or mac_data.native is None:
        return None
    hash_name = mac_data["mac"]["digest_algorithm"]["algorithm"].native
    if hash_name not in ("sha1", "sha256", "sha384", "sha512"):
        return None
    content = pfx["auth_safe"]["content"]
    authenticated = content.native if hasattr(content, "native") else None
    if not isinstance(authenticated, bytes):
        return None
    iterations = mac_data["iterations"].native or 1
    salt = mac_data["mac_salt"].native
    size = hashlib.new(hash_name).digest_size
    key = pkcs12_kdf(secret, salt, 3, iterations, size, hash_name)
    expected = mac_data["mac"]["digest"].native
    return hmac.compare_digest(hmac.new(key, authenticated, hash_name).digest(), expected)


def _decrypt(algorithm, ciphertext: bytes, secret: bytes) -> bytes | None:
    """Decrypt a PKCS#12 bag with 3DES (PKCS#12 PBE) or AES (PBES2); ``None`` when not possible."""
    try:
        kdf = algorithm.kdf
        cipher_name = algorithm.encryption_cipher
    except (ValueError, NotImplementedError, KeyError):
        return None
    try:
        if kdf == "pkcs12_kdf" and cipher_name == "tripledes":
            salt = algorithm.kdf_salt
            iterations = algorithm.kdf_iterations
            key = pkcs12_kdf(secret, salt, 1, iterations, 24)
            iv = pkcs12_kdf(secret, salt, 2, iterations, 8)
            cipher: Callable[[], object] = lambda: Cipher(TripleDES(key), modes.CBC(iv))  # noqa: E731
            block = 64
        elif kdf == "pbkdf2" and cipher_name == "aes":
            hash_name = algorithm.kdf_hmac
            key = hashlib.pbkdf2_hmac(hash_name, secret, algorithm.kdf_salt, algorithm.kdf_iterations, algorithm.key_length)
            iv = algorithm.encryption_iv
            cipher = lambda: Cipher(algorithms.AES(key), modes.CBC(iv))  # noqa: E731
            block = 128
        else:
            return None
        decryptor = cipher().decryptor()  # type: ignore[attr-defined]
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(block).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except (ValueError, TypeError, KeyError):
        return None


def _find_gost_oid(pfx, secret: bytes) -> str | None:
    """Return a GOST algorithm OID found in a key or certificate of the container, or ``None``."""
    from asn1crypto import pkcs12 as asn1_pkcs12

    try:
        safes = list(pfx.authenticated_safe)
    except (ValueError, TypeError):
        return None
    for content_info in safes:
        kind = content_info["content_type"].native
        if kind == "data":
            raw = content_info["content"].native
        elif kind == "encrypted_data":
            encrypted = content_info["content"]["encrypted_content_info"]
            algorithm = encrypted["content_encryption_algorithm"]
            if is_gost_oid(algorithm["algorithm"].dotted):
                return algorithm["algorithm"].dotted
            raw = _decrypt(algorithm, encrypted["encrypted_content"].native or b"", secret)
        else:
            raw = None
        if not raw:
            continue
        try:
            bags = asn1_pkcs12.SafeContents.load(raw)
            for bag in bags:
                found = _gost_oid_in_bag(bag, secret)
                if found:
                    return found
        except (ValueError, TypeError, KeyError):
            continue
    return None


def _certificates_in(pfx, secret: bytes) -> tuple[x509.Certificate, ...]:
    """Return the certificates of the container's certificate bags that are plain or decrypt with ``secret``."""
    from asn1crypto import pkcs12 as asn1_pkcs12

    certificates: list[x509.Certificate] = []
    try:
        safes = list(pfx.authenticated_safe)
    except (ValueError, TypeError):
        return ()
    for content_info in safes:
        kind = content_info["content_type"].native
        if kind == "data":
            raw = content_info["content"].native
        elif kind == "encrypted_data":
            encrypted = content_info["content"]["encrypted_content_info"]
            raw = _decrypt(encrypted["content_encryption_algorithm"], encrypted["encrypted_content"].native or b"", secret)
        else:
            raw = None
        if not raw:
            continue
        try:
            for bag in asn1_pkcs12.SafeContents.load(raw):
                if bag["bag_id"].native == "cert_bag":
                    certificates.append(x509.load_der_x509_certificate(bag["bag_value"]["cert_value"].parsed.dump()))
        except (ValueError, TypeError, KeyError):
            continue
    return tuple(certificates)


class _PrivateKeyInfo(asn1_core.Sequence):
    """PKCS#8 PrivateKeyInfo with the key kept as octets, so any algorithm OID parses."""

    _fields = [
        ("version", asn1_core.Integer),
        ("private_key_algorithm", asn1_keys.PrivateKeyAlgorithm),
        ("private_key", asn1_core.OctetString),
        ("attributes", asn1_core.Any, {"implicit": 0, "optional": True}),
    ]


def _key_oid(private_key_info: bytes) -> str:
    return _PrivateKeyInfo.load(private_key_info)["private_key_algorithm"]["algorithm"].dotted


def _gost_oid_in_bag(bag, secret: bytes) -> str | None:
    bag_id = bag["bag_id"].native
    value = bag["bag_value"]
    if bag_id == "pkcs8_shrouded_key_bag":
        algorithm = value["encryption_algorithm"]
        if is_gost_oid(algorithm["algorithm"].dotted):
            return algorithm["algorithm"].dotted
        plain = _decrypt(algorithm, value["encrypted_data"].native, secret)
        if plain is None:
            return None
        oid = _key_oid(plain)
        return oid if is_gost_oid(oid) else None
    if bag_id == "key_bag":
        oid = _key_oid(value.dump())
        return oid if is_gost_oid(oid) else None
    if bag_id == "cert_bag":
        certificate = value["cert_value"].parsed
        oid = certificate["tbs_certificate"]["subject_public_key_info"]["algorithm"]["algorithm"].dotted
        return oid if is_gost_oid(oid) else None
    return None


# DER prefixes of the GOST OID arcs: 1.2.398.3.10 (Kazakhstan) and 1.2.643.7.1 (GOST R 34.10-2012).
_GOST_DER_PREFIXES = (bytes.fromhex("2a830e030a"), bytes.fromhex("2a85030701"))


def _scan_for_gost_oid(data: bytes) -> str | None:
    """Find a GOST OID anywhere in the unencrypted bytes, as a last resort (e.g. a GOST-encrypted bag)."""
    from asn1crypto import core

    for prefix in _GOST_DER_PREFIXES:
        start = data.find(prefix)
        while start >= 2:
            if data[start - 2] == 0x06:
                length = data[start - 1]
                try:
                    return core.ObjectIdentifier.load(data[start - 2 : start + length]).dotted
                except ValueError:
                    pass
            start = data.find(prefix, start + 1)
    return None

