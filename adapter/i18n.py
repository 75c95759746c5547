"""Gettext catalogs for everything a user reads, in Kazakh, Russian and English.

Message ids are English source strings with ``{name}`` placeholders filled by
:meth:`str.format` after translation. Catalogs are plain gettext ``.po`` files
under ``adapter/locale/<lang>/LC_MESSAGES/``; every ``.po`` file of a language
is merged into one catalog, so each area of the product keeps its own file.
They are read with Babel at first use, so no compile step is needed.

The language is chosen, in order, by an explicit argument, by
:func:`set_language` (the CLI's ``--lang`` and the configuration), and by the
process locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``, ``LANGUAGE``); Kazakh is
the fallback because it is the state language.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "Term",
    "catalog",
    "current_language",
    "gettext",
    "language_from_locale",
    "normalize_language",
    "set_language",
    "translate",
    "use_language",
]

LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"

_LOCALE_DIR = Path(__file__).with_name("locale")
_catalogs: dict[str, dict[str, str]] = {}
_catalogs_lock = threading.Lock()
_language: contextvars.ContextVar[str | None] = contextvars.ContextVar("edms_adapter_language", default=None)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, do not translate yet"
    """Mark a message id for extraction without translating it."""
    return message


class Term(str):
    """A message id passed as a placeholder value, such as a state name.

    :func:`translate` translates a Term into the language of the message that
    contains it, so the name of a state in an error follows the error's language.
    """

    __slots__ = ()


def normalize_language(value: str | None) -> str | None:
    """Map ``kk``, ``kk_KZ.UTF-8``, ``RU``, ``kz`` and the like to one of :data:`LANGUAGES`, or ``None``."""
    if not value:
        return None
    code = value.strip().lower().replace("-", "_").split(".")[0].split("@")[0].split("_")[0]
    if code == "kz":
        code = "kk"
    return code if code in LANGUAGES else None


def language_from_locale() -> str | None:
    """Return the language of the process locale when it is one of ours."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        raw = os.environ.get(variable)
        if not raw:
            continue
        for part in raw.split(":"):
            language = normalize_language(part)
            if language:
                return language
    return None


def set_language(language: str | None) -> None:
    """Set the language of this context (thread or task); ``None`` returns to the locale."""
    if language is not None and normalize_language(language) is None:
        raise ValueError(f"unsupported language {language!r}: use one of {', '.join(LANGUAGES)}")
    _language.set(normalize_language(language))


@contextmanager
def use_language(language: str | None) -> Iterator[None]:
    """Use another language inside a ``with`` block."""
    token = _language.set(normalize_language(language))
    try:
        yield
    finally:
        _language.reset(token)


def current_language() -> str:
    """Return the language in force: the one set, else the locale's, else Kazakh."""
    return _language.get() or language_from_locale() or DEFAULT_LANGUAGE


def _load_catalog(language: str) -> dict[str, str]:
    from babel.messages.pofile import read_po

    merged: dict[str, str] = {}
    folder = _LOCALE_DIR / language / "LC_MESSAGES"
    for po_file in sorted(folder.glob("*.po")):
        with po_file.open("rb") as handle:
            parsed = read_po(handle, locale=None)
        for message in parsed:
            if not message.id or not isinstance(message.id, str):
                continue
            if message.string and not message.fuzzy:
                merged[message.id] = message.string
    return merged


def catalog(language: str) -> dict[str, str]:
    """Return the merged catalog of ``language`` as a mapping of message id to translation."""
    normalized = normalize_language(language)
    if normalized is None:
        raise ValueError(f"unsupported language {language!r}: use one of {', '.join(LANGUAGES)}")
    with _catalogs_lock:
        if normalized not in _catalogs:
            _catalogs[normalized] = _load_catalog(normalized)
        return _catalogs[normalized]


def gettext(message: str, language: str | None = None) -> str:
    """Translate ``message`` into ``language`` (default: :func:`current_language`)."""
    table = catalog(language or current_language())
    return table.get(message, message)


def translate(message: str, language: str | None = None, /, **params: object) -> str:
    """Translate ``message`` and fill its ``{name}`` placeholders from ``params``."""
    text = gettext(message, language)
    if not params:
        return text
    params = {name: gettext(value, language) if isinstance(value, Term) else value for name, value in params.items()}
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        # A translation with a broken placeholder must not hide the error it reports.
        return message.format(**params)
