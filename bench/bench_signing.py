"""Compare signing and verification with libxmlsec1 (python-xmlsec) on the same documents and key.

Both sides start from the same bytes: signing takes the unsigned document's
bytes and returns signed bytes, and verification takes the same signed bytes
(signed by this package). Keys and certificates are loaded once, outside the
timed part. Run::

    /work/venv/bin/python bench/bench_signing.py [--facts 100 10000] [--repeat 0]

``--repeat 0`` picks the number of runs from the document size. Prints the
median time of each side and the ratio ours / libxmlsec1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests"))

from adapter.xml import build_xml  # noqa: E402
from signing.keys import load_pkcs12  # noqa: E402
from signing.testpki import TestPki  # noqa: E402
from signing.xmldsig import sign_xml, verify_xml_signature  # noqa: E402
from signing_support import notification_for  # noqa: E402


class XmlsecSide:
    """libxmlsec1 with the same profile: enveloped, URI="", exclusive C14N, RSA-SHA256, X509Data."""

    def __init__(self, identity) -> None:
        key_pem = identity.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        cert_pem = identity.certificate.public_bytes(serialization.Encoding.PEM)
        self.sign_key = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem)
        self.sign_key.load_cert_from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem)
        self.verify_key = xmlsec.Key.from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem)

    def sign(self, data: bytes) -> bytes:
        root = etree.fromstring(data, etree.XMLParser(huge_tree=True, resolve_entities=False))
        signature = xmlsec.template.create(root, xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformRsaSha256, ns="ds")
        root.append(signature)
        reference = xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256, uri="")
        xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
        xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
        xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
        context = xmlsec.SignatureContext()
        context.key = self.sign_key
        context.sign(signature)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def verify(self, data: bytes) -> None:
        root = etree.fromstring(data, etree.XMLParser(huge_tree=True, resolve_entities=False))
        node = xmlsec.tree.find_node(root, xmlsec.constants.NodeSignature)
        context = xmlsec.SignatureContext()
        context.key = self.verify_key
        context.verify(node)


def median_seconds(function, argument, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(argument)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def ours_verify(data: bytes) -> None:
    check = verify_xml_signature(data)
    if not check.intact:
        raise AssertionError(check.problems)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, nargs="+", default=[100, 10_000])
    parser.add_argument("--repeat", type=int, default=0, help="runs per measurement; 0 picks by size")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        pki = TestPki.create(folder)
        identity = pki.head
        signer = load_pkcs12(identity.p12_path, pki.password)
        xmlsec_side = XmlsecSide(identity)
        print(f"# {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {_cpu()}, Python {platform.python_version()}")
        print(f"# lxml {etree.__version__} (libxml2 {'.'.join(map(str, etree.LIBXML_VERSION))}), python-xmlsec {xmlsec.__version__} (libxmlsec1 {'.'.join(map(str, xmlsec.get_libxmlsec_version()))}), RSA-2048")
        print("| facts | size | sign ours | sign libxmlsec1 | ratio | verify ours | verify libxmlsec1 | ratio |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for facts in args.facts:
            document = build_xml(notification_for(identity, facts=facts))
            signed = sign_xml(document, signer)
            xmlsec_side.verify(signed)
            ours_verify(xmlsec_side.sign(document))
            repeat = args.repeat or (200 if facts <= 1000 else 15)
            # Interleave the sides so drift on a shared machine hits both.
            sign_ours, sign_theirs, verify_ours, verify_theirs = [], [], [], []
            for _ in range(3):
                sign_ours.append(median_seconds(lambda data: sign_xml(data, signer), document, repeat))
                sign_theirs.append(median_seconds(xmlsec_side.sign, document, repeat))
                verify_ours.append(median_seconds(ours_verify, signed, repeat))
                verify_theirs.append(median_seconds(xmlsec_side.verify, signed, repeat))
            row = [statistics.median(values) for values in (sign_ours, sign_theirs, verify_ours, verify_theirs)]
            print(
                f"| {facts:,} | {len(document) / 1024:,.0f} KiB | {row[0] * 1000:.2f} ms | {row[1] * 1000:.2f} ms | {row[0] / row[1]:.2f} "
                f"| {row[2] * 1000:.2f} ms | {row[3] * 1000:.2f} ms | {row[2] / row[3]:.2f} |"
            )
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
