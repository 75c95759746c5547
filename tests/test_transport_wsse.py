"""WS-Security body signature: signing, verification and its rejections, without a network."""

from __future__ import annotations

import base64
import copy
import datetime as dt

import pytest
from lxml import etree

from adapter.errors import VerificationError
from adapter.transport.namespaces import DS_NS, SOAP11_ENV_NS, WSSE_NS, WSU_NS
from adapter.transport.wsse import (
    BASE64_ENCODING,
    X509_TOKEN_TYPE,
    BodySignature,
    EnvelopeSignatureError,
    sign_envelope,
    verify_envelope,
)
from transport_support import make_key_pair

ENVELOPE = f"""<soap:Envelope xmlns:soap="{SOAP11_ENV_NS}"><soap:Body><ns0:SendMessage
xmlns:ns0="http://bip.bee.kz/SyncChannel/v10/Types"><request><requestInfo><messageId>m-1</messageId></requestInfo>
<requestData><data><card xmlns="urn:card">Қазақстан</card></data></requestData></request></ns0:SendMessage></soap:Body></soap:Envelope>"""


@pytest.fixture(scope="module")
def rsa_pair():
    return make_key_pair("sender RSA")


@pytest.fixture(scope="module")
def ec_pair():
    return make_key_pair("sender EC", kind="ec")


def _signed(pair) -> etree._Element:
    return sign_envelope(etree.fromstring(ENVELOPE.encode()), pair.signer)


def _reparsed(envelope: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(envelope))


@pytest.mark.parametrize("pair_name", ["rsa_pair", "ec_pair"])
def test_signed_envelope_verifies(request, pair_name):
    pair = request.getfixturevalue(pair_name)
    envelope = _reparsed(_signed(pair))
    certificate = verify_envelope(envelope, trust=[pair.certificate])
    assert certificate == pair.certificate


def test_signature_follows_profile(rsa_pair):
    envelope = _signed(rsa_pair)
    body = envelope.find(f"{{{SOAP11_ENV_NS}}}Body")
    body_id = body.get(f"{{{WSU_NS}}}Id")
    assert body_id.startswith("id-")
    security = envelope.find(f"{{{SOAP11_ENV_NS}}}Header/{{{WSSE_NS}}}Security")
    assert security.get(f"{{{SOAP11_ENV_NS}}}mustUnderstand") == "1"
    assert len(security) == 1
    assert security[0].tag == f"{{{DS_NS}}}Signature"
    references = security.findall(f".//{{{DS_NS}}}Reference")
    assert [r.get("URI") for r in references] == [f"#{body_id}"]
    transforms = security.findall(f".//{{{DS_NS}}}Transform")
    assert [t.get("Algorithm") for t in transforms] == ["http://www.w3.org/2001/10/xml-exc-c14n#"]
    c14n = security.find(f".//{{{DS_NS}}}CanonicalizationMethod")
    assert c14n.get("Algorithm") == "http://www.w3.org/2001/10/xml-exc-c14n#"
    identifier = security.find(f".//{{{WSSE_NS}}}SecurityTokenReference/{{{WSSE_NS}}}KeyIdentifier")
    assert identifier.get("ValueType") == X509_TOKEN_TYPE
    assert identifier.get("EncodingType") == BASE64_ENCODING
    from cryptography.hazmat.primitives.serialization import Encoding

    assert base64.b64decode(identifier.text) == rsa_pair.certificate.public_bytes(Encoding.DER)
    assert security.find(f"{{{WSU_NS}}}Timestamp") is None
    assert security.find(f"{{{WSSE_NS}}}BinarySecurityToken") is None


def test_signature_verifies_with_xmlsec(rsa_pair):
    xmlsec = pytest.importorskip("xmlsec")
    from cryptography.hazmat.primitives.serialization import Encoding

    envelope = _reparsed(_signed(rsa_pair))
    body = envelope.find(f"{{{SOAP11_ENV_NS}}}Body")
    xmlsec.tree.add_ids(envelope, ["Id"])
    context = xmlsec.SignatureContext()
    context.register_id(body, "Id", WSU_NS)
    pem = rsa_pair.certificate.public_bytes(Encoding.PEM)
    context.key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatCertPem)
    signature = envelope.find(f".//{{{DS_NS}}}Signature")
    context.verify(signature)


def test_tampered_body_rejected(rsa_pair):
    envelope = _reparsed(_signed(rsa_pair))
    envelope.find(f".//{{urn:card}}card").text = "changed"
    with pytest.raises(EnvelopeSignatureError) as caught:
        verify_envelope(envelope, trust=[rsa_pair.certificate])
    assert caught.value.reason == "invalid"


def test_tampered_signed_info_rejected(rsa_pair):
    envelope = _reparsed(_signed(rsa_pair))
    body = envelope.find(f"{{{SOAP11_ENV_NS}}}Body")
    envelope.find(f".//{{urn:card}}card").text = "changed"
    digest = envelope.find(f".//{{{DS_NS}}}DigestValue")
    import hashlib

    digest.text = base64.b64encode(
        hashlib.sha256(etree.tostring(body, method="c14n", exclusive=True)).digest()
    ).decode()
    with pytest.raises(EnvelopeSignatureError, match="signature value does not match"):
        verify_envelope(envelope, trust=[rsa_pair.certificate])


def test_missing_security_rejected(rsa_pair):
    envelope = etree.fromstring(ENVELOPE.encode())
    with pytest.raises(EnvelopeSignatureError) as caught:
        verify_envelope(envelope, trust=[rsa_pair.certificate])
    assert caught.value.reason == "missing"
    assert isinstance(caught.value, VerificationError)


def test_wrapped_body_rejected(rsa_pair):
    """A signed Body moved into a header, with a forged Body in its place, is rejected."""
    envelope = _reparsed(_signed(rsa_pair))
    body = envelope.find(f"{{{SOAP11_ENV_NS}}}Body")
    header = envelope.find(f"{{{SOAP11_ENV_NS}}}Header")
    forged = copy.deepcopy(body)
    forged.find(f".//{{urn:card}}card").text = "forged"
    header.append(body)
    envelope.append(forged)
    with pytest.raises(EnvelopeSignatureError) as caught:
        verify_envelope(envelope, trust=[rsa_pair.certificate])
    assert caught.value.reason == "invalid"


def test_untrusted_certificate_rejected(rsa_pair, ec_pair):
    envelope = _reparsed(_signed(rsa_pair))
    with pytest.raises(EnvelopeSignatureError) as caught:
        verify_envelope(envelope, trust=[ec_pair.certificate])
    assert caught.value.reason == "untrusted"


def test_expired_pinned_certificate_rejected(rsa_pair):
    envelope = _reparsed(_signed(rsa_pair))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)
    with pytest.raises(EnvelopeSignatureError, match="not valid at"):
        verify_envelope(envelope, trust=[rsa_pair.certificate], at=later)


def test_trust_callback_decides(rsa_pair):
    envelope = _reparsed(_signed(rsa_pair))
    seen = []

    def accept(certificate):
        seen.append(certificate)

    assert verify_envelope(envelope, trust=accept) == rsa_pair.certificate
    assert seen == [rsa_pair.certificate]
    with pytest.raises(EnvelopeSignatureError):
        verify_envelope(envelope, trust=lambda certificate: False)


def test_sha1_digest_rejected_by_default(rsa_pair):
    envelope = _reparsed(_signed(rsa_pair))
    envelope.find(f".//{{{DS_NS}}}DigestMethod").set("Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1")
    with pytest.raises(EnvelopeSignatureError, match="unsupported"):
        verify_envelope(envelope, trust=[rsa_pair.certificate])


def test_second_transform_rejected(rsa_pair):
    envelope = _reparsed(_signed(rsa_pair))
    transforms = envelope.find(f".//{{{DS_NS}}}Transforms")
    etree.SubElement(transforms, f"{{{DS_NS}}}Transform", Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature")
    with pytest.raises(EnvelopeSignatureError, match="only transform"):
        verify_envelope(envelope, trust=[rsa_pair.certificate])


def test_body_signature_skips_unsigned_fault(rsa_pair):
    fault = etree.fromstring(
        f'<s:Envelope xmlns:s="{SOAP11_ENV_NS}"><s:Body><s:Fault><faultcode>s:Server</faultcode>'
        "<faultstring>x</faultstring></s:Fault></s:Body></s:Envelope>".encode()
    )
    plugin = BodySignature(trust=[rsa_pair.certificate])
    assert plugin.verify(fault) is fault
    with pytest.raises(EnvelopeSignatureError):
        plugin.verify(etree.fromstring(ENVELOPE.encode()))


def test_xmlsec_signature_verifies(rsa_pair):
    """A body signature made by libxmlsec1 in the same profile passes verify_envelope."""
    xmlsec = pytest.importorskip("xmlsec")
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    envelope = etree.fromstring(ENVELOPE.encode())
    body = envelope.find(f"{{{SOAP11_ENV_NS}}}Body")
    body.set(f"{{{WSU_NS}}}Id", "id-7f0c1d2e-xmlsec")
    header = etree.Element(f"{{{SOAP11_ENV_NS}}}Header")
    envelope.insert(0, header)
    security = etree.SubElement(header, f"{{{WSSE_NS}}}Security", nsmap={"wsse": WSSE_NS})
    security.set(f"{{{SOAP11_ENV_NS}}}mustUnderstand", "1")
    signature = xmlsec.template.create(envelope, xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformRsaSha256)
    security.append(signature)
    reference = xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256, uri="#id-7f0c1d2e-xmlsec")
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
    key_info = xmlsec.template.ensure_key_info(signature)
    token = etree.SubElement(key_info, f"{{{WSSE_NS}}}SecurityTokenReference")
    identifier = etree.SubElement(token, f"{{{WSSE_NS}}}KeyIdentifier", EncodingType=BASE64_ENCODING, ValueType=X509_TOKEN_TYPE)
    identifier.text = base64.b64encode(rsa_pair.certificate.public_bytes(Encoding.DER)).decode()

    context = xmlsec.SignatureContext()
    context.register_id(body, "Id", WSU_NS)
    pem = rsa_pair.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    context.key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem)
    context.sign(signature)

    received = _reparsed(envelope)
    assert verify_envelope(received, trust=[rsa_pair.certificate]) == rsa_pair.certificate
    received.find(f".//{{urn:card}}card").text = "changed"
    with pytest.raises(EnvelopeSignatureError):
        verify_envelope(received, trust=[rsa_pair.certificate])
