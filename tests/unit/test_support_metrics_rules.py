"""Support metrics rules (pure): what each conversation change counts, and the summary."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from postpurchase.support import metrics, model, proactive
from postpurchase.support.model import Channel, Source

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def new(intent: str | None = "where_is_my_order", source: Source = Source.CUSTOMER) -> model.Conversation:
    c = model.start(conversation_id="c1", merchant_id="m-1", channel=Channel.EMAIL, now=T0, source=source,
                    customer_email="a@example.com")
    return model.customer_wrote(c, now=T0, intent=intent, confidence=0.9)


def test_a_new_wismo_conversation_counts_once_on_its_day():
    assert metrics.changes(None, new()) == {T0.date(): {"conversations": 1, "wismo": 1}}
    other = new("damaged_wrong_item")
    assert metrics.changes(None, other) == {T0.date(): {"conversations": 1}}
    # A later save with the same first intent counts nothing again.
    later = model.customer_wrote(other, now=T0 + timedelta(hours=1), intent="where_is_my_order")
    assert metrics.changes(other, later) == {}


def test_first_response_is_counted_once_in_its_bucket_on_the_creation_day():
    c = new()
    answered = model.auto_replied(c, now=T0 + timedelta(minutes=4))
    counted = metrics.changes(c, answered)
    assert counted == {T0.date(): {"responded": 1, "frt_seconds": 240, "frt_1": 1, "auto_replied": 1}}
    again = model.merchant_replied(answered, now=T0 + timedelta(days=2))
    assert metrics.changes(answered, again) == {}


def test_a_customer_writing_within_72_hours_of_the_auto_reply_undoes_automated():
    replied = model.auto_replied(new(), now=T0 + timedelta(minutes=1))
    within = model.customer_wrote(replied, now=T0 + timedelta(hours=71))
    assert metrics.changes(replied, within) == {T0.date(): {"followed_up": 1}}
    late = model.customer_wrote(replied, now=T0 + timedelta(hours=74))
    assert metrics.changes(replied, late) == {}
    # Only the first message after the auto-reply counts.
    twice = model.customer_wrote(within, now=T0 + timedelta(hours=72))
    assert metrics.changes(within, twice) == {}


def test_proactive_conversations_count_but_not_in_first_response():
    c = proactive.conversation_for(merchant_id="m-1", order_id="o1", shipment_id="s1", reason="exception",
                                   tracking_number="1Z", customer_email=None, customer_name=None, customer_id=None,
                                   language="tr", now=T0)
    assert metrics.changes(None, c) == {T0.date(): {"conversations": 1, "proactive": 1, "wismo": 1}}
    answered = model.merchant_replied(c, now=T0 + timedelta(hours=1))
    assert metrics.changes(c, answered) == {}


def test_ratings_and_bad_scores():
    assert metrics.rated(4, T0) == {T0.date(): {"csat_count": 1, "csat_sum": 4, "csat_4": 1}}
    with pytest.raises(ValueError):
        metrics.rated(6, T0)


def test_summary_of_a_window():
    now = datetime(2026, 12, 10, 12, tzinfo=timezone.utc)
    old = {"conversations": 4, "wismo": 3, "auto_replied": 3, "followed_up": 1, "responded": 4, "frt_seconds": 4000,
           "frt_1": 2, "frt_4": 1, "frt_8": 1, "csat_count": 2, "csat_sum": 9, "csat_4": 1, "csat_5": 1}
    recent = {"conversations": 2, "wismo": 1, "auto_replied": 2}  # 10 Dec: not settled yet
    outside = {"conversations": 100}
    doc = metrics.summarize([(date(2026, 12, 5), old), (date(2026, 12, 10), recent), (date(2026, 11, 1), outside)],
                            now, 7)
    assert (doc["from"], doc["to"], doc["conversations"]) == ("2026-12-04", "2026-12-10", 6)
    assert doc["wismo"] == {"count": 4, "share": round(4 / 6, 4)}
    assert doc["automated"]["count"] == 2 and doc["automated"]["share"] == 0.5
    assert doc["automated"]["pending"] == 2
    fr = doc["first_response"]
    assert fr["median_seconds_at_most"] == 300 and fr["p90_seconds_at_most"] == 86400 and fr["mean_seconds"] == 1000
    assert doc["csat"]["average"] == 4.5 and doc["csat"]["scores"]["5"] == 1


def test_empty_window_has_no_shares():
    doc = metrics.summarize([], T0, 30)
    assert doc["wismo"]["share"] is None and doc["csat"]["average"] is None
    assert doc["first_response"]["median_seconds_at_most"] is None


def test_proactive_reason_only_for_exception_and_stall():
    from postpurchase.tracking.model import TrackingStatus
    from postpurchase.tracking.state import ShipmentTracking

    base = dict(carrier="usps", tracking_number="9400", last_event_at=T0, status_changed_at=T0)
    exception = ShipmentTracking(status=TrackingStatus.EXCEPTION, **base)
    moving = ShipmentTracking(status=TrackingStatus.IN_TRANSIT, **base)
    failed = ShipmentTracking(status=TrackingStatus.ATTEMPT_FAILED, **base)
    assert proactive.reason_for(exception, T0) == "exception"
    assert proactive.reason_for(moving, T0 + timedelta(hours=1)) is None
    assert proactive.reason_for(moving, T0 + timedelta(days=30)) == "stalled"
    assert proactive.reason_for(failed, T0) is None


def test_csat_survey_is_open_then_expired_and_withdrawn_when_reopened():
    from postpurchase.support import csat

    resolved = model.resolve(new(), now=T0 + timedelta(hours=2))
    claims = csat.survey_claims(resolved, T0 + timedelta(hours=2))
    resolution, answer_by = claims[2], int(claims[3])
    assert csat.verdict(resolved, resolution, answer_by, T0 + timedelta(days=3)) == "open"
    assert csat.verdict(resolved, resolution, answer_by, T0 + timedelta(days=7, hours=3)) == "expired"
    reopened = model.customer_wrote(resolved, now=T0 + timedelta(days=1))
    assert csat.verdict(reopened, resolution, answer_by, T0 + timedelta(days=1)) == "withdrawn"
    again = model.resolve(reopened, now=T0 + timedelta(days=2))  # a new resolution: the old link stays refused
    assert csat.verdict(again, resolution, answer_by, T0 + timedelta(days=2)) == "withdrawn"
    assert csat.verdict(None, resolution, answer_by, T0) == "not_found"
    with pytest.raises(ValueError):
        csat.survey_claims(new(), T0)
    assert [csat.parse_score(raw) for raw in ("1", "5", "0", "6", "x", None, "٣")] == [1, 5, None, None, None, None,
                                                                                      None]
