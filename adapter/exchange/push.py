"""Push delivery of receipts: the receiving side calls a sender's own SOAP endpoint.

A sender listed in ``[receiver] push_endpoints`` gets each queued receipt by
SyncChannel ``SendMessage`` on that URL, signed with WS-Security by the
receipt-signing key, with the receipt's queue message id as ``messageId`` and
``receiptMessage`` as payload. A response with status ``SCSS001`` marks the
receipt delivered; a failure leaves it queued, so it is pushed again later and can
always be pulled with ``getMessages``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..errors import EdmsAdapterError
from ..store.database import Database, utc_now
from ..store.inbox import OutgoingReceipt, QueueState
from .receipts import receipt_message

__all__ = ["push_configured", "push_receipts"]

logger = logging.getLogger(__name__)

#: Attempts after which a receipt is no longer pushed; it stays available to ``getMessages``.
MAX_PUSH_ATTEMPTS = 20

@dataclass
class _SenderPushes:
    """The pushes of one process to one sender: one at a time, so no receipt is sent twice."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Set when a push that does not wait found the lock held: the running push then makes another round.
    again: bool = False


_senders: dict[str, _SenderPushes] = {}
_senders_guard = threading.Lock()


def push_receipts(
    store: Database,
    signer: Any,
    endpoints: dict[str, str],
    *,
    participant_id: str,
    service_id: str,
    sender_id: str | None = None,
    wait: bool = True,
) -> int:
    """Push every queued receipt of the senders in ``endpoints`` (or of ``sender_id`` only); return how many were delivered.

    Pushes of this process to one sender run one at a time. With ``wait``
    a push waits for the running one and then makes its own round. Without
    it, the call returns 0 at once and the running push makes one more round,
    so a busy service starts no queue of waiting threads.
    """
    targets = {key: url for key, url in endpoints.items() if sender_id is None or key == sender_id}
    delivered = 0
    for target, url in targets.items():
        delivered += _one_at_a_time(target, lambda target=target, url=url: _push_to(store, signer, target, url, participant_id=participant_id, service_id=service_id), wait=wait)
    return delivered


def _one_at_a_time(target: str, push: Callable[[], int], *, wait: bool) -> int:
    with _senders_guard:
        pushes = _senders.setdefault(target, _SenderPushes())
        if not wait and not pushes.lock.acquire(blocking=False):
            pushes.again = True
            return 0
    if wait:
        pushes.lock.acquire()
    delivered = 0
    released = False
    try:
        while True:
            delivered += push()
            # Checked and released under the guard, so a request for another round is never lost.
            with _senders_guard:
                if not pushes.again:
                    pushes.lock.release()
                    released = True
                    return delivered
                pushes.again = False
    finally:
        if not released:
            pushes.lock.release()


def _push_to(store: Database, signer: Any, target: str, url: str, *, participant_id: str, service_id: str) -> int:
    """Push the queued receipts of sender ``target`` to ``url``; return how many were delivered."""
    from ..transport import GatewayClient, GatewaySettings

    with store.session() as session:
        pending = [
            (row.id, row.message_id, row.kind, row.xml)
            for row in session.scalars(
                select(OutgoingReceipt)
                .where(
                    OutgoingReceipt.sender_id == target,
                    OutgoingReceipt.state == QueueState.QUEUED.value,
                    OutgoingReceipt.push_attempts < MAX_PUSH_ATTEMPTS,
                )
                .order_by(OutgoingReceipt.id)
            )
        ]
    if not pending:
        return 0
    settings = GatewaySettings(endpoint=url, sender_id=participant_id, service_id=service_id, route_id="", retry_attempts=2)
    # Pushes are one at a time per process only, so two workers of the
    # receiving service may still push the same receipt at once. The sender stores it once: a
    # repeated messageId returns the stored receipt, and the unique gateway
    # message id rejects a concurrent second insert. That push then fails here
    # and is logged, while the other one marks the receipt delivered.
    delivered = 0
    with GatewayClient(settings, signer=signer) as client:
        for row_id, message_id, kind, xml in pending:
            try:
                client.send_message(receipt_message(xml, kind), message_id=message_id)
            except EdmsAdapterError as exc:
                logger.warning("push of receipt message %s to sender %s failed: %s", message_id, target, exc.localized("en"))
                _record(store, row_id, delivered=False)
                # The endpoint is failing: keep the rest for the next round.
                break
            _record(store, row_id, delivered=True)
            delivered += 1
            logger.debug("receipt message %s pushed to sender %s", message_id, target)
    return delivered


def push_configured(settings: Any, store: Database, signer: Any, *, sender_id: str | None = None, wait: bool = True) -> int:
    """Push queued receipts to the senders of ``settings.push_endpoints`` (a :class:`~adapter.exchange.receiver.ReceiverSettings`)."""
    from .receiver import RECEIPT_SERVICE_ID

    if not settings.push_endpoints or (sender_id is not None and sender_id not in settings.push_endpoints):
        return 0
    return push_receipts(
        store,
        signer,
        settings.push_endpoints,
        participant_id=settings.participant_id,
        service_id=RECEIPT_SERVICE_ID,
        sender_id=sender_id,
        wait=wait,
    )


def _record(store: Database, row_id: int, *, delivered: bool) -> None:
    with store.session() as session:
        row = session.get(OutgoingReceipt, row_id)
        if row is None:
            return
        now = utc_now()
        row.push_attempts += 1
        row.pushed_at = now
        if delivered:
            row.state = QueueState.DELIVERED.value
            row.state_changed_at = now
