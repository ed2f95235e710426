"""Campaign rules without AWS: the segment, each customer's local due time (DST included), the
scheduled message, and the page-by-page fan-out over in-memory fakes (redelivery included)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from postpurchase.errors import NotAllowed
from postpurchase.messaging import campaign_fanout
from postpurchase.messaging.campaigns import (
    CampaignFanOut,
    CampaignIn,
    CustomerFacts,
    Segment,
    local_due,
    check_send_on,
    matches,
    scheduled_message,
)

NOW = datetime(2027, 1, 20, 12, 0, tzinfo=timezone.utc)


def customer(customer_id: str = "c-1", *, orders: int = 1, categories: tuple[str, ...] = (), locale: str | None = "en-US",
             tz: str | None = None, last_order_days_ago: int | None = 10) -> CustomerFacts:
    last = NOW - timedelta(days=last_order_days_ago) if last_order_days_ago is not None else None
    return CustomerFacts(customer_id, orders, frozenset(categories), locale, tz, last)


def campaign(**fields) -> CampaignIn:
    body = {"campaign_id": "vday-2027", "occasion": "valentines_day", "send_on": "2027-02-14", **fields}
    return CampaignIn.model_validate(body)


# --- segment --------------------------------------------------------------------------------------


def test_an_empty_segment_takes_everyone():
    assert matches(Segment(), customer(orders=0, locale=None, last_order_days_ago=None), NOW)


@pytest.mark.parametrize("orders, expected", [(1, False), (2, True), (3, True), (4, False)])
def test_order_count_bounds_are_inclusive(orders, expected):
    assert matches(Segment(min_orders=2, max_orders=3), customer(orders=orders), NOW) is expected


def test_categories_take_a_customer_who_bought_any_of_them():
    segment = Segment(categories=["flowers", "jewelry"])
    assert matches(segment, customer(categories=("home", "jewelry")), NOW)
    assert not matches(segment, customer(categories=("home",)), NOW)
    assert not matches(segment, customer(categories=()), NOW)


@pytest.mark.parametrize("locale, expected", [("tr-TR", True), ("tr", True), ("TR_tr", True), ("en-US", False),
                                              ("trk", False), (None, False)])
def test_locales_are_language_prefixes(locale, expected):
    assert matches(Segment(locales=["tr", "ar"]), customer(locale=locale), NOW) is expected


def test_ordered_within_days_needs_a_recent_order():
    segment = Segment(ordered_within_days=30)
    assert matches(segment, customer(last_order_days_ago=30), NOW)
    assert not matches(segment, customer(last_order_days_ago=31), NOW)
    assert not matches(segment, customer(last_order_days_ago=None), NOW)


def test_not_ordered_within_days_takes_lapsed_customers_and_those_without_orders():
    segment = Segment(not_ordered_within_days=90)
    assert matches(segment, customer(last_order_days_ago=91), NOW)
    assert matches(segment, customer(last_order_days_ago=None), NOW)
    assert not matches(segment, customer(last_order_days_ago=89), NOW)


def test_every_condition_must_hold():
    segment = Segment(min_orders=2, categories=["flowers"], locales=["en"])
    assert matches(segment, customer(orders=2, categories=("flowers",)), NOW)
    assert not matches(segment, customer(orders=2, categories=("flowers",), locale="ru-RU"), NOW)


def test_segment_refuses_inverted_bounds_and_unknown_fields():
    with pytest.raises(ValidationError):
        Segment(min_orders=3, max_orders=2)
    with pytest.raises(ValidationError):
        Segment.model_validate({"min_order": 1})


def test_campaign_body_names_bad_fields():
    from postpurchase.errors import InvalidInput
    from postpurchase.validation import validate

    for body, field_name in (({"occasion": "easter"}, "occasion"), ({"local_hour": 24}, "local_hour"),
                             ({"segment": {"locales": ["not a language"]}}, "segment.locales[0]"),
                             ({"offer": {"discount_type": "percent", "value": "150"}}, "offer")):
        data = {"campaign_id": "c", "occasion": "valentines_day", "send_on": "2027-02-14", **body}
        with pytest.raises(InvalidInput) as caught:
            validate(CampaignIn, data)
        assert caught.value.field == field_name


def test_the_fingerprint_follows_the_content():
    assert campaign().fingerprint() == campaign(local_hour=10).fingerprint()
    assert campaign().fingerprint() != campaign(local_hour=11).fingerprint()


# --- local due time ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tz, expected_utc", [
    ("Europe/Istanbul", datetime(2027, 2, 14, 7, 0, tzinfo=timezone.utc)),  # UTC+3, no DST
    ("America/New_York", datetime(2027, 2, 14, 15, 0, tzinfo=timezone.utc)),  # EST, UTC-5
    ("Asia/Bangkok", datetime(2027, 2, 14, 3, 0, tzinfo=timezone.utc)),
    ("Pacific/Kiritimati", datetime(2027, 2, 13, 20, 0, tzinfo=timezone.utc)),  # UTC+14: the day before in UTC
    (None, datetime(2027, 2, 14, 10, 0, tzinfo=timezone.utc)),
    ("Not/AZone", datetime(2027, 2, 14, 10, 0, tzinfo=timezone.utc)),
])
def test_due_is_the_local_hour_in_the_customers_zone(tz, expected_utc):
    assert local_due(date(2027, 2, 14), 10, tz) == expected_utc


def test_due_follows_daylight_saving_time():
    # New York: EST (UTC-5) in winter, EDT (UTC-4) from 14 March 2027; Berlin: CET/CEST from 28 March.
    assert local_due(date(2027, 3, 13), 10, "America/New_York").hour == 15
    assert local_due(date(2027, 3, 15), 10, "America/New_York").hour == 14
    assert local_due(date(2027, 3, 27), 10, "Europe/Berlin").hour == 9
    assert local_due(date(2027, 3, 28), 10, "Europe/Berlin").hour == 8
    # Southern hemisphere: Sydney is on daylight time (UTC+11) in February, standard (UTC+10) in June.
    assert local_due(date(2027, 2, 14), 10, "Australia/Sydney") == datetime(2027, 2, 13, 23, 0, tzinfo=timezone.utc)
    assert local_due(date(2027, 6, 14), 10, "Australia/Sydney") == datetime(2027, 6, 14, 0, 0, tzinfo=timezone.utc)


def test_an_hour_skipped_by_spring_forward_still_gets_a_time():
    # 02:30 does not exist in New York on 14 March 2027; it is read with the offset before the change.
    assert local_due(date(2027, 3, 14), 2, "America/New_York") == datetime(2027, 3, 14, 7, 0, tzinfo=timezone.utc)


def test_the_scheduled_message_carries_the_campaign():
    body = campaign(shop_url="https://shop.example/vday",
                    offer={"discount_type": "percent", "value": "15", "min_spend": "50", "currency": "USD"})
    message = scheduled_message("demo-store", body, customer("c-9", tz="Europe/Istanbul"))
    assert (message.kind, message.scope, message.scope_id, message.customer_id, message.ref, message.priority) == (
        "campaign", "customer", "c-9", "c-9", "vday-2027", "marketing")
    assert message.due_at == datetime(2027, 2, 14, 7, 0, tzinfo=timezone.utc)
    assert message.expires_at == message.due_at + timedelta(days=2)
    assert message.data == {"campaign_id": "vday-2027", "occasion": "valentines_day",
                            "shop_url": "https://shop.example/vday", "offer_discount_type": "percent",
                            "offer_value": "15", "offer_valid_days": "30", "offer_min_spend": "50",
                            "offer_currency": "USD"}
    assert scheduled_message("demo-store", campaign(), customer()).data == {"campaign_id": "vday-2027",
                                                                          "occasion": "valentines_day"}


def test_send_on_in_the_past_is_refused_naming_the_field():
    with pytest.raises(NotAllowed) as caught:
        check_send_on(campaign(send_on="2027-01-18"), NOW)
    assert caught.value.field == "send_on"
    check_send_on(campaign(send_on="2027-01-20"), NOW)  # today is fine
    # At 05:00 UTC it is still the 19th west of UTC-5: a campaign for the 19th reaches someone.
    check_send_on(campaign(send_on="2027-01-19"), datetime(2027, 1, 20, 5, 0, tzinfo=timezone.utc))


# --- fan-out over fakes -------------------------------------------------------------------------------


@dataclass
class Stored:
    campaign: CampaignIn
    created_at: datetime
    status: str = "fanning_out"
    scheduled: int = 0
    skipped: int = 0
    pages: int = 0
    completed_at: datetime | None = None


@dataclass
class FakeStore:
    customers: list[CustomerFacts]
    campaigns: dict = field(default_factory=dict)
    counted: set = field(default_factory=set)

    def create(self, merchant_id, body, now):
        key = (merchant_id, body.campaign_id)
        if key in self.campaigns:
            return self.campaigns[key], False
        self.campaigns[key] = Stored(body, now)
        return self.campaigns[key], True

    def get(self, merchant_id, campaign_id):
        return self.campaigns.get((merchant_id, campaign_id))

    def customers_page(self, merchant_id, after, limit):
        rest = sorted((c for c in self.customers if after is None or c.customer_id > after), key=lambda c: c.customer_id)
        return rest[:limit], len(rest[:limit]) == limit

    def count_page(self, merchant_id, campaign_id, page, scheduled, skipped, last, now):
        if (merchant_id, campaign_id, page) in self.counted:
            return False
        self.counted.add((merchant_id, campaign_id, page))
        stored = self.campaigns[(merchant_id, campaign_id)]
        stored.scheduled, stored.skipped, stored.pages = (stored.scheduled + scheduled, stored.skipped + skipped,
                                                          stored.pages + 1)
        if last:
            stored.status, stored.completed_at = "scheduled", now
        return True


@dataclass
class FakeSchedule:
    messages: dict = field(default_factory=dict)

    def schedule(self, message, now):
        self.messages[(message.merchant_id, message.scope, message.scope_id, message.kind, message.ref)] = message

    def cancel(self, *args, **kwargs):
        raise AssertionError("campaigns never cancel")


@dataclass
class FakePorts:
    store: FakeStore
    schedule: FakeSchedule = field(default_factory=FakeSchedule)
    queue: list = field(default_factory=list)

    def enqueue(self, message):
        self.queue.append(message)


def run_all(ports: FakePorts, *, redeliver: bool = False) -> list[str]:
    outcomes = []
    while ports.queue:
        message = ports.queue.pop(0)
        outcomes.append(campaign_fanout.fan_out_page(message, ports, NOW))
        if redeliver:  # SQS delivers the same page again after the next page was enqueued
            queued = len(ports.queue)
            outcomes.append(campaign_fanout.fan_out_page(message, ports, NOW))
            del ports.queue[queued:]  # the redelivery enqueues the same next page again
    return outcomes


@pytest.fixture
def ports(monkeypatch) -> FakePorts:
    monkeypatch.setattr(campaign_fanout, "PAGE_SIZE", 2)
    people = [customer(f"c-{n}", orders=n % 3, locale="tr-TR" if n % 2 else "en-GB", tz="Europe/Istanbul")
              for n in range(7)]
    return FakePorts(FakeStore(people))


@pytest.mark.parametrize("redeliver", [False, True])
def test_fan_out_schedules_each_matching_customer_once_over_pages(ports, redeliver):
    body = campaign(segment={"locales": ["tr"]})
    view = campaign_fanout.create_campaign("demo-store", body, ports, NOW)
    assert view["status"] == "fanning_out" and ports.queue == [CampaignFanOut(merchant_id="demo-store",
                                                                              campaign_id="vday-2027")]
    outcomes = run_all(ports, redeliver=redeliver)
    assert [message.scope_id for message in ports.schedule.messages.values()] == ["c-1", "c-3", "c-5"]
    stored = ports.store.get("demo-store", "vday-2027")
    assert (stored.status, stored.scheduled, stored.skipped, stored.pages) == ("scheduled", 3, 4, 4)
    assert outcomes.count("page_done") == 4
    assert outcomes.count("page_duplicate") == (4 if redeliver else 0)


def test_an_exact_multiple_of_the_page_size_ends_with_an_empty_page(ports):
    ports.store.customers = ports.store.customers[:4]
    campaign_fanout.create_campaign("demo-store", campaign(), ports, NOW)
    run_all(ports)
    stored = ports.store.get("demo-store", "vday-2027")
    assert (stored.status, stored.scheduled, stored.skipped, stored.pages) == ("scheduled", 4, 0, 3)


def test_a_page_for_an_unknown_campaign_does_nothing(ports):
    assert campaign_fanout.fan_out_page(CampaignFanOut(merchant_id="demo-store", campaign_id="nope"), ports,
                                        NOW) == "unknown_campaign"
    assert ports.schedule.messages == {} and ports.queue == []


def test_the_segment_is_judged_at_creation_time_on_every_page(ports):
    ports.store.customers = [replace(customer("c-1"), last_order_at=NOW - timedelta(days=29))]
    campaign_fanout.create_campaign("demo-store", campaign(segment={"ordered_within_days": 30}), ports, NOW)
    message = ports.queue.pop(0)
    campaign_fanout.fan_out_page(message, ports, NOW + timedelta(days=5))  # a late page: same answer
    assert list(ports.schedule.messages) == [("demo-store", "customer", "c-1", "campaign", "vday-2027")]


def test_a_queue_failure_after_storing_answers_503_and_a_repeat_starts_the_fan_out(ports):
    from postpurchase.errors import RetryLater, ServiceUnavailable

    def down(message):
        raise RetryLater("queue down")

    working = ports.enqueue
    ports.enqueue = down  # type: ignore[method-assign]
    with pytest.raises(ServiceUnavailable):
        campaign_fanout.create_campaign("demo-store", campaign(), ports, NOW)
    ports.enqueue = working  # type: ignore[method-assign]
    view = campaign_fanout.create_campaign("demo-store", campaign(), ports, NOW)
    assert view["status"] == "fanning_out" and len(ports.queue) == 1


def test_an_amount_offer_to_customers_must_name_its_currency():
    import pytest
    from pydantic import ValidationError

    from postpurchase.messaging.campaigns import CampaignIn
    from postpurchase.messaging.settings import MessagingSettings

    with pytest.raises(ValidationError) as error:
        MessagingSettings(anniversary_offer={"discount_type": "amount", "value": "10"})
    assert error.value.errors()[0]["loc"] == ("anniversary_offer",)
    assert MessagingSettings(anniversary_offer={"discount_type": "amount", "value": "10", "currency": "EUR"})
    assert MessagingSettings(birthday_offer={"discount_type": "percent", "value": "20"})  # no money involved
    with pytest.raises(ValidationError) as error:
        CampaignIn(campaign_id="c", occasion="new_year", send_on="2030-01-01",
                   offer={"discount_type": "percent", "value": "5", "min_spend": "50"})
    assert error.value.errors()[0]["loc"] == ("offer",)
