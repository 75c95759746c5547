"""The command entry point: languages, exit codes, configuration errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from adapter.cli.main import main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapter.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [("kk", "Қолданылуы:"), ("ru", "Использование:"), ("en", "Usage:")],
)
def test_help_in_each_language(language, expected, capsys):
    assert main(["--lang", language, "--help"]) == 0
    assert expected in capsys.readouterr().out


def test_unknown_option_is_usage_error(capsys):
    assert main(["--lang", "ru", "--no-such-option"]) == 2
    assert "Нет параметра" in capsys.readouterr().err


def test_missing_config_file_is_usage_error(tmp_path, capsys):
    missing = tmp_path / "absent.toml"
    assert main(["--lang", "en", "--config", str(missing), "validate", "x.xml"]) == 2
    err = capsys.readouterr().err
    assert "Configuration error" in err
    assert str(missing) in err


def test_config_language_applies_to_help(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[general]\nlanguage = "ru"\n', encoding="utf-8")
    assert main(["--config", str(config), "--help"]) == 0
    assert "Использование:" in capsys.readouterr().out


def test_bad_setting_names_key(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[general]\nlanguag = "ru"\n', encoding="utf-8")
    assert main(["--lang", "kk", "--config", str(config), "validate", "x.xml"]) == 2
    err = capsys.readouterr().err
    assert "general.languag" in err
    assert "Конфигурация қатесі" in err


def test_entry_point_runs_as_process():
    result = run_cli("--lang", "en", "--version")
    assert result.returncode == 0
    assert "edms-adapter" in result.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["demo", "--lang", "en"], ["--lang", "en", "demo"]),
        (["demo", "--lang=ru", "-v"], ["-v", "--lang=ru", "demo"]),
        (["--lang", "kk", "roster", "due", "--config", "c.toml"], ["--config", "c.toml", "--lang", "kk", "roster", "due"]),
        (["render", "x.xml", "--lang", "ru"], ["render", "x.xml", "--lang", "ru"]),
        (["validate", "--", "--lang"], ["validate", "--", "--lang"]),
        (["--lang", "en", "--help"], ["--lang", "en", "--help"]),
    ],
)
def test_global_options_after_command(argv, expected):
    from adapter.cli.main import _hoist_global_options

    assert _hoist_global_options(argv) == expected


def test_lang_after_command_translates(capsys):
    assert main(["validate", "--help", "--lang", "ru"]) == 0
    assert "Использование:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("language", "expected"),
    [("kk", "Файл 'nope.toml' жоқ."), ("ru", "Файл 'nope.toml' не существует."), ("en", "File 'nope.toml' does not exist.")],
)
def test_missing_input_file_in_one_language(language, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    assert main(["--lang", language, "build", "nope.toml"]) == 2

    err = capsys.readouterr().err
    assert expected in err
    if language != "en":
        assert "File" not in err


def test_toml_syntax_error_names_line_and_column(tmp_path, capsys):
    source = tmp_path / "notification.toml"
    source.write_text('[document]\nnumber = "01-15\n', encoding="utf-8")

    assert main(["--lang", "kk", "build", str(source)]) == 1

    err = capsys.readouterr().err
    assert f"{source}, 2-жол, 16-баған: TOML синтаксисі қате; файлды осы жерде түзетіңіз" in err


def test_config_toml_syntax_error_names_line(tmp_path, capsys):
    config = tmp_path / "edms-adapter.toml"
    config.write_text("[general]\nlanguage = = \"ru\"\n", encoding="utf-8")

    assert main(["--lang", "ru", "--config", str(config), "inbox"]) == 2

    err = capsys.readouterr().err
    assert f"{config}, строка 2, столбец 12: ошибка синтаксиса TOML" in err


def test_toml_error_at_end_of_file(tmp_path, capsys):
    source = tmp_path / "roster.toml"
    source.write_text("[document]\nitems = [1,\n", encoding="utf-8")

    assert main(["--lang", "en", "build", str(source)]) == 1

    assert f"{source}: invalid TOML syntax at the end of the file" in capsys.readouterr().err
