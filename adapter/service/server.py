"""Run the SOAP service on waitress.

waitress is the server for four reasons. It is pure Python, so there is
nothing to compile and the same code runs on Linux, Windows and macOS. It is
a production WSGI server with a bounded thread pool in front of blocking
handlers; the receiving handler verifies signatures and writes to SQLite,
both blocking. It needs no fork: one process starts quickly, runs inside
tests and the demo, and shares the application object between its threads.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from waitress.server import create_server
from waitress import wasyncore

from ..errors import TransportError
from ..i18n import N_

__all__ = ["ServerThread", "serve"]

logger = logging.getLogger(__name__)


def serve(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 4,
    *,
    max_request_bytes: int | None = None,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` until interrupted (Ctrl+C or SIGTERM).

    The socket is bound before ``on_listening`` is called with the base URL,
    so a caller announces the address only once it accepts connections.
    Raises :class:`~adapter.errors.TransportError` when ``host:port`` cannot
    be bound, for example because another process listens there.
    """
    options: dict[str, Any] = {"host": host, "port": port, "threads": threads, "ident": "edms-adapter"}
    if max_request_bytes is not None:
        options["max_request_body_size"] = max_request_bytes
    try:
        server = create_server(app, **options)
    except (OSError, ValueError) as exc:
        raise TransportError(
            N_("cannot listen on {host}:{port}: {reason}; choose another --port or stop the other process that listens there"),
            host=host,
            port=port,
            reason=getattr(exc, "strerror", None) or str(exc),
        ) from exc
    bound_host = server.effective_host
    url = f"http://{f'[{bound_host}]' if ':' in str(bound_host) else bound_host}:{server.effective_port}/"
    logger.info("serving on %s with %d threads", url, threads)
    try:
        with _sigterm_as_interrupt():
            if on_listening is not None:
                on_listening(url)
            # run() itself closes the server and returns on KeyboardInterrupt.
            server.run()
    except KeyboardInterrupt:
        # The interrupt came before the event loop started.
        server.close()
    logger.info("server on %s stopped", url)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt while the block runs, so the server stops as on Ctrl+C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class ServerThread:
    """``app`` served by waitress in a background thread, by default on a free loopback port.

    Use it as a context manager, or call :meth:`stop`. ``url`` is the base URL,
    such as ``http://127.0.0.1:41234/``.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, threads: int = 4, max_request_bytes: int | None = None) -> None:
        options: dict[str, Any] = {"host": host, "port": port, "threads": threads, "ident": "edms-adapter"}
        if max_request_bytes is not None:
            options["max_request_body_size"] = max_request_bytes
        self._map: dict[Any, Any] = {}
        self._server = create_server(app, map=self._map, **options)
        bound_host, bound_port = self._server.effective_host, self._server.effective_port
        shown_host = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self.host = bound_host
        self.port = int(bound_port)
        self.url = f"http://{shown_host}:{self.port}/"
        self._thread = threading.Thread(target=self._server.run, name=f"soap-server-{self.port}", daemon=True)
        self._thread.start()
        self._stopped = False

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listening socket and open connections, and wait for the thread to end."""
        if self._stopped:
            return
        self._stopped = True
        # Channels belong to the server's event loop, so they are closed from that thread.
        try:
            self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._map))
        except OSError:
            # NOTE: the trigger's pipe was seen closed already (EBADF) in rare
            # test runs; closing the sockets from this thread still ends the loop.
            logger.debug("server trigger unavailable, closing the server sockets directly", exc_info=True)
            wasyncore.close_all(self._map, ignore_all=True)
        self._thread.join(timeout)
        self._server.task_dispatcher.shutdown()

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
