"""A due survey email through the sender's decision (messaging.due, fakes): sent with the
survey's first question, deferred by quiet hours like other marketing, cancelled when there is
no survey to ask (switched off, already answered), and gated by preferences as a review request."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from test_due_messages import LINKS, FakeStore, Stored, order_context, sender

from postpurchase.messaging import due as d
from postpurchase.messaging.preferences import Preferences, with_preferences
from postpurchase.messaging.requests import SurveyNotice, SurveyScore
from postpurchase.messaging.scheduled import ScheduledMessage

UTC = timezone.utc
NOON = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # 12:00 in Istanbul


def survey_message(due: datetime = NOON) -> ScheduledMessage:
    return ScheduledMessage(merchant_id="m", kind="survey", scope="order", scope_id="1001", customer_id="c-1",
                            ref="survey-s", due_at=due, expires_at=due + timedelta(days=14),
                            data={"survey_id": "s"})


NOTICE = SurveyNotice(survey_id="s", kind="nps", text={"en": "Recommend us?"}, default_language="en",
                      scores=[SurveyScore(value=v, url=f"https://x/s/{v}") for v in range(11)], page_url="https://x/s")


def with_notice(notice):
    calls: list = []

    def survey_notice(message, context, now):
        calls.append((message.data["survey_id"], context.customer_id))
        return notice

    return replace(LINKS, survey_notice=survey_notice), calls


def test_a_due_survey_is_sent_with_its_first_question_and_unsubscribe_links() -> None:
    store = FakeStore(Stored(survey_message()), order_context())
    s, delivered = sender(store)
    links, calls = with_notice(NOTICE)
    s = replace(s, links=links)
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOON), s, NOON) == ("sent", None)
    [request] = delivered
    assert request.kind == "survey" and request.survey == NOTICE and request.order.order_id == "1001"
    assert request.unsubscribe_url == "https://x/unsub/c-1/survey" and request.review_items == []
    assert calls == [("s", "c-1")] and store.stored.status == "sent" and store.scheduled == []


def test_no_survey_to_ask_cancels_the_email() -> None:
    for links in (with_notice(None)[0], LINKS):  # closed/answered, or a sender without surveys
        store = FakeStore(Stored(survey_message()), order_context())
        s, delivered = sender(store)
        s = replace(s, links=links)
        assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOON), s, NOON) == (
            "cancelled", "survey_closed_or_answered")
        assert delivered == [] and (store.stored.status, store.stored.reason) == ("cancelled",
                                                                                  "survey_closed_or_answered")


def test_a_survey_waits_out_quiet_hours_like_other_marketing() -> None:
    night = datetime(2026, 6, 10, 20, 0, tzinfo=UTC)  # 23:00 in Istanbul
    store = FakeStore(Stored(survey_message(night)), order_context())
    s, delivered = sender(store)
    s = replace(s, links=with_notice(NOTICE)[0])
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=night), s, night) == ("deferred", "quiet_hours")
    assert delivered == [] and store.stored.status == "pending"


def test_turning_review_requests_off_also_stops_surveys() -> None:
    request = d.compose(survey_message(), order_context(), [], offer=None, links=LINKS, now=NOON, survey=NOTICE)
    assert with_preferences(request, Preferences(unsubscribed=frozenset({"review_request"}))) is None
    assert with_preferences(request, Preferences(all_marketing_off=True)) is None
    assert with_preferences(request, Preferences(unsubscribed=frozenset({"campaign"}))) == request
