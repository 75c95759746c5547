"""Translate click's own texts and our command help through the product's catalogs.

Click marks its built-in texts ("Usage:", "Missing argument", ...) with the
standard :mod:`gettext` functions bound in each click module. :func:`install`
rebinds them to :func:`adapter.i18n.gettext`, so those texts come from our
``cli.po`` catalogs. Command and option help strings are message ids too,
translated by :func:`localize_command_tree` just before help is shown.
"""

from __future__ import annotations

import importlib

import click

from .. import i18n

__all__ = ["install", "localize_command_tree"]

_CLICK_MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.termui",
    "click.types",
    "click.utils",
)


def _gettext(message: str) -> str:
    return i18n.gettext(message)


def _ngettext(singular: str, plural: str, count: int) -> str:
    return i18n.gettext(singular if count == 1 else plural)


def install() -> None:
    """Route click's built-in texts through the product's catalogs."""
    for name in _CLICK_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "_"):
            module._ = _gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _ngettext  # type: ignore[attr-defined]


def _localize(obj: object, attribute: str) -> None:
    original_attr = f"_edms_msgid_{attribute}"
    original = getattr(obj, original_attr, None)
    if original is None:
        original = getattr(obj, attribute, None)
        if not original:
            return
        setattr(obj, original_attr, original)
    setattr(obj, attribute, i18n.gettext(original))


def localize_command_tree(command: click.Command) -> None:
    """Translate the help of ``command``, its parameters and its subcommands in place."""
    _localize(command, "help")
    _localize(command, "short_help")
    for param in command.params:
        _localize(param, "help")
        if isinstance(param.type, click.Path):
            # click.Path names itself ("file", "directory", "path") when the
            # decorator runs, before install() routes click's texts here.
            _localize(param.type, "name")
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            localize_command_tree(sub)
