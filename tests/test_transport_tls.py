"""Mutual TLS between the gateway client and a TLS server on loopback."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lxml import etree

from adapter.errors import TransientTransportError, TransportError
from adapter.service.soap import NoopChannelHandler, SoapApplication
from adapter.transport import GatewayClient, ServiceSettings
from transport_support import gateway_settings, make_key_pair


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(ca_key, ca_name, common_name: str, *, server: bool):
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH
    else:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH
    builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _write(folder, name: str, key, certificate) -> tuple[str, str]:
    cert_path = folder / f"{name}.crt"
    key_path = folder / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        key_path.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    ca_name = _name("Test TLS CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": _write(folder, "ca", None, ca_cert)[0]}
    paths["server"] = _write(folder, "server", *_issue(ca_key, ca_name, "127.0.0.1", server=True))
    paths["client"] = _write(folder, "client", *_issue(ca_key, ca_name, "KZ-TEST-SENDER", server=False))
    return paths


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture
def tls_server(pki):
    sender = make_key_pair("TLS sender")
    app = SoapApplication(NoopChannelHandler(), ServiceSettings(require_wsse=False))
    server = make_server("127.0.0.1", 0, app, server_class=WSGIServer, handler_class=_QuietHandler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki["ca"])
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(*pki["server"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/", sender
    server.shutdown()
    server.server_close()
    thread.join(5)


def _card() -> etree._Element:
    return etree.Element("{urn:test:card}docOutgoing")


def test_mutual_tls_exchange(tls_server, pki):
    url, sender = tls_server
    cert, key = pki["client"]
    settings = gateway_settings(url, tls_client_cert=cert, tls_client_key=key, tls_ca_bundle=pki["ca"])
    result = GatewayClient(settings, signer=sender.signer).send_message(_card())
    assert result.status.code == "SCSS001"


def test_unknown_server_ca_is_permanent(tls_server, pki):
    url, sender = tls_server
    cert, key = pki["client"]
    settings = gateway_settings(url, tls_client_cert=cert, tls_client_key=key)
    with pytest.raises(TransportError, match="TLS") as caught:
        GatewayClient(settings, signer=sender.signer).send_message(_card())
    assert not isinstance(caught.value, TransientTransportError)


def test_missing_client_certificate_fails(tls_server, pki):
    url, sender = tls_server
    settings = gateway_settings(url, tls_ca_bundle=pki["ca"], retry_attempts=1)
    with pytest.raises(TransportError):
        GatewayClient(settings, signer=sender.signer).send_message(_card())
