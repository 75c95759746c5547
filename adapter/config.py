"""Configuration: one TOML file, one table per area of the product.

The file is found, in order, at the path given by the caller (the CLI's
``--config``), at ``$EDMS_ADAPTER_CONFIG``, at ``./edms-adapter.toml`` and at
``$XDG_CONFIG_HOME/edms-adapter/config.toml``. Without a file every setting
keeps its default. ``config.example.toml`` documents every setting.

Each area declares its settings as a frozen dataclass and reads them with
:meth:`Config.section`, which rejects unknown keys and values of the wrong
type with a :class:`~adapter.errors.ConfigError` that names the key::

    @dataclass(frozen=True)
    class GatewaySettings:
        endpoint: str = "http://127.0.0.1:8090/SyncChannel"
        timeout_seconds: float = 30.0

    settings = config.section("gateway", GatewaySettings)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError
from .i18n import N_, normalize_language

__all__ = [
    "Config",
    "DocumentSettings",
    "GeneralSettings",
    "find_config_file",
    "load_config",
    "toml_syntax_problem",
]

T = TypeVar("T")

CONFIG_ENV = "EDMS_ADAPTER_CONFIG"

#: The tables a configuration file may have; config.example.toml documents each.
SECTIONS = ("general", "documents", "signing", "trust", "revocation", "gateway", "service", "store", "sender", "receiver")


@dataclass(frozen=True, slots=True)
class GeneralSettings:
    """The ``[general]`` table."""

    #: Language of messages and rendered forms: kk, ru or en; empty means the locale.
    language: str = ""
    #: Folder for the tracking database, inbox files and caches.
    data_dir: str = "~/.local/share/edms-adapter"

    def __post_init__(self) -> None:
        if self.language and normalize_language(self.language) is None:
            raise ConfigError(
                N_("invalid value {value!r} for setting {key}: expected {expected}"),
                key="general.language",
                value=self.language,
                expected="kk | ru | en",
            )


@dataclass(frozen=True, slots=True)
class DocumentSettings:
    """The ``[documents]`` table."""

    #: Largest XML document accepted by the parser, in bytes.
    max_xml_bytes: int = 200 * 1024 * 1024
    #: First day of the ``2026-04`` edition: ten calendar days after the
    #: order's first official publication, which the order itself does not state.
    first_edition_start: dt.date = dt.date(2026, 4, 24)
    #: Optional TOML file that extends the violation type code list.
    violation_types_file: str = ""


class Config:
    """Parsed configuration file; sections are read on demand."""

    def __init__(self, data: Mapping[str, Any] | None = None, *, path: Path | None = None) -> None:
        self.data: Mapping[str, Any] = data or {}
        self.path = path
        # Frozen sections already read, so code that reads a section per request reads it once.
        self._sections: dict[tuple[Any, ...], Any] = {}
        self.general = self.section("general", GeneralSettings)
        self.documents = self.section("documents", DocumentSettings)

    @property
    def data_dir(self) -> Path:
        """Return the data folder with ``~`` expanded, relative paths taken from the config file's folder."""
        return self.resolve_path(self.general.data_dir)

    def resolve_path(self, value: str) -> Path:
        """Resolve a path setting: ``~`` expanded, relative to the config file's folder."""
        path = Path(os.path.expanduser(value))
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return path

    def section(self, name: str, settings_type: type[T]) -> T:
        """Read table ``name`` (dotted for nested tables) into the frozen dataclass ``settings_type``.

        A section of a frozen dataclass is read once and then returned again,
        so ``data`` must not change after the first read.
        """
        key = (name, settings_type)
        cached = self._sections.get(key)
        if cached is not None:
            return cached
        table: Any = self.data
        for part in name.split("."):
            table = table.get(part, {}) if isinstance(table, Mapping) else {}
        if not isinstance(table, Mapping):
            raise ConfigError(N_("setting [{key}] must be a table"), key=name)
        settings = _build(settings_type, table, name)
        if settings_type.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            self._sections[key] = settings
        return settings

    def derived(self, key: tuple[Any, ...], build: Callable[[Config], T]) -> T:
        """Return ``build(self)``, built on the first call for ``key`` and then reused.

        For frozen values derived from sections, such as settings with their
        paths resolved, which the signature checks read on every document.
        """
        cache_key = ("derived", *key)
        cached = self._sections.get(cache_key)
        if cached is None:
            cached = self._sections[cache_key] = build(self)
        return cached


def _build(settings_type: type[T], table: Mapping[str, Any], prefix: str) -> T:
    fields = {f.name: f for f in dataclasses.fields(settings_type)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(
            N_("unknown setting {key}; the known settings of [{section}] are: {known}"),
            key=f"{prefix}.{unknown[0]}",
            section=prefix,
            known=", ".join(fields),
        )
    hints = _type_hints(settings_type)
    values = {}
    for name, raw in table.items():
        values[name] = _coerce(raw, hints[name], f"{prefix}.{name}")
    return settings_type(**values)


@functools.cache
def _type_hints(settings_type: type) -> dict[str, Any]:
    # Evaluating string annotations compiles code, which the receiving service
    # would otherwise repeat on every request.
    return typing.get_type_hints(settings_type)


def _coerce(raw: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        for option in options:
            try:
                return _coerce(raw, option, key)
            except ConfigError:
                continue
        raise _type_error(key, raw, " | ".join(getattr(o, "__name__", str(o)) for o in options))
    if origin in (tuple, list):
        if not isinstance(raw, list):
            raise _type_error(key, raw, "list")
        item_hint = typing.get_args(hint)[0] if typing.get_args(hint) else Any
        items = [_coerce(item, item_hint, f"{key}[{i}]") for i, item in enumerate(raw)]
        return tuple(items)
    if origin in (dict, Mapping) or hint is dict:
        if not isinstance(raw, Mapping):
            raise _type_error(key, raw, "table")
        return dict(raw)
    if hint is Any:
        return raw
    if dataclasses.is_dataclass(hint):
        if not isinstance(raw, Mapping):
            raise _type_error(key, raw, "table")
        return _build(hint, raw, key)
    if hint is bool:
        if not isinstance(raw, bool):
            raise _type_error(key, raw, "true | false")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _type_error(key, raw, "integer")
        return raw
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise _type_error(key, raw, "number")
        return float(raw)
    if hint is str:
        if not isinstance(raw, str):
            raise _type_error(key, raw, "string")
        return raw
    if hint is dt.date:
        if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
            return raw
        if isinstance(raw, str):
            try:
                return dt.date.fromisoformat(raw)
            except ValueError:
                pass
        raise _type_error(key, raw, "YYYY-MM-DD")
    return raw


def _type_error(key: str, raw: Any, expected: str) -> ConfigError:
    return ConfigError(
        N_("invalid value {value!r} for setting {key}: expected {expected}"),
        key=key,
        value=raw,
        expected=expected,
    )


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the configuration file to use, or ``None`` when there is none."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(N_("configuration file {path} not found; check the --config path"), path=str(path))
        return path
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(
                N_("configuration file {path} named by {variable} not found; fix or unset the variable"),
                path=str(path),
                variable=CONFIG_ENV,
            )
        return path
    local = Path("edms-adapter.toml")
    if local.is_file():
        return local
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = base / "edms-adapter" / "config.toml"
    return user if user.is_file() else None


# Python 3.11's tomllib ends every message with the position, in English.
_TOML_POSITION = re.compile(r"\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)$")
_TOML_END = re.compile(r"\s*\(at end of document\)$")


def toml_syntax_problem(file: str, exc: tomllib.TOMLDecodeError) -> tuple[str, dict[str, Any]]:
    """Return a message id and its parameters that name the file, line and column of a TOML syntax error.

    tomllib's own English reason stays in the message as ``{reason}``.
    """
    text = str(exc)
    position = _TOML_POSITION.search(text)
    if position is not None:
        return (
            N_("{file}, line {line}, column {column}: invalid TOML syntax; correct the file at that place (parser message: {reason})"),
            {"file": file, "line": int(position["line"]), "column": int(position["column"]), "reason": text[: position.start()]},
        )
    return (
        N_("{file}: invalid TOML syntax at the end of the file; look for an unclosed string, array or table (parser message: {reason})"),
        {"file": file, "reason": _TOML_END.sub("", text)},
    )


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the configuration file (see the module docstring for where it is looked for)."""
    found = find_config_file(path)
    if found is None:
        return Config()
    try:
        with found.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        message, params = toml_syntax_problem(str(found), exc)
        raise ConfigError(message, **params) from exc
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        # A misspelt table would otherwise leave its settings at their defaults without a word.
        raise ConfigError(
            N_("unknown table [{section}] in {file}; the known tables are: {known}"),
            key=unknown[0],
            section=unknown[0],
            file=str(found),
            known=", ".join(f"[{name}]" for name in SECTIONS),
        )
    return Config(data, path=found.resolve())
