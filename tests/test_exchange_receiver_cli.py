"""The receiving side's commands: serve, passwords of the receipt key, usage errors and messages."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys

import pytest

from adapter.cli.main import main
from adapter.errors import KeyLoadError
from receiver_support import write_cli_config

PASSWORD_VARIABLE = "EDMS_TEST_RECEIVER_PASSWORD"


def _config(tmp_path, test_pki, monkeypatch):
    path = tmp_path / "edms-adapter.toml"
    write_cli_config(path, test_pki, tmp_path, password_env=PASSWORD_VARIABLE)
    monkeypatch.setenv(PASSWORD_VARIABLE, test_pki.password)
    return path


def test_serve_port_in_use(test_pki, tmp_path, monkeypatch, capsys):
    config_path = _config(tmp_path, test_pki, monkeypatch)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--lang", "en", "--config", str(config_path), "serve", "--port", str(port)])

    err = capsys.readouterr().err
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "choose another --port" in err
    assert "Service listening" not in err
    assert "Traceback" not in err


def test_serve_logs_stop_on_sigterm(test_pki, tmp_path, monkeypatch):
    config_path = _config(tmp_path, test_pki, monkeypatch)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "adapter.cli.main", "--lang", "en", "--config", str(config_path), "serve", "--port", str(port)]

    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        lines = []
        for line in process.stderr:
            lines.append(line)
            if "Service listening on" in line:
                break
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert f"Service listening on http://127.0.0.1:{port}/" in "".join(lines)
    assert process.returncode == 0, rest
    assert f"server on http://127.0.0.1:{port}/ stopped" in rest


def test_decide_without_facts_is_usage_error(test_pki, tmp_path, monkeypatch, capsys):
    config_path = _config(tmp_path, test_pki, monkeypatch)
    # Without the variable the key would need a password; the usage error must come first.
    monkeypatch.delenv(PASSWORD_VARIABLE)

    code = main(["--lang", "en", "--config", str(config_path), "decide", "1"])

    err = capsys.readouterr().err
    assert code == 2
    assert "--confirm and/or --reject" in err
    assert "password" not in err.lower()


def test_refuse_empty_reason_is_usage_error(test_pki, tmp_path, monkeypatch, capsys):
    config_path = _config(tmp_path, test_pki, monkeypatch)

    code = main(["--lang", "ru", "--config", str(config_path), "refuse", "2", "--reason", " "])

    err = capsys.readouterr().err
    assert code == 2
    assert "значение --reason пустое" in err


def test_empty_password_variable_named(test_pki, tmp_path, monkeypatch, capsys):
    config_path = _config(tmp_path, test_pki, monkeypatch)
    monkeypatch.setenv(PASSWORD_VARIABLE, "")

    code = main(["--lang", "en", "--config", str(config_path), "register", "1"])

    err = capsys.readouterr().err
    assert code == 1
    assert f"${PASSWORD_VARIABLE} named by [receiver] password_env is empty" in err
    assert "wrong password" not in err


@pytest.mark.parametrize("command", [["register", "1"], ["decide", "1", "--confirm", "1"], ["serve"]])
def test_no_password_without_terminal(command, test_pki, tmp_path, monkeypatch, capsys):
    config_path = _config(tmp_path, test_pki, monkeypatch)
    monkeypatch.delenv(PASSWORD_VARIABLE)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    code = main(["--lang", "en", "--config", str(config_path), *command])

    err = capsys.readouterr().err
    assert code == 1
    assert f"set the environment variable named by [receiver] password_env ({PASSWORD_VARIABLE}) or [receiver] password_file" in err
    assert "Aborted" not in err
    assert "GetPassWarning" not in err


def test_password_file_setting(test_pki, tmp_path, monkeypatch, capsys):
    config_path = _config(tmp_path, test_pki, monkeypatch)
    monkeypatch.delenv(PASSWORD_VARIABLE)
    password_file = tmp_path / "receiver-password"
    password_file.write_text(test_pki.password + "\n", encoding="utf-8")
    with config_path.open("a", encoding="utf-8") as config:
        config.write(f'password_file = "{password_file}"\n')

    code = main(["--lang", "en", "--config", str(config_path), "register", "1"])

    # The key opened, so the command got as far as looking up the document.
    assert code == 1
    assert "no received document with id 1" in capsys.readouterr().err


def test_prompt_without_terminal_raises(monkeypatch):
    from signing.keys import PasswordSource

    monkeypatch.setattr(sys, "stdin", io.StringIO("secret\n"))

    with pytest.raises(KeyLoadError) as caught:
        PasswordSource.prompt("head.p12").read()

    assert "no terminal to ask for the password of head.p12" in caught.value.localized("en")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Цифрландыру басқармасы", "Цифрландыру басқармасы"),
        ("Алматы облысының цифрландыру басқармасы мониторинг бөлімі", "Алматы облысының цифрландыру басқармасы…"),
        ("A" * 50, "A" * 39 + "…"),
    ],
)
def test_inbox_sender_name_shortened_at_word(name, expected):
    from adapter.cli.receiver import SENDER_NAME_WIDTH, _shorten

    assert _shorten(name, SENDER_NAME_WIDTH) == expected
