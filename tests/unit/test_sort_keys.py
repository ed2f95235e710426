"""storage.keys.time_key: the one spelling of an instant in sort keys (support, feedback, reviews,
the send ledger, loyalty, order days). Pure."""
from datetime import datetime, timedelta, timezone

from postpurchase.storage import keys


def test_an_instant_is_spelled_in_utc_with_a_fixed_width():
    istanbul = timezone(timedelta(hours=3))
    assert keys.time_key(datetime(2026, 12, 7, 1, 2, 3, tzinfo=istanbul)) == "2026-12-06T22:02:03.000000Z"
    assert keys.time_key(datetime(2026, 12, 7, 1, 2, 3, 45, tzinfo=timezone.utc)) == "2026-12-07T01:02:03.000045Z"


def test_text_order_is_time_order_whatever_the_zone():
    start = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
    moments = [start + timedelta(microseconds=step * 7919) for step in range(50)]
    zoned = [moment.astimezone(timezone(timedelta(hours=(index % 27) - 12))) for index, moment in enumerate(moments)]
    assert sorted(zoned, key=keys.time_key) == moments
    assert keys.order_day_instant is keys.time_key
