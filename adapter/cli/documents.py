"""CLI commands of this area; see :func:`register`."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add this area's commands to ``group``."""
