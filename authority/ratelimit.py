"""Per-party token buckets: a misbehaving or compromised lab cannot starve the others.

Each party gets ``burst`` tokens refilled at ``rate`` per second; a call with no token
left is refused with RateLimitedError (RESOURCE_EXHAUSTED) before any work is done.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nearmiss.errors import RateLimitedError


class TokenBuckets:
    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, party_id: str, tokens: float = 1.0) -> None:
        now = self._clock()
        with self._lock:
            level, last = self._buckets.get(party_id, (self._burst, now))
            level = min(self._burst, level + (now - last) * self._rate)
            if level < tokens:
                self._buckets[party_id] = (level, now)
                wait = (tokens - level) / self._rate
                raise RateLimitedError(
                    f"rate limit reached for {party_id}: {self._rate:g} requests/s, burst "
                    f"{self._burst:g}; retry in {wait:.2f} s"
                )
            self._buckets[party_id] = (level - tokens, now)
