"""PDF rendering: text, fonts, pixels, page breaks and large tables."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from PIL import Image

from adapter.errors import RenderError
from adapter.inputs import load_input
from adapter.model import Fact
from adapter.render import SignatureSummary, render_pdf
from adapter.render.pdf import print_stylesheet
from adapter.render.view import build_view

from render_support import EXAMPLES, KAZAKH_LETTERS, form_labels, has_words_in_order, notification, pdf_page_count, pdf_text, roster, squash, uniform_facts


@pytest.fixture(scope="module")
def example():
    return load_input(EXAMPLES / "notification.toml")


@pytest.fixture(scope="module")
def example_pdfs(example):
    return {language: render_pdf(example, language=language) for language in ("kk", "ru")}


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_pdf_has_every_label(example_pdfs, tmp_path, language):
    text = pdf_text(example_pdfs[language], tmp_path)

    for label in form_labels("notification", language):
        assert has_words_in_order(text, label), label


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_pdf_has_every_fact(example, example_pdfs, tmp_path, language):
    text = pdf_text(example_pdfs[language], tmp_path)

    for fact in example.facts:
        assert f"{fact.number})" in text
        for value in (fact.ip, fact.mac, fact.imei, fact.domain, fact.domain_unicode, fact.description):
            if value:
                assert has_words_in_order(text, value), (fact.number, value)
    for item in example.evidence:
        assert has_words_in_order(text, item.sha256)


def test_pdf_marks_russian_working_translation(example_pdfs, tmp_path):
    ru = pdf_text(example_pdfs["ru"], tmp_path, name="ru.pdf")
    kk = pdf_text(example_pdfs["kk"], tmp_path, name="kk.pdf")

    assert "Рабочий перевод" in ru
    # The short mark is in every page's header.
    assert all("Рабочий перевод" in page for page in ru.split("\f") if page.strip())
    assert "Жұмыс аудармасы" not in kk


def test_pdf_renders_kazakh_letters(tmp_path):
    pdf = render_pdf(notification())

    assert KAZAKH_LETTERS in pdf_text(pdf, tmp_path)


def test_pdf_embeds_shipped_fonts(example_pdfs, tmp_path):
    path = tmp_path / "form.pdf"
    path.write_bytes(example_pdfs["kk"])

    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout.splitlines()[2:]

    assert fonts
    assert all("DejaVu-Sans" in line for line in fonts), fonts
    assert all(line.split()[-5] == "yes" for line in fonts), fonts


def test_pdf_page_is_not_blank(example_pdfs, tmp_path):
    path = tmp_path / "form.pdf"
    path.write_bytes(example_pdfs["kk"])
    subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", str(path), str(tmp_path / "page")], check=True)
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("L")

    width, height = image.size
    dark = sum(image.histogram()[:128])
    title_band_dark = sum(image.crop((0, 0, width, height // 3)).histogram()[:128])

    assert width < height  # portrait A4
    assert dark > width * height * 0.01
    assert title_band_dark > 0


def test_pdf_page_numbers_and_footer(example_pdfs, tmp_path):
    pages = [page for page in pdf_text(example_pdfs["kk"], tmp_path).split("\f") if page.strip()]

    assert len(pages) == pdf_page_count(example_pdfs["kk"])
    for number, page in enumerate(pages, start=1):
        assert f"{number}-бет" in page
        assert "Хабарлама 20.11.2026 № 04-2-15/1187" in page


def test_table_header_repeats_on_each_page(tmp_path):
    pdf = render_pdf(notification(uniform_facts(120), language="ru"))
    pages = [page for page in pdf_text(pdf, tmp_path).split("\f") if page.strip()]

    assert len(pages) >= 3
    for page in pages[:-1]:
        assert "IP-адрес" in page
        assert "Доменное имя" in page


def test_passes_join_into_same_document(tmp_path):
    document = notification(uniform_facts(150))

    single = render_pdf(document, rows_per_pass=1000)
    joined = render_pdf(document, rows_per_pass=40)

    assert pdf_page_count(joined) == pdf_page_count(single)
    assert pdf_text(joined, tmp_path, name="joined.pdf") == pdf_text(single, tmp_path, name="single.pdf")


def test_passes_keep_every_fact_once(tmp_path):
    pdf = render_pdf(notification(uniform_facts(150)), rows_per_pass=40)
    text = pdf_text(pdf, tmp_path)

    numbers = [int(match) for match in re.findall(r"^(\d+)\) ", text, flags=re.MULTILINE)]
    assert sorted(numbers) == list(range(1, 151))


def test_six_digit_fact_number_fits(tmp_path):
    facts = (Fact(99_999, "HTTPS", ip="192.0.2.1"), Fact(100_000, "HTTPS", ip="192.0.2.2"))

    text = pdf_text(render_pdf(notification(facts)), tmp_path)

    assert "\n99999) 192.0.2.1" in text
    assert "\n100000) 192.0.2.2" in text


def test_print_stylesheet_escapes_footer():
    view = build_view(notification(), language="kk")
    view = type(view)(**{**{field: getattr(view, field) for field in view.__slots__}, "document_line": 'No. "1\\2"\n'})

    css = print_stylesheet(view, first_page=3)

    assert '"Хабарлама No. \\"1\\\\2\\"\\A "' in css
    assert "counter-reset: page 3" in css


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_roster_pdf(tmp_path, language):
    pdf = render_pdf(roster(language=language), verification=SignatureSummary.not_verified())
    text = pdf_text(pdf, tmp_path)

    for label in form_labels("roster", language):
        assert has_words_in_order(text, label), label
    for value in ("Сәрсенбаев Нұрлан Ғаниұлы", "a.akhmetova@example.gov.kz", "+7 777 555 43 21"):
        assert has_words_in_order(text, value), value


def test_ten_thousand_facts(tmp_path):
    count = 10_000
    pdf = render_pdf(notification(uniform_facts(count)))
    pages = [page for page in pdf_text(pdf, tmp_path).split("\f") if page.strip()]

    numbers = [int(match) for page in pages for match in re.findall(r"^(\d+)\) ", page, flags=re.MULTILINE)]
    rows_per_page = [len(re.findall(r"^\d+\) ", page, flags=re.MULTILINE)) for page in pages]
    pages_with_rows = [rows for rows in rows_per_page if rows]
    assert sorted(numbers) == list(range(1, count + 1))
    assert len(pages) == pdf_page_count(pdf)
    # Every page between the first and the last is full: the passes leave no gaps.
    assert len(set(pages_with_rows[1:-1])) == 1, rows_per_page
    assert len(pages) > count // pages_with_rows[1]
    assert f"{len(pages)}-бет" in pages[-1]


def test_missing_weasyprint_raises_render_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)

    with pytest.raises(RenderError) as caught:
        render_pdf(notification())

    assert "WeasyPrint" in str(caught.value)


def test_url_fetcher_refuses_network():
    import weasyprint

    from adapter.render.pdf import FONTS_DIR, local_files_fetcher

    fetcher = local_files_fetcher(weasyprint)

    with pytest.raises(ValueError):
        fetcher.fetch("http://127.0.0.1:9/x.css")
    response = fetcher.fetch((FONTS_DIR / "LICENSE.txt").as_uri())
    response.close()


def _font_load_failures(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if "cannot be loaded" in record.getMessage()]


def test_shipped_fonts_load(caplog):
    # The system may have DejaVu too, so a font-face that failed to load
    # would go unnoticed in the PDF. WeasyPrint logs such a failure.
    render_pdf(notification())

    assert _font_load_failures(caplog) == []


def test_missing_fonts_are_noticed(caplog, monkeypatch, tmp_path):
    monkeypatch.setattr("adapter.render.pdf.FONTS_DIR", tmp_path)

    render_pdf(notification())

    assert _font_load_failures(caplog)
