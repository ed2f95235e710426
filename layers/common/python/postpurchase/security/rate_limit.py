"""Per-merchant API rate limit: a token bucket, kept as one number (pure; no AWS here).

The bucket is stored as its "theoretical arrival time" (GCRA, the generic cell rate algorithm,
which is a token bucket written differently): `tat` is the instant at which the bucket would be
full again. Each request spends one token, which moves `tat` one interval (1 / rate) later,
starting from now if the bucket had already refilled. A request is allowed while the bucket
holds a token, i.e. while spending it leaves `tat` at most `burst` intervals ahead of now.
Tokens available at `now`: (now + burst * interval - max(tat, now)) / interval, at most `burst`.

One number instead of (tokens, last refill) lets the adapter apply a decision with one
conditional UpdateItem (storage/rate_buckets.py): it needs only which of the two updates
applies ("refill" from now, or "spend" from the stored `tat`), and the condition that
makes the update valid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Branch = Literal["refill", "spend"]


def epoch_ms(now: datetime) -> int:
    if now.tzinfo is None:
        raise ValueError("rate limits need an aware datetime")
    return int(now.timestamp() * 1000)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    tat_ms: int  # the bucket after this request (unchanged when refused)
    remaining: int  # tokens left after this request
    retry_after_seconds: int  # 0 when allowed; else whole seconds until a token is back (>= 1)


@dataclass(frozen=True)
class TokenBucket:
    rate_per_second: float
    burst: int
    name: str = "merchant_api"

    def __post_init__(self) -> None:
        if self.rate_per_second <= 0 or self.burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")

    @property
    def interval_ms(self) -> int:
        """Time one token takes to come back."""
        return max(1, round(1000 / self.rate_per_second))

    @property
    def tolerance_ms(self) -> int:
        """How far ahead of now `tat` may be after a request: a full bucket's worth."""
        return self.burst * self.interval_ms

    def allow_until_ms(self, now_ms: int) -> int:
        """The latest stored `tat` for which a request at `now_ms` still finds a token."""
        return now_ms + self.tolerance_ms - self.interval_ms

    @staticmethod
    def branch(tat_ms: int | None, now_ms: int) -> Branch:
        """Which update a request at `now_ms` makes: from now (the bucket refilled) or from `tat`."""
        return "spend" if tat_ms is not None and tat_ms > now_ms else "refill"

    def take(self, tat_ms: int | None, now: datetime) -> Decision:
        """One request at `now` against a bucket whose stored `tat` is `tat_ms` (None: never used)."""
        now_ms = epoch_ms(now)
        start = now_ms if self.branch(tat_ms, now_ms) == "refill" else tat_ms
        assert start is not None
        if start > self.allow_until_ms(now_ms):
            wait_ms = start - self.allow_until_ms(now_ms)
            return Decision(False, start, 0, max(1, math.ceil(wait_ms / 1000)))
        new_tat = start + self.interval_ms
        return Decision(True, new_tat, self.remaining(new_tat, now_ms), 0)

    def remaining(self, tat_ms: int, now_ms: int) -> int:
        """Tokens left at `now_ms` in a bucket whose `tat` is `tat_ms`."""
        return int((now_ms + self.tolerance_ms - tat_ms) // self.interval_ms)

    def describe(self) -> str:
        rate = f"{self.rate_per_second:g}"
        return f"{rate} requests a second, bursts of {self.burst}"
