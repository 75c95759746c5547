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
