"""PDF rendering: the form HTML laid out by WeasyPrint with a print stylesheet.

WeasyPrint keeps the layout of every page in memory until the PDF is
written: laid out in one pass, 10,000 facts peaked at 1.4 GB (WeasyPrint 70,
bench/bench_render.py). So a long table is laid out in passes of
:data:`ROWS_PER_PASS` lines. Each pass but the last drops its last, partly
filled page, and the next pass starts with the first line of that page.
Every page but the last is therefore full and the page numbers run on.
pypdf joins the passes into one file. Memory is that of one pass plus the
joined output, which pypdf keeps until it writes the file.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..codelists import CodeListEntry
from ..errors import RenderError
from ..i18n import N_
from ..model import Document
from .html import render_view_html
from .view import FormView, build_view

__all__ = ["FONTS_DIR", "ROWS_PER_PASS", "render_pdf", "render_view_pdf"]

logger = logging.getLogger(__name__)

FONTS_DIR = Path(__file__).with_name("fonts")

#: Table lines laid out per WeasyPrint pass. With 500, rendering 10,000
#: facts peaked at 188 MB of RSS (bench/bench_render.py, docs/benchmarks.md).
ROWS_PER_PASS = 500

_ROW_ANCHOR_PREFIX = "row-"

_FONT_FACES = """
@font-face { font-family: "DejaVu Sans"; src: url("DejaVuSans.ttf"); font-weight: normal; font-style: normal; }
@font-face { font-family: "DejaVu Sans"; src: url("DejaVuSans-Bold.ttf"); font-weight: bold; font-style: normal; }
"""


def _css_string(text: str) -> str:
    """Quote ``text`` as a CSS string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\A ").replace("\r", "")
    return f'"{escaped}"'


def _page_counter_content(label: str) -> str:
    """Turn a label such as ``Page {number}`` into CSS ``content`` with the page counter in place."""
    before, _, after = label.partition("{number}")
    parts = [_css_string(before)] if before else []
    parts.append("counter(page)")
    if after:
        parts.append(_css_string(after))
    return " ".join(parts)


def print_stylesheet(view: FormView, *, first_page: int) -> str:
    """Return the print stylesheet: A4 pages, footers, page numbers from ``first_page``, fonts."""
    footer = f"{view.title} {view.document_line}"
    margin_boxes = [
        f"@bottom-left {{ content: {_css_string(footer)}; }}",
        f"@bottom-right {{ content: {_page_counter_content(view.page_label)}; }}",
    ]
    if view.translation_mark:
        margin_boxes.append(f"@top-right {{ content: {_css_string(view.translation_mark)}; }}")
    return (
        _FONT_FACES
        + '@page { size: A4; margin: 18mm 15mm 18mm 25mm; font-family: "DejaVu Sans"; font-size: 7.5pt; '
        + " ".join(margin_boxes)
        + " }\n"
        # WeasyPrint shows the value given to counter-reset on the page that resets it.
        + f"@page :first {{ counter-reset: page {first_page}; }}\n"
    )


def _load_weasyprint() -> tuple[Any, Any]:
    """Import WeasyPrint, turning a missing package or system library into :class:`RenderError`."""
    try:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration
    except ImportError as exc:
        raise RenderError(N_("PDF rendering needs WeasyPrint ({reason}); install edms-adapter with its dependencies"), reason=str(exc)) from exc
    except OSError as exc:
        # cffi raises OSError when it cannot open a shared library such as Pango.
        raise RenderError(
            N_("WeasyPrint cannot load its system libraries ({reason}); install Pango: the Debian packages libpango-1.0-0 and libpangoft2-1.0-0"),
            reason=str(exc),
        ) from exc
    return weasyprint, FontConfiguration


class _PassRenderer:
    """Lays out slices of one view with shared fonts."""

    def __init__(self, view: FormView) -> None:
        weasyprint, font_configuration = _load_weasyprint()
        self._weasyprint = weasyprint
        self._view = view
        self._fonts = font_configuration()
        self._fetcher = local_files_fetcher(weasyprint)

    def render(self, start: int, end: int, *, opening: bool, closing: bool, first_page: int) -> Any:
        html = render_view_html(self._view, start=start, end=end, opening=opening, closing=closing)
        options = {"base_url": str(FONTS_DIR) + "/"}
        if self._fetcher is not None:
            options["url_fetcher"] = self._fetcher
        css = self._weasyprint.CSS(string=print_stylesheet(self._view, first_page=first_page), font_config=self._fonts, **options)
        return self._weasyprint.HTML(string=html, **options).render(stylesheets=[css], font_config=self._fonts)


def local_files_fetcher(weasyprint: Any) -> Any:
    """Return a WeasyPrint URL fetcher that reads ``file:`` URLs only.

    The forms load nothing but the shipped fonts, so a fetch over the
    network could only come from a defect and is refused.
    """
    fetcher_class = getattr(weasyprint, "URLFetcher", None)
    # NOTE: older WeasyPrint releases have no URLFetcher class (70.0 has it);
    # with them the default fetcher, which allows every protocol, stays in use.
    return None if fetcher_class is None else fetcher_class(allowed_protocols={"file"})


def _row_indexes(page: Any) -> list[int]:
    return [int(name[len(_ROW_ANCHOR_PREFIX):]) for name in page.anchors if name.startswith(_ROW_ANCHOR_PREFIX)]


def _without_row_anchors(pages: list[Any]) -> list[Any]:
    """Drop the row anchors from ``pages``, so the PDF gets no named destination per table line.

    The anchors only tell which rows a page contains. As named destinations
    they would make pypdf, which joins the passes, keep about 3 KB more per
    table line in memory (measured with pypdf 7.1).
    """
    for page in pages:
        page.anchors = {name: point for name, point in page.anchors.items() if not name.startswith(_ROW_ANCHOR_PREFIX)}
    return pages


def _carry_over_start(pages: list[Any], start: int) -> int | None:
    """Return the first row of the last page when the next pass can start there.

    The last page is dropped only when it starts with a whole row: the rows
    before it end on the page before. A row split across the two pages keeps
    the pass as laid out.
    """
    if len(pages) < 2:
        return None
    last_rows = _row_indexes(pages[-1])
    previous_rows = _row_indexes(pages[-2])
    if not last_rows or not previous_rows:
        return None
    first = min(last_rows)
    if first <= start or max(previous_rows) != first - 1:
        return None
    return first


def render_view_pdf(view: FormView, *, rows_per_pass: int = ROWS_PER_PASS) -> bytes:
    """Render ``view`` as PDF, laying out at most ``rows_per_pass`` table lines per pass."""
    if rows_per_pass < 1:
        raise ValueError(f"rows_per_pass must be at least 1, not {rows_per_pass}")
    renderer = _PassRenderer(view)
    total = len(view.rows)
    if total <= rows_per_pass:
        layout = renderer.render(0, total, opening=True, closing=True, first_page=1)
        return layout.copy(_without_row_anchors(layout.pages)).write_pdf()

    from pypdf import PdfReader, PdfWriter

    writer: PdfWriter | None = None
    start, first_page, passes, size = 0, 1, 0, rows_per_pass
    while True:
        end = min(start + size, total)
        closing = end == total
        layout = renderer.render(start, end, opening=start == 0, closing=closing, first_page=first_page)
        pages = list(layout.pages)
        if not closing and len(pages) < 2:
            # The last page is carried over only when a full page precedes it,
            # so a pass shorter than one page is retried with twice the lines.
            size *= 2
            continue
        next_start = None if closing else _carry_over_start(pages, start)
        if next_start is not None:
            pages = pages[:-1]
        data = layout.copy(_without_row_anchors(pages)).write_pdf()
        del layout
        passes += 1
        if writer is None:
            # The first pass brings the document catalog: language, title, metadata.
            writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
        else:
            writer.append(PdfReader(io.BytesIO(data)), import_outline=False)
        first_page += len(pages)
        if closing:
            break
        start = end if next_start is None else next_start

    logger.debug("rendered %d table lines in %d passes, %d pages", total, passes, first_page - 1)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def render_pdf(
    document: Document,
    *,
    language: str | None = None,
    verification: Any = None,
    violation_types: Mapping[str, CodeListEntry] | None = None,
    rows_per_pass: int = ROWS_PER_PASS,
) -> bytes:
    """Render a notification or roster as an A4 PDF with the shipped DejaVu Sans fonts.

    The arguments are those of :func:`~adapter.render.render_html`;
    ``rows_per_pass`` bounds the table lines WeasyPrint lays out at once,
    and so the memory one call needs.
    """
    view = build_view(document, language=language, verification=verification, violation_types=violation_types)
    return render_view_pdf(view, rows_per_pass=rows_per_pass)
