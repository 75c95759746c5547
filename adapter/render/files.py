"""Rendering to files: an XML document to HTML or PDF, and the preview before signing."""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..codelists import CodeListEntry
from ..errors import InputError
from ..i18n import N_
from ..model import Document
from ..outputs import write_atomically
from .html import render_html
from .pdf import render_pdf
from .signature import SignatureSummary

__all__ = ["RenderFormat", "RenderedFile", "render_bytes", "render_file", "render_preview", "write_atomically"]

logger = logging.getLogger(__name__)


class RenderFormat(enum.StrEnum):
    """Output format of a rendered form."""

    HTML = "html"
    PDF = "pdf"

    @classmethod
    def parse(cls, value: str | RenderFormat, *, field: str = "format") -> RenderFormat:
        """Return the format named by ``value`` (``html`` or ``pdf``, any case)."""
        try:
            return cls(str(value).lower())
        except ValueError:
            raise InputError(
                N_("unknown output format {value!r}; use one of: {valid}"),
                field=field,
                value=value,
                valid=", ".join(item.value for item in cls),
            ) from None

    @classmethod
    def from_suffix(cls, path: Path) -> RenderFormat:
        """Return the format named by the suffix of ``path``: ``.pdf``, ``.html`` or ``.htm``."""
        suffix = path.suffix.lower()
        if suffix == ".pdf":
            return cls.PDF
        if suffix in (".html", ".htm"):
            return cls.HTML
        raise InputError(
            N_("cannot tell the output format from the file name {value!r}; name it with .pdf, .html or .htm"),
            field="path",
            value=str(path),
        )


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """A form written by :func:`render_file`.

    ``signature`` is ``None`` for an unsigned document. Its ``state`` shows
    whether the signature was verified and what was found.
    """

    path: Path
    format: RenderFormat
    signature: SignatureSummary | None


def render_bytes(
    document: Document,
    *,
    format: RenderFormat | str,  # noqa: A002 - the CLI option and the contract use this name
    language: str | None = None,
    verification: Any = None,
    violation_types: Mapping[str, CodeListEntry] | None = None,
) -> bytes:
    """Render ``document`` as HTML (UTF-8) or PDF bytes."""
    chosen = RenderFormat.parse(format)
    if chosen is RenderFormat.PDF:
        return render_pdf(document, language=language, verification=verification, violation_types=violation_types)
    return render_html(document, language=language, verification=verification, violation_types=violation_types).encode("utf-8")


def render_preview(
    document: Document,
    path: str | os.PathLike[str],
    *,
    language: str | None = None,
    verification: Any = None,
    violation_types: Mapping[str, CodeListEntry] | None = None,
) -> Path:
    """Write the rendered form to ``path``: PDF for ``.pdf``, HTML for ``.html`` or ``.htm``.

    Meant for the head to read a notification before signing it. Returns
    the path written.
    """
    target = Path(path)
    chosen = RenderFormat.from_suffix(target)
    data = render_bytes(document, format=chosen, language=language, verification=verification, violation_types=violation_types)
    write_atomically(target, data)
    return target


def render_file(
    xml_path: str | os.PathLike[str],
    *,
    format: RenderFormat | str,  # noqa: A002 - the CLI option and the contract use this name
    language: str | None = None,
    out: str | os.PathLike[str] | None = None,
    config: Any = None,
    verify: bool = True,
) -> RenderedFile:
    """Render an XML notification, roster or receipt to ``out`` (default: beside it, with the format's suffix).

    A signed document is verified when ``verify`` is true and the signing
    package and a trust configuration are available. Otherwise its signature
    block shows it as not verified. A verified document is rendered from
    the element the signature covers. ``config`` is an
    :class:`adapter.config.Config` (default: all settings at their defaults).
    """
    from .source import load_for_rendering

    chosen = RenderFormat.parse(format)
    source = Path(xml_path)
    target = Path(out) if out is not None else source.with_suffix(f".{chosen.value}")
    loaded = load_for_rendering(source, config=config, verify=verify, language=language)
    data = render_bytes(
        loaded.document,
        format=chosen,
        language=language,
        verification=loaded.signature,
        violation_types=loaded.violation_types,
    )
    write_atomically(target, data)
    logger.debug("rendered %s to %s", source, target)
    return RenderedFile(target, chosen, loaded.signature)
