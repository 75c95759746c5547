"""Code lists of violation types and protocols."""

from __future__ import annotations

import pytest

from adapter.codelists import OTHER, PROTOCOLS, VIOLATION_TYPES, load_violation_types
from adapter.errors import ConfigError


def test_every_violation_type_has_three_names():
    for entry in VIOLATION_TYPES.values():
        assert entry.kk and entry.ru and entry.en, entry.code
    assert OTHER in VIOLATION_TYPES


def test_protocol_names():
    assert PROTOCOLS["HTTPS"].name("kk") == "HTTPS"
    assert PROTOCOLS["OTHER"].name("ru") == "Иной"


def test_extra_violation_types(tmp_path):
    extra = tmp_path / "types.toml"
    extra.write_text('[[violation_type]]\ncode = "fake-news"\nkk = "Жалған ақпарат"\nru = "Ложная информация"\nen = "False information"\n', encoding="utf-8")
    merged = load_violation_types(extra)
    assert merged["fake-news"].ru == "Ложная информация"
    assert "online-casino" in merged


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('[[violation_type]]\ncode = "x"\nkk = "a"\nru = "b"\n', "en"),
        ('[[violation_type]]\ncode = "pornography"\nkk = "a"\nru = "b"\nen = "c"\n', "pornography"),
        ("[[violation_type]\n", "types.toml"),
    ],
)
def test_bad_extra_violation_types(tmp_path, body, fragment):
    extra = tmp_path / "types.toml"
    extra.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_violation_types(extra)
    assert fragment in str(caught.value)
