"""Settings of the gateway client: file paths, the sender's password and message properties."""

from __future__ import annotations

import pytest

from adapter.config import Config
from adapter.errors import ConfigError, InputError
from adapter.transport.messages import normalize_properties
from adapter.transport.settings import GatewaySettings, read_password


def test_paths_resolved_against_config_folder(tmp_path):
    config = Config({"gateway": {"password_file": "secrets/gw", "tls_ca_bundle": "/etc/ca.pem"}}, path=tmp_path / "edms.toml")
    settings = GatewaySettings.from_config(config)
    assert settings.password_file == str(tmp_path / "secrets" / "gw")
    assert settings.tls_ca_bundle == "/etc/ca.pem"
    assert settings.tls_client_cert == ""


def test_unknown_gateway_key_rejected():
    with pytest.raises(ConfigError) as caught:
        GatewaySettings.from_config(Config({"gateway": {"endpoint_url": "http://x"}}))
    assert caught.value.key == "gateway.endpoint_url"


def test_password_from_environment(monkeypatch):
    monkeypatch.setenv("EDMS_TEST_GW_PASSWORD", "from-env")
    assert read_password(GatewaySettings(password_env="EDMS_TEST_GW_PASSWORD")) == "from-env"


def test_password_variable_missing(monkeypatch):
    monkeypatch.delenv("EDMS_TEST_GW_MISSING", raising=False)
    with pytest.raises(ConfigError) as caught:
        read_password(GatewaySettings(password_env="EDMS_TEST_GW_MISSING"))
    assert caught.value.key == "gateway.password_env"
    assert "EDMS_TEST_GW_MISSING" in str(caught.value)


def test_password_from_file_first_line(tmp_path):
    path = tmp_path / "password"
    path.write_text("first line\nsecond line\n", encoding="utf-8")
    assert read_password(GatewaySettings(password_file=str(path))) == "first line"


def test_password_file_missing(tmp_path):
    with pytest.raises(ConfigError) as caught:
        read_password(GatewaySettings(password_file=str(tmp_path / "absent")))
    assert caught.value.key == "gateway.password_file"


def test_password_sources_exclusive(tmp_path):
    with pytest.raises(ConfigError):
        read_password(GatewaySettings(password_env="X", password_file=str(tmp_path / "p")))


def test_no_password_configured():
    assert read_password(GatewaySettings()) is None


def test_properties_keep_order_and_repeats():
    pairs = normalize_properties([("b", "1"), ("a", "2"), ("b", "3")])
    assert pairs == (("b", "1"), ("a", "2"), ("b", "3"))
    assert normalize_properties({"k": 5}) == (("k", "5"),)
    assert normalize_properties(None) == ()


@pytest.mark.parametrize("pairs", [[("k" * 31, "v")], [("", "v")], [("k", "v" * 501)]], ids=["long-key", "empty-key", "long-value"])
def test_properties_over_limits_rejected(pairs):
    with pytest.raises(InputError):
        normalize_properties(pairs)
