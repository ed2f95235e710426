"""Support metrics, counted as they happen (issue 14 item 9): pure rules.

Every save of a conversation turns (previous, current) into counter increments on one day
(`changes`); storage/support_metrics.py adds them in the same transaction as the save, so a
redelivered message (its receipt refuses the save) counts nothing twice, and reading 30 days is
one Query of at most 30 items (`summarize`), never a scan of conversations.

- conversations / wismo / proactive: on the conversation's creation day; WISMO by its first intent.
- first response: seconds from creation to the first answer (merchant or automated), counted once
  on the creation day into fixed buckets (FRT_BOUNDS), so the median and p90 of any window are read
  from the merged histogram ("at most N seconds"). Proactive conversations are left out (we wrote first).
- automated: a conversation's first auto-reply counts on its day (auto_replied); if the customer
  writes again within FOLLOW_UP_WINDOW of it, followed_up counts on that same day. A day is settled
  once FOLLOW_UP_WINDOW has passed since its end: automated share = (auto_replied - followed_up) /
  conversations over settled days only; the rest is reported as pending.
- CSAT: score counts (csat_1..csat_5, csat_count, csat_sum) on the day of the rating.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Mapping

from .intents import Intent
from .model import Conversation, Source

FOLLOW_UP_WINDOW = timedelta(hours=72)
# Upper bounds (seconds) of the first-response buckets; the last bucket is everything above.
FRT_BOUNDS: tuple[int, ...] = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)
FRT_COUNTERS = tuple(f"frt_{i}" for i in range(len(FRT_BOUNDS) + 1))
CSAT_COUNTERS = tuple(f"csat_{score}" for score in range(1, 6))
COUNTERS: tuple[str, ...] = ("conversations", "wismo", "proactive", "auto_replied", "followed_up", "responded",
                             "frt_seconds", *FRT_COUNTERS, "csat_count", "csat_sum", *CSAT_COUNTERS)
MAX_DAYS = 366

Changes = dict[date, dict[str, int]]


def day_of(at: datetime) -> date:
    return at.astimezone(timezone.utc).date()


def _add(changes: Changes, day: date, **counts: int) -> None:
    row = changes.setdefault(day, {})
    for name, value in counts.items():
        row[name] = row.get(name, 0) + value


def frt_bucket(seconds: float) -> str:
    for index, bound in enumerate(FRT_BOUNDS):
        if seconds <= bound:
            return FRT_COUNTERS[index]
    return FRT_COUNTERS[-1]


def changes(previous: Conversation | None, current: Conversation) -> Changes:
    """The counter increments one save of a conversation makes (pure; {} when none)."""
    out: Changes = {}
    created = day_of(current.created_at)
    proactive = current.source is Source.PROACTIVE
    if previous is None:
        _add(out, created, conversations=1, **({"proactive": 1} if proactive else {}))
    wismo = Intent.WHERE_IS_MY_ORDER.value
    if current.intent == wismo and (previous is None or previous.intent is None):
        _add(out, created, wismo=1)
    if not proactive and current.first_response_at is not None and (previous is None
                                                                    or previous.first_response_at is None):
        seconds = max(0, int((current.first_response_at - current.created_at).total_seconds()))
        _add(out, created, responded=1, frt_seconds=seconds, **{frt_bucket(seconds): 1})
    before_auto = previous.auto_replies if previous is not None else 0
    if before_auto == 0 and current.auto_replies > 0 and current.last_auto_reply_at is not None:
        _add(out, day_of(current.last_auto_reply_at), auto_replied=1)
    if previous is not None and previous.auto_replies == 1 and previous.last_auto_reply_at is not None:
        auto_at = previous.last_auto_reply_at
        wrote_at = current.last_customer_message_at
        first_since = previous.last_customer_message_at is None or previous.last_customer_message_at <= auto_at
        if (wrote_at is not None and wrote_at != previous.last_customer_message_at and first_since
                and auto_at < wrote_at <= auto_at + FOLLOW_UP_WINDOW):
            _add(out, day_of(auto_at), followed_up=1)
    return out


def rated(score: int, now: datetime) -> Changes:
    if not 1 <= score <= 5:
        raise ValueError("a CSAT score is 1-5")
    return {day_of(now): {"csat_count": 1, "csat_sum": score, f"csat_{score}": 1}}


def window(now: datetime, days: int) -> tuple[date, date]:
    """The first and last day of the `days` days ending today (UTC)."""
    today = day_of(now)
    return today - timedelta(days=days - 1), today


def _settled(day: date, now: datetime) -> bool:
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=timezone.utc)
    return end + FOLLOW_UP_WINDOW <= now


def _quantile(histogram: list[int], q: float) -> int | None:
    total = sum(histogram)
    if not total:
        return None
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= q * total:
            return FRT_BOUNDS[index] if index < len(FRT_BOUNDS) else None
    return None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def summarize(rows: Iterable[tuple[date, Mapping[str, int]]], now: datetime, days: int) -> dict:
    """The metrics document of `days` days ending at `now` from the per-day counters (pure)."""
    first, last = window(now, days)
    totals = dict.fromkeys(COUNTERS, 0)
    settled = {"conversations": 0, "auto_replied": 0, "followed_up": 0}
    for day, counts in rows:
        if not first <= day <= last:
            continue
        for name in COUNTERS:
            totals[name] += int(counts.get(name, 0) or 0)
        if _settled(day, now):
            for name in settled:
                settled[name] += int(counts.get(name, 0) or 0)
    histogram = [totals[name] for name in FRT_COUNTERS]
    automated = settled["auto_replied"] - settled["followed_up"]
    responded = totals["responded"]
    above = totals[FRT_COUNTERS[-1]]
    return {
        "from": first.isoformat(), "to": last.isoformat(), "days": days,
        "conversations": totals["conversations"], "proactive": totals["proactive"],
        "wismo": {"count": totals["wismo"], "share": _share(totals["wismo"], totals["conversations"])},
        "automated": {"count": automated, "share": _share(automated, settled["conversations"]),
                      "settled_conversations": settled["conversations"],
                      "pending": totals["auto_replied"] - settled["auto_replied"],
                      "follow_up_window_hours": int(FOLLOW_UP_WINDOW.total_seconds() // 3600)},
        "first_response": {"count": responded,
                           "mean_seconds": round(totals["frt_seconds"] / responded) if responded else None,
                           # "at most": the upper bound of the bucket holding the quantile (None above the last)
                           "median_seconds_at_most": _quantile(histogram, 0.5),
                           "p90_seconds_at_most": _quantile(histogram, 0.9),
                           "over_last_bound": above},
        "csat": {"count": totals["csat_count"],
                 "average": round(totals["csat_sum"] / totals["csat_count"], 2) if totals["csat_count"] else None,
                 "scores": {str(score): totals[f"csat_{score}"] for score in range(1, 6)}},
    }
