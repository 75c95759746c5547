"""Run the SOAP service on waitress, in one process or in pre-forked worker processes.

waitress is the server for four reasons. It is pure Python, so there is
nothing to compile and the same code runs on Linux, Windows and macOS. It is
a production WSGI server with a bounded thread pool in front of blocking
handlers; the receiving handler verifies signatures and writes to SQLite,
both blocking. One process starts quickly, runs inside tests and the demo,
and shares the application object between its threads.

The receiving handler's work (schema checks, XML-DSig verification, receipt
signing) is CPU-bound, so one process uses one core because of the
interpreter lock. With ``workers > 1`` :func:`serve` pre-forks: the parent
binds the listening socket once and forks the workers, and each worker builds
its own application with ``app_factory`` and runs waitress on the inherited
socket. Every worker waits on the same socket, so the kernel hands each new
connection to one of them. Database connections, PKCS#11 sessions and
threads never cross the fork, because each worker opens its own. The parent
only supervises: it restarts a worker that dies and stops all of them on
SIGTERM or Ctrl+C. Workers need ``fork()``, so they are POSIX only.
"""

from __future__ import annotations

import gc
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from waitress.adjustments import Adjustments
from waitress.server import create_server
from waitress import wasyncore

from ..errors import ConfigError, TransportError
from ..i18n import N_
from ..transport.settings import INVALID_WORKERS

__all__ = ["ServerThread", "serve"]

logger = logging.getLogger(__name__)

#: Seconds the parent waits for the workers to exit after SIGTERM before it sends SIGKILL.
WORKER_STOP_TIMEOUT = 10.0
#: Worker exits within :data:`WORKER_FAILURE_WINDOW` seconds after which :func:`serve` gives up.
WORKER_FAILURE_LIMIT = 5
WORKER_FAILURE_WINDOW = 10.0
#: Seconds between two checks of the parent for exited workers.
_SUPERVISE_INTERVAL = 0.2
#: Bytes read from a connection at a time. waitress reads 8 KiB by default,
#: but a card of 100 facts with its screenshots is about 110 KB. Each read
#: makes the server's I/O thread take the interpreter lock from the thread
#: that checks a document.
RECV_BYTES = 256 * 1024

#: Exit status of a worker whose ``app_factory`` or server failed to start.
_EXIT_START_FAILED = 3

_LISTEN_FAILED = N_("cannot listen on {host}:{port}: {reason}; choose another --port or stop the other process that listens there")


def serve(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 4,
    *,
    max_request_bytes: int | None = None,
    on_listening: Callable[[str], None] | None = None,
    workers: int = 1,
    app_factory: Callable[[], Any] | None = None,
) -> None:
    """Serve a WSGI application until interrupted (Ctrl+C or SIGTERM).

    With ``workers == 1`` this process serves ``app`` with ``threads``
    threads; when ``app`` is None, ``app_factory()`` builds it. With
    ``workers > 1`` (POSIX only) the parent binds the socket and forks that
    many worker processes. Each worker calls ``app_factory()``, which is
    then required, and serves with ``threads`` threads, so ``app`` is unused.
    The parent restarts a worker that exits and stops every worker on
    SIGTERM or SIGINT, so it must run in the main thread.

    ``on_listening`` is called once, in this process, with the base URL such
    as ``http://127.0.0.1:8080/``: with one process after the socket is
    bound, with workers after every worker has built its application and
    listens. Port 0 binds a free port, which the URL names.

    Raises :class:`~adapter.errors.TransportError` when ``host:port`` cannot
    be bound, for example because another process listens there, and when
    the workers keep failing at start (:data:`WORKER_FAILURE_LIMIT` exits
    within :data:`WORKER_FAILURE_WINDOW` seconds). Raises
    :class:`~adapter.errors.ConfigError` for ``workers < 1`` and for
    ``workers > 1`` on a platform without ``fork()``.
    """
    if workers < 1:
        raise ConfigError(INVALID_WORKERS, key="service.workers", value=workers)
    options: dict[str, Any] = {"threads": threads, "ident": "edms-adapter", "recv_bytes": RECV_BYTES}
    if max_request_bytes is not None:
        options["max_request_body_size"] = max_request_bytes
    if workers == 1:
        if app is None:
            if app_factory is None:
                raise ValueError("serve() needs app or app_factory")
            app = app_factory()
        _serve_single(app, host, port, options, on_listening)
        return

    if not hasattr(os, "fork"):
        raise ConfigError(
            N_("{value} worker processes need fork(), which {platform} does not have; set [service] workers = 1 or run serve --workers 1"),
            key="service.workers",
            value=workers,
            platform=sys.platform,
        )
    if app_factory is None:
        raise ValueError("serve() with workers > 1 needs app_factory: each worker builds its own application after the fork")
    if threading.current_thread() is not threading.main_thread():
        raise ValueError("serve() with workers > 1 must run in the main thread, which receives SIGTERM and SIGINT")
    sockets = _bind(host, port)
    try:
        url = _base_url(sockets[0])
        logger.info("serving on %s with %d workers of %d threads", url, workers, threads)
        _Supervisor(app_factory, sockets, workers, options).run(url, on_listening)
    finally:
        for sock in sockets:
            sock.close()
    logger.info("server on %s stopped", url)


def _serve_single(app: Any, host: str, port: int, options: dict[str, Any], on_listening: Callable[[str], None] | None) -> None:
    try:
        server = create_server(app, host=host, port=port, **options)
    except (OSError, ValueError) as exc:
        raise TransportError(_LISTEN_FAILED, host=host, port=port, reason=getattr(exc, "strerror", None) or str(exc)) from exc
    bound_host = server.effective_host
    url = f"http://{f'[{bound_host}]' if ':' in str(bound_host) else bound_host}:{server.effective_port}/"
    logger.info("serving on %s with %d threads", url, options["threads"])
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


def _bind(host: str, port: int) -> list[socket.socket]:
    """Bind and listen on every address ``host`` resolves to, as waitress itself would."""
    sockets: list[socket.socket] = []
    try:
        adjustments = Adjustments(host=host, port=port)
        for family, socktype, proto, address in adjustments.listen:
            sock = socket.socket(family, socktype, proto)
            sockets.append(sock)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(adjustments.backlog)
    except (OSError, ValueError) as exc:
        for sock in sockets:
            sock.close()
        raise TransportError(_LISTEN_FAILED, host=host, port=port, reason=getattr(exc, "strerror", None) or str(exc)) from exc
    return sockets


def _base_url(sock: socket.socket) -> str:
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    return f"http://{shown_host}:{bound_port}/"


class _Supervisor:
    """The parent of the worker processes: forks, restarts and stops them."""

    def __init__(self, app_factory: Callable[[], Any], sockets: list[socket.socket], workers: int, options: dict[str, Any]) -> None:
        self.app_factory = app_factory
        self.sockets = sockets
        self.workers = workers
        self.options = options
        self.children: set[int] = set()
        self.ready: set[int] = set()
        self.failures: deque[float] = deque()
        self.stop_signal: int | None = None

    def run(self, url: str, on_listening: Callable[[str], None] | None) -> None:
        """Fork the workers and supervise them until SIGTERM or SIGINT."""
        ready_read, ready_write = os.pipe()
        self._ready_read, self._ready_write = ready_read, ready_write
        previous = {number: signal.signal(number, self._request_stop) for number in (signal.SIGTERM, signal.SIGINT)}
        announced = False
        pending = b""
        try:
            for _ in range(self.workers):
                self._spawn()
            while self.stop_signal is None:
                readable, _, _ = select.select([ready_read], [], [], _SUPERVISE_INTERVAL)
                if readable:
                    pending += os.read(ready_read, 4096)
                    *lines, pending = pending.split(b"\n")
                    self.ready.update(int(line) for line in lines if line)
                self._reap()
                if not announced and self.stop_signal is None and len(self.ready & self.children) >= self.workers:
                    announced = True
                    logger.debug("all %d workers listen on %s", self.workers, url)
                    if on_listening is not None:
                        on_listening(url)
            logger.debug("signal %d received, stopping the workers", self.stop_signal)
        finally:
            self._stop_all()
            for number, handler in previous.items():
                signal.signal(number, handler)
            os.close(ready_read)
            os.close(ready_write)

    def _request_stop(self, signum: int, _frame: Any) -> None:
        self.stop_signal = signum

    def _spawn(self) -> None:
        pid = os.fork()
        if pid == 0:
            _run_worker(self.app_factory, self.sockets, self.options, ready_read=self._ready_read, ready_write=self._ready_write)
        self.children.add(pid)
        logger.debug("worker %d started", pid)

    def _reap(self) -> None:
        """Collect exited workers, restart them, and give up when they keep failing."""
        for pid in list(self.children):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                continue
            self.children.discard(pid)
            started = pid in self.ready
            self.ready.discard(pid)
            if self.stop_signal is not None:
                continue
            logger.warning("worker %d exited unexpectedly (%s)%s; starting a new one", pid, _describe_status(status), "" if started else " before it listened")
            now = time.monotonic()
            self.failures.append(now)
            while self.failures and now - self.failures[0] > WORKER_FAILURE_WINDOW:
                self.failures.popleft()
            if len(self.failures) >= WORKER_FAILURE_LIMIT:
                logger.error("%d workers exited within %.0f s; stopping", len(self.failures), WORKER_FAILURE_WINDOW)
                raise TransportError(
                    N_("the worker processes fail at start ({count} exits within {seconds} s); run with [service] workers = 1 or serve --workers 1 to see the error"),
                    count=len(self.failures),
                    seconds=int(WORKER_FAILURE_WINDOW),
                )
            self._spawn()

    def _stop_all(self) -> None:
        """Send SIGTERM to every worker, wait up to :data:`WORKER_STOP_TIMEOUT`, then SIGKILL the rest."""
        for pid in self.children:
            _kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + WORKER_STOP_TIMEOUT
        while self.children and time.monotonic() < deadline:
            for pid in list(self.children):
                try:
                    done, _status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    self.children.discard(pid)
            if self.children:
                time.sleep(0.05)
        for pid in self.children:
            logger.warning("worker %d did not stop within %.0f s; killing it", pid, WORKER_STOP_TIMEOUT)
            _kill(pid, signal.SIGKILL)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self.children.clear()


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _run_worker(app_factory: Callable[[], Any], sockets: list[socket.socket], options: dict[str, Any], *, ready_read: int, ready_write: int) -> NoReturn:
    """Build the application and serve the inherited sockets until SIGTERM; never returns to the parent's code."""
    code = _EXIT_START_FAILED
    try:
        os.close(ready_read)
        # Ctrl+C reaches the whole process group; the parent alone decides to stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            app = app_factory()
            server = create_server(app, sockets=sockets, **options)
        except KeyboardInterrupt:
            code = 0
            raise
        except BaseException:
            logger.exception("worker %d failed to start", os.getpid())
            raise
        # The application and the modules stay for the worker's life; moving
        # them out of the collector's reach keeps its full passes short.
        gc.freeze()
        os.write(ready_write, f"{os.getpid()}\n".encode("ascii"))
        os.close(ready_write)
        # run() closes the server and returns on KeyboardInterrupt (SIGTERM).
        server.run()
        code = 0
    except KeyboardInterrupt:
        code = 0
    except BaseException:  # noqa: BLE001 - logged above; the exit status tells the parent
        pass
    finally:
        try:
            for handler in logging.getLogger().handlers:
                handler.flush()
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001 - nothing may keep the worker from exiting below
            pass
        # os._exit: the parent's cleanup code (finally blocks, atexit) must not run twice.
        os._exit(code)


def _raise_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


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
        options: dict[str, Any] = {"host": host, "port": port, "threads": threads, "ident": "edms-adapter", "recv_bytes": RECV_BYTES}
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
