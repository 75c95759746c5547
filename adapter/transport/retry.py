"""Retries of transient failures with exponential backoff and full jitter."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..errors import TransientTransportError

__all__ = ["RetryPolicy", "call_with_retry"]

T = TypeVar("T")
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait before trying a transient failure again.

    Before attempt ``n + 1`` the caller sleeps a uniformly random time in
    ``[0, min(cap, base * 2 ** (n - 1))]`` seconds ("full jitter"), so many
    senders that failed together do not retry together.
    """

    attempts: int = 5
    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Return the sleep in seconds after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        return (rng or random).uniform(0.0, ceiling)


def call_with_retry(
    func: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> tuple[T, int]:
    """Call ``func`` until it succeeds or fails permanently; return the result and the attempts made.

    Only :class:`~adapter.errors.TransientTransportError` is retried; the last
    one is raised when the attempts run out. ``what`` names the exchange in
    the WARNING line logged before each retry.
    """
    attempts = max(1, policy.attempts)
    for attempt in range(1, attempts + 1):
        try:
            return func(), attempt
        except TransientTransportError as exc:
            exc.attempts = attempt  # type: ignore[attr-defined]
            if attempt == attempts:
                raise
            pause = policy.delay(attempt, rng)
            logger.warning("%s failed (attempt %d of %d), retrying in %.2f s: %s", what, attempt, attempts, pause, exc)
            sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover
