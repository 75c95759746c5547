"""Facts files: CSV and XLSX with English, Kazakh or Russian column titles; errors name file, row and column."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from adapter import inputs
from adapter.errors import InvalidDocumentError
from adapter.inputs import load_facts
from adapter.model import Fact

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def write_csv(folder: Path, text: str, *, name: str = "facts.csv", encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(folder: Path, rows: list[list[object]], *, name: str = "facts.xlsx") -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    path = folder / name
    workbook.save(path)
    return path


def load_problems(path: Path) -> InvalidDocumentError:
    with pytest.raises(InvalidDocumentError) as caught:
        load_facts(path)
    return caught.value


def codes(error: InvalidDocumentError) -> list[str]:
    return [problem.code for problem in error.problems]


def test_example_csv_and_xlsx_match_the_toml():
    from adapter.inputs import load_input

    expected = load_input(EXAMPLES / "notification.toml").facts
    assert load_facts(EXAMPLES / "facts.csv") == expected
    assert load_facts(EXAMPLES / "facts.xlsx") == expected


def test_example_titles_are_russian_and_kazakh():
    header = (EXAMPLES / "facts.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "Доменное имя" in header
    workbook = openpyxl.load_workbook(EXAMPLES / "facts.xlsx", read_only=True)
    titles = next(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    assert "IP-мекенжайы" in titles
    assert "Хаттама" in titles


HEADERS = [
    "url,domain,ip,protocol,mac,imei,description",
    "URL, Domain Name, IP Address, Protocol, MAC Address, IMEI, Description",
    "сілтеме,домен атауы,IP-мекенжай,хаттама,MAC-мекенжайы,IMEI,сипаттама",
    "ссылка,доменное имя,IP-адрес,протокол,MAC-адрес,imei,описание",
    "  URL ,  ДОМЕННОЕ   ИМЯ ,ip адрес,ПРОТОКОЛ,mac_address,Imei,ОПИСАНИЕ",
]


@pytest.mark.parametrize("header", HEADERS)
def test_column_titles(tmp_path, header):
    row = "https://www.casino.kz/a,casino.kz,203.0.113.7,https,aa:bb:cc:dd:ee:ff,490154203237518,айна"
    facts = load_facts(write_csv(tmp_path, f"{header}\n{row}\n"))
    assert facts == (
        Fact(1, "HTTPS", "203.0.113.7", "casino.kz", "https://www.casino.kz/a", "AA-BB-CC-DD-EE-FF", "490154203237518", "айна"),
    )


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_detected(tmp_path, delimiter):
    text = delimiter.join(["№", "domain", "protocol", "description"]) + "\n"
    text += delimiter.join(["1", "casino.kz", "HTTPS", '"a, b; c"']) + "\n"
    facts = load_facts(write_csv(tmp_path, text))
    assert facts[0].description == "a, b; c"


def test_excel_export_with_bom_and_crlf(tmp_path):
    text = "\ufeffДоменное имя;Протокол;Описание\r\nпример.қаз;HTTP;\r\n;;\r\nexample.kz;HTTPS;Сайт\r\n"
    facts = load_facts(write_csv(tmp_path, text))
    assert [(fact.number, fact.domain) for fact in facts] == [(1, "xn--e1afmkfd.xn--80ao21a"), (2, "example.kz")]
    assert facts[0].description is None


def test_numbering_column_is_ignored(tmp_path):
    facts = load_facts(write_csv(tmp_path, "№ п/п,ip,protocol\n7,203.0.113.1,TCP\n"))
    assert facts[0].number == 1


def test_cell_error_names_file_row_and_column(tmp_path):
    text = "Доменное имя;IP-адрес;Протокол\ncasino.kz;203.0.113.1;HTTPS\n\ncasino2.kz;203.0.113.999;HTTPS\n"
    error = load_problems(write_csv(tmp_path, text))
    problem = error.problems[0]
    assert problem.field == "facts.ip"
    assert problem.localized("en").startswith("facts.csv, row 4, column IP-адрес: invalid IP address \"203.0.113.999\"")
    assert problem.localized("ru").startswith("facts.csv, строка 4, столбец «IP-адрес»: недопустимый IP-адрес")
    assert problem.localized("kk").startswith("facts.csv, 4-жол, «IP-адрес» бағаны: ")
    assert error.source.endswith("facts.csv")


def test_row_errors_without_column(tmp_path):
    text = "domain,ip,protocol,mac\ncasino.kz,,HTTPS,\n,,HTTPS,aa:bb:cc:dd:ee:ff\ncasino.kz,,https,\n"
    error = load_problems(write_csv(tmp_path, text))
    assert codes(error) == ["no-resource", "duplicate-fact"]
    assert error.problems[0].localized("en").startswith("facts.csv, row 3: the fact has no IP address")
    assert error.problems[1].localized("en").startswith("facts.csv, row 4: the fact repeats fact 1")


def test_url_host_mismatch_points_at_domain_column(tmp_path):
    text = "URL,Домен,Протокол\nhttps://other.kz/,casino.kz,HTTPS\n"
    error = load_problems(write_csv(tmp_path, text))
    assert codes(error) == ["url-host-mismatch"]
    assert error.problems[0].localized("en").startswith("facts.csv, row 2, column Домен: ")


def test_missing_protocol_cell(tmp_path):
    error = load_problems(write_csv(tmp_path, "domain,protocol\ncasino.kz,\n"))
    assert codes(error) == ["missing"]
    assert error.problems[0].localized("en").startswith("facts.csv, row 2, column protocol: facts.protocol is required")


HEADER_CASES = [
    ("domain,port,protocol\ncasino.kz,443,HTTPS\n", ["unknown-column"]),
    ("domain,домен,protocol\ncasino.kz,casino.kz,HTTPS\n", ["duplicate-column"]),
    ("domain,ip\ncasino.kz,203.0.113.1\n", ["missing-column"]),
    ("protocol,mac,imei\nHTTPS,,\n", ["missing-column"]),
    ("", ["no-header"]),
    ("\n;;\n", ["no-header"]),
]


@pytest.mark.parametrize(("text", "expected"), HEADER_CASES)
def test_header_problems(tmp_path, text, expected):
    assert codes(load_problems(write_csv(tmp_path, text))) == expected


def test_unknown_column_names_titles(tmp_path):
    error = load_problems(write_csv(tmp_path, "domain,port,protocol\ncasino.kz,443,HTTPS\n"))
    text = error.problems[0].localized("en")
    assert text.startswith("facts.csv, row 1, column port: unknown column \"port\"")
    assert "url, domain, ip, protocol, mac, imei, description" in text


def test_extra_cells(tmp_path):
    error = load_problems(write_csv(tmp_path, "domain,protocol\ncasino.kz,HTTPS,stray, value\n"))
    assert codes(error) == ["extra-cells"]
    assert error.problems[0].localized("en").startswith("facts.csv, row 2: ")


def test_csv_not_utf8(tmp_path):
    error = load_problems(write_csv(tmp_path, "Доменное имя;Протокол\nпример.kz;HTTP\n", encoding="cp1251"))
    assert codes(error) == ["not-utf8"]
    assert "CSV UTF-8" in error.localized("en")


def test_unknown_facts_file_type(tmp_path):
    path = tmp_path / "facts.ods"
    path.write_bytes(b"PK")
    assert codes(load_problems(path)) == ["unknown-file-type"]


def test_facts_file_not_found(tmp_path):
    assert codes(load_problems(tmp_path / "absent.csv")) == ["unreadable"]
    assert codes(load_problems(tmp_path / "absent.xlsx")) == ["unreadable"]


def test_problems_are_capped(tmp_path):
    rows = "".join(f"bad_{index}.kz,HTTPS\n" for index in range(inputs.MAX_PROBLEMS + 200))
    error = load_problems(write_csv(tmp_path, "domain,protocol\n" + rows))
    assert len(error.problems) == inputs.MAX_PROBLEMS + 1
    assert error.problems[-1].code == "too-many-problems"
    assert "200 more problems" in error.problems[-1].localized("en")


def test_many_rows_stream(tmp_path):
    rows = "".join(f"https://m.casino{index}.kz/,casino{index}.kz,HTTPS\n" for index in range(5000))
    facts = load_facts(write_csv(tmp_path, "url,domain,protocol\n" + rows))
    assert len(facts) == 5000
    assert facts[-1].number == 5000
    assert facts[-1].domain == "casino4999.kz"


# --- XLSX ----------------------------------------------------------------------------------------


def test_xlsx_with_kazakh_titles_and_numbers(tmp_path):
    rows = [
        ["№", "Домен атауы", "IP-мекенжайы", "Хаттама", "IMEI", "Сипаттама"],
        [1, "ұтыс-казино.қаз", None, "HTTPS", 490154203237518, "Казино"],
        [None, None, None, None, None, None],
        [2, None, "203.0.113.9", "http", 356938035643809.0, None],
    ]
    facts = load_facts(write_xlsx(tmp_path, rows))
    assert facts == (
        Fact(1, "HTTPS", None, "xn----8sbvehvhri4gu9c.xn--80ao21a", None, None, "490154203237518", "Казино"),
        Fact(2, "HTTP", "203.0.113.9", None, None, None, "356938035643809", None),
    )


def test_xlsx_error_names_row_and_column(tmp_path):
    rows = [
        ["Доменное имя", "Протокол", "MAC-адрес"],
        ["casino.kz", "HTTPS", "aa:bb:cc"],
        [None, None, None],
        ["casino2.kz", "gopher", None],
    ]
    error = load_problems(write_xlsx(tmp_path, rows))
    texts = [problem.localized("en") for problem in error.problems]
    assert texts[0].startswith("facts.xlsx, row 2, column MAC-адрес: invalid MAC address \"aa:bb:cc\"")
    assert texts[1].startswith("facts.xlsx, row 4, column Протокол: unknown protocol \"gopher\"")


def test_xlsx_reads_first_sheet(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["domain", "protocol"])
    workbook.active.append(["first.kz", "HTTPS"])
    other = workbook.create_sheet("other")
    other.append(["domain", "protocol"])
    other.append(["second.kz", "HTTPS"])
    path = tmp_path / "facts.xlsx"
    workbook.save(path)
    assert [fact.domain for fact in load_facts(path)] == ["first.kz"]


def test_xlsx_not_a_workbook(tmp_path):
    path = tmp_path / "facts.xlsx"
    path.write_bytes(b"domain,protocol\ncasino.kz,HTTPS\n")
    error = load_problems(path)
    assert codes(error) == ["syntax"]
    assert "not a valid XLSX workbook" in error.localized("en")
