"""Benchmark the tracking store: status look-ups among a million documents.

Fills a fresh SQLite database with ``--documents`` outgoing documents, each
with one message and three state transitions like a sent document. Then it
times the look-ups the CLI and the API make: status by document id, by
message id and by number, the timeline, the pending list and the count in
one state. Last it times full submit cycles (signed, queued, attempt, sent)
on the filled database, and prints a Markdown table for docs/benchmarks.md.

    python bench/bench_store.py --documents 1000000 --folder /tmp/bench-store
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert

from adapter.store.database import open_database
from adapter.store.tracking import (
    DocumentState,
    OutgoingDocument,
    OutgoingMessage,
    StateTransition,
    TrackingStore,
)

BATCH = 20_000


def _fill(store: TrackingStore, documents: int) -> float:
    """Insert ``documents`` rows (plus messages and transitions) in batches; return seconds taken."""
    started = time.perf_counter()
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    states = [DocumentState.DELIVERED, DocumentState.REGISTERED, DocumentState.DECIDED, DocumentState.SENT]
    with store.database.engine.begin() as connection:
        for first in range(1, documents + 1, BATCH):
            last = min(first + BATCH, documents + 1)
            document_rows = []
            message_rows = []
            transition_rows = []
            for pk in range(first, last):
                at = base + dt.timedelta(seconds=pk * 30)
                state = states[pk % len(states)].value
                document_rows.append(
                    {
                        "id": pk,
                        "document_id": str(uuid.UUID(int=pk)),
                        "kind": "notification",
                        "number": f"01-{pk:07d}",
                        "document_date": at.date(),
                        "sender_bin": "180240012347",
                        "item_count": 46,
                        "xml_sha256": f"{pk:064x}",
                        "state": state,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                message_rows.append(
                    {
                        "id": pk,
                        "message_id": f"{{{uuid.UUID(int=pk + (1 << 64))}}}",
                        "document_pk": pk,
                        "service_id": "ESEDO_UNIVERSAL_SERVICE",
                        "route_id": "R_ESEDO",
                        "attempts": 1,
                        "created_at": at,
                    }
                )
                for step in (DocumentState.SIGNED, DocumentState.QUEUED, DocumentState.SENT):
                    transition_rows.append({"document_pk": pk, "state": step.value, "at": at})
            connection.execute(insert(OutgoingDocument), document_rows)
            connection.execute(insert(OutgoingMessage), message_rows)
            connection.execute(insert(StateTransition), transition_rows)
    return time.perf_counter() - started


def _time(operation: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Run ``operation`` ``repeats`` times; return the median and the 99th percentile in milliseconds."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        operation()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1_000_000, help="number of documents to insert")
    parser.add_argument("--repeats", type=int, default=500, help="look-ups timed per operation")
    parser.add_argument("--folder", type=Path, default=None, help="folder for the database (default: a temporary folder)")
    args = parser.parse_args()

    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-store-"))
    database_path = folder / "tracking.sqlite3"
    if database_path.exists():
        print(f"{database_path} exists; give an empty --folder", file=sys.stderr)
        return 2
    store = TrackingStore(open_database(f"sqlite:///{database_path}"))
    fill_seconds = _fill(store, args.documents)

    rng = random.Random(7)
    picks = [rng.randint(1, args.documents) for _ in range(args.repeats)]
    cursor = iter(picks * 8)
    results = {
        "status by document id": _time(lambda: store.status(str(uuid.UUID(int=next(cursor)))), args.repeats),
        "status by message id": _time(lambda: store.status(f"{{{uuid.UUID(int=next(cursor) + (1 << 64))}}}"), args.repeats),
        "status by number": _time(lambda: store.status(f"01-{next(cursor):07d}"), args.repeats),
        "timeline": _time(lambda: store.timeline(str(uuid.UUID(int=next(cursor)))), args.repeats),
        "pending list": _time(store.pending, 20),
        "count in state sent": _time(lambda: store.count(DocumentState.SENT), 20),
    }

    def submit_cycle() -> None:
        document_id = store.record_signed(
            kind="notification",
            number=f"bench-{uuid.uuid4()}",
            document_date=dt.date(2026, 8, 3),
            signed_xml=b"<notification/>" * 100,
            item_count=46,
        )
        message_id = store.record_queued(document_id, service_id="ESEDO_UNIVERSAL_SERVICE")
        store.record_attempt(message_id)
        store.record_sent(message_id, code="SCSS001")

    results["submit cycle (4 commits)"] = _time(submit_cycle, 50)
    size_mib = sum(p.stat().st_size for p in folder.glob("tracking.sqlite3*")) / 2**20
    store.close()

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite in WAL mode, synchronous=FULL")
    print(f"filled {args.documents:,} documents ({args.documents * 5:,} rows) in {fill_seconds:.1f} s; database {size_mib:.0f} MiB")
    print()
    print("| operation | median ms | p99 ms |")
    print("| --- | ---: | ---: |")
    for name, (median, p99) in results.items():
        print(f"| {name} | {median:.2f} | {p99:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
