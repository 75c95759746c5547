"""Helpers for the receiving side's tests: documents signed with the test PKI, the service on loopback."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from adapter.config import Config
from adapter.exchange.card import AttachedFile, Card, build_card
from adapter.model import DocumentHeader, Evidence, Fact, Language, Notification, Organisation, Signatory, SignatoryRole, Violation
from adapter.xml import build_xml
from signing.keys import load_signer
from signing.testpki import AUTHORISED_BODY_BIN, AUTHORISED_BODY_NAME, SENDER_NAME, TestIdentity, TestPki

#: Gateway participant id of the sending state body in these tests.
SENDER_ID = "TEST_REGION_DIGITAL"
DOCUMENT_DATE = dt.date(2026, 11, 30)


def png_bytes(seed: int) -> bytes:
    """Return a small real PNG image (1x1 pixel whose grey level is ``seed``)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(bytes([0, seed % 256]))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def make_config(pki: TestPki, folder: Path, **receiver: Any) -> Config:
    """Return a configuration that trusts the test PKI and keeps the inbox in ``folder``."""
    settings: dict[str, Any] = {"bin": AUTHORISED_BODY_BIN, "language": "en"}
    settings.update(receiver)
    return Config(
        {
            "general": {"data_dir": str(folder), "language": "en"},
            "trust": {"anchors": [str(path) for path in pki.trust_anchor_paths], "intermediates": [str(pki.issuing_ca_path)]},
            "revocation": {"policy": "hard-fail", "methods": ["crl"], "crl_files": [str(pki.crl_path), str(pki.root_crl_path)]},
            "receiver": settings,
        }
    )


def write_cli_config(path: Path, pki: TestPki, folder: Path, *, password_env: str = "EDMS_TEST_RECEIVER_PASSWORD") -> None:
    """Write a configuration file for the receiving side's commands, with the inbox in ``folder``."""
    path.write_text(
        "\n".join(
            [
                "[general]",
                f'data_dir = "{folder}"',
                "[trust]",
                f'anchors = ["{pki.root_ca_path}"]',
                f'intermediates = ["{pki.issuing_ca_path}"]',
                "[revocation]",
                'methods = ["crl"]',
                f'crl_files = ["{pki.crl_path}", "{pki.root_crl_path}"]',
                "[receiver]",
                f'key = "{pki.receiver.p12_path}"',
                f'password_env = "{password_env}"',
                f'sender_bins = {{ {SENDER_ID} = "{pki.sender_bin}" }}',
                "",
            ]
        ),
        encoding="utf-8",
    )


def signer_of(identity: TestIdentity) -> Any:
    """Open the PKCS#12 key of a test identity."""
    return load_signer(str(identity.p12_path), password=identity.password)


def notification(pki: TestPki, identity: TestIdentity, *, number: str = "01-15/2041", facts: int = 3, evidence: tuple[AttachedFile, ...] = (), role: SignatoryRole = SignatoryRole.HEAD, edition: str = "2026-07-12", day: dt.date = DOCUMENT_DATE) -> Notification:
    """Build a notification of ``facts`` facts that ``identity`` signs, binding ``evidence`` by SHA-256."""
    header = DocumentHeader(
        number=number,
        date=day,
        language=Language.KK,
        edition=edition,
        sender=Organisation(SENDER_NAME, "ГУ «Управление цифрового развития тестовой области»", identity.bin or pki.sender_bin),
        recipient=Organisation(AUTHORISED_BODY_NAME, "Министерство культуры и информации Республики Казахстан (тест)", AUTHORISED_BODY_BIN),
    )
    rows = tuple(
        Fact(number=index, protocol="HTTPS", ip=f"203.0.113.{index}", domain=f"casino-{index}.example.kz", url=f"https://casino-{index}.example.kz/play")
        for index in range(1, facts + 1)
    )
    listed = tuple(
        Evidence(number=index, file_name=item.file_name, media_type=item.media_type, size=item.size, sha256=item.sha256, fact=1)
        for index, item in enumerate(evidence, start=1)
    )
    signatory = Signatory(position="Басшы", full_name=identity.full_name or "", iin=identity.iin or "", role=role)
    return Notification(header=header, violation=Violation("online-casino", "Article 41-1 of the Law On Communications"), facts=rows, signatory=signatory, evidence=listed)


def signed_card(pki: TestPki, identity: TestIdentity, config: Config, *, evidence_count: int = 2, policy: bool = True, **options: Any) -> tuple[Card, bytes]:
    """Sign a notification by ``identity`` and return its card and the signed XML.

    With ``policy`` off the signatory policy is skipped, to make documents a
    careful sender would refuse to sign.
    """
    from signing.verify import sign_document
    from signing.xmldsig import sign_xml

    evidence = tuple(AttachedFile(f"shot-{index}.png", "image/png", png_bytes(index + len(options.get("number", "")))) for index in range(1, evidence_count + 1))
    document = notification(pki, identity, evidence=evidence, **options)
    xml = build_xml(document)
    signer = signer_of(identity)
    signed = sign_document(xml, signer, settings=config) if policy else sign_xml(xml, signer, xades=True)
    return build_card(signed, evidence=evidence), signed


def tamper_signed(signed: bytes) -> bytes:
    """Change one fact of a signed document after signing, keeping it well-formed."""
    changed = signed.replace(b"203.0.113.1<", b"203.0.113.9<", 1)
    assert changed != signed
    return changed


def card_with_document(card: Card, document: bytes) -> Card:
    """Return ``card`` carrying another signed document."""
    return replace(card, document=AttachedFile(card.document.file_name, card.document.media_type, document))


@dataclass
class ReceivingSide:
    """The receiving service on loopback with its store and key."""

    config: Config
    service: Any
    server: Any
    store: Any

    @property
    def url(self) -> str:
        return self.server.url
