"""serve() with pre-forked worker processes: real processes, real waitress, HTTP on loopback."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
import requests
from lxml import etree
from sqlalchemy import func, select

from adapter.config import Config
from adapter.errors import ConfigError, TransportError
from adapter.exchange.receiver import open_inbox
from adapter.service.server import serve
from adapter.store.inbox import OutgoingReceipt, ReceivedDocument
from adapter.transport import GatewayClient
from adapter.transport.settings import GatewaySettings, ServiceSettings
from receiver_support import SENDER_ID, make_config, signed_card, signer_of, write_cli_config

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="worker processes need fork(), and the tests read /proc")

#: A server process: its factory builds an app that returns "<pid> <parent pid>"
#: after about 20 ms of CPU work, so concurrent requests spread over the workers.
SERVER_SCRIPT = textwrap.dedent(
    """
    import logging, os, sys, time
    from adapter.service.server import serve

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    FAIL = sys.argv[1] == "fail"

    def factory():
        if FAIL:
            raise RuntimeError("factory failed on purpose")

        def app(environ, start_response):
            deadline = time.process_time() + 0.02
            while time.process_time() < deadline:
                pass
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"{os.getpid()} {os.getppid()}".encode()]

        return app

    def announce(url):
        print(url, flush=True)

    try:
        serve(None, "127.0.0.1", 0, 2, workers=2, app_factory=factory, on_listening=announce)
    except Exception as exc:
        print(f"ERROR {type(exc).__name__}: {exc.localized('en')}", flush=True)
        sys.exit(1)
    print("STOPPED", flush=True)
    """
)


def _start_server(mode: str = "ok") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(process: subprocess.Popen) -> tuple[str, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _answers(url: str, count: int) -> list[tuple[int, int]]:
    """Send ``count`` requests, eight at a time, each on a new connection; return (worker pid, its parent pid) of each."""

    def one(_index: int) -> tuple[int, int]:
        response = requests.get(url, timeout=10, headers={"Connection": "close"})
        pid, parent = response.text.split()
        return int(pid), int(parent)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pids, timeout: float = 10.0) -> set[int]:
    deadline = time.monotonic() + timeout
    left = set(pids)
    while left and time.monotonic() < deadline:
        left = {pid for pid in left if _alive(pid)}
        time.sleep(0.05)
    return left


@pytest.fixture
def server():
    process = _start_server()
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        _out, err = _stop(process)
        pytest.fail(f"server did not start: {url!r} {err}")
    yield process, url
    _stop(process)


def test_two_workers_answer(server):
    process, url = server

    pids: set[int] = set()
    deadline = time.monotonic() + 10
    while len(pids) < 2 and time.monotonic() < deadline:
        answers = _answers(url, 32)
        assert {parent for _pid, parent in answers} == {process.pid}
        pids |= {pid for pid, _parent in answers}

    assert len(pids) == 2
    assert process.pid not in pids


def test_sigterm_stops_every_worker(server):
    process, url = server
    workers = _worker_pids(process, url)

    out, err = _stop(process)

    assert process.returncode == 0, err
    assert "STOPPED" in out
    assert _wait_gone(workers) == set()
    assert f"serving on {url} with 2 workers of 2 threads" in err
    assert f"server on {url} stopped" in err


def test_killed_worker_replaced(server):
    process, url = server
    workers = _worker_pids(process, url)
    killed = min(workers)

    os.kill(killed, signal.SIGKILL)

    assert _wait_gone({killed}) == set()
    seen: set[int] = set()
    deadline = time.monotonic() + 10
    while not (seen - workers) and time.monotonic() < deadline:
        seen |= {pid for pid, _parent in _answers(url, 16)}
    assert killed not in seen
    assert seen - workers
    _out, err = _stop(process)
    assert f"WARNING worker {killed} exited unexpectedly (signal {int(signal.SIGKILL)}); starting a new one" in err


def _worker_pids(process: subprocess.Popen, url: str) -> set[int]:
    """Return the pids of both workers, read from /proc, after checking they serve."""
    assert _answers(url, 4)
    workers = set()
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                # The parent pid is the second field after the command name in brackets.
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == process.pid:
            workers.add(int(entry))
    assert len(workers) == 2
    return workers


def test_failing_factory_gives_up():
    process = _start_server("fail")
    try:
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 1
    assert not out.startswith("http://")
    assert "ERROR TransportError: the worker processes fail at start (5 exits within 10 s)" in out
    assert "serve --workers 1 to see the error" in out
    assert "RuntimeError: factory failed on purpose" in err


def test_port_in_use_with_workers():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(TransportError) as caught:
            serve(None, "127.0.0.1", port, 1, workers=2, app_factory=lambda: None)

    assert f"cannot listen on 127.0.0.1:{port}" in caught.value.localized("en")


@pytest.mark.parametrize("value", [0, -2])
def test_workers_setting_invalid(value):
    with pytest.raises(ConfigError) as caught:
        Config({"service": {"workers": value}}).section("service", ServiceSettings)

    assert caught.value.key == "service.workers"
    assert caught.value.localized("en") == f"invalid service.workers {value}; set it to 1 or more, about one per CPU core"
    assert str(value) in caught.value.localized("kk")
    assert str(value) in caught.value.localized("ru")


def test_workers_need_factory():
    with pytest.raises(ValueError, match="app_factory"):
        serve(lambda environ, start_response: [], "127.0.0.1", 0, 1, workers=2)


PASSWORD_VARIABLE = "EDMS_TEST_RECEIVER_PASSWORD"


def test_cli_workers_receive_document(test_pki, tmp_path):
    """serve --workers 2 accepts a signed document; one messageId sent eight times at once gets the same response each time and is stored once."""
    config_path = tmp_path / "edms-adapter.toml"
    write_cli_config(config_path, test_pki, tmp_path, password_env=PASSWORD_VARIABLE)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "adapter.cli.main", "--lang", "en", "--config", str(config_path), "serve", "--workers", "2", "--port", str(port)]
    environment = dict(os.environ, **{PASSWORD_VARIABLE: test_pki.password})
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        announced = process.stderr.readline()
        while announced and "Service listening on" not in announced:
            announced = process.stderr.readline()
        assert f"Service listening on http://127.0.0.1:{port}/" in announced

        config = make_config(test_pki, tmp_path)
        card, _signed = signed_card(test_pki, test_pki.head, config)
        message_id = str(uuid.uuid4())
        payload = card.to_xml()
        settings = GatewaySettings(endpoint=f"http://127.0.0.1:{port}/SyncChannel", sender_id=SENDER_ID, read_timeout=30.0, retry_attempts=1)

        def send(_index: int) -> tuple[str, str]:
            with GatewayClient(settings, signer=signer_of(test_pki.head)) as client:
                result = client.send_message(etree.fromstring(payload), message_id=message_id)
            return result.status.code, result.status.message

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(send, range(8)))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        _out, rest = process.communicate(timeout=30)

    assert process.returncode == 0, rest
    assert answers[0][0] == "SCSS001"
    assert answers == [answers[0]] * 8
    with open_inbox(make_config(test_pki, tmp_path)) as inbox, inbox.session() as session:
        assert session.scalar(select(func.count()).select_from(ReceivedDocument)) == 1
        assert session.scalar(select(func.count()).select_from(OutgoingReceipt)) == 1
        assert session.scalars(select(ReceivedDocument.message_id)).one() == message_id


class _Terminal:
    """Standard input that claims to be a terminal, so a password would be asked on it."""

    def isatty(self) -> bool:
        return True


def test_pkcs11_key_prompt_rejected(monkeypatch):
    from adapter.errors import KeyLoadError
    from adapter.exchange.receiver import load_receiver_signer_for_workers

    monkeypatch.delenv("EDMS_ADAPTER_RECEIVER_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    config = Config({"receiver": {"key": "pkcs11:token=receipts;object=receipt-key"}})

    with pytest.raises(KeyLoadError) as caught:
        load_receiver_signer_for_workers(config)

    message = caught.value.localized("en")
    assert "cannot ask for the PIN of the receipt key pkcs11:token=receipts;object=receipt-key" in message
    assert "serve --workers 1" in message


def test_pkcs11_pin_in_uri_not_echoed(monkeypatch):
    from adapter.errors import KeyLoadError
    from adapter.exchange.receiver import load_receiver_signer_for_workers

    monkeypatch.delenv("EDMS_ADAPTER_RECEIVER_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    config = Config({"receiver": {"key": "pkcs11:token=receipts;object=receipt-key?pin-value=4711"}})

    with pytest.raises(KeyLoadError) as caught:
        load_receiver_signer_for_workers(config)

    message = caught.value.localized("en")
    assert "4711" not in message
    assert "pin-source=file:PATH" in message


def test_pkcs11_key_loaded_per_worker(monkeypatch):
    from adapter.exchange.receiver import load_receiver_signer_for_workers

    monkeypatch.setenv("EDMS_ADAPTER_RECEIVER_PASSWORD", "1234")
    config = Config({"receiver": {"key": "pkcs11:token=receipts;object=receipt-key"}})

    # No token is opened in the parent: each worker loads the key itself.
    assert load_receiver_signer_for_workers(config) is None
