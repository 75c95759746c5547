"""Enveloped XML-DSig: signing, verification, interop with signxml and libxmlsec1, wrapping attacks."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import CanonicalizationMethod as SignxmlC14N
from signxml import SignatureMethod as SignxmlMethod
from signxml import XMLSigner, XMLVerifier, methods
from signxml.xades import XAdESSigner, XAdESVerifier

from adapter.errors import SigningError, VerificationError
from signing.algorithms import CanonicalizationMethod, DigestMethod, SignatureMethod
from signing.xmldsig import DS_NS, sign_xml, verify_xml_signature
from signing_support import signer_for

DS = f"{{{DS_NS}}}"
DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<notification xmlns="urn:edms-adapter:notification:1" Id="n-1">\n'
    "  <number>17-04/112</number>\n"
    '  <facts><fact Id="f-1" number="1"><domain>casino.example</domain></fact>'
    '<fact Id="f-2" number="2"><domain>xn--80ao21a</domain><description>Қазақ тіліндегі сипаттама</description></fact></facts>\n'
    "</notification>\n"
).encode("utf-8")


@pytest.fixture(scope="module")
def head(test_pki):
    return signer_for(test_pki.head)


@pytest.fixture(scope="module")
def head_ec(test_pki):
    return signer_for(test_pki.head_ec)


def _pem(signer) -> bytes:
    return signer.certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(identity) -> bytes:
    return identity.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _xmlsec_verify(xml: bytes, signer, *, ids: bool = False) -> None:
    root = etree.fromstring(xml)
    if ids:
        xmlsec.tree.add_ids(root, ["Id"])
    node = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(_pem(signer), xmlsec.constants.KeyDataFormatCertPem)
    context.verify(node)


@pytest.mark.parametrize("key_name", ["head", "head_ec"])
@pytest.mark.parametrize("xades", [False, True])
def test_signature_verifies(request, key_name, xades):
    signer = request.getfixturevalue(key_name)
    signed = sign_xml(DOCUMENT, signer, xades=xades)
    check = verify_xml_signature(signed)
    assert check.intact, check.problems
    assert check.certificate == signer.certificate
    assert check.signature_method is (SignatureMethod.ECDSA_SHA256 if key_name == "head_ec" else SignatureMethod.RSA_SHA256)
    assert check.digest_method is DigestMethod.SHA256
    assert check.canonicalization is CanonicalizationMethod.EXCLUSIVE
    assert check.reference_uri == ""
    assert check.xades is xades


def test_signing_keeps_document_bytes(head):
    signed = sign_xml(DOCUMENT, head)
    end = DOCUMENT.rindex(b"</notification>")
    assert signed.startswith(DOCUMENT[:end])
    assert signed.endswith(DOCUMENT[end:])
    root = etree.fromstring(signed)
    assert root[-1].tag == f"{DS}Signature"


def test_signed_bytes_are_covered_document(head):
    check = verify_xml_signature(sign_xml(DOCUMENT, head))
    expected = etree.tostring(etree.fromstring(DOCUMENT), method="c14n", exclusive=True)
    assert check.signed_bytes == expected
    assert check.root is not None
    assert check.root.find(f"{DS}Signature") is None


@pytest.mark.parametrize("outside", [b"<?note before?>", b"<!-- before -->"], ids=["processing instruction", "comment"])
def test_signed_bytes_exclude_nodes_outside_root(head, outside):
    # URI="" digests the whole document, a processing instruction before the
    # root included; the signed bytes are the root element alone.
    declaration, rest = DOCUMENT.split(b"?>", 1)
    document = declaration + b"?>" + outside + rest
    check = verify_xml_signature(sign_xml(document, head))
    assert check.intact, check.problems
    assert check.signed_bytes == etree.tostring(etree.fromstring(DOCUMENT), method="c14n", exclusive=True)


def test_xades_signing_time_and_certificate(head):
    when = dt.datetime(2026, 5, 4, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    check = verify_xml_signature(sign_xml(DOCUMENT, head, xades=True, signing_time=when))
    assert check.signing_time == when
    assert check.signing_time.tzinfo is not None


def test_self_closing_root_and_trailing_comment(head):
    for document in (b'<roster xmlns="urn:edms-adapter:roster:1" Id="r"/>', DOCUMENT + b"<!-- </notification> -->\n"):
        check = verify_xml_signature(sign_xml(document, head))
        assert check.intact, check.problems


def test_already_signed_document_is_rejected(head):
    with pytest.raises(SigningError, match="already signed"):
        sign_xml(sign_xml(DOCUMENT, head), head)


def test_unsigned_or_malformed_document_raises():
    with pytest.raises(VerificationError, match="not signed"):
        verify_xml_signature(DOCUMENT)
    with pytest.raises(VerificationError, match="well-formed"):
        verify_xml_signature(b"<notification>")
    with pytest.raises(VerificationError, match="DOCTYPE"):
        verify_xml_signature(b'<!DOCTYPE n [<!ENTITY x "y">]><n>&x;</n>')


# --- Interoperability ---------------------------------------------------------------------------


@pytest.mark.parametrize("key_name", ["head", "head_ec"])
def test_ours_verifies_with_signxml_and_xmlsec(request, key_name):
    signer = request.getfixturevalue(key_name)
    signed = sign_xml(DOCUMENT, signer)
    XMLVerifier().verify(signed, x509_cert=_pem(signer))
    _xmlsec_verify(signed, signer)


def test_ours_xades_verifies_with_signxml_and_xmlsec(head):
    signed = sign_xml(DOCUMENT, head, xades=True)
    results = XAdESVerifier().verify(signed, x509_cert=_pem(head), expect_references=2)
    assert results[0].signed_xml is not None
    _xmlsec_verify(signed, head, ids=True)


@pytest.mark.parametrize(
    ("c14n", "expected"),
    [
        (SignxmlC14N.EXCLUSIVE_XML_CANONICALIZATION_1_0, CanonicalizationMethod.EXCLUSIVE),
        (SignxmlC14N.CANONICAL_XML_1_0, CanonicalizationMethod.C14N_1_0),
        (SignxmlC14N.CANONICAL_XML_1_0_WITH_COMMENTS, CanonicalizationMethod.C14N_1_0_WITH_COMMENTS),
    ],
)
def test_signxml_signature_verifies_with_ours(test_pki, c14n, expected):
    signer = XMLSigner(method=methods.enveloped, signature_algorithm=SignxmlMethod.RSA_SHA256, c14n_algorithm=c14n)
    signed = etree.tostring(signer.sign(etree.fromstring(DOCUMENT), key=_key_pem(test_pki.head), cert=[test_pki.head.certificate]))
    check = verify_xml_signature(signed)
    assert check.intact, check.problems
    assert check.canonicalization is expected
    assert check.reference_uri == "#n-1"
    assert check.certificate == test_pki.head.certificate


def test_signxml_xades_signature_verifies_with_ours(test_pki):
    # signxml 5.2 digests its internal references without a transform, which
    # means C14N 1.0, so only its C14N 1.0 output is correct XAdES.
    signer = XAdESSigner(signature_algorithm=SignxmlMethod.ECDSA_SHA256, c14n_algorithm=SignxmlC14N.CANONICAL_XML_1_0)
    signed = etree.tostring(signer.sign(etree.fromstring(DOCUMENT), key=_key_pem(test_pki.head_ec), cert=[test_pki.head_ec.certificate]))
    check = verify_xml_signature(signed)
    assert check.intact, check.problems
    assert check.xades
    assert check.signing_time is not None


def _xmlsec_sign(
    document: bytes,
    identity,
    *,
    method=xmlsec.constants.TransformRsaSha256,
    digest=xmlsec.constants.TransformSha256,
    c14n=xmlsec.constants.TransformExclC14N,
) -> bytes:
    root = etree.fromstring(document)
    signature = xmlsec.template.create(root, c14n, method)
    root.append(signature)
    reference = xmlsec.template.add_reference(signature, digest, uri="")
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(reference, c14n)
    key_info = xmlsec.template.ensure_key_info(signature)
    xmlsec.template.add_x509_data(key_info)
    context = xmlsec.SignatureContext()
    key = xmlsec.Key.from_memory(_key_pem(identity), xmlsec.constants.KeyDataFormatPem)
    key.load_cert_from_memory(identity.certificate.public_bytes(serialization.Encoding.PEM), xmlsec.constants.KeyDataFormatCertPem)
    context.key = key
    context.sign(signature)
    return etree.tostring(root)


@pytest.mark.parametrize(
    ("c14n", "expected"),
    [
        (xmlsec.constants.TransformExclC14N, CanonicalizationMethod.EXCLUSIVE),
        (xmlsec.constants.TransformInclC14N, CanonicalizationMethod.C14N_1_0),
        (xmlsec.constants.TransformExclC14NWithComments, CanonicalizationMethod.EXCLUSIVE_WITH_COMMENTS),
    ],
)
def test_xmlsec_signature_verifies_with_ours(test_pki, c14n, expected):
    # libxmlsec1 declares the XML-DSig namespace as the default namespace of ds:Signature.
    check = verify_xml_signature(_xmlsec_sign(DOCUMENT, test_pki.head, c14n=c14n))
    assert check.intact, check.problems
    assert check.canonicalization is expected
    assert check.certificate == test_pki.head.certificate


def test_nca_style_signature_with_comments_verifies(test_pki):
    # NCA RK's signer uses C14N 1.0 with comments; URI="" still leaves comments out of the digest.
    document = DOCUMENT.replace(b"<facts>", b"<!-- checked by the operator --><facts>")
    signed = _xmlsec_sign(document, test_pki.head, c14n=xmlsec.constants.TransformInclC14NWithComments)
    check = verify_xml_signature(signed)
    assert check.intact, check.problems
    assert check.canonicalization is CanonicalizationMethod.C14N_1_0_WITH_COMMENTS
    altered_comment = verify_xml_signature(signed.replace(b"checked by the operator", b"not checked"))
    assert altered_comment.intact


def test_sha1_only_when_allowed(test_pki):
    signed = _xmlsec_sign(DOCUMENT, test_pki.head, method=xmlsec.constants.TransformRsaSha1, digest=xmlsec.constants.TransformSha1)
    rejected = verify_xml_signature(signed)
    assert not rejected.intact
    assert [problem.code for problem in rejected.problems] == ["sha1-not-allowed"]
    accepted = verify_xml_signature(signed, allow_sha1=True)
    assert accepted.intact, accepted.problems
    assert accepted.signature_method is SignatureMethod.RSA_SHA1


# --- Tampering and wrapping ---------------------------------------------------------------------


def _codes(check) -> list[str]:
    return [problem.code for problem in check.problems]


def test_tampered_fact_is_rejected(head):
    signed = sign_xml(DOCUMENT, head)
    check = verify_xml_signature(signed.replace(b"casino.example", b"kazino.example"))
    assert not check.intact
    assert _codes(check) == ["digest-mismatch"]
    assert check.signed_bytes is None
    assert check.root is None


def test_tampered_signed_properties_are_rejected(head):
    signed = sign_xml(DOCUMENT, head, xades=True, signing_time=dt.datetime(2026, 5, 4, tzinfo=dt.timezone.utc))
    check = verify_xml_signature(signed.replace(b"2026-05-04T00:00:00Z", b"2026-05-03T00:00:00Z"))
    assert _codes(check) == ["digest-mismatch"]


def test_moved_signature_is_rejected(head):
    root = etree.fromstring(sign_xml(DOCUMENT, head))
    signature = root[-1]
    root.find("{urn:edms-adapter:notification:1}facts").append(signature)
    check = verify_xml_signature(etree.tostring(root))
    assert _codes(check) == ["signature-position"]


def test_signature_not_last_is_rejected(head):
    root = etree.fromstring(sign_xml(DOCUMENT, head))
    etree.SubElement(root, "{urn:edms-adapter:notification:1}extra").text = "x"
    assert _codes(verify_xml_signature(etree.tostring(root))) == ["signature-position"]


def test_unsigned_root_wrapped_around_signed_one_is_rejected(head):
    signed = etree.fromstring(sign_xml(DOCUMENT, head))
    wrapper = etree.Element("{urn:edms-adapter:notification:1}notification", Id="n-1")
    etree.SubElement(wrapper, "{urn:edms-adapter:notification:1}number").text = "99-99/999"
    wrapper.append(signed)
    assert _codes(verify_xml_signature(etree.tostring(wrapper))) == ["signature-position"]


def test_wrapper_with_signature_moved_to_it_is_rejected(test_pki):
    # A signature over "#n-1" moved onto a new root that carries the same Id.
    signer = XMLSigner(method=methods.enveloped, signature_algorithm=SignxmlMethod.RSA_SHA256, c14n_algorithm=SignxmlC14N.EXCLUSIVE_XML_CANONICALIZATION_1_0)
    signed = signer.sign(etree.fromstring(DOCUMENT), key=_key_pem(test_pki.head), cert=[test_pki.head.certificate])
    signature = signed[-1]
    wrapper = etree.Element("{urn:edms-adapter:notification:1}notification", Id="n-1")
    etree.SubElement(wrapper, "{urn:edms-adapter:notification:1}number").text = "99-99/999"
    wrapper.append(signed)
    wrapper.append(signature)
    check = verify_xml_signature(etree.tostring(wrapper))
    assert not check.intact
    assert _codes(check) == ["reference-uri"]


def test_second_signature_is_rejected(head, test_pki):
    signed = etree.fromstring(sign_xml(DOCUMENT, head))
    other = etree.fromstring(sign_xml(DOCUMENT, signer_for(test_pki.deputy)))
    signed.find("{urn:edms-adapter:notification:1}facts").append(other[-1])
    check = verify_xml_signature(etree.tostring(signed))
    assert _codes(check) == ["signature-count"]


def test_reference_to_part_of_document_is_rejected(head):
    signed = sign_xml(DOCUMENT, head).replace(b'URI=""', b'URI="#f-1"')
    assert _codes(verify_xml_signature(signed)) == ["reference-uri"]


def _replace_certificate(signed: bytes, cert) -> bytes:
    root = etree.fromstring(signed)
    element = root.find(f".//{DS}X509Certificate")
    element.text = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return etree.tostring(root)


def test_swapped_certificate_is_rejected(head, test_pki):
    check = verify_xml_signature(_replace_certificate(sign_xml(DOCUMENT, head), test_pki.deputy.certificate))
    assert _codes(check) == ["signature-invalid"]
    assert check.certificate == test_pki.deputy.certificate


def test_signer_is_the_certificate_whose_key_verifies(head, test_pki):
    # A foreign certificate put first in KeyInfo does not become the signer.
    root = etree.fromstring(sign_xml(DOCUMENT, head, xades=True))
    x509_data = root.find(f".//{DS}X509Data")
    foreign = etree.Element(f"{DS}X509Certificate")
    foreign.text = base64.b64encode(test_pki.other_org_head.certificate.public_bytes(serialization.Encoding.DER)).decode()
    x509_data.insert(0, foreign)
    check = verify_xml_signature(etree.tostring(root))
    assert check.intact, check.problems
    assert check.certificate == head.certificate


def test_gost_signature_method_is_reported(head):
    signed = sign_xml(DOCUMENT, head).replace(SignatureMethod.RSA_SHA256.value.encode(), SignatureMethod.GOST34310_GOST34311.value.encode())
    assert _codes(verify_xml_signature(signed)) == ["gost-unsupported"]


def test_unknown_transform_is_rejected(head):
    signed = sign_xml(DOCUMENT, head).replace(b"http://www.w3.org/2000/09/xmldsig#enveloped-signature", b"http://www.w3.org/TR/1999/REC-xslt-19991116")
    assert _codes(verify_xml_signature(signed)) == ["transform-unsupported"]
