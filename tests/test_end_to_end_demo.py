"""The demo command end to end in a child process, and the samples it ships."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / "adapter" / "samples"
EXAMPLES = REPO_ROOT / "examples"
# The installed console script's body; "python -m adapter.cli.main" would load
# the CLI module twice.
CLI = "import sys; from adapter.cli.main import main; sys.exit(main())"


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the command line in a child process with ``arguments``."""
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-c", CLI, *arguments], capture_output=True, text=True, env=environment, timeout=300)


def test_samples_match_examples():
    shipped = sorted(path.relative_to(SAMPLES) for path in SAMPLES.rglob("*") if path.is_file())
    assert Path("notification.toml") in shipped
    for relative in shipped:
        source = EXAMPLES / relative
        assert source.is_file(), f"adapter/samples/{relative} has no source in examples/"
        assert filecmp.cmp(source, SAMPLES / relative, shallow=False), f"adapter/samples/{relative} differs: cp examples/{relative} adapter/samples/{relative}"


def test_demo_command_prints_timeline(tmp_path):
    completed = _cli("--lang", "en", "demo", "--data", str(tmp_path / "demo"))

    assert completed.returncode == 0, completed.stderr[-3000:]
    output = completed.stdout
    assert "Timeline:" in output
    for state in ("signed", "queued for sending", "sent", "delivered", "registered", "decided"):
        assert f"  {state}" in output, state
    assert "some facts confirmed, some rejected" in output
    assert "rejected: The resource is a news report" in output
    assert "confirmed facts 1-22 and rejected fact 23" in output
    assert "sent: sent" not in output
    assert (tmp_path / "demo" / "pki").is_dir()
    password_file = tmp_path / "demo" / "pki" / "password.txt"
    assert str(password_file) in output
    assert password_file.read_text(encoding="utf-8").strip() == "Qwerty12"
    assert "Qwerty12" not in output

    # A second run into the same folder would replace the first run's keys.
    root_certificate = (tmp_path / "demo" / "pki" / "root-ca.pem").read_bytes()
    again = _cli("--lang", "en", "demo", "--data", str(tmp_path / "demo"))
    assert again.returncode != 0
    assert "already holds a demo" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert (tmp_path / "demo" / "pki" / "root-ca.pem").read_bytes() == root_certificate


def test_demo_command_in_kazakh(tmp_path):
    completed = _cli("--lang", "kk", "demo")

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Хронология:" in completed.stdout
    assert "Timeline:" not in completed.stdout
    assert "шешім қабылданды" in completed.stdout
    assert "жіберілді: жіберілді" not in completed.stdout
    assert "1-22-фактілерді растап, 23-фактіні қабылдамады" in completed.stdout
