"""`edms-adapter render`, render_file and render_preview on real XML and real signatures."""

from __future__ import annotations

import dataclasses
import html

import pytest

from adapter import i18n
from adapter.cli.main import main
from adapter.config import load_config
from adapter.errors import InputError
from adapter.model import Signatory, SignatoryRole
from adapter.render import SignatureState, render_file, render_preview
from adapter.xml import build_xml
from signing.keys import load_pkcs12
from signing.xmldsig import sign_xml

from render_support import SENDER, notification, pdf_text


def _quoted(paths) -> str:
    return "[" + ", ".join(f'"{path}"' for path in paths) + "]"


@pytest.fixture(scope="module")
def signed_by_head(test_pki):
    """A notification signed by the test PKI's first head, with XAdES signing time."""
    head = test_pki.head
    document = notification()
    document = dataclasses.replace(
        document,
        header=dataclasses.replace(document.header, sender=dataclasses.replace(SENDER, bin=head.bin)),
        signatory=Signatory("Басқарма басшысы", head.full_name, head.iin, SignatoryRole.HEAD),
    )
    return sign_xml(build_xml(document), load_pkcs12(head.p12_path, head.password), xades=True)


@pytest.fixture(scope="module")
def trust_config_file(test_pki, tmp_path_factory):
    """A configuration file that trusts the test PKI and checks its CRL files."""
    data = test_pki.config_data()
    path = tmp_path_factory.mktemp("config") / "edms-adapter.toml"
    path.write_text(
        "[trust]\n"
        f"anchors = {_quoted(data['trust']['anchors'])}\n"
        f"intermediates = {_quoted(data['trust']['intermediates'])}\n"
        "[revocation]\n"
        f"policy = \"{data['revocation']['policy']}\"\n"
        f"crl_files = {_quoted(data['revocation']['crl_files'])}\n",
        encoding="utf-8",
    )
    return path


def _load(path):
    return load_config(str(path))


def _run(*args: str) -> int:
    with i18n.use_language("en"):
        return main(list(args))


def test_cli_renders_unsigned_pdf(tmp_path, capsys):
    source = tmp_path / "notification.xml"
    source.write_bytes(build_xml(notification()))

    code = _run("render", str(source), "--format", "pdf")

    target = tmp_path / "notification.pdf"
    assert code == 0
    assert str(target) in capsys.readouterr().out
    text = pdf_text(target, tmp_path)
    assert "Хабарлама" in text
    assert "Электрондық цифрлық қолтаңба" not in text


def test_cli_russian_html_by_output_suffix(tmp_path):
    source = tmp_path / "notification.xml"
    source.write_bytes(build_xml(notification()))
    target = tmp_path / "out" / "form.html"
    target.parent.mkdir()

    code = _run("render", str(source), "--lang", "ru", "-o", str(target))

    page = html.unescape(target.read_text(encoding="utf-8"))
    assert code == 0
    assert '<html lang="ru">' in page
    assert "Уведомление" in page
    assert "Рабочий перевод" in page


def test_cli_output_into_missing_folder(tmp_path, capsys):
    source = tmp_path / "notification.xml"
    source.write_bytes(build_xml(notification()))
    target = tmp_path / "missing" / "form.html"

    code = _run("--lang", "en", "render", str(source), "-o", str(target))

    err = capsys.readouterr().err
    assert code == 1
    assert f"output folder {target.parent} does not exist" in err
    assert "Traceback" not in err


def test_cli_verifies_signature_with_trust(tmp_path, signed_by_head, trust_config_file, test_pki):
    source = tmp_path / "signed.xml"
    source.write_bytes(signed_by_head)
    target = tmp_path / "signed.html"

    code = _run("--config", str(trust_config_file), "render", str(source), "-o", str(target))

    page = html.unescape(target.read_text(encoding="utf-8"))
    assert code == 0
    assert "signature-valid" in page
    assert "Қолтаңба жарамды, тіркеу куәлігі сенімді." in page
    assert test_pki.head.full_name in page
    assert test_pki.head.iin in page
    assert format(test_pki.head.certificate.serial_number, "X") in page
    assert "электрондық цифрлық қолтаңбамен қол қойылған" in page


def test_cli_signed_without_trust_is_not_verified(tmp_path, signed_by_head, capsys):
    source = tmp_path / "signed.xml"
    source.write_bytes(signed_by_head)
    empty_config = tmp_path / "empty.toml"
    empty_config.write_text("", encoding="utf-8")

    code = _run("--config", str(empty_config), "render", str(source), "--format", "html")

    page = html.unescape((tmp_path / "signed.html").read_text(encoding="utf-8"))
    assert code == 0
    assert "signature-not-verified" in page
    assert "Қолтаңба тексерілмеді." in page
    assert "[trust] anchors" in capsys.readouterr().err


def test_cli_tampered_signature_is_invalid(tmp_path, signed_by_head, trust_config_file):
    source = tmp_path / "tampered.xml"
    source.write_bytes(signed_by_head.replace(b"203.0.113.17", b"203.0.113.99"))

    code = _run("--config", str(trust_config_file), "render", str(source), "--format", "html")

    page = html.unescape((tmp_path / "tampered.html").read_text(encoding="utf-8"))
    assert code == 0
    assert "signature-invalid" in page
    assert "Қолтаңба жарамсыз" in page


def test_cli_unknown_output_suffix(tmp_path, capsys):
    source = tmp_path / "notification.xml"
    source.write_bytes(build_xml(notification()))

    code = _run("render", str(source), "-o", str(tmp_path / "form.txt"))

    assert code == 1
    assert "form.txt" in capsys.readouterr().err
    assert not (tmp_path / "form.txt").exists()


def test_cli_missing_file(tmp_path, capsys):
    code = _run("render", str(tmp_path / "absent.xml"))

    assert code == 1
    assert "absent.xml" in capsys.readouterr().err


def test_render_file_reports_signature(tmp_path, signed_by_head, trust_config_file):
    source = tmp_path / "signed.xml"
    source.write_bytes(signed_by_head)

    rendered = render_file(source, format="pdf", language="ru", config=_load(trust_config_file))

    assert rendered.path == tmp_path / "signed.pdf"
    assert rendered.signature.state is SignatureState.VALID
    assert "Подпись действительна, сертификат доверенный." in pdf_text(rendered.path, tmp_path)


def test_render_file_without_verification(tmp_path, signed_by_head, trust_config_file):
    source = tmp_path / "signed.xml"
    source.write_bytes(signed_by_head)

    rendered = render_file(source, format="html", config=_load(trust_config_file), verify=False)

    assert rendered.signature.state is SignatureState.NOT_VERIFIED


@pytest.mark.parametrize(("name", "start"), [("preview.pdf", b"%PDF-"), ("preview.HTML", b"<!DOCTYPE html>"), ("preview.htm", b"<!DOCTYPE html>")])
def test_preview_format_from_suffix(tmp_path, name, start):
    written = render_preview(notification(), tmp_path / name)

    assert written == tmp_path / name
    assert written.read_bytes().startswith(start)


def test_preview_rejects_unknown_suffix(tmp_path):
    with pytest.raises(InputError) as caught:
        render_preview(notification(), tmp_path / "preview.docx")

    assert caught.value.field == "path"
    assert not (tmp_path / "preview.docx").exists()


def test_preview_failure_keeps_old_file(tmp_path):
    target = tmp_path / "preview.html"
    target.write_text("earlier preview", encoding="utf-8")

    with pytest.raises(InputError):
        render_preview(notification(), target, language="de")

    assert target.read_text(encoding="utf-8") == "earlier preview"
    assert [path.name for path in tmp_path.iterdir()] == ["preview.html"]


@pytest.fixture(scope="module")
def signed_receipt(test_pki):
    """A decision receipt signed by the authorised body's receiving employee."""
    from adapter.exchange.receipts import DocumentReference, FactDecision, FactOutcome, Receipt, sign_receipt

    reference = DocumentReference("msg-7d1c2a", "ab" * 32, "04-2-15/1187")
    receipt = Receipt.decision(reference, [FactDecision(1, FactOutcome.CONFIRMED), FactDecision(2, FactOutcome.REJECTED, "Лицензия бар")])
    receiver = test_pki.receiver
    return sign_receipt(receipt, load_pkcs12(receiver.p12_path, receiver.password))


def test_cli_receipt_pinned_certificate(tmp_path, signed_receipt, test_pki):
    source = tmp_path / "receipt.xml"
    source.write_bytes(signed_receipt)
    config = tmp_path / "sender.toml"
    config.write_text(f'[sender]\nreceiver_certificate = "{test_pki.receiver.cert_path}"\n', encoding="utf-8")

    code = _run("--config", str(config), "render", str(source), "--format", "html", "--lang", "ru")

    page = html.unescape((tmp_path / "receipt.html").read_text(encoding="utf-8"))
    assert code == 0
    assert "Решение по фактам" in page
    assert "Лицензия бар" in page
    assert "signature-valid" in page
    assert test_pki.receiver.full_name in page


def test_cli_receipt_without_trust(tmp_path, signed_receipt):
    source = tmp_path / "receipt.xml"
    source.write_bytes(signed_receipt)
    empty_config = tmp_path / "empty.toml"
    empty_config.write_text("", encoding="utf-8")

    code = _run("--config", str(empty_config), "render", str(source), "--format", "html")

    page = (tmp_path / "receipt.html").read_text(encoding="utf-8")
    assert code == 0
    assert "signature-not-verified" in page


def test_cli_receipt_tampered(tmp_path, signed_receipt, trust_config_file):
    source = tmp_path / "receipt.xml"
    source.write_bytes(signed_receipt.replace("Лицензия бар".encode(), "Лицензия жоқ".encode()))

    code = _run("--config", str(trust_config_file), "render", str(source), "--format", "html")

    page = html.unescape((tmp_path / "receipt.html").read_text(encoding="utf-8"))
    assert code == 0
    assert "signature-invalid" in page
    assert "Лицензия жоқ" in page


def test_cli_roster(tmp_path):
    from render_support import roster

    source = tmp_path / "roster.xml"
    source.write_bytes(build_xml(roster(edition="2026-04")))

    code = _run("render", str(source), "--format", "html")

    page = html.unescape((tmp_path / "roster.html").read_text(encoding="utf-8"))
    assert code == 0
    assert "сілтемелерді ақпараттық жүйеге енгізу" in page
    assert "Сәрсенбаев Нұрлан Ғаниұлы" in page
