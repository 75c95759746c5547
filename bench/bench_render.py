"""Benchmark rendering a large notification to PDF and HTML.

Each measurement runs in a fresh Python process, so its peak resident
memory (``ru_maxrss`` of that child) belongs to that measurement alone. The
notification has ``--facts`` facts with an IPv4 address, a domain and a URL
each, so every table line has the same height. The PDF is rendered with the
default ``rows_per_pass`` and, with ``--single-pass``, also in one WeasyPrint
pass for comparison. The script prints a Markdown table for
docs/benchmarks.md.

    python bench/bench_render.py --facts 10000 --single-pass
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import datetime as dt, json, resource, sys, time
from adapter.model import DocumentHeader, Fact, Language, Notification, Organisation, Signatory, SignatoryRole, Violation
from adapter.render import render_html, render_pdf

facts, rows_per_pass, output = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
organisation = Organisation("Қазақстан Республикасы Қаржылық мониторинг агенттігі", "Агентство Республики Казахстан по финансовому мониторингу", "050340001235")
recipient = Organisation("Қазақстан Республикасы Мәдениет және ақпарат министрлігі", "Министерство культуры и информации Республики Казахстан")
document = Notification(
    header=DocumentHeader("04-2-15/1187", dt.date(2026, 11, 20), Language.KK, "2026-07-12", organisation, recipient),
    violation=Violation("online-casino", "«Байланыс туралы» Қазақстан Республикасы Заңының 41-1-бабының 1-тармағы"),
    facts=tuple(
        Fact(n, "HTTPS", ip=f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", domain=f"site-{n:06d}.kz", url=f"https://site-{n:06d}.kz/p")
        for n in range(1, facts + 1)
    ),
    signatory=Signatory("Төраға", "Жұмабеков Ерлан Серікұлы", "750314301239", SignatoryRole.HEAD),
)
started = time.perf_counter()
if output == "html":
    size = len(render_html(document).encode("utf-8"))
    pages = 0
else:
    import io
    from pypdf import PdfReader
    data = render_pdf(document, rows_per_pass=rows_per_pass)
    size = len(data)
    pages = len(PdfReader(io.BytesIO(data)).pages)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak, "bytes": size, "pages": pages}))
"""


def measure(facts: int, rows_per_pass: int, output: str) -> dict[str, float]:
    """Render in a child process and return its time, peak memory, output size and pages."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, str(facts), str(rows_per_pass), output],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=10_000, help="facts in the notification")
    parser.add_argument("--rows-per-pass", type=int, default=None, help="table lines per WeasyPrint pass (default: the library's)")
    parser.add_argument("--single-pass", action="store_true", help="also render the PDF in one pass, for comparison")
    args = parser.parse_args()

    from adapter.render.pdf import ROWS_PER_PASS

    rows_per_pass = args.rows_per_pass or ROWS_PER_PASS
    runs = [("HTML", "-", measure(args.facts, rows_per_pass, "html")), ("PDF", str(rows_per_pass), measure(args.facts, rows_per_pass, "pdf"))]
    if args.single_pass:
        runs.append(("PDF", f"{args.facts} (one pass)", measure(args.facts, args.facts, "pdf")))

    print(f"{args.facts} facts; Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; command: python {Path(__file__).name} {' '.join(sys.argv[1:])}")
    print()
    print("| output | lines per pass | time, s | peak RSS, MB | size, KB | pages |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for output, per_pass, result in runs:
        pages = str(result["pages"]) if result["pages"] else "-"
        print(f"| {output} | {per_pass} | {result['seconds']:.1f} | {result['peak_bytes'] / 2**20:.0f} | {result['bytes'] / 1024:.0f} | {pages} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
