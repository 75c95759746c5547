"""Rendering of notifications, rosters and receipts as HTML and PDF, in Kazakh, Russian and English.

The forms follow Appendix 1 and Appendix 2 of the rules. The Kazakh wording is
the order's, and the Russian is a working translation marked as such on the
page. A signed document shows a signature block from a verification result.
"""

from __future__ import annotations

from .files import render_file, render_preview
from .html import render_html
from .pdf import render_pdf
from .signature import SignatureState, SignatureSummary

__all__ = [
    "SignatureState",
    "SignatureSummary",
    "render_file",
    "render_html",
    "render_pdf",
    "render_preview",
]
