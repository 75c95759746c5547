"""Configuration loading: defaults, types, unknown keys, file discovery."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from adapter.config import Config, load_config
from adapter.errors import ConfigError


@dataclass(frozen=True)
class SampleSettings:
    endpoint: str = "http://127.0.0.1:1/"
    timeout_seconds: float = 30.0
    attempts: int = 3
    enabled: bool = False
    codes: tuple[str, ...] = ()
    start: dt.date = dt.date(2026, 1, 1)
    optional: str | None = None


def test_defaults_without_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EDMS_ADAPTER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    config = load_config()
    assert config.path is None
    assert config.documents.max_xml_bytes == 200 * 1024 * 1024
    assert config.documents.first_edition_start == dt.date(2026, 4, 24)


def test_section_coerces_types():
    config = Config({"sample": {"timeout_seconds": 5, "attempts": 7, "enabled": True, "codes": ["A", "B"], "start": dt.date(2026, 7, 12)}})
    settings = config.section("sample", SampleSettings)
    assert settings.timeout_seconds == 5.0
    assert isinstance(settings.timeout_seconds, float)
    assert settings.codes == ("A", "B")
    assert settings.start == dt.date(2026, 7, 12)
    assert settings.optional is None


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"attempts": "3"}, "sample.attempts"),
        ({"enabled": 1}, "sample.enabled"),
        ({"timeout_seconds": True}, "sample.timeout_seconds"),
        ({"codes": "A"}, "sample.codes"),
        ({"start": "12.07.2026"}, "sample.start"),
        ({"endpont": "x"}, "sample.endpont"),
    ],
)
def test_section_rejects_bad_values(table, key):
    with pytest.raises(ConfigError) as caught:
        Config({"sample": table}).section("sample", SampleSettings)
    assert caught.value.key == key
    assert key in str(caught.value)


def test_invalid_toml_names_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[general\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)


def test_misspelt_table_names_file(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text('[reciever]\nkey = "receiver.p12"\n', encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert caught.value.key == "reciever"
    assert "[reciever]" in caught.value.localized("en")
    assert "[receiver]" in caught.value.localized("en")
    assert str(path) in caught.value.localized("en")


def test_unknown_language_rejected():
    with pytest.raises(ConfigError) as caught:
        Config({"general": {"language": "fr"}}).general

    assert caught.value.key == "general.language"
    assert "'fr'" in caught.value.localized("en")
    assert Config({"general": {"language": "kk_KZ.UTF-8"}}).general.language == "kk_KZ.UTF-8"


def test_env_variable_names_file(monkeypatch, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[general]\ndata_dir = "state"\n', encoding="utf-8")
    monkeypatch.setenv("EDMS_ADAPTER_CONFIG", str(path))
    config = load_config()
    assert config.data_dir == tmp_path / "state"


def test_example_configuration_loads():
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    config = load_config(example)
    assert config.general.language == ""


def test_frozen_section_is_read_once():
    from adapter.config import GeneralSettings

    config = Config({"general": {"language": "ru"}})
    first = config.section("general", GeneralSettings)
    assert config.section("general", GeneralSettings) is first
    assert first.language == "ru"


def test_derived_value_is_built_once():
    config = Config({})
    calls = []

    def build(built_from):
        calls.append(built_from)
        return ("built", len(calls))

    assert config.derived(("example",), build) == ("built", 1)
    assert config.derived(("example",), build) == ("built", 1)
    assert config.derived(("other",), build) == ("built", 2)
    assert calls == [config, config]


def test_default_sender_reaches_default_receiver():
    from urllib.parse import urlsplit

    from adapter.exchange.receiver import ReceiverSettings
    from adapter.transport.settings import GatewaySettings

    endpoint = urlsplit(GatewaySettings().endpoint)
    assert (endpoint.hostname, endpoint.port) == (ReceiverSettings().host, ReceiverSettings().port)
