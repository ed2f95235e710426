"""What each domain event adds to the merchant's daily counters (pure: no AWS, times given).

A counter is one number per (merchant, UTC day, metric, dimension), kept by the consumers as
they work (storage/stats.py adds to it atomically); the console's analytics page reads a day
range of them with one Query and never scans orders. Every function here turns one business
fact into a `Tally`: the increments plus the fact's identity (`event_key`), which the adapter
records once per merchant so a redelivered event, or the same fact seen by a retry, counts once.

Durations (days to deliver, days to refund) go into the fixed histogram `DAY_BUCKETS`, so a
median or a 90th percentile over any day range comes from added-up counts (`percentile`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterable, Mapping

# Metric names (the middle part of the counter's sort key; no "#" in them).
ORDERS = "orders"  # dimension "all"
SOLD = "sold"  # units sold, dimension the SKU (denominator of the return rate by SKU)
UNITS = "units"  # units sold, dimension "all" (denominator of the return rate by reason)
SHIPPED = "shipped"  # parcels handed to a carrier, dimension the carrier
DELIVERED = "delivered"  # parcels delivered, dimension the carrier
DELIVERY_DAYS = "delivery_days"  # histogram: dimension "{bucket}#{carrier}"
ETA_KNOWN = "eta_known"  # delivered parcels that had an estimate, dimension the carrier
ON_TIME = "on_time"  # ... delivered by the day of their FIRST estimate, dimension the carrier
EXCEPTIONS = "exceptions"  # parcels that met a delivery problem (once each), dimension the carrier
RETURNS = "returns"  # return requests, dimension "all"
RETURNED_REASON = "returned_reason"  # units asked back, dimension the reason
RETURNED_SKU = "returned_sku"  # units asked back, dimension the SKU
REFUND_DAYS = "refund_days"  # histogram of request -> refund, dimension the bucket
EMAILS = "emails"  # dimension "{outcome}#{kind}", outcome in EMAIL_OUTCOMES
RATINGS = "ratings"  # dimension the star (1-5); counted on the day of the first answer
POINTS = "points"  # loyalty points, dimension in POINT_FLOWS

EMAIL_OUTCOMES = ("sent", "bounced", "complained", "unsubscribed")
POINT_FLOWS = ("issued", "redeemed", "reversed")
STARS = (1, 2, 3, 4, 5)
# Upper bounds (whole days, inclusive) of the duration histogram; past the last: "over".
DAY_BUCKETS = (1, 2, 3, 4, 5, 6, 7, 10, 14, 21, 30)
OVER = "over"
ALL = "all"


@dataclass(frozen=True)
class Increment:
    day: date
    metric: str
    dimension: str
    amount: int


@dataclass(frozen=True)
class Tally:
    """The increments one business fact makes, counted at most once per `event_key`."""

    merchant_id: str
    event_key: str
    increments: tuple[Increment, ...]

    def merged(self) -> dict[tuple[date, str, str], int]:
        """Amounts per counter (a counter touched twice is one update), zero sums left out."""
        total: dict[tuple[date, str, str], int] = {}
        for step in self.increments:
            key = (step.day, step.metric, step.dimension)
            total[key] = total.get(key, 0) + step.amount
        return {key: amount for key, amount in total.items() if amount}


def utc_day(moment: datetime) -> date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(timezone.utc).date()


def whole_days(start: datetime, end: datetime) -> int:
    """Days from start to end, a started day counting whole (30 hours: 2 days); never negative."""
    seconds = (_aware(end) - _aware(start)).total_seconds()
    return max(0, math.ceil(seconds / 86400))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def bucket(days: int) -> str:
    """The histogram bucket a duration falls in: its upper bound in days, or "over"."""
    return next((str(bound) for bound in DAY_BUCKETS if days <= bound), OVER)


def percentile(histogram: Mapping[str, int], fraction: float) -> str | None:
    """The bucket (upper bound, or "over") holding the `fraction` point of the counts: "at most
    N days" for that share of them. None when nothing was counted."""
    total = sum(count for count in histogram.values() if count > 0)
    if total <= 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for name in (*(str(bound) for bound in DAY_BUCKETS), OVER):
        seen += max(0, histogram.get(name, 0))
        if seen >= rank:
            return name
    return OVER


def _key(*parts: str) -> str:
    return "#".join(parts)


# --- orders ------------------------------------------------------------------------------------


def order_placed(merchant_id: str, order_id: str, placed_at: datetime, items: Iterable[tuple[str, int]]) -> Tally:
    """An order was recorded: one order and its units per SKU, on the day it was placed."""
    day = utc_day(placed_at)
    steps = [Increment(day, ORDERS, ALL, 1)]
    for sku, quantity in items:
        steps += [Increment(day, SOLD, sku, quantity), Increment(day, UNITS, ALL, quantity)]
    return Tally(merchant_id, _key("order", order_id), tuple(steps))


# --- parcels -----------------------------------------------------------------------------------


def parcel_shipped(merchant_id: str, order_id: str, shipment_id: str, carrier: str, shipped_at: datetime) -> Tally:
    return Tally(merchant_id, _key("ship", order_id, shipment_id, "shipped"),
                 (Increment(utc_day(shipped_at), SHIPPED, carrier, 1),))


def parcel_delivered(merchant_id: str, order_id: str, shipment_id: str, carrier: str, *, shipped_at: datetime,
                     delivered_at: datetime, first_eta: datetime | None) -> Tally:
    """Delivered: days since it was shipped into the histogram, and on time against the FIRST
    estimate (delivered on or before that calendar day), when there was one."""
    day = utc_day(delivered_at)
    steps = [Increment(day, DELIVERED, carrier, 1),
             Increment(day, DELIVERY_DAYS, _key(bucket(whole_days(shipped_at, delivered_at)), carrier), 1)]
    if first_eta is not None:
        steps.append(Increment(day, ETA_KNOWN, carrier, 1))
        if utc_day(delivered_at) <= utc_day(first_eta):
            steps.append(Increment(day, ON_TIME, carrier, 1))
    return Tally(merchant_id, _key("ship", order_id, shipment_id, "delivered"), tuple(steps))


def parcel_exception(merchant_id: str, order_id: str, shipment_id: str, carrier: str, at: datetime) -> Tally:
    """A delivery problem: the parcel counts once however many problems it meets."""
    return Tally(merchant_id, _key("ship", order_id, shipment_id, "exception"),
                 (Increment(utc_day(at), EXCEPTIONS, carrier, 1),))


# --- returns -----------------------------------------------------------------------------------


def return_requested(merchant_id: str, rma_id: str, requested_at: datetime,
                     lines: Iterable[tuple[str, str, int]]) -> Tally:
    """A return was asked for: (sku, reason, quantity) lines, on the day it was asked."""
    day = utc_day(requested_at)
    steps = [Increment(day, RETURNS, ALL, 1)]
    for sku, reason, quantity in lines:
        steps += [Increment(day, RETURNED_REASON, reason, quantity), Increment(day, RETURNED_SKU, sku, quantity)]
    return Tally(merchant_id, _key("rma", rma_id, "requested"), tuple(steps))


def return_refunded(merchant_id: str, rma_id: str, requested_at: datetime, refunded_at: datetime) -> Tally:
    days = whole_days(requested_at, refunded_at)
    return Tally(merchant_id, _key("rma", rma_id, "refunded"),
                 (Increment(utc_day(refunded_at), REFUND_DAYS, bucket(days), 1),))


# --- email -------------------------------------------------------------------------------------


def email_outcome(merchant_id: str, outcome: str, kind: str, identity: str, at: datetime) -> Tally:
    """An email sent, bounced, complained about, or a kind unsubscribed from; `identity` names
    the one fact (the ledger's message, the SES notification's address and time, ...)."""
    if outcome not in EMAIL_OUTCOMES:
        raise ValueError(f"unknown email outcome {outcome!r}")
    return Tally(merchant_id, _key("email", outcome, identity), (Increment(utc_day(at), EMAILS, _key(outcome, kind), 1),))


# --- ratings -----------------------------------------------------------------------------------


def rating_answered(merchant_id: str, order_id: str, sku: str, version: int, rating: int,
                    previous_rating: int | None, first_answered_at: datetime) -> Tally:
    """Version `version` of an item's answer: a first answer adds its star; a changed one moves
    the count from the previous star to the new (same day: the first answer's), so the counts
    are the current ratings."""
    day = utc_day(first_answered_at)
    steps = [Increment(day, RATINGS, str(rating), 1)]
    if previous_rating is not None:
        steps.append(Increment(day, RATINGS, str(previous_rating), -1))
    return Tally(merchant_id, _key("rating", order_id, sku, str(version)), tuple(steps))


# --- loyalty -----------------------------------------------------------------------------------

_FLOW_OF_KIND = {"earn": "issued", "bonus": "issued", "redeem": "redeemed", "reverse": "reversed"}


def points_moved(entries: Iterable[tuple[str, int, datetime]]) -> tuple[Increment, ...]:
    """Loyalty ledger entries (kind, points, at) -> points issued / redeemed / reversed per day.
    Counted in the same transaction as the entries (each entry written once), so no event key."""
    return tuple(Increment(utc_day(at), POINTS, _FLOW_OF_KIND[kind], points)
                 for kind, points, at in entries if kind in _FLOW_OF_KIND and points)
