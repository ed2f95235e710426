"""What the analytics page shows for a day range, from the counters of those days (pure).

`build` takes the rows one Query of the STATS partition returned (day, metric, dimension,
count) and adds them up: every rate and percentile is computed here from counts, so a range
of any length needs nothing but its counters.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable

from . import counters as c

MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 1, 90, 30
TOP_SKUS = 10

Row = tuple[date, str, str, int]


def day_range(last: date, days: int) -> tuple[date, date]:
    """The `days` days ending with `last` (inclusive)."""
    return last - timedelta(days=days - 1), last


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class Carrier:
    carrier: str
    shipped: int
    delivered: int
    median_days: str | None  # a DAY_BUCKETS bound ("3": at most 3 days) or "over"
    p90_days: str | None
    on_time: float | None  # of the delivered parcels that had an estimate
    exceptions: float | None  # parcels with a delivery problem per parcel shipped


@dataclass(frozen=True)
class Returned:
    name: str  # a reason or a SKU
    units: int
    rate: float | None  # units asked back per unit sold in the range


@dataclass(frozen=True)
class EmailKind:
    kind: str
    sent: int
    bounced: int
    complained: int
    unsubscribed: int


@dataclass(frozen=True)
class Report:
    first: date
    last: date
    days: list[date]
    orders: list[int]  # per day, as `days`
    carriers: list[Carrier]
    returns: int
    return_rate: float | None  # units asked back per unit sold
    reasons: list[Returned]
    skus: list[Returned]  # the most returned first, at most TOP_SKUS
    refunds: int
    refund_median_days: str | None
    refund_p90_days: str | None
    emails: list[EmailKind]
    stars: dict[int, int]  # 1..5 -> answers
    rating_trend: list[float | None]  # mean rating per day, as `days` (None: no answer that day)
    points_issued: list[int]  # per day
    points_redeemed: list[int]  # per day
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(self.totals.values())


def build(rows: Iterable[Row], first: date, last: date) -> Report:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    index = {day: n for n, day in enumerate(days)}
    per_day: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    total: dict[tuple[str, str], int] = defaultdict(int)
    stars_per_day: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for day, metric, dimension, count in rows:
        if day not in index:
            continue
        total[(metric, dimension)] += count
        if metric in (c.ORDERS, c.POINTS):
            per_day[f"{metric}#{dimension}"][index[day]] += count
        elif metric == c.RATINGS and dimension.isdigit():
            stars_per_day[index[day]][int(dimension)] += count
    by_metric: dict[str, dict[str, int]] = defaultdict(dict)
    for (metric, dimension), count in total.items():
        by_metric[metric][dimension] = count

    units = by_metric[c.UNITS].get(c.ALL, 0)
    sold = by_metric[c.SOLD]
    returned_units = sum(by_metric[c.RETURNED_REASON].values())
    reasons = sorted((Returned(reason, n, ratio(n, units)) for reason, n in by_metric[c.RETURNED_REASON].items() if n),
                     key=lambda r: (-r.units, r.name))
    skus = sorted((Returned(sku, n, ratio(n, sold.get(sku, 0))) for sku, n in by_metric[c.RETURNED_SKU].items() if n),
                  key=lambda r: (-r.units, r.name))[:TOP_SKUS]
    refund_histogram = by_metric[c.REFUND_DAYS]
    stars = {star: total.get((c.RATINGS, str(star)), 0) for star in c.STARS}
    trend: list[float | None] = []
    for n in range(len(days)):
        counted = {star: k for star, k in stars_per_day.get(n, {}).items() if k > 0}
        answers = sum(counted.values())
        trend.append(sum(star * k for star, k in counted.items()) / answers if answers else None)
    totals = {
        "orders": sum(per_day[f"{c.ORDERS}#{c.ALL}"]),
        "shipped": sum(by_metric[c.SHIPPED].values()),
        "delivered": sum(by_metric[c.DELIVERED].values()),
        "returns": by_metric[c.RETURNS].get(c.ALL, 0),
        "emails": sum(by_metric[c.EMAILS].values()),
        "ratings": sum(stars.values()),
        "points": sum(sum(v) for k, v in per_day.items() if k.startswith(c.POINTS)),
    }
    return Report(first=first, last=last, days=days, orders=list(per_day[f"{c.ORDERS}#{c.ALL}"]),
                  carriers=_carriers(by_metric), returns=totals["returns"], return_rate=ratio(returned_units, units),
                  reasons=reasons, skus=skus, refunds=sum(refund_histogram.values()),
                  refund_median_days=c.percentile(refund_histogram, 0.5),
                  refund_p90_days=c.percentile(refund_histogram, 0.9), emails=_emails(by_metric[c.EMAILS]),
                  stars=stars, rating_trend=trend, points_issued=list(per_day[f"{c.POINTS}#issued"]),
                  points_redeemed=list(per_day[f"{c.POINTS}#redeemed"]), totals=totals)


def _carriers(by_metric: dict[str, dict[str, int]]) -> list[Carrier]:
    histograms: dict[str, dict[str, int]] = defaultdict(dict)
    for dimension, count in by_metric[c.DELIVERY_DAYS].items():
        bucket, _, carrier = dimension.partition("#")
        histograms[carrier][bucket] = histograms[carrier].get(bucket, 0) + count
    names = set(by_metric[c.SHIPPED]) | set(by_metric[c.DELIVERED]) | set(histograms) | set(by_metric[c.EXCEPTIONS])
    found = []
    for carrier in names:
        shipped = by_metric[c.SHIPPED].get(carrier, 0)
        found.append(Carrier(
            carrier, shipped, by_metric[c.DELIVERED].get(carrier, 0),
            c.percentile(histograms.get(carrier, {}), 0.5), c.percentile(histograms.get(carrier, {}), 0.9),
            ratio(by_metric[c.ON_TIME].get(carrier, 0), by_metric[c.ETA_KNOWN].get(carrier, 0)),
            ratio(by_metric[c.EXCEPTIONS].get(carrier, 0), shipped)))
    return sorted(found, key=lambda row: (-row.shipped, -row.delivered, row.carrier))


def _emails(emails: dict[str, int]) -> list[EmailKind]:
    kinds: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(c.EMAIL_OUTCOMES, 0))
    for dimension, count in emails.items():
        outcome, _, kind = dimension.partition("#")
        if outcome in c.EMAIL_OUTCOMES:
            kinds[kind][outcome] += count
    rows = [EmailKind(kind, **counts) for kind, counts in kinds.items() if any(counts.values())]
    return sorted(rows, key=lambda row: (-row.sent, row.kind))
