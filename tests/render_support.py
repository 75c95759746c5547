"""Documents and PDF helpers for the rendering tests."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

from adapter.model import (
    DocumentHeader,
    Employee,
    Evidence,
    Fact,
    Language,
    Notification,
    Organisation,
    Roster,
    Signatory,
    SignatoryRole,
    Violation,
)
from adapter.render.forms import form_text

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"

SENDER = Organisation("Қазақстан Республикасы Қаржылық мониторинг агенттігі", "Агентство Республики Казахстан по финансовому мониторингу", "210240012350")
RECIPIENT = Organisation("Қазақстан Республикасы Мәдениет және ақпарат министрлігі", "Министерство культуры и информации Республики Казахстан")
HEAD = Signatory("Төраға", "Жұмабеков Ерлан Серікұлы", "750314301239", SignatoryRole.HEAD)

# Every Kazakh-specific letter, in both cases, so a missing glyph shows up.
KAZAKH_LETTERS = "ӘәҒғҚқҢңӨөҰұҮүҺһІі"


def header(number: str = "04-2-15/1187", *, day: dt.date = dt.date(2026, 11, 20), language: str = "kk", edition: str = "2026-07-12") -> DocumentHeader:
    return DocumentHeader(number, day, Language(language), edition, SENDER, RECIPIENT)


def sample_facts() -> tuple[Fact, ...]:
    """Facts covering every column: IPv4, IPv6, IDN domain, encoded URL, MAC, IMEI, descriptions."""
    return (
        Fact(1, "HTTPS", ip="203.0.113.17", domain="jackpot-sultan.kz", url="https://jackpot-sultan.kz/ru/slots?promo=welcome", description="Онлайн-казино: слоттар"),
        Fact(2, "HTTPS", domain="xn----8sbvehvhri4gu9c.xn--80ao21a", url="https://xn----8sbvehvhri4gu9c.xn--80ao21a/%D1%82%D1%96%D1%80%D0%BA%D0%B5%D0%BB%D1%83"),
        Fact(3, "HTTP", ip="2001:db8:4a1c::25", description=KAZAKH_LETTERS),
        Fact(4, "BITTORRENT", ip="198.51.100.23", mac="00-1A-2B-3C-4D-5E", imei="490154203237518"),
        Fact(5, "FTP", url="ftp://files.altyn-spin.kz/promo/", domain="files.altyn-spin.kz"),
    )


def notification(facts: tuple[Fact, ...] | None = None, *, language: str = "kk", edition: str = "2026-07-12", evidence: tuple[Evidence, ...] = ()) -> Notification:
    return Notification(
        header=header(language=language, edition=edition),
        violation=Violation("online-casino", "«Байланыс туралы» Қазақстан Республикасы Заңының 41-1-бабының 1-тармағы"),
        facts=sample_facts() if facts is None else facts,
        signatory=HEAD,
        evidence=evidence,
    )


def uniform_facts(count: int) -> tuple[Fact, ...]:
    """``count`` facts whose table lines all have the same height."""
    return tuple(
        Fact(number, "HTTPS", ip=f"10.{number // 65536}.{number // 256 % 256}.{number % 256}", domain=f"site-{number:06d}.kz", url=f"https://site-{number:06d}.kz/p")
        for number in range(1, count + 1)
    )


def roster(*, language: str = "kk", edition: str = "2026-07-12") -> Roster:
    return Roster(
        header=header("04-2-15/1190", language=language, edition=edition),
        employees=(
            Employee(1, "Сәрсенбаев Нұрлан Ғаниұлы", "n.sarsenbayev@example.gov.kz", "+7 701 555 01 23"),
            Employee(2, "Ахметова Айгерім Болатқызы", "a.akhmetova@example.gov.kz", "+7 701 555 12 34"),
            Employee(3, "Ким Виктор Сергеевич", "v.kim@example.gov.kz", "+7 777 555 43 21"),
        ),
        signatory=Signatory("Төрағаның орынбасары", "Оспанова Әсем Қайратқызы", "820927404565", SignatoryRole.DEPUTY),
    )


def squash(text: str) -> str:
    """Remove whitespace and hyphens, so text compares the same however the PDF broke its lines.

    pdftotext joins a word broken after a hyphen at the end of a line and
    drops that hyphen, so hyphens cannot be compared.
    """
    return re.sub(r"[\s\-\u00ad]+", "", text)


def has_words_in_order(text: str, phrase: str) -> bool:
    """Return whether the words of ``phrase`` occur in ``text`` in order.

    pdftotext may put the second line of a wrapped table cell after the
    text of the next cell. So a phrase is found word by word, with other
    text allowed in between.
    """
    haystack = squash(text)
    position = 0
    for word in phrase.split():
        needle = squash(word)
        if not needle:
            continue
        found = haystack.find(needle, position)
        if found < 0:
            return False
        position = found + len(needle)
    return True


def pdf_text(pdf: bytes | Path, tmp_path: Path, *, name: str = "form.pdf") -> str:
    """Return the text of a PDF, pages separated by form feeds, via pdftotext (poppler-utils)."""
    if isinstance(pdf, bytes):
        path = tmp_path / name
        path.write_bytes(pdf)
    else:
        path = pdf
    return subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True).stdout.decode("utf-8")


def pdf_page_count(pdf: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def form_labels(kind: str, language: str, edition: str = "2026-07-12") -> list[str]:
    """Return the order's labels that a form of ``kind`` must show."""
    text = form_text(language, edition)
    keys = ["form", "recipient_caption", "title", "signature_caption", "name_caption"]
    if kind == "notification":
        keys += [
            "notification.appendix",
            "notification.preamble",
            "notification.item1",
            "notification.item2",
            "notification.item3",
            "notification.attestation",
            "notification.official",
            "notification.position_caption",
            "notification.note",
        ]
    else:
        keys += [
            "roster.appendix",
            "roster.preamble",
            "roster.number",
            "roster.full_name",
            "roster.work_email",
            "roster.mobile_phone",
            "roster.official",
            "roster.position_caption",
        ]
    return [text[key] for key in keys]
