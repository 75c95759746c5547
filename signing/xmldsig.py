"""Enveloped XML-DSig over a whole document, optionally XAdES-BES.

The signature profile this module makes:

* one ``ds:Signature``, appended as the last child of the document root;
* one ``ds:Reference`` with ``URI=""`` (the whole document) and the transforms
  enveloped-signature then exclusive C14N. ``URI=""`` is chosen over
  ``#<root Id>`` because it covers everything outside the root too (processing
  instructions) and needs no ID attribute declaration in verifiers such as
  libxmlsec1; NCA RK's own signer uses ``URI=""`` as well;
* exclusive C14N for ``ds:SignedInfo``; RSA-SHA256 or ECDSA-SHA256, SHA-256 digests;
* ``ds:KeyInfo/ds:X509Data`` with the signer's certificate first, then the chain;
* with ``xades=True``: a second reference to ``xades:SignedProperties`` holding
  ``SigningTime`` and ``SigningCertificateV2`` (ETSI EN 319 132-1, XAdES-BES).

Signing parses the document once, canonicalizes it once and inserts the
signature's bytes before the root's end tag, so the rest of the document is
returned byte for byte as given.

Verification (:func:`verify_xml_signature`) checks only the cryptography and
the structure. Trust, revocation and the signatory policy are in
:mod:`signing.verify`. Against signature wrapping it accepts exactly one
``ds:Signature`` in the document, as the last child element of the root,
whose document reference is ``""`` or ``#<root Id>``. It returns the
canonical bytes that the digest covered, so callers read exactly what was
signed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from adapter.errors import Problem, SigningError, VerificationError
from adapter.i18n import N_

from .algorithms import CanonicalizationMethod, DigestMethod, SignatureMethod, Transform
from .keys import Signer

__all__ = [
    "DS_NS",
    "XADES_NS",
    "SignatureCheck",
    "sign_xml",
    "verify_xml_signature",
]

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
EXC_C14N_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"

_DS = "{%s}" % DS_NS
_XADES = "{%s}" % XADES_NS
_ID_ATTRIBUTES = ("Id", "ID", "id")

# Trailing content allowed after the root's end tag: whitespace, comments and PIs.
_TRAILING_MISC = re.compile(rb"\s*>(?:\s+|<!--.*?-->|<\?.*?\?>)*\Z", re.DOTALL)


def _parser() -> etree.XMLParser:
    # No DTD, no entities, no network; huge_tree for 100,000-fact documents.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_comments=False)


def _parse(xml: bytes) -> etree._ElementTree:
    try:
        tree = etree.ElementTree(etree.fromstring(xml, _parser()))
    except etree.XMLSyntaxError as exc:
        raise VerificationError(N_("the document is not well-formed XML: {reason}"), reason=str(exc)) from exc
    if tree.docinfo.doctype:
        raise VerificationError(N_("the document contains a DOCTYPE declaration, which signed documents must not have"))
    return tree


def _c14n(node: etree._Element | etree._ElementTree, method: CanonicalizationMethod, *, comments: bool | None = None, prefixes: Iterable[str] | None = None) -> bytes:
    with_comments = method.with_comments if comments is None else comments
    if not method.exclusive and isinstance(node, etree._Element) and node.getparent() is not None:
        node = _detached_subtree(node)
    return etree.tostring(
        node,
        method="c14n",
        exclusive=method.exclusive,
        with_comments=with_comments,
        inclusive_ns_prefixes=list(prefixes) if prefixes and method.exclusive else None,
    )


def _detached_subtree(element: etree._Element) -> etree._Element:
    """Return a copy of ``element`` as a document root, for inclusive C14N of a subtree.

    lxml 6.2 with libxml2 2.14 writes a wrong ``xmlns=""`` on the children of a
    subtree whose default namespace is declared on an ancestor. The copy
    declares every namespace in scope on its root and carries the inherited
    ``xml:*`` attributes, which is what inclusive C14N renders on the apex.
    """
    copy = etree.Element(element.tag, attrib=dict(element.attrib), nsmap=element.nsmap)
    for ancestor in element.iterancestors():
        for name, value in ancestor.attrib.items():
            if name.startswith("{http://www.w3.org/XML/1998/namespace}") and copy.get(name) is None:
                copy.set(name, value)
    copy.text = element.text
    for child in element:
        copy.append(deepcopy(child))
    return copy


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- Signing ---------------------------------------------------------------------------------


def sign_xml(
    xml: bytes,
    signer: Signer,
    *,
    xades: bool = False,
    signing_time: dt.datetime | None = None,
) -> bytes:
    """Return ``xml`` with an enveloped signature by ``signer`` appended to its root.

    ``signing_time`` goes into ``xades:SigningTime`` (default: now, UTC) and
    is used only with ``xades=True``. The document must not be signed yet.
    Raises SigningError when it is, or when it is not well-formed XML.
    """
    try:
        tree = _parse(xml)
    except VerificationError as exc:
        raise SigningError(exc.message, **exc.params) from exc
    root = tree.getroot()
    if next(root.iter(f"{_DS}Signature"), None) is not None:
        raise SigningError(N_("the document is already signed; sign the unsigned document"))

    method = SignatureMethod.for_key_type(signer.key_type)
    c14n = CanonicalizationMethod.EXCLUSIVE
    digest = DigestMethod.SHA256
    document_digest = hashlib.sha256(_c14n(tree, c14n, comments=False)).digest()

    signature_id = f"signature-{uuid.uuid4().hex}"
    signature = etree.Element(f"{_DS}Signature", nsmap={"ds": DS_NS}, Id=signature_id)
    signed_info = etree.SubElement(signature, f"{_DS}SignedInfo")
    etree.SubElement(signed_info, f"{_DS}CanonicalizationMethod", Algorithm=c14n.value)
    etree.SubElement(signed_info, f"{_DS}SignatureMethod", Algorithm=method.value)
    reference = etree.SubElement(signed_info, f"{_DS}Reference", URI="")
    transforms = etree.SubElement(reference, f"{_DS}Transforms")
    etree.SubElement(transforms, f"{_DS}Transform", Algorithm=Transform.ENVELOPED_SIGNATURE.value)
    etree.SubElement(transforms, f"{_DS}Transform", Algorithm=c14n.value)
    etree.SubElement(reference, f"{_DS}DigestMethod", Algorithm=digest.value)
    etree.SubElement(reference, f"{_DS}DigestValue").text = _b64(document_digest)

    signature_value = etree.SubElement(signature, f"{_DS}SignatureValue")
    key_info = etree.SubElement(signature, f"{_DS}KeyInfo")
    x509_data = etree.SubElement(key_info, f"{_DS}X509Data")
    for cert in (signer.certificate, *signer.chain):
        etree.SubElement(x509_data, f"{_DS}X509Certificate").text = _b64(cert.public_bytes(serialization.Encoding.DER))

    if xades:
        when = signing_time or dt.datetime.now(dt.timezone.utc)
        signed_properties = _xades_object(signature, signature_id, signer.certificate, when)
        properties_reference = etree.SubElement(
            signed_info, f"{_DS}Reference", URI=f"#{signed_properties.get('Id')}", Type=SIGNED_PROPERTIES_TYPE
        )
        properties_transforms = etree.SubElement(properties_reference, f"{_DS}Transforms")
        etree.SubElement(properties_transforms, f"{_DS}Transform", Algorithm=c14n.value)
        etree.SubElement(properties_reference, f"{_DS}DigestMethod", Algorithm=digest.value)
        properties_digest = hashlib.sha256(_c14n(signed_properties, c14n)).digest()
        etree.SubElement(properties_reference, f"{_DS}DigestValue").text = _b64(properties_digest)

    signature_value.text = _b64(signer.sign(_c14n(signed_info, c14n), method))
    return _append_to_root(xml, tree, signature)


def _xades_object(signature: etree._Element, signature_id: str, cert: x509.Certificate, when: dt.datetime) -> etree._Element:
    """Add ``ds:Object/xades:QualifyingProperties`` to ``signature`` and return its SignedProperties."""
    if when.tzinfo is None:
        raise SigningError(N_("the signing time must carry a time zone"))
    ds_object = etree.SubElement(signature, f"{_DS}Object")
    qualifying = etree.SubElement(ds_object, f"{_XADES}QualifyingProperties", nsmap={"xades": XADES_NS}, Target=f"#{signature_id}")
    signed_properties = etree.SubElement(qualifying, f"{_XADES}SignedProperties", Id=f"{signature_id}-signed-properties")
    signature_properties = etree.SubElement(signed_properties, f"{_XADES}SignedSignatureProperties")
    etree.SubElement(signature_properties, f"{_XADES}SigningTime").text = when.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    signing_certificate = etree.SubElement(signature_properties, f"{_XADES}SigningCertificateV2")
    cert_element = etree.SubElement(signing_certificate, f"{_XADES}Cert")
    cert_digest = etree.SubElement(cert_element, f"{_XADES}CertDigest")
    etree.SubElement(cert_digest, f"{_DS}DigestMethod", Algorithm=DigestMethod.SHA256.value)
    etree.SubElement(cert_digest, f"{_DS}DigestValue").text = _b64(cert.fingerprint(hashes.SHA256()))
    etree.SubElement(cert_element, f"{_XADES}IssuerSerialV2").text = _b64(_issuer_serial(cert))
    return signed_properties


def _issuer_serial(cert: x509.Certificate) -> bytes:
    """Return the DER ``IssuerSerial`` (RFC 5035) of ``cert``, the content of ``xades:IssuerSerialV2``."""
    from asn1crypto import cms, x509 as asn1_x509

    issuer = asn1_x509.Name.load(cert.issuer.public_bytes())
    value = cms.IssuerSerial(
        {
            "issuer": asn1_x509.GeneralNames([asn1_x509.GeneralName(name="directory_name", value=issuer)]),
            "serial": cert.serial_number,
        }
    )
    return value.dump()


def _append_to_root(xml: bytes, tree: etree._ElementTree, signature: etree._Element) -> bytes:
    """Insert ``signature`` as the last child of the root, keeping the other bytes as given."""
    root = tree.getroot()
    encoding = (tree.docinfo.encoding or "UTF-8").upper()
    if encoding in ("UTF-8", "UTF8", "US-ASCII", "ASCII") and not xml.startswith((b"\xff\xfe", b"\xfe\xff")):
        qname = (f"{root.prefix}:" if root.prefix else "") + etree.QName(root).localname
        end_tag = b"</" + qname.encode("utf-8")
        position = xml.rfind(end_tag)
        if position > 0 and _TRAILING_MISC.match(xml, position + len(end_tag)):
            return xml[:position] + etree.tostring(signature) + xml[position:]
    # A self-closing root or another encoding: serialize the tree instead.
    root.append(signature)
    return etree.tostring(tree, xml_declaration=True, encoding=tree.docinfo.encoding or "UTF-8")


# --- Verification ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """Result of checking the cryptography and structure of an enveloped signature.

    ``intact`` is True only when there are no ``problems``. ``signed_bytes``
    are the canonical bytes of the document that the digest covered, without
    the signature, and ``root`` is the covered root element. Both are
    ``None`` unless the signature is intact. ``certificate`` is the KeyInfo
    certificate whose key verified the signature value (the first one when
    none did) and ``certificates`` all KeyInfo certificates.
    ``signing_time`` is the signed ``xades:SigningTime``: the signer's claim,
    not a trusted time-stamp.
    """

    intact: bool
    problems: tuple[Problem, ...]
    signed_bytes: bytes | None = field(default=None, repr=False)
    root: etree._Element | None = field(default=None, repr=False)
    certificate: x509.Certificate | None = None
    certificates: tuple[x509.Certificate, ...] = ()
    signature_method: SignatureMethod | None = None
    digest_method: DigestMethod | None = None
    canonicalization: CanonicalizationMethod | None = None
    reference_uri: str | None = None
    signing_time: dt.datetime | None = None
    xades: bool = False


class _Invalid(Exception):
    """A structural or cryptographic problem that ends the check."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


def _problem(code: str, message: str, **params: object) -> _Invalid:
    return _Invalid(Problem(code, message, params=params))


def verify_xml_signature(xml: bytes, *, allow_sha1: bool = False, tree: etree._ElementTree | None = None) -> SignatureCheck:
    """Check the enveloped signature of ``xml``: structure, digests and signature value.

    Raises VerificationError when ``xml`` is not well-formed or has no
    ``ds:Signature`` at all; every other failure is a problem in the returned
    :class:`SignatureCheck` with ``intact=False``.

    ``tree`` is ``xml`` already parsed without a DTD, entities or network
    access, with comments kept, for a caller that parsed it to validate it.
    The check removes the signature from that tree.
    """
    if tree is None:
        tree = _parse(xml)
    elif tree.docinfo.doctype:
        raise VerificationError(N_("the document contains a DOCTYPE declaration, which signed documents must not have"))
    root = tree.getroot()
    signatures = list(root.iter(f"{_DS}Signature"))
    if not signatures:
        raise VerificationError(N_("the document is not signed: it has no ds:Signature element"))
    state = _State(tree, allow_sha1)
    try:
        state.run(signatures)
    except _Invalid as invalid:
        state.problems.append(invalid.problem)
    return state.result()


class _State:
    """The steps of :func:`verify_xml_signature` and what they found so far."""

    def __init__(self, tree: etree._ElementTree, allow_sha1: bool) -> None:
        self.tree = tree
        self.root = tree.getroot()
        self.allow_sha1 = allow_sha1
        self.problems: list[Problem] = []
        self.certificate: x509.Certificate | None = None
        self.certificates: tuple[x509.Certificate, ...] = ()
        self.signature_method: SignatureMethod | None = None
        self.digest_method: DigestMethod | None = None
        self.canonicalization: CanonicalizationMethod | None = None
        self.reference_uri: str | None = None
        self.signing_time: dt.datetime | None = None
        self.xades = False
        self.signed_bytes: bytes | None = None

    def result(self) -> SignatureCheck:
        intact = not self.problems
        return SignatureCheck(
            intact=intact,
            problems=tuple(self.problems),
            signed_bytes=self.signed_bytes if intact else None,
            root=self.root if intact else None,
            certificate=self.certificate,
            certificates=self.certificates,
            signature_method=self.signature_method,
            digest_method=self.digest_method,
            canonicalization=self.canonicalization,
            reference_uri=self.reference_uri,
            signing_time=self.signing_time if intact else None,
            xades=self.xades,
        )

    # The order matters: everything inside the signature is canonicalized
    # while the signature is still in place (inclusive C14N needs its
    # ancestors' namespaces), then the signature is removed for the
    # enveloped-signature transform and the document is digested.
    def run(self, signatures: list[etree._Element]) -> None:
        signature = self._single_signature(signatures)
        signed_info = self._only_child(signature, "SignedInfo", first=True)
        self.canonicalization, prefixes = self._canonicalization(signed_info)
        self.signature_method = self._signature_method(signed_info)
        document_reference, internal_references = self._references(signed_info, signature)
        document_transforms = self._document_transforms(document_reference)
        self.certificates = self._certificates(signature)
        for reference, target in internal_references:
            self._check_internal_digest(reference, target)
        signed_info_bytes = _c14n(signed_info, self.canonicalization, prefixes=prefixes)
        self.certificate = self._verify_signature_value(signature, signed_info_bytes)
        self._check_xades(signature, internal_references)
        self._remove_enveloped(signature)
        self._check_document_digest(document_reference, *document_transforms)

    def _single_signature(self, signatures: list[etree._Element]) -> etree._Element:
        if len(signatures) != 1:
            raise _problem("signature-count", N_("the document contains {count} ds:Signature elements; exactly one is allowed"), count=len(signatures))
        signature = signatures[0]
        if signature.getparent() is not self.root:
            raise _problem("signature-position", N_("the ds:Signature element is not a child of the document root, so it does not sign this document"))
        if any(isinstance(sibling.tag, str) for sibling in signature.itersiblings()):
            raise _problem("signature-position", N_("the ds:Signature element is not the last child of the document root"))
        return signature

    def _only_child(self, parent: etree._Element, name: str, *, first: bool = False) -> etree._Element:
        children = parent.findall(f"{_DS}{name}")
        if len(children) != 1:
            raise _problem("signature-malformed", N_("ds:{element} must occur exactly once in ds:{parent}"), element=name, parent=etree.QName(parent).localname)
        if first and _element_children(parent)[0] is not children[0]:
            raise _problem("signature-malformed", N_("ds:{element} must come first in ds:{parent}"), element=name, parent=etree.QName(parent).localname)
        return children[0]

    def _algorithm(self, element: etree._Element, enum_type: type, kind: str):
        uri = element.get("Algorithm") or ""
        try:
            return enum_type(uri)
        except ValueError:
            raise _problem("algorithm-unsupported", N_("the {kind} algorithm {uri} is not supported"), kind=kind, uri=uri) from None

    def _canonicalization(self, signed_info: etree._Element) -> tuple[CanonicalizationMethod, list[str] | None]:
        element = self._only_child(signed_info, "CanonicalizationMethod", first=True)
        method = self._algorithm(element, CanonicalizationMethod, "canonicalization")
        return method, _inclusive_prefixes(element)

    def _signature_method(self, signed_info: etree._Element) -> SignatureMethod:
        method = self._algorithm(self._only_child(signed_info, "SignatureMethod"), SignatureMethod, "signature")
        if method.is_gost:
            raise _problem("gost-unsupported", N_("the document is signed with GOST ({uri}); this build verifies RSA and ECDSA signatures only"), uri=method.value)
        if method.is_legacy and not self.allow_sha1:
            raise _problem("sha1-not-allowed", N_("the signature uses SHA-1 ({uri}), which is rejected; set signing.allow_sha1 = true to accept legacy signatures"), uri=method.value)
        return method

    def _digest_method(self, reference: etree._Element) -> DigestMethod:
        method = self._algorithm(self._only_child(reference, "DigestMethod"), DigestMethod, "digest")
        if method.is_gost:
            raise _problem("gost-unsupported", N_("the document is signed with GOST ({uri}); this build verifies RSA and ECDSA signatures only"), uri=method.value)
        if method.is_legacy and not self.allow_sha1:
            raise _problem("sha1-not-allowed", N_("the signature uses SHA-1 ({uri}), which is rejected; set signing.allow_sha1 = true to accept legacy signatures"), uri=method.value)
        return method

    def _references(self, signed_info: etree._Element, signature: etree._Element):
        """Sort the references into the one for the document and those inside the signature (XAdES)."""
        document_reference = None
        internal: list[tuple[etree._Element, etree._Element]] = []
        for reference in signed_info.findall(f"{_DS}Reference"):
            uri = reference.get("URI")
            if uri is None:
                raise _problem("reference-uri", N_("a ds:Reference has no URI attribute; only URI=\"\" or \"#<root Id>\" references are accepted"))
            if uri == "" or (uri.startswith("#") and uri[1:] and uri[1:] in _ids(self.root)):
                count = len(_elements_with_id(self.root, uri[1:])) if uri else 1
                if count != 1:
                    raise _problem("reference-uri", N_("the reference URI {uri} matches {count} elements; exactly one is required"), uri=uri, count=count)
                if document_reference is not None:
                    raise _problem("reference-count", N_("the signature has more than one reference to the document"))
                document_reference = reference
                continue
            target = self._internal_target(uri, signature)
            internal.append((reference, target))
        if document_reference is None:
            raise _problem("reference-uri", N_("the signature does not cover the document: a reference with URI=\"\" or \"#<root Id>\" is missing"))
        self.reference_uri = document_reference.get("URI")
        return document_reference, internal

    def _internal_target(self, uri: str, signature: etree._Element) -> etree._Element:
        """Resolve a ``#id`` reference that must point inside the signature (SignedProperties, KeyInfo)."""
        if not uri.startswith("#") or not uri[1:]:
            raise _problem("reference-uri", N_("the reference URI {uri} is not accepted; only URI=\"\", \"#<root Id>\" and references inside the signature are"), uri=uri)
        identifier = uri[1:]
        # Only the inside of the signature is searched: anything added to the
        # document around it already breaks the document digest.
        matches = signature.xpath(".//*[@Id = $value or @ID = $value or @id = $value]", value=identifier)
        if not matches:
            raise _problem("reference-uri", N_("the reference URI {uri} points to a part of the document, not to the whole document; partial signatures are not accepted"), uri=uri)
        if len(matches) != 1:
            raise _problem("reference-uri", N_("the reference URI {uri} matches {count} elements; exactly one is required"), uri=uri, count=len(matches))
        return matches[0]

    def _transforms(self, reference: etree._Element) -> tuple[bool, CanonicalizationMethod, list[str] | None]:
        """Return (enveloped, canonicalization, inclusive prefixes) of a reference's transforms."""
        enveloped = False
        method: CanonicalizationMethod | None = None
        prefixes = None
        transforms = reference.find(f"{_DS}Transforms")
        for transform in [] if transforms is None else transforms.findall(f"{_DS}Transform"):
            uri = transform.get("Algorithm") or ""
            if uri == Transform.ENVELOPED_SIGNATURE.value and not enveloped and method is None:
                enveloped = True
                continue
            try:
                candidate = CanonicalizationMethod(uri)
            except ValueError:
                raise _problem("transform-unsupported", N_("the transform {uri} is not accepted; only enveloped-signature and canonicalization are"), uri=uri) from None
            if method is not None:
                raise _problem("transform-unsupported", N_("the transform {uri} is not accepted; only enveloped-signature and canonicalization are"), uri=uri)
            method, prefixes = candidate, _inclusive_prefixes(transform)
        # Without a canonicalization transform XML-DSig converts the node-set with C14N 1.0.
        return enveloped, method or CanonicalizationMethod.C14N_1_0, prefixes

    def _digest_value(self, reference: etree._Element) -> bytes:
        text = self._only_child(reference, "DigestValue").text or ""
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except binascii.Error:
            raise _problem("signature-malformed", N_("a ds:DigestValue is not valid base64")) from None

    def _check_internal_digest(self, reference: etree._Element, target: etree._Element) -> None:
        enveloped, method, prefixes = self._transforms(reference)
        if enveloped:
            raise _problem("transform-unsupported", N_("the transform {uri} is not accepted; only enveloped-signature and canonicalization are"), uri=Transform.ENVELOPED_SIGNATURE.value)
        digest = self._digest_method(reference)
        # A same-document reference drops comments, whatever the canonicalization method.
        actual = hashlib.new(digest.hash_algorithm().name, _c14n(target, method, comments=False, prefixes=prefixes)).digest()
        if actual != self._digest_value(reference):
            raise _problem("digest-mismatch", N_("the signed properties of the signature were altered (digest of {uri} does not match)"), uri=reference.get("URI"))

    def _certificates(self, signature: etree._Element) -> tuple[x509.Certificate, ...]:
        certificates = []
        for element in signature.findall(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate"):
            try:
                der = base64.b64decode("".join((element.text or "").split()), validate=True)
                certificates.append(x509.load_der_x509_certificate(der))
            except (binascii.Error, ValueError):
                raise _problem("certificate-malformed", N_("a certificate in ds:KeyInfo is not a valid base64 DER X.509 certificate")) from None
        if not certificates:
            raise _problem("certificate-missing", N_("the signature carries no certificate in ds:KeyInfo/ds:X509Data; the signer cannot be identified"))
        return tuple(certificates)

    def _verify_signature_value(self, signature: etree._Element, signed_info_bytes: bytes) -> x509.Certificate:
        text = self._only_child(signature, "SignatureValue").text or ""
        try:
            value = base64.b64decode("".join(text.split()), validate=True)
        except binascii.Error:
            raise _problem("signature-malformed", N_("ds:SignatureValue is not valid base64")) from None
        method = self.signature_method
        assert method is not None
        for cert in self.certificates:
            if _verifies(cert, value, signed_info_bytes, method):
                return cert
        self.certificate = self.certificates[0]
        raise _problem("signature-invalid", N_("the signature value does not verify with the certificate in ds:KeyInfo: the signed information or the certificate was altered"))

    def _check_xades(self, signature: etree._Element, internal_references) -> None:
        """Read the signed XAdES properties and check that they name the certificate that signed."""
        signed_properties = [target for reference, target in internal_references if target.tag == f"{_XADES}SignedProperties"]
        if not signed_properties:
            return
        if len(signed_properties) != 1:
            raise _problem("xades-malformed", N_("the signature references xades:SignedProperties more than once"))
        properties = signed_properties[0]
        qualifying = properties.getparent()
        target = qualifying.get("Target") if qualifying is not None else None
        if target != f"#{signature.get('Id')}":
            raise _problem("xades-malformed", N_("xades:QualifyingProperties does not target this signature"))
        self.xades = True
        signing_time = properties.findtext(f"{_XADES}SignedSignatureProperties/{_XADES}SigningTime")
        if signing_time:
            self.signing_time = _parse_datetime(signing_time.strip())
        certs = properties.findall(f"{_XADES}SignedSignatureProperties/{_XADES}SigningCertificateV2/{_XADES}Cert")
        certs = certs or properties.findall(f"{_XADES}SignedSignatureProperties/{_XADES}SigningCertificate/{_XADES}Cert")
        if not certs:
            raise _problem("xades-malformed", N_("xades:SigningCertificateV2 is missing from the signed properties"))
        digest_element = certs[0].find(f"{_XADES}CertDigest")
        if digest_element is None:
            raise _problem("xades-malformed", N_("xades:SigningCertificateV2 is missing from the signed properties"))
        digest = self._digest_method(digest_element)
        assert self.certificate is not None
        if self.certificate.fingerprint(digest.hash_algorithm()) != self._digest_value(digest_element):
            raise _problem("signing-certificate-mismatch", N_("the certificate in ds:KeyInfo is not the one named in xades:SigningCertificateV2"))

    def _remove_enveloped(self, signature: etree._Element) -> None:
        """Apply the enveloped-signature transform: drop the element, keep the text after it."""
        tail = signature.tail
        previous = signature.getprevious()
        parent = signature.getparent()
        assert parent is not None
        parent.remove(signature)
        if tail:
            if previous is not None:
                previous.tail = (previous.tail or "") + tail
            else:
                parent.text = (parent.text or "") + tail

    def _document_transforms(self, reference: etree._Element) -> tuple[CanonicalizationMethod, list[str] | None]:
        enveloped, method, prefixes = self._transforms(reference)
        if not enveloped:
            raise _problem("transform-missing", N_("the document reference lacks the enveloped-signature transform"))
        self.digest_method = self._digest_method(reference)
        return method, prefixes

    def _check_document_digest(self, reference: etree._Element, method: CanonicalizationMethod, prefixes: list[str] | None) -> None:
        assert self.digest_method is not None
        node = self.tree if reference.get("URI") == "" else self.root
        canonical = _c14n(node, method, comments=False, prefixes=prefixes)
        actual = hashlib.new(self.digest_method.hash_algorithm().name, canonical).digest()
        if actual != self._digest_value(reference):
            raise _problem("digest-mismatch", N_("the document was altered after signing: its digest does not match the signed one"))
        if node is self.root or not _has_top_level_pi(self.root):
            # Without comments, a document's canonical form is its root's,
            # unless a processing instruction is outside the root.
            self.signed_bytes = canonical
        else:
            self.signed_bytes = _c14n(self.root, method, comments=False, prefixes=prefixes)


def _has_top_level_pi(root: etree._Element) -> bool:
    siblings = (*root.itersiblings(preceding=True), *root.itersiblings())
    return any(isinstance(node, etree._ProcessingInstruction) for node in siblings)


def _element_children(element: etree._Element) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str)]


def _elements_with_id(root: etree._Element, identifier: str) -> list[etree._Element]:
    """Return every element whose ``Id``, ``ID`` or ``id`` attribute is ``identifier`` (searched by libxml2)."""
    return root.xpath("//*[@Id = $value or @ID = $value or @id = $value]", value=identifier)


def _ids(element: etree._Element) -> set[str]:
    return {value for name in _ID_ATTRIBUTES if (value := element.get(name))}


def _inclusive_prefixes(element: etree._Element) -> list[str] | None:
    inclusive = element.find(f"{{{EXC_C14N_NS}}}InclusiveNamespaces")
    if inclusive is None:
        return None
    return [("" if prefix == "#default" else prefix) for prefix in (inclusive.get("PrefixList") or "").split()]


def _verifies(cert: x509.Certificate, value: bytes, data: bytes, method: SignatureMethod) -> bool:
    try:
        key = cert.public_key()
    except (ValueError, TypeError):
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey) and method.key_type == "rsa":
            key.verify(value, data, padding.PKCS1v15(), method.hash_algorithm())
            return True
        if isinstance(key, ec.EllipticCurvePublicKey) and method.key_type == "ec":
            size = (key.curve.key_size + 7) // 8
            if len(value) != 2 * size:
                return False
            der = encode_dss_signature(int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big"))
            key.verify(der, data, ec.ECDSA(method.hash_algorithm()))
            return True
    except InvalidSignature:
        return False
    return False


def _parse_datetime(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _problem("xades-malformed", N_("xades:SigningTime {value} is not an xsd:dateTime"), value=text) from None
    if value.tzinfo is None:
        raise _problem("xades-malformed", N_("xades:SigningTime {value} has no time zone"), value=text)
    return value.astimezone(dt.timezone.utc)
