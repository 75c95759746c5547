"""The build and validate commands: output, exit codes, messages in three languages."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from lxml import etree

from adapter.cli.main import main
from adapter.inputs import load_input
from adapter.xml import build_xml, parse_xml

from xml_samples import VARIED_FACTS, notification

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LIMIT = 10 * 1024 * 1024


@pytest.fixture
def examples(tmp_path):
    """A copy of the example inputs, so outputs land in a temporary folder."""
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder)
    return folder


def test_build_notification(examples, capsys):
    output = examples / "out.xml"
    assert main(["--lang", "en", "build", str(examples / "notification.toml"), "-o", str(output)]) == 0
    assert "valid against the schema" in capsys.readouterr().out
    assert parse_xml(output, max_bytes=LIMIT) == load_input(examples / "notification.toml")


def test_build_default_output_name(examples):
    assert main(["build", str(examples / "roster.toml")]) == 0
    assert parse_xml(examples / "roster.xml", max_bytes=LIMIT) == load_input(examples / "roster.toml")


def test_build_with_facts_file_to_stdout(examples, capsysbinary):
    header = examples / "notification-header.toml"
    assert main(["--lang", "ru", "build", str(header), "--facts", str(examples / "facts.csv"), "-o", "-"]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert parse_xml(captured.out, max_bytes=LIMIT) == load_input(header, facts_file=examples / "facts.csv")
    assert "соответствует схеме" in captured.err.decode()


def test_build_never_writes_invalid_xml(examples, monkeypatch, capsys):
    invalid = notification(facts=(dataclasses.replace(VARIED_FACTS[0], protocol="GOPHER"),))
    monkeypatch.setattr("adapter.inputs.load_input", lambda *args, **kwargs: invalid)
    output = examples / "out.xml"
    assert main(["--lang", "en", "build", str(examples / "notification.toml"), "-o", str(output)]) == 1
    assert not output.exists()
    assert [path.name for path in examples.glob(".out.xml.*")] == []
    assert "GOPHER" in capsys.readouterr().err


def test_build_invalid_input_exit_1(examples, capsys):
    broken = examples / "broken.toml"
    text = (examples / "notification.toml").read_text(encoding="utf-8").replace('bin = "050340001235"', 'bin = "05034"')
    broken.write_text(text, encoding="utf-8")
    assert main(["--lang", "kk", "build", str(broken)]) == 1
    assert "05034" in capsys.readouterr().err
    assert not (examples / "broken.xml").exists()


def test_build_missing_input_exit_2(tmp_path, capsys):
    assert main(["--lang", "en", "build", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml" in capsys.readouterr().err


def test_validate_valid(tmp_path, capsys):
    path = tmp_path / "n.xml"
    path.write_bytes(build_xml(notification()))
    assert main(["--lang", "kk", "validate", str(path)]) == 0
    assert "хабарлама жарамды, фактілер саны: 6" in capsys.readouterr().out


def _invalid_pretty_document(path: Path) -> None:
    facts = (dataclasses.replace(VARIED_FACTS[0], imei="123"), dataclasses.replace(VARIED_FACTS[1], mac="zz"))
    root = etree.fromstring(build_xml(notification(facts=facts)))
    etree.indent(root)
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@pytest.mark.parametrize(
    ("language", "heading", "line_word"),
    [("en", "2 problem(s) found", "line"), ("ru", "найдено ошибок: 2", "строка"), ("kk", "2 қате табылды", "-жол")],
)
def test_validate_invalid_lists_every_error(tmp_path, capsys, language, heading, line_word):
    path = tmp_path / "bad.xml"
    _invalid_pretty_document(path)
    assert main(["--lang", language, "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert heading in err
    assert "/notification/facts/fact[1]/imei" in err
    assert "/notification/facts/fact[2]/mac" in err
    assert line_word in err


def test_validate_hostile_document_exit_1(tmp_path, capsys):
    path = tmp_path / "lol.xml"
    path.write_bytes(b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
    assert main(["--lang", "en", "validate", str(path)]) == 1
    assert "DOCTYPE" in capsys.readouterr().err


def test_validate_respects_configured_limit(tmp_path, capsys):
    path = tmp_path / "n.xml"
    path.write_bytes(build_xml(notification()))
    config = tmp_path / "config.toml"
    config.write_text("[documents]\nmax_xml_bytes = 100\n", encoding="utf-8")
    assert main(["--lang", "en", "--config", str(config), "validate", str(path)]) == 1
    assert "max_xml_bytes" in capsys.readouterr().err


def test_validate_usage_error_exit_2(capsys):
    assert main(["--lang", "en", "validate"]) == 2
    assert "FILE.xml" in capsys.readouterr().err


@pytest.mark.parametrize(("terminal", "shown"), [(True, True), (False, False)])
def test_build_progress_only_on_terminal(examples, monkeypatch, capsys, terminal, shown):
    monkeypatch.setattr("adapter.cli.documents.PROGRESS_MIN_ITEMS", 5)
    monkeypatch.setattr("sys.stderr.isatty", lambda: terminal)
    assert main(["--lang", "en", "build", str(examples / "notification.toml"), "-o", str(examples / "out.xml")]) == 0
    assert ("Writing XML" in capsys.readouterr().err) is shown


def test_build_into_missing_folder(examples, capsys):
    output = examples / "missing" / "out.xml"

    code = main(["--lang", "en", "build", str(examples / "notification.toml"), "-o", str(output)])

    err = capsys.readouterr().err
    assert code == 1
    assert f"output folder {output.parent} does not exist" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
