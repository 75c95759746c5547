"""Settings of the gateway client (``[gateway]``) and of the receiving service (``[service]``)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import ConfigError
from ..i18n import N_

__all__ = ["GatewaySettings", "ServiceSettings", "read_password"]

INVALID_WORKERS = N_("invalid service.workers {value}; set it to 1 or more, about one per CPU core")


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """The ``[gateway]`` table: where and how the client reaches the gateway."""

    #: SyncChannel endpoint URL.
    endpoint: str = "http://127.0.0.1:8090/SyncChannel"
    #: AsyncChannel endpoint URL; empty means the SyncChannel endpoint.
    async_endpoint: str = ""
    #: Interaction from the gateway's registry.
    service_id: str = "ESEDO_UNIVERSAL_SERVICE"
    #: Route of the interaction.
    route_id: str = "R_ESEDO"
    #: Participant id the gateway registered for this sender.
    sender_id: str = ""
    #: Name of the environment variable with the sender's password.
    password_env: str = ""
    #: File whose first line is the sender's password.
    password_file: str = ""
    #: Seconds to wait for the TCP/TLS connection.
    connect_timeout: float = 10.0
    #: Seconds to wait for the response.
    read_timeout: float = 60.0
    #: Attempts per exchange, the first included.
    retry_attempts: int = 5
    #: First backoff ceiling in seconds; it doubles per attempt.
    retry_base: float = 0.5
    #: Largest backoff ceiling in seconds.
    retry_cap: float = 30.0
    #: Fault codes that are retried like a lost connection.
    transient_codes: tuple[str, ...] = ("SERVICE_UNAVAILABLE",)
    #: Client certificate (PEM) for mutual TLS; empty for none.
    tls_client_cert: str = ""
    #: Private key (PEM, unencrypted) of the client certificate; empty when the certificate file contains it.
    tls_client_key: str = ""
    #: CA bundle (PEM) that verifies the gateway's TLS certificate; empty for the system store.
    tls_ca_bundle: str = ""
    #: Sign requests with WS-Security; the gateway rejects unsigned requests.
    sign_requests: bool = True
    #: Largest response accepted, in bytes.
    max_response_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_config(cls, config: Config) -> GatewaySettings:
        """Read ``[gateway]`` and resolve its file paths against the configuration file's folder."""
        settings = config.section("gateway", cls)
        paths = {}
        for name in ("password_file", "tls_client_cert", "tls_client_key", "tls_ca_bundle"):
            value = getattr(settings, name)
            if value:
                paths[name] = str(config.resolve_path(value))
        return dataclasses.replace(settings, **paths)


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """The ``[service]`` table: the receiving SOAP service's transport."""

    #: Not used: ``serve`` listens on ``[receiver] host`` and ``port`` (or
    #: ``[sender] push_host`` and ``push_port``). Kept so older files still load.
    host: str = "127.0.0.1"
    #: Not used, like :attr:`host`.
    port: int = 8080
    #: Worker threads that handle requests, in each worker process.
    threads: int = 4
    #: Worker processes, each running ``threads`` threads; use about one per
    #: CPU core. More than 1 needs fork(), so POSIX only.
    workers: int = 1
    #: Largest request accepted, in bytes.
    max_request_bytes: int = 256 * 1024 * 1024
    #: Reject requests without a valid WS-Security signature from a trusted sender.
    require_wsse: bool = True

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(INVALID_WORKERS, key="service.workers", value=self.workers)


def read_password(settings: GatewaySettings) -> str | None:
    """Return the sender's password from the environment variable or file the settings name.

    ``None`` when neither is set: the request then carries no password.
    """
    if settings.password_env and settings.password_file:
        raise ConfigError(
            N_("set only one of gateway.password_env and gateway.password_file"),
            key="gateway.password_env",
        )
    if settings.password_env:
        value = os.environ.get(settings.password_env)
        if value is None:
            raise ConfigError(
                N_("environment variable {variable} named by gateway.password_env is not set; export it with the sender's password"),
                key="gateway.password_env",
                variable=settings.password_env,
            )
        return value
    if settings.password_file:
        path = Path(settings.password_file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                N_("cannot read the password file {path} named by gateway.password_file: {reason}"),
                key="gateway.password_file",
                path=str(path),
                reason=exc.strerror or str(exc),
            ) from exc
        lines = text.splitlines()
        return lines[0] if lines else ""
    return None
