"""Benchmark the receiving SOAP service against the no-op endpoint on the same server stack.

Starts a test PKI with an OCSP responder on 127.0.0.1. Before timing starts,
it prepares ``--warmup`` + ``--rounds`` × ``--documents`` distinct
notifications of ``--facts`` facts each, XML-DSig signed by the test PKI's
head and wrapped in the EDMS card.

Each endpoint is served the way ``edms-adapter serve`` runs in production: in
its own process, by :func:`adapter.service.server.serve` with ``--workers``
worker processes of ``--threads`` threads each. The receiving service is
``adapter.exchange.receiver.create_wsgi_app``; the no-op endpoint
(``adapter.service.soap.noop_application``) has the same parsing and the same
WS-Security check (the receiver's trust callback) and returns SCSS001 without
doing anything else.

This process is the senders: ``--senders`` threads, each with its own zeep
client that signs every request with WS-Security. Each endpoint first gets
the warm-up documents, untimed. Each of ``--rounds`` rounds then times the
no-op endpoint and the receiving service, each with its own documents. The
script prints the medians of the rounds as a Markdown table for
docs/benchmarks.md, with the CPU time per document of each endpoint's
processes (read from Linux's /proc) and of the senders.

    python bench/bench_service.py --rounds 7
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import multiprocessing
import os
import platform
import queue
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from lxml import etree

from adapter.model import Fact
from adapter.service.soap import noop_application
from adapter.transport import GatewayClient, GatewaySettings, ServiceSettings


def _facts(count: int) -> tuple[Fact, ...]:
    return tuple(
        Fact(
            number=number,
            protocol="HTTPS",
            ip=f"203.0.113.{number % 250 + 1}",
            domain=f"site{number}.example.kz",
            url=f"https://site{number}.example.kz/page/{number}",
            description=f"illegal online casino mirror {number}",
        )
        for number in range(1, count + 1)
    )


def _payloads(exchange, documents: int, facts: int) -> list[bytes]:
    """Return ``documents`` serialised cards, each with a distinct signed notification."""
    from signing.xmldsig import sign_xml

    from adapter.exchange.card import build_card
    from adapter.exchange.demo import sample_path
    from adapter.xml import build_xml

    sample = exchange.sample
    fact_rows = _facts(facts)
    evidence = [
        dataclasses.replace(item, fact=None) if item.fact and item.fact > facts else item for item in sample.evidence
    ]
    screenshots = [sample_path("screenshots") / item.file_name for item in evidence]
    cards = []
    for index in range(documents):
        header = dataclasses.replace(sample.header, number=f"BENCH-{os.getpid()}-{index:05d}")
        notification = dataclasses.replace(sample, header=header, facts=fact_rows, evidence=tuple(evidence))
        signed = sign_xml(build_xml(notification), exchange.head_signer)
        cards.append(build_card(signed, evidence=screenshots).to_xml())
    return cards


def _run(url: str, cards: list[bytes], senders: int, signer, sender_id: str, warmup: list[bytes] = (), server_cpu=None) -> dict[str, float]:
    """Send every card once from ``senders`` threads; return throughput, latencies, errors and CPU time per document.

    ``server_cpu`` returns the server's CPU seconds so far, or ``None`` where
    that cannot be read; the sender's CPU time is this process's.

    The ``warmup`` cards are sent first, from the same threads and untimed, so
    the figures leave out what a server does once: imports, schema
    compilation in each worker thread, the first path and revocation checks.
    """
    settings = GatewaySettings(endpoint=url, sender_id=sender_id, retry_attempts=1, read_timeout=120.0)
    # Each sender thread gets its own client, made before the timing starts.
    clients: queue.Queue[GatewayClient] = queue.Queue()
    for _ in range(senders):
        clients.put(GatewayClient(settings, signer=signer))
    local = threading.local()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def take_client() -> None:
        local.client = clients.get_nowait()

    def send(card: bytes) -> None:
        started = time.perf_counter()
        try:
            local.client.send_message(etree.fromstring(card))
        except Exception as exc:  # noqa: BLE001 - a benchmark counts every failure
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
            return
        with lock:
            latencies.append(time.perf_counter() - started)

    with concurrent.futures.ThreadPoolExecutor(senders, initializer=take_client) as pool:
        list(pool.map(send, warmup))
        if errors:
            raise SystemExit(f"warm-up failed at {url}: {errors[0]}")
        latencies.clear()
        server_before = server_cpu() if server_cpu else None
        process_before = os.times()
        started = time.perf_counter()
        list(pool.map(send, cards))
        elapsed = time.perf_counter() - started
        process_after = os.times()
        server_after = server_cpu() if server_cpu else None
    latencies.sort()
    sender_seconds = (process_after.user + process_after.system) - (process_before.user + process_before.system)
    server_seconds = server_after - server_before if server_before is not None and server_after is not None else None
    return {
        "sender_cpu_ms": sender_seconds / len(cards) * 1000,
        "server_cpu_ms": server_seconds / len(cards) * 1000 if server_seconds is not None else None,
        "documents": len(cards),
        "ok": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else 0.0,
        "seconds": elapsed,
    }


def _serve_endpoint(kind: str, config_data: dict, key_path: str, password: str, workers: int, threads: int, ready) -> None:
    """Serve one endpoint until SIGTERM; runs in a spawned process and reports its URL on ``ready``."""
    from signing.keys import load_signer

    from adapter.config import Config
    from adapter.exchange.receiver import create_wsgi_app
    from adapter.service.server import serve

    config = Config(config_data)
    signer = load_signer(key_path, password=password)

    def factory():
        # Each worker builds its own application: its own database connections.
        app = create_wsgi_app(config, signer=signer)
        return app if kind == "receiver" else noop_application(ServiceSettings(), trust=app.trust)

    serve(None, "127.0.0.1", 0, threads, workers=workers, app_factory=factory, on_listening=ready.put)


class _Endpoint:
    """One endpoint served in its own process; a context manager that yields its URL."""

    def __init__(self, kind: str, exchange, workers: int, threads: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready = context.Queue()
        arguments = (kind, dict(exchange.receiver_config.data), str(exchange.pki.receiver.p12()), exchange.pki.password, workers, threads, self._ready)
        self._process = context.Process(target=_serve_endpoint, args=arguments, name=f"bench-{kind}")

    def __enter__(self) -> str:
        self._process.start()
        try:
            return self._ready.get(timeout=120)
        except queue.Empty:
            self._stop()
            raise SystemExit(f"the {self._process.name} server did not start") from None

    def __exit__(self, *exc_info: object) -> None:
        self._stop()

    def cpu_seconds(self) -> float | None:
        """Return the CPU time (user and system) used so far by the server and its workers; ``None`` without /proc."""
        return _tree_cpu_seconds(self._process.pid)

    def _stop(self) -> None:
        if self._process.is_alive():
            os.kill(self._process.pid, signal.SIGTERM)
        self._process.join(30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _tree_cpu_seconds(pid: int) -> float | None:
    """Return the CPU time of process ``pid`` and its descendants, read from Linux's /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for child in children:
        total += _tree_cpu_seconds(int(child)) or 0.0
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=400, help="timed documents per endpoint and round")
    parser.add_argument("--facts", type=int, default=100)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes of each endpoint")
    parser.add_argument("--threads", type=int, default=2, help="threads of each server worker")
    parser.add_argument("--warmup", type=int, default=20, help="untimed documents sent to each endpoint first")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each times the no-op endpoint and then the receiving service")
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()

    from adapter.exchange.demo import DEMO_SENDER_ID, LoopbackExchange

    # Without --folder the PKI, databases and inbox go to a folder removed at exit.
    scratch = tempfile.TemporaryDirectory(prefix="bench-service-") if args.folder is None else None
    folder = args.folder or Path(scratch.name)
    names = ("no-op endpoint", "receiving service")
    rounds: list[dict[str, dict]] = []
    with LoopbackExchange(folder) as exchange:
        total = args.warmup + args.rounds * args.documents
        print(f"preparing {total} signed notifications of {args.facts} facts...", file=sys.stderr)
        prepared = _payloads(exchange, total, args.facts)
        warmup = prepared[: args.warmup]
        endpoints = [_Endpoint(kind, exchange, args.workers, args.threads) for kind in ("noop", "receiver")]
        with endpoints[0] as noop_url, endpoints[1] as receiver_url:
            for number in range(args.rounds):
                # Every round sends the receiving service documents it has not
                # received yet, so none takes the cheaper path of a repeat.
                cards = prepared[args.warmup + number * args.documents : args.warmup + (number + 1) * args.documents]
                first = warmup if number == 0 else []
                results = {}
                for name, url, endpoint in zip(names, (noop_url, receiver_url), endpoints):
                    results[name] = _run(url, cards, args.senders, exchange.head_signer, DEMO_SENDER_ID, first, endpoint.cpu_seconds)
                rounds.append(results)
                ratio = results[names[1]]["per_second"] / results[names[0]]["per_second"]
                print(f"round {number + 1}: {results[names[0]]['per_second']:.1f} and {results[names[1]]['per_second']:.1f} documents/s, {ratio:.0%}", file=sys.stderr)

    if scratch is not None:
        scratch.cleanup()
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}")
    print(
        f"Command: python bench/bench_service.py --documents {args.documents} --facts {args.facts} --senders {args.senders}"
        f" --workers {args.workers} --threads {args.threads} --warmup {args.warmup} --rounds {args.rounds}"
    )
    print()
    print(f"Medians of {args.rounds} rounds:")
    print()
    print("| endpoint | documents | errors | documents/s | p50 ms | p99 ms | server CPU ms/doc | sender CPU ms/doc |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        rows = [results[name] for results in rounds]

        def median(key: str) -> float | None:
            values = [row[key] for row in rows if row[key] is not None]
            return statistics.median(values) if values else None

        server = median("server_cpu_ms")
        print(
            f"| {name} | {sum(row['documents'] for row in rows)} | {sum(row['errors'] for row in rows)} | {median('per_second'):.1f}"
            f" | {median('p50_ms'):.1f} | {median('p99_ms'):.1f} | {'-' if server is None else f'{server:.1f}'} | {median('sender_cpu_ms'):.1f} |"
        )
    ratios = [results[names[1]]["per_second"] / results[names[0]]["per_second"] for results in rounds]
    print()
    print(
        f"Receiving service throughput: {statistics.median(ratios):.0%} of the no-op endpoint's, median of the rounds"
        f" ({', '.join(f'{ratio:.0%}' for ratio in ratios)}; target: at least 50%)."
    )
    errors = [(name, results[name]["first_error"]) for results in rounds for name in names if results[name]["first_error"]]
    for name, error in errors[:2]:
        print(f"{name}: first error: {error}", file=sys.stderr)
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
