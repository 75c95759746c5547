"""The HTTP side of the gateway client: a zeep transport on a requests session.

:class:`GatewayTransport` replaces zeep's own request logging, which writes
whole envelopes (with the sender's password) at DEBUG, by a log line with the
password masked. It also caps the response size and keeps the HTTP status of
the last exchange in the calling thread for the client's INFO line.
:class:`EnvelopeHooks` is a zeep plugin that hands envelopes to callables.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

import requests
from lxml import etree
from zeep import Plugin
from zeep.transports import Transport

from ..errors import TransportError
from ..i18n import N_
from .settings import GatewaySettings

__all__ = ["EnvelopeHooks", "GatewayTransport", "mask_password", "new_session"]

logger = logging.getLogger(__name__)

_PASSWORD = re.compile(rb"(<(?:[\w.-]+:)?password\b[^>]*>)[^<]*(</(?:[\w.-]+:)?password\s*>)")
_CHUNK = 64 * 1024


def mask_password(message: bytes) -> bytes:
    """Return ``message`` with the text of every ``password`` element replaced by ``***``."""
    return _PASSWORD.sub(rb"\1***\2", message)


def new_session(settings: GatewaySettings) -> requests.Session:
    """Return a requests session with the TLS client certificate and CA bundle of ``settings``."""
    session = requests.Session()
    if settings.tls_client_cert:
        session.cert = (
            (settings.tls_client_cert, settings.tls_client_key) if settings.tls_client_key else settings.tls_client_cert
        )
    if settings.tls_ca_bundle:
        session.verify = settings.tls_ca_bundle
    session.headers["User-Agent"] = "edms-adapter"
    return session


class GatewayTransport(Transport):
    """zeep transport with connect/read timeouts, a response size limit and masked DEBUG logging."""

    def __init__(self, settings: GatewaySettings, session: requests.Session | None = None) -> None:
        super().__init__(
            session=session or new_session(settings),
            timeout=settings.read_timeout,
            operation_timeout=(settings.connect_timeout, settings.read_timeout),
        )
        self.max_response_bytes = settings.max_response_bytes
        self._local = threading.local()

    @property
    def last_status(self) -> int | None:
        """HTTP status of the last response received in this thread."""
        return getattr(self._local, "status", None)

    def reset_status(self) -> None:
        """Forget the last HTTP status of this thread."""
        self._local.status = None

    def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> requests.Response:
        """POST one envelope and read the response up to the size limit."""
        if logger.isEnabledFor(logging.DEBUG):
            raw = message.encode("utf-8") if isinstance(message, str) else message
            logger.debug("POST %s\n%s", address, mask_password(raw).decode("utf-8", "replace"))
        # verify is passed per request because requests lets $REQUESTS_CA_BUNDLE
        # override a session's verify setting, and the configured bundle must win.
        response = self.session.post(
            address,
            data=message,
            headers=headers,
            timeout=self.operation_timeout,
            stream=True,
            verify=self.session.verify,
        )
        try:
            response._content = self._read_limited(response, address)  # noqa: SLF001 - requests keeps the body there
        finally:
            response.close()
        self._local.status = response.status_code
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "HTTP %d from %s\n%s",
                response.status_code,
                address,
                mask_password(response.content).decode("utf-8", "replace"),
            )
        return response

    def _read_limited(self, response: requests.Response, address: str) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_response_bytes:
            raise self._too_large(address, int(declared))
        chunks = []
        size = 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > self.max_response_bytes:
                raise self._too_large(address, size)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, address: str, size: int) -> TransportError:
        return TransportError(
            N_("the response from {endpoint} is larger than {limit} bytes ({size} read); raise gateway.max_response_bytes if it is expected"),
            endpoint=address,
            limit=self.max_response_bytes,
            size=size,
        )


EnvelopeCallback = Callable[[etree._Element, str], None]


class EnvelopeHooks(Plugin):
    """zeep plugin that passes each envelope and the operation name to callables.

    zeep runs egress plugins before the WS-Security signature is applied, so
    ``on_egress`` sees the unsigned envelope; a hook that changes the
    envelope changes what is signed. ``on_ingress`` sees the response as
    received, after its signature was checked.
    """

    def __init__(self, on_egress: EnvelopeCallback | None = None, on_ingress: EnvelopeCallback | None = None) -> None:
        self.on_egress = on_egress
        self.on_ingress = on_ingress

    def egress(self, envelope: etree._Element, http_headers: dict[str, str], operation: Any, binding_options: Any):
        if self.on_egress is not None:
            self.on_egress(envelope, operation.name)
        return envelope, http_headers

    def ingress(self, envelope: etree._Element, http_headers: dict[str, str], operation: Any):
        if self.on_ingress is not None:
            self.on_ingress(envelope, operation.name)
        return envelope, http_headers
