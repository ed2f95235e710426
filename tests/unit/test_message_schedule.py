"""The communication calendar's rules: due times, expiry, quiet hours, frequency cap."""
from datetime import date, datetime, timedelta, timezone

import pytest

from postpurchase.messaging import schedule as s
from postpurchase.messaging.settings import FrequencyCap, MessagingSettings, QuietHours

UTC = timezone.utc


def test_review_request_uses_delivery_and_longest_category_delay_at_local_morning() -> None:
    settings = MessagingSettings(review_delay_days={"home": 3, "furniture": 14}, default_review_delay_days=7)
    delivered = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    due = s.review_request_due(delivered_at=delivered, fulfilled_at=None, categories=["home", "furniture", None],
                               settings=settings, tz="Europe/Istanbul")
    assert due == datetime(2026, 3, 16, 7, 0, tzinfo=UTC)  # 10:00 in Istanbul (UTC+3)
    unknown = s.review_request_due(delivered_at=delivered, fulfilled_at=None, categories=["toys"],
                                   settings=settings, tz=None)
    assert unknown == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


def test_review_request_falls_back_to_fulfilment_plus_transit_allowance() -> None:
    settings = MessagingSettings(transit_allowance_days=4, default_review_delay_days=7)
    fulfilled = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    due = s.review_request_due(delivered_at=None, fulfilled_at=fulfilled, categories=[], settings=settings, tz="UTC")
    assert due == datetime(2026, 5, 12, 10, 0, tzinfo=UTC)
    assert s.review_request_due(delivered_at=None, fulfilled_at=None, categories=[], settings=settings,
                                tz="UTC") is None


def test_local_send_hour_follows_dst() -> None:
    # New York: EST (UTC-5) before 8 March 2026, EDT (UTC-4) after.
    assert s.local_time(date(2026, 3, 7), 10, "America/New_York") == datetime(2026, 3, 7, 15, tzinfo=UTC)
    assert s.local_time(date(2026, 3, 9), 10, "America/New_York") == datetime(2026, 3, 9, 14, tzinfo=UTC)
    assert s.local_time(date(2026, 3, 9), 10, "Not/AZone") == datetime(2026, 3, 9, 10, tzinfo=UTC)


def test_reminder_and_win_back_can_be_turned_off() -> None:
    sent = datetime(2026, 1, 10, 10, tzinfo=UTC)
    assert s.review_reminder_due(sent, MessagingSettings(review_reminder_days=5), None) == datetime(
        2026, 1, 15, 10, tzinfo=UTC)
    assert s.review_reminder_due(sent, MessagingSettings(review_reminder_days=None), None) is None
    assert s.win_back_due(sent, MessagingSettings(win_back_days=None), None) is None
    assert s.win_back_due(sent, MessagingSettings(win_back_days=30), None) == datetime(2026, 2, 9, 10, tzinfo=UTC)


def test_anniversary_of_a_feb_29_first_order() -> None:
    placed = datetime(2028, 2, 29, 15, tzinfo=UTC)
    assert s.anniversary_due(placed, "UTC") == datetime(2029, 2, 28, 10, tzinfo=UTC)
    message = s.anniversary_message("m", "c", "1001", placed, "UTC")
    assert (message.ref, message.scope, message.expires_at - message.due_at) == ("2029", "customer",
                                                                                 timedelta(days=14))


def test_birthday_only_when_known_before_it_was_due() -> None:
    birthday = date(1990, 4, 2)
    before = datetime(2026, 3, 1, tzinfo=UTC)
    assert s.birthday_due(birthday, before, "UTC") == datetime(2026, 4, 2, 10, tzinfo=UTC)
    # Learned on the birthday but after the send hour: next year's birthday, not a late one.
    same_day_late = datetime(2026, 4, 2, 15, tzinfo=UTC)
    assert s.birthday_due(birthday, same_day_late, "UTC") == datetime(2027, 4, 2, 10, tzinfo=UTC)
    message = s.birthday_message("m", "c", birthday, before, "UTC")
    assert message.expires_at == datetime(2026, 4, 9, 10, tzinfo=UTC)
    assert message.data == {"birthday": "1990-04-02"} and message.ref == "2026"


def test_leap_day_birthday_in_common_and_leap_years() -> None:
    leap = date(2000, 2, 29)
    assert s.birthday_due(leap, datetime(2026, 1, 1, tzinfo=UTC), None) == datetime(2026, 2, 28, 10, tzinfo=UTC)
    assert s.birthday_due(leap, datetime(2027, 3, 1, tzinfo=UTC), None) == datetime(2028, 2, 29, 10, tzinfo=UTC)


def test_quiet_hours_across_midnight_defer_to_the_local_morning() -> None:
    quiet = QuietHours(start_hour=21, end_hour=9)
    tz = "Asia/Tokyo"  # UTC+9
    night = datetime(2026, 6, 1, 14, 30, tzinfo=UTC)  # 23:30 local
    assert s.quiet_hours_deferral(night, tz, quiet) == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)  # 09:00 local
    early = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)  # 05:00 local on the 2nd
    assert s.quiet_hours_deferral(early, tz, quiet) == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)
    day = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # 12:00 local
    assert s.quiet_hours_deferral(day, tz, quiet) is None
    # 21:00 local (12:00 UTC) is quiet (start inclusive), 20:59 is not, 09:00 is not (end exclusive).
    assert s.in_quiet_hours(datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tz, quiet)
    assert not s.in_quiet_hours(datetime(2026, 6, 1, 11, 59, tzinfo=UTC), tz, quiet)
    assert not s.in_quiet_hours(datetime(2026, 6, 2, 0, 0, tzinfo=UTC), tz, quiet)


def test_quiet_hours_within_one_day_and_disabled() -> None:
    quiet = QuietHours(start_hour=1, end_hour=6)
    assert s.quiet_hours_deferral(datetime(2026, 6, 1, 3, tzinfo=UTC), None, quiet) == datetime(2026, 6, 1, 6,
                                                                                              tzinfo=UTC)
    assert s.quiet_hours_deferral(datetime(2026, 6, 1, 7, tzinfo=UTC), None, quiet) is None
    assert s.quiet_hours_deferral(datetime(2026, 6, 1, 3, tzinfo=UTC), None, QuietHours(start_hour=5,
                                                                                        end_hour=5)) is None


def test_frequency_cap_next_allowed_time() -> None:
    cap = FrequencyCap(max_messages=2, per_days=7)
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    assert s.frequency_cap_deferral([], cap, now) is None
    one = [now - timedelta(days=1)]
    assert s.frequency_cap_deferral(one, cap, now) is None
    two = [now - timedelta(days=3), now - timedelta(days=1)]
    assert s.frequency_cap_deferral(two, cap, now) == now + timedelta(days=4)
    old = [now - timedelta(days=8), now - timedelta(days=1)]
    assert s.frequency_cap_deferral(old, cap, now) is None
    assert s.recent_within(old, cap, now) == [now - timedelta(days=1)]


def test_priorities_and_expiry() -> None:
    assert s.priority_of("order_confirmation") == "transactional"
    assert s.priority_of("points_expiring") == "transactional"
    assert s.priority_of("win_back") == "marketing"
    due = datetime(2026, 1, 1, tzinfo=UTC)
    assert s.expires_at("review_request", due) == due + timedelta(days=21)
    assert s.expires_at("campaign", due) == due + timedelta(days=2)
    assert s.is_expired(due, due) and not s.is_expired(due, due - timedelta(seconds=1))


@pytest.mark.parametrize("days", [14, 90])
def test_win_back_message_identity_is_the_order_it_follows(days: int) -> None:
    last = datetime(2026, 1, 1, 9, tzinfo=UTC)
    message = s.win_back_message("m", "c", "1001", last, MessagingSettings(win_back_days=days), None)
    assert message is not None and message.ref == "1001" and message.data["order_id"] == "1001"
    assert message.due_at == datetime(2026, 1, 1, 10, tzinfo=UTC) + timedelta(days=days)
