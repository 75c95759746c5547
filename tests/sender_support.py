"""Helpers of the sending side's tests: a loopback exchange, numbered sample notifications, TOML files."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

from adapter.exchange.demo import LoopbackExchange
from adapter.exchange.sender import SenderClient
from adapter.model import Notification

_numbers = itertools.count(1)

#: Folder of the shipped sample notification and its screenshots.
SAMPLES = Path(__file__).resolve().parent.parent / "adapter" / "samples"

#: A gateway participant the receiving service maps to another organisation's BIN.
FOREIGN_SENDER_ID = "FOREIGN_BODY"
FOREIGN_BIN = "110740004565"


def start_exchange(folder: Path) -> LoopbackExchange:
    """Start a loopback exchange whose receiver also maps :data:`FOREIGN_SENDER_ID` to :data:`FOREIGN_BIN`."""
    from adapter.exchange.demo import DEMO_SENDER_ID
    from adapter.inputs import load_input
    from adapter.exchange.demo import sample_path

    sample = load_input(sample_path())
    exchange = LoopbackExchange(
        folder,
        sample=sample,
        receiver_settings={"sender_bins": {DEMO_SENDER_ID: sample.header.sender.bin, FOREIGN_SENDER_ID: FOREIGN_BIN}},
    )
    return exchange.__enter__()


def numbered_sample(exchange: LoopbackExchange, prefix: str = "T") -> Notification:
    """Return the sample notification under a number no other test uses."""
    sample = exchange.sample
    header = dataclasses.replace(sample.header, number=f"{prefix}-{next(_numbers):04d}")
    return dataclasses.replace(sample, header=header)


def sender(exchange: LoopbackExchange, folder: Path, **tables: dict[str, Any]) -> SenderClient:
    """Return a sender client with its own tracking database in ``folder``."""
    return SenderClient(exchange.sender_config(folder, **tables), signer=exchange.head_signer)


def write_toml(path: Path, data: dict[str, Any]) -> Path:
    """Write nested tables of strings, numbers, booleans and lists as TOML."""
    lines: list[str] = []

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, (int, float)):
            return repr(item)
        if isinstance(item, (list, tuple)):
            return "[" + ", ".join(value(element) for element in item) + "]"
        text = str(item).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}"'

    def table(name: str, content: dict[str, Any]) -> None:
        lines.append(f"[{name}]")
        nested = []
        for key, item in content.items():
            if isinstance(item, dict):
                nested.append((key, item))
            else:
                lines.append(f'"{key}" = {value(item)}')
        lines.append("")
        for key, item in nested:
            table(f'{name}."{key}"', item)

    for name, content in data.items():
        table(name, content)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class PostgresServer:
    """A throwaway PostgreSQL server on 127.0.0.1, started from the Debian binaries when they are installed.

    As root the server runs as the ``postgres`` user, because PostgreSQL
    refuses to run as root. :meth:`database_url` creates a fresh database.
    """

    def __init__(self) -> None:
        import os
        import shutil
        import socket
        import subprocess
        import tempfile

        binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        self.bin = binaries[-1].parent if binaries else None
        if self.bin is None:
            raise FileNotFoundError("PostgreSQL server binaries (Debian package postgresql) are not installed")
        # A folder of its own under the system temporary folder, because pytest's
        # folders are private to the user that runs the tests.
        folder = Path(tempfile.mkdtemp(prefix="edms-postgres-"))
        self.folder = folder
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
            self._prefix = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        data = folder / "data"
        subprocess.run([*self._prefix, str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "edms", "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
        options = f"-p {self.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run([*self._prefix, str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"], check=True, capture_output=True)
        self._data = data
        self._count = itertools.count(1)

    def database_url(self) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg

        name = f"edms_test_{next(self._count)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=edms dbname=postgres", autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://edms@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Stop the server and remove its files."""
        import shutil
        import subprocess

        subprocess.run([*self._prefix, str(self.bin / "pg_ctl"), "-D", str(self._data), "-m", "fast", "-w", "stop"], check=False, capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)
