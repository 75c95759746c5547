"""WS-Security body signature in the gateway's (SmartBridge) profile.

The profile, as the gateway applies and checks it:

- ``soap:Body`` carries ``wsu:Id="id-<uuid>"``;
- the ``wsse:Security`` header has ``soap:mustUnderstand="1"`` and contains
  exactly one ``ds:Signature`` with one ``Reference`` to the body;
- exclusive C14N canonicalizes ``SignedInfo`` and is the reference's only
  transform;
- ``KeyInfo/wsse:SecurityTokenReference/wsse:KeyIdentifier`` carries the
  whole signing certificate in base64 (ValueType ``#X509v3``, EncodingType
  ``#Base64Binary``);
- there is no ``wsu:Timestamp`` and no ``wsse:BinarySecurityToken``.

:func:`sign_envelope` and :func:`verify_envelope` work on lxml trees;
:class:`BodySignature` plugs them into zeep as its ``wsse`` object.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from lxml import etree

from signing.algorithms import CanonicalizationMethod, DigestMethod, SignatureMethod
from signing.certificates import certificate_label

from ..errors import VerificationError
from ..i18n import N_
from .namespaces import DS_NS, SOAP11_ENV_NS, SOAP12_ENV_NS, WSSE_NS, WSU_NS

if TYPE_CHECKING:
    from signing.keys import Signer

__all__ = [
    "BodySignature",
    "EnvelopeSignatureError",
    "Trust",
    "X509_TOKEN_TYPE",
    "BASE64_ENCODING",
    "sign_envelope",
    "verify_envelope",
]

X509_TOKEN_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
BASE64_ENCODING = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
_EXC_C14N = CanonicalizationMethod.EXCLUSIVE.value
_EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"

#: Trusted signers of envelopes: pinned certificates, or a callback that
#: raises :class:`~adapter.errors.VerificationError` (or returns ``False``)
#: for a certificate it does not trust, e.g. one that checks the path to a
#: trust anchor and revocation.
Trust: TypeAlias = Iterable[x509.Certificate] | Callable[[x509.Certificate], object]

_WSU_ID = f"{{{WSU_NS}}}Id"


class EnvelopeSignatureError(VerificationError):
    """The WS-Security signature of an envelope is missing, invalid or untrusted.

    ``reason`` is ``missing``, ``malformed``, ``invalid`` or ``untrusted``.
    """

    def __init__(self, message: str, /, *, reason: str, **params: Any) -> None:
        super().__init__(message, reason=reason, **params)
        self.reason = reason


def _c14n(element: etree._Element, prefixes: list[str] | None = None) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False, inclusive_ns_prefixes=prefixes)


def _soap_parts(envelope: etree._Element) -> tuple[str, etree._Element]:
    """Return the SOAP envelope namespace and the Body, checking the envelope's shape."""
    qname = etree.QName(envelope)
    if qname.localname != "Envelope" or qname.namespace not in (SOAP11_ENV_NS, SOAP12_ENV_NS):
        raise EnvelopeSignatureError(N_("the message is not a SOAP envelope"), reason="malformed")
    soap_ns = qname.namespace
    bodies = envelope.findall(f"{{{soap_ns}}}Body")
    if len(bodies) != 1:
        raise EnvelopeSignatureError(N_("the SOAP envelope must have exactly one Body"), reason="malformed")
    return soap_ns, bodies[0]


def _raw_ecdsa(signature: bytes, key: ec.EllipticCurvePublicKey) -> bytes:
    """Return an ECDSA signature as XML-DSig's ``r || s``; DER input is converted."""
    size = (key.curve.key_size + 7) // 8
    if len(signature) == 2 * size:
        return signature
    r, s = decode_dss_signature(signature)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def sign_envelope(envelope: etree._Element, signer: Signer) -> etree._Element:
    """Sign the SOAP Body of ``envelope`` in place and return the envelope.

    A new ``wsu:Id`` is given to the Body and a ``wsse:Security`` header with
    the signature is added; an existing ``wsse:Security`` header is reused.
    """
    soap_ns, body = _soap_parts(envelope)
    method = SignatureMethod.for_key_type(signer.key_type)
    body_id = f"id-{uuid.uuid4()}"
    body.set(_WSU_ID, body_id)

    header = envelope.find(f"{{{soap_ns}}}Header")
    if header is None:
        header = etree.Element(f"{{{soap_ns}}}Header")
        envelope.insert(0, header)
    security = header.find(f"{{{WSSE_NS}}}Security")
    if security is None:
        security = etree.SubElement(header, f"{{{WSSE_NS}}}Security", nsmap={"wsse": WSSE_NS, "wsu": WSU_NS})
    security.set(f"{{{soap_ns}}}mustUnderstand", "1" if soap_ns == SOAP11_ENV_NS else "true")

    ds = {"ds": DS_NS}
    signature = etree.SubElement(security, f"{{{DS_NS}}}Signature", nsmap=ds)
    signed_info = etree.SubElement(signature, f"{{{DS_NS}}}SignedInfo")
    etree.SubElement(signed_info, f"{{{DS_NS}}}CanonicalizationMethod", Algorithm=_EXC_C14N)
    etree.SubElement(signed_info, f"{{{DS_NS}}}SignatureMethod", Algorithm=method.value)
    reference = etree.SubElement(signed_info, f"{{{DS_NS}}}Reference", URI=f"#{body_id}")
    transforms = etree.SubElement(reference, f"{{{DS_NS}}}Transforms")
    etree.SubElement(transforms, f"{{{DS_NS}}}Transform", Algorithm=_EXC_C14N)
    etree.SubElement(reference, f"{{{DS_NS}}}DigestMethod", Algorithm=DigestMethod.SHA256.value)
    digest = hashlib.sha256(_c14n(body)).digest()
    etree.SubElement(reference, f"{{{DS_NS}}}DigestValue").text = base64.b64encode(digest).decode("ascii")

    value = signer.sign(_c14n(signed_info), method)
    public_key = signer.certificate.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        value = _raw_ecdsa(value, public_key)
    etree.SubElement(signature, f"{{{DS_NS}}}SignatureValue").text = base64.b64encode(value).decode("ascii")

    key_info = etree.SubElement(signature, f"{{{DS_NS}}}KeyInfo")
    token_reference = etree.SubElement(key_info, f"{{{WSSE_NS}}}SecurityTokenReference")
    identifier = etree.SubElement(
        token_reference,
        f"{{{WSSE_NS}}}KeyIdentifier",
        EncodingType=BASE64_ENCODING,
        ValueType=X509_TOKEN_TYPE,
    )
    der = signer.certificate.public_bytes(serialization.Encoding.DER)
    identifier.text = base64.b64encode(der).decode("ascii")
    return envelope


def _only(parent: etree._Element, tag: str, what: str) -> etree._Element:
    found = parent.findall(tag)
    if len(found) != 1:
        raise EnvelopeSignatureError(
            N_("the WS-Security signature must have exactly one {element}, found {count}"),
            reason="malformed",
            element=what,
            count=len(found),
        )
    return found[0]


def _algorithm(element: etree._Element, enum_type: type, what: str) -> Any:
    uri = element.get("Algorithm", "")
    try:
        return enum_type(uri)
    except ValueError:
        raise EnvelopeSignatureError(
            N_("unsupported {element} algorithm {algorithm} in the WS-Security signature"),
            reason="malformed",
            element=what,
            algorithm=uri or "-",
        ) from None


def _prefix_list(element: etree._Element) -> list[str] | None:
    inclusive = element.find(f"{{{_EC_NS}}}InclusiveNamespaces")
    if inclusive is None:
        return None
    return [p for p in inclusive.get("PrefixList", "").split() if p != "#default"] or None


def _security_header(envelope: etree._Element, soap_ns: str) -> etree._Element:
    header = envelope.find(f"{{{soap_ns}}}Header")
    headers = [] if header is None else header.findall(f"{{{WSSE_NS}}}Security")
    # Headers addressed to another actor are not ours to check.
    ours = [h for h in headers if h.get(f"{{{soap_ns}}}actor") is None and h.get(f"{{{soap_ns}}}role") is None]
    if not ours:
        raise EnvelopeSignatureError(N_("the message has no WS-Security signature; the sender must sign the SOAP body"), reason="missing")
    if len(ours) > 1:
        raise EnvelopeSignatureError(N_("the message has more than one wsse:Security header"), reason="malformed")
    return ours[0]


def _certificate(signature: etree._Element) -> x509.Certificate:
    key_info = _only(signature, f"{{{DS_NS}}}KeyInfo", "ds:KeyInfo")
    identifier = key_info.find(f"{{{WSSE_NS}}}SecurityTokenReference/{{{WSSE_NS}}}KeyIdentifier")
    if identifier is None or identifier.get("ValueType") != X509_TOKEN_TYPE:
        raise EnvelopeSignatureError(
            N_("the WS-Security signature has no X509v3 KeyIdentifier with the signing certificate"),
            reason="malformed",
        )
    try:
        der = base64.b64decode("".join((identifier.text or "").split()), validate=True)
        return x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeSignatureError(
            N_("the certificate in the WS-Security KeyIdentifier cannot be read: {detail}"),
            reason="malformed",
            detail=str(exc),
        ) from exc


def _check_signature_value(
    certificate: x509.Certificate, method: SignatureMethod, value: bytes, data: bytes
) -> None:
    key = certificate.public_key()
    hash_algorithm = method.hash_algorithm()
    try:
        if method.key_type == "rsa" and isinstance(key, rsa.RSAPublicKey):
            key.verify(value, data, padding.PKCS1v15(), hash_algorithm)
        elif method.key_type == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(value) != 2 * size:
                raise InvalidSignature
            der = encode_dss_signature(int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big"))
            key.verify(der, data, ec.ECDSA(hash_algorithm))
        else:
            raise EnvelopeSignatureError(
                N_("the signature method {algorithm} does not match the certificate's key"),
                reason="malformed",
                algorithm=method.value,
            )
    except InvalidSignature:
        raise EnvelopeSignatureError(
            N_("the WS-Security signature value does not match; the message was changed or signed with another key"),
            reason="invalid",
        ) from None


def _check_trust(certificate: x509.Certificate, trust: Trust, at: dt.datetime) -> None:
    if callable(trust):
        if trust(certificate) is False:
            raise EnvelopeSignatureError(
                N_("the signer's certificate {subject} is not trusted; check that its issuing CA certificate is in [trust] anchors or intermediates"),
                reason="untrusted",
                subject=certificate_label(certificate),
            )
        return
    pinned = {c.fingerprint(hashes.SHA256()) for c in trust}
    if certificate.fingerprint(hashes.SHA256()) not in pinned:
        raise EnvelopeSignatureError(
            N_("the signer's certificate {subject} is not among the trusted sender certificates; add it to the trusted certificates"),
            reason="untrusted",
            subject=certificate_label(certificate),
        )
    if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
        raise EnvelopeSignatureError(
            N_("the signer's certificate {subject} is not valid at {time}"),
            reason="untrusted",
            subject=certificate_label(certificate),
            time=at.isoformat(timespec="seconds"),
        )


def verify_envelope(
    envelope: etree._Element,
    *,
    trust: Trust,
    at: dt.datetime | None = None,
    allow_sha1: bool = False,
) -> x509.Certificate:
    """Verify the WS-Security signature over the SOAP Body and return the signer's certificate.

    The signature must reference the envelope's own Body and nothing else, so
    a signed Body moved elsewhere in the message (signature wrapping) is
    rejected. Raises :class:`EnvelopeSignatureError` when the signature is
    missing, malformed, wrong or made with an untrusted certificate. SHA-1
    is rejected unless ``allow_sha1`` is set.

    NOTE: only RSA and ECDSA with SHA-256 are computed; an envelope signed
    with a GOST algorithm is rejected as unsupported, not checked.
    """
    at = at or dt.datetime.now(dt.timezone.utc)
    if not callable(trust):
        trust = tuple(trust)
    soap_ns, body = _soap_parts(envelope)
    security = _security_header(envelope, soap_ns)
    signature = _only(security, f"{{{DS_NS}}}Signature", "ds:Signature")
    signed_info = _only(signature, f"{{{DS_NS}}}SignedInfo", "ds:SignedInfo")

    c14n_element = _only(signed_info, f"{{{DS_NS}}}CanonicalizationMethod", "ds:CanonicalizationMethod")
    if _algorithm(c14n_element, CanonicalizationMethod, "CanonicalizationMethod") is not CanonicalizationMethod.EXCLUSIVE:
        raise EnvelopeSignatureError(
            N_("unsupported {element} algorithm {algorithm} in the WS-Security signature"),
            reason="malformed",
            element="CanonicalizationMethod",
            algorithm=c14n_element.get("Algorithm"),
        )
    method_element = _only(signed_info, f"{{{DS_NS}}}SignatureMethod", "ds:SignatureMethod")
    method: SignatureMethod = _algorithm(method_element, SignatureMethod, "SignatureMethod")
    reference = _only(signed_info, f"{{{DS_NS}}}Reference", "ds:Reference")
    transforms = reference.findall(f"{{{DS_NS}}}Transforms/{{{DS_NS}}}Transform")
    if len(transforms) != 1 or transforms[0].get("Algorithm") != _EXC_C14N:
        raise EnvelopeSignatureError(
            N_("the WS-Security reference must have exclusive C14N as its only transform"),
            reason="malformed",
        )
    digest_method: DigestMethod = _algorithm(
        _only(reference, f"{{{DS_NS}}}DigestMethod", "ds:DigestMethod"), DigestMethod, "DigestMethod"
    )
    for algorithm in (method, digest_method):
        if algorithm.is_gost or (algorithm.is_legacy and not allow_sha1):
            raise EnvelopeSignatureError(
                N_("unsupported {element} algorithm {algorithm} in the WS-Security signature"),
                reason="malformed",
                element=type(algorithm).__name__,
                algorithm=algorithm.value,
            )

    uri = reference.get("URI", "")
    body_id = body.get(_WSU_ID)
    if not uri.startswith("#") or body_id is None or uri[1:] != body_id:
        raise EnvelopeSignatureError(N_("the WS-Security signature does not cover the SOAP Body"), reason="invalid")
    same_id = envelope.xpath("//*[@wsu:Id=$id or @Id=$id]", namespaces={"wsu": WSU_NS}, id=body_id)
    if len(same_id) != 1:
        raise EnvelopeSignatureError(
            N_("the id {id} of the signed Body occurs {count} times in the message"),
            reason="invalid",
            id=body_id,
            count=len(same_id),
        )

    digest = digest_method.hash_algorithm()
    hasher = hashes.Hash(digest)
    hasher.update(_c14n(body, _prefix_list(transforms[0])))
    expected = base64.b64decode("".join((reference.findtext(f"{{{DS_NS}}}DigestValue") or "").split()))
    if not hmac.compare_digest(hasher.finalize(), expected):
        raise EnvelopeSignatureError(
            N_("the digest of the SOAP Body does not match its WS-Security signature; the body was changed"),
            reason="invalid",
        )

    certificate = _certificate(signature)
    try:
        value = base64.b64decode("".join((signature.findtext(f"{{{DS_NS}}}SignatureValue") or "").split()), validate=True)
    except binascii.Error as exc:
        raise EnvelopeSignatureError(N_("the WS-Security signature value is not base64"), reason="malformed") from exc
    _check_signature_value(certificate, method, value, _c14n(signed_info, _prefix_list(c14n_element)))
    _check_trust(certificate, trust, at)
    return certificate


class BodySignature:
    """zeep ``wsse`` object: signs requests and, when ``trust`` is given, verifies responses.

    A response whose Body is a SOAP fault is not required to be signed,
    because a fault is raised as an error either way, and a missing signature
    must not hide the fault's error code.
    """

    def __init__(self, signer: Signer | None = None, *, trust: Trust | None = None, allow_sha1: bool = False) -> None:
        self.signer = signer
        self.trust = trust if trust is None or callable(trust) else tuple(trust)
        self.allow_sha1 = allow_sha1

    def apply(self, envelope: etree._Element, headers: dict[str, str]) -> tuple[etree._Element, dict[str, str]]:
        """Sign the outgoing envelope (zeep calls this after the egress plugins)."""
        if self.signer is not None:
            sign_envelope(envelope, self.signer)
        return envelope, headers

    def verify(self, envelope: etree._Element) -> etree._Element:
        """Verify the incoming envelope's signature when a trust setting is given."""
        if self.trust is None:
            return envelope
        _soap_ns, body = _soap_parts(envelope)
        first = next(iter(body), None)
        if first is not None and etree.QName(first).localname == "Fault":
            return envelope
        verify_envelope(envelope, trust=self.trust, allow_sha1=self.allow_sha1)
        return envelope
