"""Benchmark: facts from CSV to validated XML, and schema validation against plain libxml2.

One run does two things:

1. For 1,000, 10,000 and 100,000 facts it generates a CSV facts file and a
   TOML header. A fresh Python process per size loads them with
   ``adapter.inputs.load_input``, writes the XML with
   ``adapter.xml.write_xml`` and validates it with ``adapter.xml.validate_xml``
   (the libxml2 fast path). The child reports the time of each step and its
   peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``).
   Target: 100,000 facts with a peak RSS under 400 MB.
2. On the valid 100,000-fact document it times ``validate_xml`` against
   plain libxml2: ``lxml.etree.XMLSchema.validate(lxml.etree.parse(path))``
   with the schema compiled beforehand. The two are interleaved; the ratio
   is of the medians. Target: at most 1.2.

Usage: ``python bench/bench_documents.py [--rounds N] [--out FOLDER]``.
It prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

SIZES = (1_000, 10_000, 100_000)
PROTOCOLS = ("HTTPS", "HTTP", "FTP", "BITTORRENT", "RTMP")

HEADER_TOML = """\
[document]
number = "BENCH-{count}"
date = 2026-11-20
language = "kk"

[sender]
name_kk = "Қазақстан Республикасы Қаржылық мониторинг агенттігі"
name_ru = "Агентство Республики Казахстан по финансовому мониторингу"
bin = "050340001235"

[recipient]
name_kk = "Қазақстан Республикасы Мәдениет және ақпарат министрлігі"
name_ru = "Министерство культуры и информации Республики Казахстан"

[violation]
type = "online-casino"
legal_norm = "«Байланыс туралы» Қазақстан Республикасы Заңының 41-1-бабының 1-тармағы"

[signatory]
position = "Төраға"
full_name = "Тестов Асылбек Нұрланұлы"
iin = "780412300516"
role = "head"

[[evidence]]
path = "screenshot.png"
fact = 1
"""


def write_png(path: Path) -> None:
    """Write a 1x1 white PNG: the evidence file every notification needs."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def write_inputs(folder: Path, count: int) -> tuple[Path, Path]:
    """Write the TOML header and a CSV of ``count`` varied facts (IDN domains, IPv6, MAC, IMEI)."""
    write_png(folder / "screenshot.png")
    header = folder / f"header-{count}.toml"
    header.write_text(HEADER_TOML.format(count=count), encoding="utf-8")
    facts = folder / f"facts-{count}.csv"
    with facts.open("w", encoding="utf-8", newline="") as output:
        output.write("№;URL;Domain;IP;Protocol;MAC;IMEI;Description\n")
        for number in range(1, count + 1):
            idn = number % 4 == 0
            domain = f"ойын{number}.қаз" if idn else f"casino{number}.example.kz"
            ip = f"2001:db8::{number & 0xFFFF:x}" if number % 3 == 0 else f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
            mac = "AA-BB-CC-DD-EE-FF" if number % 7 == 0 else ""
            imei = "490154203237518" if number % 11 == 0 else ""
            output.write(f"{number};https://{domain}/slots/{number};{domain};{ip};{PROTOCOLS[number % len(PROTOCOLS)]};{mac};{imei};Онлайн-казино {number}\n")
    return header, facts


def run_child(header: Path, facts: Path, output: Path) -> dict[str, float]:
    """Load, build and validate in this process; return timings and peak RSS."""
    import resource

    from adapter.inputs import load_input
    from adapter.xml import validate_xml, write_xml

    start = time.perf_counter()
    document = load_input(header, facts_file=facts)
    loaded = time.perf_counter()
    write_xml(document, output)
    written = time.perf_counter()
    problems = validate_xml(output, max_bytes=1 << 30)
    validated = time.perf_counter()
    if problems:
        raise SystemExit(f"the benchmark document is invalid: {problems[0].localized('en')}")
    return {
        "load_s": loaded - start,
        "write_s": written - loaded,
        "validate_s": validated - written,
        "total_s": validated - start,
        "bytes": output.stat().st_size,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def compare_validation(path: Path, rounds: int) -> tuple[float, float]:
    """Return the median seconds of ``validate_xml`` and of plain libxml2 on ``path``."""
    from lxml import etree

    from adapter.xml import validate_xml
    from schemas import schema_path

    plain_schema = etree.XMLSchema(etree.parse(str(schema_path("notification.xsd"))))
    assert validate_xml(path, max_bytes=1 << 30) == ()
    ours, plain = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        validate_xml(path, max_bytes=1 << 30)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        valid = plain_schema.validate(etree.parse(str(path)))
        plain.append(time.perf_counter() - start)
        assert valid
    return statistics.median(ours), statistics.median(plain)


def machine() -> str:
    import lxml
    import xmlschema
    from lxml import etree

    model = "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    libxml2 = ".".join(str(part) for part in etree.LIBXML_VERSION)
    return (
        f"{platform.machine()} {model}, {cores} cores (nproc), Python {platform.python_version()}, "
        f"lxml {lxml.__version__} (libxml2 {libxml2}), xmlschema {xmlschema.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=7, help="validation rounds per side (default 7)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("out") / "documents", help="folder for the generated files")
    parser.add_argument("--child", nargs=3, metavar=("HEADER", "FACTS", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        header, facts, output = (Path(value) for value in args.child)
        print(json.dumps(run_child(header, facts, output)))
        return

    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for count in SIZES:
        header, facts = write_inputs(args.out, count)
        output = args.out / f"notification-{count}.xml"
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(header), str(facts), str(output)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append((count, json.loads(child.stdout.strip().splitlines()[-1])))

    largest = args.out / f"notification-{SIZES[-1]}.xml"
    ours, plain = compare_validation(largest, args.rounds)

    print(f"Machine: {machine()}")
    print()
    print("| facts | XML size | load CSV | write XML | validate | total | peak RSS |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for count, result in rows:
        print(
            f"| {count:,} | {result['bytes'] / 1024 / 1024:.1f} MiB | {result['load_s']:.2f} s | {result['write_s']:.2f} s "
            f"| {result['validate_s']:.2f} s | {result['total_s']:.2f} s | {result['peak_rss_mb']:.0f} MB |"
        )
    print()
    print(f"| validation of {SIZES[-1]:,} facts | median of {args.rounds} |")
    print("| --- | ---: |")
    print(f"| `adapter.xml.validate_xml` (fast path) | {ours:.3f} s |")
    print(f"| plain libxml2: `XMLSchema.validate(etree.parse(path))` | {plain:.3f} s |")
    print(f"| ratio | {ours / plain:.2f} |")


if __name__ == "__main__":
    main()
