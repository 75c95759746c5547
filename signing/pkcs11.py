"""Signing keys on PKCS#11 tokens (Kaztoken, smart cards, SoftHSM2), named by ``pkcs11:`` URIs.

A URI follows RFC 7512, for example::

    pkcs11:token=NCA;object=signing-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin

Path attributes used: ``token`` (label), ``serial``, ``object`` (key label)
and ``id`` (key CKA_ID, percent-encoded bytes). Query attributes:
``module-path`` (the PKCS#11 library) and ``pin-source=file:...``. A
``pin-value`` in the URI is rejected, because a URI given on a command line
is visible to other users of the machine. The certificate is the token's
certificate object with the key's CKA_ID (or, without an id, its label).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from cryptography import x509

from adapter.errors import KeyLoadError, UnsupportedKeyError
from adapter.i18n import N_

from .algorithms import SignatureMethod
from .keys import PasswordSource, _check_method

__all__ = ["Pkcs11Signer", "Pkcs11Uri", "load_pkcs11_signer", "parse_pkcs11_uri"]

logger = logging.getLogger(__name__)

# DER DigestInfo prefix of SHA-256 (RFC 8017, section 9.2), for tokens without CKM_SHA256_RSA_PKCS.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


@dataclass(frozen=True, slots=True)
class Pkcs11Uri:
    """The parts of a ``pkcs11:`` URI this module uses."""

    token: str | None = None
    serial: str | None = None
    object: str | None = None
    id: bytes | None = None
    module_path: str | None = None
    pin_source: str | None = None


def parse_pkcs11_uri(uri: str) -> Pkcs11Uri:
    """Parse a ``pkcs11:`` URI (RFC 7512); raises KeyLoadError on a malformed or unsafe one."""
    if not uri.startswith("pkcs11:"):
        raise KeyLoadError(N_("{uri} is not a pkcs11: URI"), uri=uri)
    body = uri[len("pkcs11:"):]
    path, _, query = body.partition("?")
    values: dict[str, Any] = {}
    for part in filter(None, path.split(";")):
        name, sep, raw = part.partition("=")
        if not sep:
            raise KeyLoadError(N_("the pkcs11: URI attribute {attribute} has no value"), attribute=name)
        if name == "id":
            values["id"] = unquote_to_bytes(raw)
        elif name in ("token", "serial", "object"):
            values[name] = unquote(raw)
        # Other path attributes (manufacturer, model, library-*, type) narrow nothing here.
    for part in filter(None, query.split("&")):
        name, _, raw = part.partition("=")
        if name == "pin-value":
            raise KeyLoadError(N_("a PIN inside the pkcs11: URI is not accepted, because command lines are visible to other users; use pin-source=file:PATH, --password-file or --password-env"))
        if name == "module-path":
            values["module_path"] = unquote(raw)
        elif name == "pin-source":
            values["pin_source"] = unquote(raw)
    return Pkcs11Uri(**values)


_libraries_lock = threading.Lock()


def _library(module_path: str):
    import pkcs11

    with _libraries_lock:
        try:
            return pkcs11.lib(module_path)
        except pkcs11.PKCS11Error as exc:
            raise KeyLoadError(N_("failed to load the PKCS#11 library {path}: {reason}"), path=module_path, reason=str(exc) or type(exc).__name__) from exc


@dataclass(eq=False, repr=False)
class Pkcs11Signer:
    """A private key on a PKCS#11 token, with the session that uses it.

    The session stays logged in until :meth:`close` (or the end of a ``with``
    block); the PIN is not kept.
    """

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key_type: str
    source: str
    _session: Any = field(repr=False)
    _key: Any = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sign(self, data: bytes, method: SignatureMethod) -> bytes:
        """Sign ``data`` on the token with ``method`` (RSA-SHA256 or ECDSA-SHA256)."""
        from pkcs11 import Mechanism, PKCS11Error

        _check_method(self.key_type, method)
        digest = hashlib.sha256(data).digest()
        try:
            with self._lock:
                if self.key_type == "rsa":
                    return self._key.sign(_SHA256_DIGEST_INFO + digest, mechanism=Mechanism.RSA_PKCS)
                # CKM_ECDSA over the hash returns r || s, the XML-DSig form already.
                return self._key.sign(digest, mechanism=Mechanism.ECDSA)
        except PKCS11Error as exc:
            raise KeyLoadError(N_("the token failed to sign: {reason}"), reason=type(exc).__name__) from exc

    def close(self) -> None:
        """Log out and close the token session."""
        try:
            self._session.close()
        except Exception:  # noqa: BLE001 - closing a session that the token already dropped
            logger.debug("closing the PKCS#11 session failed", exc_info=True)

    def __enter__(self) -> Pkcs11Signer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Pkcs11Signer(source={self.source!r}, key_type={self.key_type!r}, serial={self.certificate.serial_number:x})"


def load_pkcs11_signer(uri: str, *, pin: PasswordSource | None, module: str | None = None) -> Pkcs11Signer:
    """Open the token named by ``uri``, log in with ``pin`` and find the key and its certificate.

    The PIN comes from ``pin-source=file:...`` in the URI when present, else
    from ``pin``. ``module`` is the PKCS#11 library when the URI has no
    ``module-path``.
    """
    import pkcs11
    from pkcs11 import KeyType, ObjectClass

    parts = parse_pkcs11_uri(uri)
    module_path = parts.module_path or module
    if not module_path:
        raise KeyLoadError(N_("the pkcs11: URI names no PKCS#11 library; add ?module-path=/path/to/library.so or set signing.pkcs11_module"))
    if parts.pin_source:
        if not parts.pin_source.startswith("file:"):
            raise KeyLoadError(N_("pin-source {value} is not supported; use pin-source=file:PATH"), value=parts.pin_source)
        source = PasswordSource.from_file(unquote(parts.pin_source[len("file:"):]).removeprefix("//"))
    else:
        source = pin or PasswordSource.prompt(parts.token or "token")
    library = _library(module_path)
    label = parts.token or None
    try:
        token = library.get_token(token_label=label, token_serial=parts.serial.encode() if parts.serial else None)
    except (pkcs11.NoSuchToken, pkcs11.MultipleTokensReturned) as exc:
        raise KeyLoadError(N_("no single PKCS#11 token matches {uri}; check token= and serial= and that the token is inserted"), uri=_public(uri)) from exc
    try:
        session = token.open(user_pin=source.read().decode("utf-8"))
    except pkcs11.UserAlreadyLoggedIn:
        # NOTE: PKCS#11 logins are per process, so while another session of this
        # process is logged in, the token does not check this PIN again.
        session = token.open()
    except pkcs11.PinIncorrect as exc:
        raise KeyLoadError(N_("wrong PIN for the token {token} (PIN from {source}); check the PIN"), token=token.label, source=source.describe()) from exc
    except pkcs11.PKCS11Error as exc:
        raise KeyLoadError(N_("failed to log in to the token {token}: {reason}"), token=token.label, reason=type(exc).__name__) from exc
    try:
        key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=parts.object, id=parts.id)
        certificate, chain = _certificates(session, key, parts)
        key_type = {KeyType.RSA: "rsa", KeyType.EC: "ec"}.get(key.key_type)
        if key_type is None:
            raise UnsupportedKeyError(N_("the key in {uri} is a {algorithm} key; this build signs with RSA or EC keys"), uri=_public(uri), algorithm=str(key.key_type))
    except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned) as exc:
        session.close()
        raise KeyLoadError(N_("no single private key matches {uri}; check object= and id="), uri=_public(uri)) from exc
    except Exception:
        session.close()
        raise
    logger.debug("opened PKCS#11 key on token %s (%s)", token.label, key_type)
    return Pkcs11Signer(certificate, chain, key_type, _public(uri), session, key)


def _certificates(session, key, parts: Pkcs11Uri) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    from pkcs11 import Attribute, ObjectClass

    key_id = key[Attribute.ID]
    all_certs = []
    for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
        der = obj[Attribute.VALUE]
        all_certs.append((obj, x509.load_der_x509_certificate(der)))
    own = [cert for obj, cert in all_certs if key_id and obj[Attribute.ID] == key_id]
    if not own and parts.object:
        own = [cert for obj, cert in all_certs if obj[Attribute.LABEL] == parts.object]
    if len(own) != 1:
        raise KeyLoadError(N_("the token has no single certificate for the key {uri}; store the certificate with the key's CKA_ID"), uri=_public(f"pkcs11:object={parts.object or ''}"))
    certificate = own[0]
    chain = tuple(cert for _, cert in all_certs if cert != certificate and _is_ca(cert))
    return certificate, chain


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _public(uri: str) -> str:
    """Return the URI without its query (module path and PIN source), for messages."""
    return uri.partition("?")[0]
