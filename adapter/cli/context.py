"""The object every command receives, kept apart from the entry point.

Command modules import it from here, so running ``python -m adapter.cli.main``
does not import the entry point a second time through them.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from ..config import Config

__all__ = ["CliContext", "pass_context"]


@dataclass
class CliContext:
    """What every command receives: the configuration and the global options."""

    config: Config
    language: str
    verbose: bool


pass_context = click.make_pass_decorator(CliContext)
