"""A product's review summary: counters kept per rating (pure arithmetic on them)."""
from __future__ import annotations

from dataclasses import dataclass, field

RATINGS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Summary:
    distribution: dict[int, int] = field(default_factory=lambda: {r: 0 for r in RATINGS})

    @property
    def count(self) -> int:
        return sum(max(n, 0) for n in self.distribution.values())

    @property
    def average(self) -> float | None:
        count = self.count
        if not count:
            return None
        return round(sum(r * max(n, 0) for r, n in self.distribution.items()) / count, 2)

    def document(self) -> dict:
        return {"average": self.average, "count": self.count,
                "distribution": {str(r): max(self.distribution.get(r, 0), 0) for r in RATINGS},
                "best_rating": 5, "worst_rating": 1}


def counter_delta(before_rating: int | None, after_rating: int | None) -> dict[int, int]:
    """What to add to the per-rating counters when the published rating goes from before to after
    (None: not published). {} when nothing changes."""
    delta: dict[int, int] = {}
    if before_rating is not None:
        delta[before_rating] = delta.get(before_rating, 0) - 1
    if after_rating is not None:
        delta[after_rating] = delta.get(after_rating, 0) + 1
    return {r: n for r, n in delta.items() if n}
