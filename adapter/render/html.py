"""HTML rendering of the forms with the Jinja2 templates in ``templates/``.

The same HTML feeds the PDF renderer, which adds a print stylesheet (page
size, footers, the shipped fonts). The HTML alone is self-contained: its
stylesheet is inline and it names no local file.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from ..codelists import CodeListEntry
from ..model import Document
from .view import FormView, build_view, format_date, format_datetime

__all__ = ["TEMPLATES_DIR", "render_html", "render_view_html"]

TEMPLATES_DIR = Path(__file__).with_name("templates")


@functools.cache
def environment() -> jinja2.Environment:
    """Return the template environment: autoescaped HTML, templates from :data:`TEMPLATES_DIR`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["date"] = format_date
    env.filters["datetime"] = format_datetime
    return env


@functools.cache
def stylesheet() -> markupsafe.Markup:
    """Return the form stylesheet shared by the screen and the print layout.

    It is the package's own file, marked safe so that autoescaping leaves
    its quotes alone inside ``<style>``.
    """
    return markupsafe.Markup((TEMPLATES_DIR / "form.css").read_text(encoding="utf-8"))


def render_view_html(view: FormView, *, start: int = 0, end: int | None = None, opening: bool = True, closing: bool = True) -> str:
    """Render rows ``start`` to ``end`` of ``view`` as one HTML page.

    ``opening`` adds the top of the form (recipient, title, preamble) and
    ``closing`` the end (attestation, signatory, signature block). The PDF
    renderer uses these flags to lay a large table out in slices.
    """
    template = environment().get_template(view.template)
    context = view.template_context(
        start=start,
        end=len(view.rows) if end is None else end,
        opening=opening,
        closing=closing,
    )
    return template.render(stylesheet=stylesheet(), **context)


def render_html(
    document: Document,
    *,
    language: str | None = None,
    verification: Any = None,
    violation_types: Mapping[str, CodeListEntry] | None = None,
) -> str:
    """Render a notification or roster as a self-contained HTML page.

    ``language`` is ``kk``, ``ru`` or ``en`` (default: the document's own
    language). ``verification`` is a verification result, or a
    :class:`~adapter.render.SignatureSummary`, whose signature block is shown
    under the form. ``violation_types`` replaces the built-in code list when
    the deployment extends it.
    """
    view = build_view(document, language=language, verification=verification, violation_types=violation_types)
    return render_view_html(view)
