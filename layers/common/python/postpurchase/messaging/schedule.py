"""The communication calendar's rules: when each scheduled message is due, when it expires,
and when respectful sending (quiet hours, frequency cap) lets it go.

Pure functions: the caller passes `now`, the settings and the facts; no AWS here. Due times
land on a local morning hour in the customer's time zone (DST-safe: a local wall time is
converted to UTC through zoneinfo), so nobody gets a review request at 3 am.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .requests import TRANSACTIONAL_KINDS
from .scheduled import Priority, ScheduledMessage
from .settings import FrequencyCap, MessagingSettings, QuietHours

SEND_HOUR = 10  # local wall-clock hour for calendar messages

# How long after its due time an unsent message is still worth sending (then it is dropped).
EXPIRY: dict[str, timedelta] = {
    "review_request": timedelta(days=21),
    "review_reminder": timedelta(days=7),
    "anniversary": timedelta(days=14),
    "win_back": timedelta(days=14),
    "campaign": timedelta(days=2),
    "birthday_offer": timedelta(days=7),  # until the birthday + 7 days (see birthday_message)
    "points_expiring": timedelta(days=7),  # the caller passes the points' own expiry
}

# Points about to expire are news about the customer's account, not a promotion.
PRIORITY: dict[str, Priority] = {"points_expiring": "transactional"}


def priority_of(kind: str) -> Priority:
    if kind in TRANSACTIONAL_KINDS:
        return "transactional"
    return PRIORITY.get(kind, "marketing")


def zone(name: str | None) -> ZoneInfo | timezone:
    """The customer's time zone; UTC when unknown or invalid."""
    if not name:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def local_time(day: date, hour: int, tz: str | None) -> datetime:
    """`hour`:00 local on `day`, as an aware UTC datetime (a time in a DST gap moves forward)."""
    zone_info = zone(tz)
    wall = datetime.combine(day, time(hour), tzinfo=zone_info)
    as_utc = wall.astimezone(timezone.utc)
    # A wall time inside a spring-forward gap does not exist; zoneinfo maps it with the
    # pre-transition offset, which round-trips to a different wall time: keep it (later).
    return as_utc


def local_morning_on_or_after(moment: datetime, tz: str | None, hour: int = SEND_HOUR) -> datetime:
    """The first local `hour`:00 at or after `moment`."""
    local = moment.astimezone(zone(tz))
    candidate = local_time(local.date(), hour, tz)
    if candidate < moment:
        candidate = local_time(local.date() + timedelta(days=1), hour, tz)
    return candidate


def _on_local_morning(day: date, tz: str | None) -> datetime:
    return local_time(day, SEND_HOUR, tz)


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; Feb 29 becomes Feb 28 in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# ------------------------------------------------------------------------------ due times


def review_request_due(*, delivered_at: datetime | None, fulfilled_at: datetime | None,
                       categories: list[str | None], settings: MessagingSettings,
                       tz: str | None) -> datetime | None:
    """N days (longest delay among the order's categories) after delivery, or after fulfilment +
    the transit allowance when no delivery scan came; at the local send hour."""
    if delivered_at is not None:
        received = delivered_at
    elif fulfilled_at is not None:
        received = fulfilled_at + timedelta(days=settings.transit_allowance_days)
    else:
        return None
    target = received + timedelta(days=settings.review_delay_for(categories))
    return _on_local_morning(target.astimezone(zone(tz)).date(), tz)


def review_reminder_due(review_sent_at: datetime, settings: MessagingSettings, tz: str | None) -> datetime | None:
    if settings.review_reminder_days is None:
        return None
    target = review_sent_at + timedelta(days=settings.review_reminder_days)
    return _on_local_morning(target.astimezone(zone(tz)).date(), tz)


def anniversary_due(first_order_placed_at: datetime, tz: str | None) -> datetime:
    placed_day = first_order_placed_at.astimezone(zone(tz)).date()
    return _on_local_morning(add_years(placed_day, 1), tz)


def birthday_due(birthday: date, known_since: datetime, tz: str | None) -> datetime:
    """The first birthday (local morning) at or after the moment we learned the date: an offer
    is never sent for a birthday that had passed before the customer told us."""
    known_local = known_since.astimezone(zone(tz)).date()
    years = known_local.year - birthday.year
    for offset in (0, 1, 2):
        day = add_years(birthday, years + offset)
        due = _on_local_morning(day, tz)
        if due >= known_since:
            return due
    raise AssertionError("unreachable")  # pragma: no cover


def win_back_due(last_order_at: datetime, settings: MessagingSettings, tz: str | None) -> datetime | None:
    if settings.win_back_days is None:
        return None
    target = last_order_at + timedelta(days=settings.win_back_days)
    return _on_local_morning(target.astimezone(zone(tz)).date(), tz)


def expires_at(kind: str, due_at: datetime) -> datetime:
    return due_at + EXPIRY.get(kind, timedelta(days=2))


# ------------------------------------------------------------------------------ messages


def _message(merchant_id: str, kind: str, scope: str, scope_id: str, customer_id: str, ref: str,
             due: datetime, expires: datetime, data: dict[str, str] | None = None) -> ScheduledMessage:
    return ScheduledMessage(merchant_id=merchant_id, kind=kind, scope=scope, scope_id=scope_id,  # type: ignore[arg-type]
                            customer_id=customer_id, ref=ref, due_at=due, expires_at=expires,
                            priority=priority_of(kind), data=data or {})


def review_request_message(merchant_id: str, order_id: str, customer_id: str, due: datetime) -> ScheduledMessage:
    return _message(merchant_id, "review_request", "order", order_id, customer_id, order_id, due,
                    expires_at("review_request", due))


def review_reminder_message(merchant_id: str, order_id: str, customer_id: str, due: datetime) -> ScheduledMessage:
    return _message(merchant_id, "review_reminder", "order", order_id, customer_id, order_id, due,
                    expires_at("review_reminder", due))


def anniversary_message(merchant_id: str, customer_id: str, first_order_id: str, first_order_placed_at: datetime,
                        tz: str | None) -> ScheduledMessage:
    due = anniversary_due(first_order_placed_at, tz)
    return _message(merchant_id, "anniversary", "customer", customer_id, customer_id, str(due.year), due,
                    expires_at("anniversary", due), {"first_order_id": first_order_id})


def birthday_message(merchant_id: str, customer_id: str, birthday: date, known_since: datetime,
                     tz: str | None) -> ScheduledMessage:
    due = birthday_due(birthday, known_since, tz)
    return _message(merchant_id, "birthday_offer", "customer", customer_id, customer_id,
                    str(due.astimezone(zone(tz)).year), due, due + EXPIRY["birthday_offer"],
                    {"birthday": birthday.isoformat()})


def win_back_message(merchant_id: str, customer_id: str, order_id: str, last_order_at: datetime,
                     settings: MessagingSettings, tz: str | None) -> ScheduledMessage | None:
    due = win_back_due(last_order_at, settings, tz)
    if due is None:
        return None
    # One win-back per order it follows: a newer order schedules its own and cancels this one.
    return _message(merchant_id, "win_back", "customer", customer_id, customer_id, order_id, due,
                    expires_at("win_back", due), {"order_id": order_id, "last_order_at": last_order_at.isoformat()})


# ------------------------------------------------------------------------------ respectful sending


def in_quiet_hours(moment: datetime, tz: str | None, quiet: QuietHours) -> bool:
    if quiet.start_hour == quiet.end_hour:
        return False  # no quiet hours
    hour = moment.astimezone(zone(tz)).hour
    if quiet.start_hour < quiet.end_hour:
        return quiet.start_hour <= hour < quiet.end_hour
    return hour >= quiet.start_hour or hour < quiet.end_hour  # across midnight


def quiet_hours_deferral(moment: datetime, tz: str | None, quiet: QuietHours) -> datetime | None:
    """When a marketing message due at `moment` may go: None if now is fine, else the end of the
    quiet period (the local morning), never dropped."""
    if not in_quiet_hours(moment, tz, quiet):
        return None
    return local_morning_on_or_after(moment, tz, quiet.end_hour)


def frequency_cap_deferral(recent_sends: list[datetime], cap: FrequencyCap, now: datetime) -> datetime | None:
    """None if one more marketing email may go now; else when the oldest send in the window
    leaves it (any `per_days` window holds at most `max_messages`)."""
    window = timedelta(days=cap.per_days)
    within = sorted(t for t in recent_sends if now - window < t <= now)
    if len(within) < cap.max_messages:
        return None
    return within[len(within) - cap.max_messages] + window


def recent_within(recent_sends: list[datetime], cap: FrequencyCap, now: datetime) -> list[datetime]:
    """The sends still inside the cap's window (what the profile keeps)."""
    window = timedelta(days=cap.per_days)
    return sorted(t for t in recent_sends if now - window < t)


def is_expired(message_expires_at: datetime, now: datetime) -> bool:
    return now >= message_expires_at


# ------------------------------------------------------------------------------ due-day buckets
# A bucket is a UTC day, not an hour (DESIGN.md sketched hours): a run reads a bucket with "due
# by now" on the sort key, so finer buckets buy nothing in steady state, while every hour of
# downtime (or of simulated time in the demo) would cost one Query per shard to walk.


def bucket_of(moment: datetime) -> str:
    """The due-index bucket of a moment: its UTC day ("yyyy-mm-dd")."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d")


def buckets_between(first: str, last: str) -> list[str]:
    """Day buckets from `first` to `last` inclusive."""
    start = datetime.strptime(first, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    end = datetime.strptime(last, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    days = []
    while start <= end:
        days.append(bucket_of(start))
        start += timedelta(days=1)
    return days
