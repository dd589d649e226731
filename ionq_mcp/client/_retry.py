"""Retry policy: which failures are retried, how long to wait, and when to give up.

Two kinds of request:

* **Idempotent** (GET, PUT .../status/cancel, DELETE): repeating them has the same effect as sending them
  once, so they are retried on HTTP 429, 500, 502, 503, 504, 520-529 and on any connection error or timeout.
* **Non-idempotent** (POST: create a job, create or end a session): retried only when the request provably
  had no effect: a connect failure (the request never left the client) or a 429 (the rate limiter rejected
  it before processing). Every other failure is *ambiguous*; ``_idempotency`` decides what to do with it.

Waiting: exponential backoff with full jitter (a uniform draw from ``[0, min(max_backoff, initial * 2**n))``,
which spreads concurrent clients apart), replaced by the server's ``Retry-After`` when one is sent (seconds or an
HTTP date; the client waits at least that long). Giving up: after ``max_attempts`` requests, or when the next
wait would end past the total time budget measured from the first attempt, or when Retry-After exceeds
``max_retry_after_s``. The error raised then states how many attempts were made.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "RetryState", "parse_retry_after"]

#: Statuses worth repeating an idempotent request for (520-529 are CDN/proxy "origin unreachable" codes).
RETRYABLE_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504, *range(520, 530)})


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries. All durations in seconds.

    ``max_attempts`` counts requests, the first included (1 disables retries). ``total_budget_s`` bounds the
    time from the first attempt to the start of the last one. ``rng`` makes jitter reproducible in tests.
    """

    max_attempts: int = 6
    total_budget_s: float = 30.0
    initial_backoff_s: float = 0.25
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 60.0
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts: must be >= 1, got {self.max_attempts}")
        for name in ("total_budget_s", "initial_backoff_s", "max_backoff_s", "max_retry_after_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: must be >= 0 seconds, got {getattr(self, name)}")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that sends every request exactly once."""
        return cls(max_attempts=1)

    def backoff(self, retry_number: int) -> float:
        """Full-jitter wait before retry ``retry_number`` (1 = the first retry): uniform in [0, cap)."""
        cap = min(self.max_backoff_s, self.initial_backoff_s * (2 ** (retry_number - 1)))
        return self.rng.uniform(0.0, cap)

    def delay(self, retry_number: int, retry_after: float | None) -> float:
        """The wait before retry ``retry_number``: the server's Retry-After when given, else the backoff."""
        if retry_after is not None:
            return max(0.0, retry_after)
        return self.backoff(retry_number)


class RetryState:
    """Counts the attempts of one call and decides whether another one fits in the policy.

    One state may span several requests (the exactly-once job submission shares it between the POST and the
    look-ups), so the attempt count and the budget cover the whole call.
    """

    __slots__ = ("_clock", "_deadline", "attempts", "policy")

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.attempts = 0
        self._clock = clock
        self._deadline = clock() + policy.total_budget_s

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """Seconds to wait before the next attempt, or None when the policy says give up."""
        if self.attempts >= self.policy.max_attempts:
            return None
        if retry_after is not None and retry_after > self.policy.max_retry_after_s:
            return None
        delay = self.policy.delay(self.attempts, retry_after)
        remaining = self._deadline - self._clock()
        if delay > remaining:
            if retry_after is not None or remaining <= 0:
                return None  # the server asked for more time than is left: waiting would only fail later
            delay = remaining
        return delay

    def remaining(self) -> float:
        """Seconds left in the time budget (may be negative)."""
        return self._deadline - self._clock()


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header: delay-seconds (``"3"``, ``"0.5"``) or an HTTP date. None when absent/invalid.

    A date in the past gives 0.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())
