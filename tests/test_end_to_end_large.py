"""A card whose base64 text exceeds libxml2's default text node limit, sent by zeep to the service on loopback."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import struct
import zlib

import pytest
from sqlalchemy import select

from adapter.model import Evidence
from adapter.store.inbox import ReceivedDocument, ReceivedEvidence
from sender_support import numbered_sample, sender, start_exchange

# libxml2 rejects a text node over 10,000,000 bytes unless huge_tree is on;
# the base64 of this file is about 12,600,000 characters.
LARGE_FILE_BYTES = 9 * 1024 * 1024


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    running = start_exchange(tmp_path_factory.mktemp("exchange"))
    yield running
    running.close()


def _large_png(size: int) -> bytes:
    """Return a real 1x1 PNG padded to ``size`` bytes with an ancillary chunk of random bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(bytes([0, 128])))
    end = chunk(b"IEND", b"")
    fixed = 8 + len(header) + len(pixels) + len(end) + 12
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"raNd", os.urandom(size - fixed)) + pixels + end


def test_nine_megabyte_evidence_received(exchange, tmp_path):
    content = _large_png(LARGE_FILE_BYTES)
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "large-shot.png").write_bytes(content)
    sha256 = hashlib.sha256(content).hexdigest()
    sample = numbered_sample(exchange, "LARGE")
    evidence = Evidence(number=1, file_name="large-shot.png", media_type="image/png", size=len(content), sha256=sha256, fact=1)
    document = dataclasses.replace(sample, evidence=(evidence,))

    with sender(exchange, tmp_path / "sender") as client:
        submission = client.submit(document, evidence_folders=[folder])

    assert submission.response_code == "SCSS001"
    with exchange.inbox.session() as session:
        stored = session.scalars(
            select(ReceivedEvidence).join(ReceivedDocument).where(ReceivedDocument.message_id == submission.message_id)
        ).all()
        assert [item.file_name for item in stored] == ["large-shot.png"]
        assert stored[0].size == LARGE_FILE_BYTES
        assert stored[0].sha256 == sha256
        assert stored[0].content == content
