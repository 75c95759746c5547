"""Hostile XML: DTDs, entity expansion, external entities, size limits."""

from __future__ import annotations

import http.server
import threading

import pytest
from lxml import etree

from adapter.errors import DocumentTooLargeError, InvalidDocumentError
from adapter.xml import build_xml, parse_tree, parse_xml, secure_parser, validate_xml

from xml_samples import notification

LIMIT = 10 * 1024 * 1024

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE notification [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<notification xmlns="urn:edms-adapter:notification:1" Id="&lol9;"><header>&lol9;</header></notification>"""

EXTERNAL_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE notification [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<notification xmlns="urn:edms-adapter:notification:1" Id="x"><header><number>&secret;</number></header></notification>"""


def _codes(error: InvalidDocumentError) -> list[str]:
    return [problem.code for problem in error.problems]


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_FILE], ids=["billion-laughs", "external-file"])
def test_parse_rejects_doctype(payload):
    with pytest.raises(InvalidDocumentError) as caught:
        parse_xml(payload, max_bytes=LIMIT)
    assert _codes(caught.value) == ["dtd-forbidden"]
    assert "DOCTYPE" in str(caught.value)
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_FILE], ids=["billion-laughs", "external-file"])
def test_validate_reports_doctype(payload):
    problems = validate_xml(payload, max_bytes=LIMIT)
    assert [problem.code for problem in problems] == ["dtd-forbidden"]


def test_doctype_after_long_comment(tmp_path):
    payload = b"<?xml version='1.0'?>\n<!--" + b"x" * 200_000 + b"-->\n" + EXTERNAL_FILE.split(b"\n", 1)[1]
    path = tmp_path / "hidden.xml"
    path.write_bytes(payload)
    with pytest.raises(InvalidDocumentError) as caught:
        parse_tree(path, LIMIT)
    assert _codes(caught.value) == ["dtd-forbidden"]


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server hook name
        type(self).requests.append(self.path)
        body = b'<!ENTITY leaked "from the network">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    _CountingHandler.requests = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_secure_parser_opens_no_network(loopback_server):
    payload = f"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % remote SYSTEM "{loopback_server}/dtd"> %remote; <!ENTITY e SYSTEM "{loopback_server}/entity">]>
<r>&e;</r>""".encode()
    try:
        root = etree.fromstring(payload, secure_parser(LIMIT))
        assert "from the network" not in etree.tostring(root, encoding="unicode")
    except etree.XMLSyntaxError:
        pass
    assert _CountingHandler.requests == []


def test_external_dtd_rejected_without_request(loopback_server):
    payload = f'<?xml version="1.0"?><!DOCTYPE notification SYSTEM "{loopback_server}/n.dtd"><notification/>'.encode()
    with pytest.raises(InvalidDocumentError):
        parse_xml(payload, max_bytes=LIMIT)
    assert _CountingHandler.requests == []


def test_secure_parser_huge_tree_only_when_needed():
    small = etree.fromstring(b"<a>" + b"x" * 11_000_000 + b"</a>", secure_parser(20_000_000))
    assert len(small.text) == 11_000_000
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(b"<a>" + b"x" * 11_000_000 + b"</a>", secure_parser(5_000_000))


def test_oversized_bytes_rejected():
    data = build_xml(notification())
    with pytest.raises(DocumentTooLargeError) as caught:
        parse_xml(data, max_bytes=1000)
    assert caught.value.size == len(data)
    assert caught.value.limit == 1000
    assert "documents.max_xml_bytes" in str(caught.value)


def test_oversized_file_rejected(tmp_path):
    path = tmp_path / "n.xml"
    path.write_bytes(build_xml(notification()))
    with pytest.raises(DocumentTooLargeError):
        parse_xml(path, max_bytes=1000)
    assert [problem.code for problem in validate_xml(path, max_bytes=1000)] == ["too-large"]


def test_size_limit_from_configuration(tmp_path, monkeypatch):
    config = tmp_path / "edms-adapter.toml"
    config.write_text("[documents]\nmax_xml_bytes = 2000\n", encoding="utf-8")
    monkeypatch.setenv("EDMS_ADAPTER_CONFIG", str(config))
    data = build_xml(notification())
    with pytest.raises(DocumentTooLargeError) as caught:
        parse_xml(data)
    assert caught.value.limit == 2000


def test_not_utf8_rejected():
    data = build_xml(notification()).decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    with pytest.raises(InvalidDocumentError) as caught:
        parse_xml(data, max_bytes=LIMIT)
    assert _codes(caught.value) == ["not-utf8"]


def test_malformed_xml_names_line():
    data = b'<?xml version="1.0"?>\n<notification xmlns="urn:edms-adapter:notification:1" Id="x">\n<header>\n</notification>'
    with pytest.raises(InvalidDocumentError) as caught:
        parse_xml(data, max_bytes=LIMIT)
    problem = caught.value.problems[0]
    assert problem.code == "malformed-xml"
    assert problem.line == 4


def test_unknown_root_rejected():
    with pytest.raises(InvalidDocumentError) as caught:
        parse_xml(b"<invoice xmlns='urn:example'/>", max_bytes=LIMIT)
    assert _codes(caught.value) == ["unknown-root"]
    assert "{urn:example}invoice" in str(caught.value)


def test_comment_cannot_split_value():
    data = build_xml(notification()).replace(b"<number>6</number>", b"<number>6<!-- x -->0</number>", 1)
    assert validate_xml(data, max_bytes=LIMIT) == ()
    assert parse_xml(data, max_bytes=LIMIT).facts[5].number == 60


def test_empty_input_rejected():
    with pytest.raises(InvalidDocumentError) as caught:
        parse_xml(b"", max_bytes=LIMIT)
    assert _codes(caught.value) == ["malformed-xml"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'<?xml version="1.0"?>\n<!DOCTYPE n [<!ENTITY x "y">]><n/>', "dtd-forbidden"),
        (b"\xff\xfe<\x00n\x00/\x00>\x00", "not-utf8"),
        (b"<!-- only a comment -->", "malformed-xml"),
        (b"   ", "malformed-xml"),
    ],
    ids=["doctype", "utf-16", "comment only", "blank"],
)
def test_check_prolog_rejects(data, code):
    from adapter.xml.security import check_prolog

    with pytest.raises(InvalidDocumentError) as caught:
        check_prolog(data)
    assert _codes(caught.value) == [code]


def test_check_prolog_reads_past_long_prolog():
    from adapter.xml.security import check_prolog

    comment = b"<!--" + b"x" * (200 * 1024) + b"-->"
    check_prolog(comment + build_xml(notification()).split(b"?>", 1)[1])
    with pytest.raises(InvalidDocumentError):
        check_prolog(comment + b"<!DOCTYPE n><n/>")
