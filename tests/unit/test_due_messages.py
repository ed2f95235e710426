"""The sender's decision for a due scheduled message, with in-memory fakes (no AWS)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from postpurchase.messaging import due as d
from postpurchase.messaging import schedule as rules
from postpurchase.messaging.requests import OfferNotice
from postpurchase.messaging.scheduled import ScheduledMessage
from postpurchase.messaging.settings import FrequencyCap, MessagingSettings, OfferSpec
from postpurchase.orders.models import Customer, Order

UTC = timezone.utc
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # 12:00 in Istanbul
CUSTOMER = Customer(id="c-1", email="a@example.com", first_name="Ayşe", timezone="Europe/Istanbul",
                    birthday=date(1990, 4, 2))


def order() -> Order:
    return Order.model_validate({
        "order_id": "1001", "placed_at": "2026-05-01T10:00:00Z", "currency": "USD", "customer": CUSTOMER.model_dump(),
        "items": [{"sku": "MUG-1", "title": "Mug", "quantity": 1, "price": "12.50", "category": "home"},
                  {"sku": "CUP-1", "title": "Cup", "quantity": 1, "price": "5.00"}],
        "shipping_address": {"name": "A", "address1": "x", "city": "y", "zip": "1", "country_code": "TR"},
        "totals": {"subtotal": "17.50", "shipping": "0", "tax": "0", "total": "17.50"}})


@dataclass
class Stored:
    message: ScheduledMessage
    status: str = "enqueued"
    pk: str = "PK"
    sk: str = "SK"
    gsi3sk: str | None = "x"
    reason: str | None = None


@dataclass
class Seen:
    entries: list = field(default_factory=list)
    revision: int | None = None

    @property
    def sends(self) -> list:
        return [at for at, _ in self.entries]


@dataclass
class FakeStore:
    stored: Stored | None
    context: d.MessageContext | None
    sends: list = field(default_factory=list)
    scheduled: list = field(default_factory=list)
    reserved: list = field(default_factory=list)

    def load_key(self, pk, sk):
        return self.stored

    def context_of(self, stored):
        return self.context

    def settle(self, pk, sk, status, reason, now):
        if self.stored.status not in ("pending", "enqueued"):
            return 0
        self.stored = replace(self.stored, status=status, reason=reason)
        return 1

    def defer(self, pk, sk, until, reason, now):
        self.stored = replace(self.stored, status="pending", reason=reason,
                              message=self.stored.message.model_copy(update={"due_at": until}))
        return True

    def schedule(self, message, now):
        self.scheduled.append(message)

    def marketing_sends(self, merchant_id, customer_id):
        return Seen([s if isinstance(s, tuple) else (s, "other") for s in self.sends])

    def reserve_marketing_send(self, merchant_id, customer_id, seen, keep, key, now):
        self.reserved.append((now, key))
        self.sends = [*keep, (now, key)]


class FakeIssuer:
    def __init__(self) -> None:
        self.calls: list = []

    def issue(self, merchant_id, customer_id, spec, *, campaign, ref, currency, now):
        self.calls.append((campaign, ref))
        return OfferNotice(code="CODE-1", discount_type=spec.discount_type, value=spec.value)


LINKS = d.Links(rating_url=lambda m, o, s, now: f"https://x/rate/{o}/{s}",
                unsubscribe_url=lambda m, c, k, now: f"https://x/unsub/{c}/{k}",
                preferences_url=lambda m, c, now: f"https://x/prefs/{c}")


def sender(store: FakeStore, settings: MessagingSettings = MessagingSettings(), *, gate=None, outcome="sent",
           reviewable=lambda order, returns: [i.sku for i in order.items], issuer: FakeIssuer | None = None):
    delivered: list = []

    def deliver(request):
        delivered.append(request)
        return outcome

    built = d.Sender(store=store, settings_for=lambda m: settings, reviewable=reviewable,
                     coupons=lambda: issuer or FakeIssuer(), links=LINKS,
                     gate=gate or (lambda request: (request, None)), deliver=deliver)
    return built, delivered


def review(due: datetime = NOW) -> ScheduledMessage:
    return rules.review_request_message("m", "1001", "c-1", due)


def order_context(**changes) -> d.MessageContext:
    return replace(d.MessageContext(customer=CUSTOMER, customer_id="c-1", order=order(), order_status="placed"),
                   **changes)


def test_review_request_is_sent_with_rating_links_and_schedules_the_reminder() -> None:
    store = FakeStore(Stored(review()), order_context())
    s, delivered = sender(store)
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW) == ("sent", None)
    [request] = delivered
    assert request.order.order_id == "1001" and request.customer is None
    assert [i.rating_url for i in request.review_items] == ["https://x/rate/1001/MUG-1", "https://x/rate/1001/CUP-1"]
    assert request.unsubscribe_url == "https://x/unsub/c-1/review_request"
    assert store.stored.status == "sent" and len(store.reserved) == 1
    [reminder] = store.scheduled
    assert reminder.kind == "review_reminder" and reminder.due_at == datetime(2026, 6, 15, 7, tzinfo=UTC)


def test_a_second_run_does_nothing() -> None:
    store = FakeStore(Stored(review(), status="sent"), order_context())
    s, delivered = sender(store)
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW) == ("nothing", "sent")
    assert delivered == []


@pytest.mark.parametrize("message, context, reviewable, reason", [
    (review(), order_context(order_status="cancelled"), ["MUG-1"], "order_cancelled"),
    (review(), order_context(), [], "nothing_to_review"),
    (rules.review_reminder_message("m", "1001", "c-1", NOW), order_context(feedback_given=True), ["MUG-1"],
     "answered"),
    (rules.win_back_message("m", "c-1", "1001", NOW - timedelta(days=90), MessagingSettings(), None),
     d.MessageContext(customer=CUSTOMER, customer_id="c-1", last_order_at=NOW - timedelta(days=3)), [],
     "ordered_again"),
    (rules.birthday_message("m", "c-1", date(1991, 1, 1), NOW - timedelta(days=30), None),
     d.MessageContext(customer=CUSTOMER, customer_id="c-1", birthday=date(1990, 4, 2)), [], "birthday_changed"),
])
def test_facts_cancel(message, context, reviewable, reason) -> None:
    assert d.cancel_reason(message, context, reviewable) == reason


def test_facts_that_do_not_cancel() -> None:
    win_back = rules.win_back_message("m", "c-1", "1001", NOW - timedelta(days=90), MessagingSettings(), None)
    same = d.MessageContext(customer=CUSTOMER, customer_id="c-1", last_order_at=NOW - timedelta(days=90))
    assert d.cancel_reason(win_back, same, []) is None
    birthday = rules.birthday_message("m", "c-1", date(1990, 4, 2), NOW, None)
    assert d.cancel_reason(birthday, replace(same, birthday=date(1990, 4, 2)), []) is None


def test_expired_is_dropped_and_not_due_waits() -> None:
    store = FakeStore(Stored(review(NOW - timedelta(days=22))), order_context())
    s, delivered = sender(store)
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW)[0] == "expired"
    assert store.stored.status == "expired" and delivered == []
    later = FakeStore(Stored(review(NOW + timedelta(hours=2))), order_context())
    s, delivered = sender(later)
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW)[0] == "not_due"
    assert later.stored.status == "enqueued" and delivered == []


def test_cap_defers_marketing_and_drops_when_it_cannot_wait() -> None:
    recent = [NOW - timedelta(days=1), NOW - timedelta(hours=5)]
    store = FakeStore(Stored(review()), order_context(), sends=recent)
    s, delivered = sender(store, MessagingSettings(frequency_cap=FrequencyCap(max_messages=2, per_days=7)))
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW) == ("deferred", "frequency_cap")
    assert store.stored.status == "pending" and store.stored.message.due_at == NOW + timedelta(days=6)
    campaign = ScheduledMessage(merchant_id="m", kind="campaign", scope="customer", scope_id="c-1",
                                customer_id="c-1", ref="bf", due_at=NOW, expires_at=NOW + timedelta(days=2),
                                data={"campaign_id": "bf", "occasion": "black_friday"})
    store = FakeStore(Stored(campaign), d.MessageContext(customer=CUSTOMER, customer_id="c-1"), sends=recent)
    s, delivered = sender(store)
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW) == ("expired", "frequency_cap")
    assert delivered == []


def test_transactional_priority_ignores_quiet_hours_and_cap() -> None:
    night = datetime(2026, 6, 10, 22, 0, tzinfo=UTC)  # 01:00 Istanbul
    points = ScheduledMessage(merchant_id="m", kind="points_expiring", scope="customer", scope_id="c-1",
                              customer_id="c-1", ref="2026-06", due_at=night, expires_at=night + timedelta(days=3),
                              priority="transactional",
                              data={"expiring_points": "120", "expires_at": "2026-06-13T00:00:00+00:00",
                                    "balance": "300"})
    store = FakeStore(Stored(points), d.MessageContext(customer=CUSTOMER, customer_id="c-1"),
                      sends=[night - timedelta(hours=1)] * 5)
    s, delivered = sender(store)
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=night), s, night) == ("sent", None)
    [request] = delivered
    assert request.points.expiring_points == 120 and request.customer.customer_id() == "c-1"
    # Not capped, not deferred; still marketing in the consent sense: it carries the unsubscribe link.
    assert request.unsubscribe_url == "https://x/unsub/c-1/points_expiring" and store.reserved == []


def test_quiet_hours_defer_marketing_to_the_morning() -> None:
    night = datetime(2026, 6, 10, 19, 30, tzinfo=UTC)  # 22:30 Istanbul
    store = FakeStore(Stored(review(night)), order_context())
    s, delivered = sender(store)
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=night), s, night) == ("deferred", "quiet_hours")
    assert store.stored.message.due_at == datetime(2026, 6, 11, 6, tzinfo=UTC) and delivered == []


def test_opted_out_customer_gets_nothing_and_no_coupon_is_issued() -> None:
    anniversary = rules.anniversary_message("m", "c-1", "1001", NOW - timedelta(days=366), "UTC")
    issuer = FakeIssuer()
    store = FakeStore(Stored(anniversary), d.MessageContext(customer=CUSTOMER, customer_id="c-1"))
    settings = MessagingSettings(anniversary_offer=OfferSpec(discount_type="percent", value=Decimal(10)))
    s, delivered = sender(store, settings, gate=lambda request: (None, "opted_out"), issuer=issuer)
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW)[0] == "opted_out"
    assert store.stored.status == "skipped" and issuer.calls == [] and delivered == [] and store.reserved == []


def test_anniversary_with_an_offer_goes_to_the_customer() -> None:
    anniversary = rules.anniversary_message("m", "c-1", "1001", NOW - timedelta(days=366), "UTC")
    issuer = FakeIssuer()
    store = FakeStore(Stored(anniversary), d.MessageContext(customer=CUSTOMER, customer_id="c-1"))
    settings = MessagingSettings(anniversary_offer=OfferSpec(discount_type="percent", value=Decimal(10)))
    s, delivered = sender(store, settings, issuer=issuer)
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW)[0] == "sent"
    [request] = delivered
    assert request.order is None and request.offer.code == "CODE-1"
    assert request.ledger_scope == ("customer", "c-1") and request.message_key == f"anniversary#{anniversary.ref}"
    assert issuer.calls == [("anniversary", f"c-1#{anniversary.ref}")]


def test_campaign_offer_fields_make_an_offer() -> None:
    campaign = ScheduledMessage(merchant_id="m", kind="campaign", scope="customer", scope_id="c-1",
                                customer_id="c-1", ref="bf", due_at=NOW, expires_at=NOW + timedelta(days=2),
                                data={"campaign_id": "bf", "occasion": "black_friday", "shop_url": "https://s",
                                      "offer_discount_type": "amount", "offer_value": "5",
                                      "offer_currency": "USD"})
    spec = d.offer_spec(campaign, MessagingSettings())
    assert spec is not None and spec.value == Decimal(5) and spec.currency == "USD"
    request = d.compose(campaign, d.MessageContext(customer=CUSTOMER, customer_id="c-1"), [], offer=None,
                        links=LINKS, now=NOW)
    assert request.campaign.occasion == "black_friday" and request.campaign.shop_url == "https://s"


def test_refused_by_the_mail_service_is_final() -> None:
    store = FakeStore(Stored(review()), order_context())
    s, delivered = sender(store, outcome="failed")
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW)[0] == "failed"
    assert store.stored.status == "skipped" and store.scheduled == []


@dataclass
class FakeIndex:
    due: dict
    saved: list = field(default_factory=list)
    claimed: set = field(default_factory=set)
    start: str | None = None

    def cursor(self):
        return self.start

    def save_cursor(self, bucket, now):
        self.saved.append(bucket)

    def due_in_bucket(self, bucket, shard, now, limit):
        keys = self.due.get((bucket, shard), [])
        return keys[:limit], len(keys) > limit

    def claim_for_enqueue(self, key, retry_at, now):
        if key in self.claimed:
            return False
        self.claimed.add(key)
        return True


@dataclass(frozen=True)
class Key:
    pk: str
    sk: str
    gsi3sk: str


class FakeQueue:
    def __init__(self) -> None:
        self.bodies: list = []

    def publish_batch(self, bodies, *, kind):
        self.bodies += bodies
        return len(bodies)


def test_sweep_catches_up_from_the_cursor_and_never_enqueues_twice() -> None:
    now = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)
    keys = [Key(f"P{i}", "S", "x") for i in range(3)]
    index = FakeIndex({("2026-06-08", 1): keys[:1], ("2026-06-10", 3): keys[1:]}, start="2026-06-08")
    queue = FakeQueue()
    result = d.sweep(index, queue, now, shards=4)
    assert result["enqueued"] == 3 and result["bucket_queries"] == 3 * 4 and index.saved == ["2026-06-10"]
    index.start = "2026-06-10"
    assert d.sweep(index, queue, now, shards=4)["enqueued"] == 0 and len(queue.bodies) == 3
    # A full bucket keeps the cursor there.
    index = FakeIndex({("2026-06-09", 0): keys}, start="2026-06-08")
    result = d.sweep(index, FakeQueue(), now, shards=1, limit=2)
    assert result["cursor"] == "2026-06-09" and result["bucket_queries"] == 3


def test_after_a_long_outage_the_sweep_catches_up_in_bounded_runs_and_skips_nothing() -> None:
    now = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)
    old = Key("P-old", "S", "x")  # due three weeks ago, while the scheduler was down
    index = FakeIndex({("2026-05-20", 0): [old]}, start="2026-05-18")
    queue = FakeQueue()
    first = d.sweep(index, queue, now, shards=1)
    assert first["bucket_queries"] == d.MAX_CATCH_UP_BUCKETS and first["cursor"] == "2026-05-25"
    assert first["enqueued"] == 1  # the old message is found, not skipped
    runs = 1
    while index.saved[-1] != "2026-06-10":
        index.start = index.saved[-1]
        d.sweep(index, queue, now, shards=1)
        runs += 1
    assert runs == 4 and len(queue.bodies) == 1


def test_a_retry_does_not_count_its_own_reservation_against_the_cap() -> None:
    # Reserved, then the mailer was unavailable: the retry must neither cap itself nor reserve twice.
    store = FakeStore(Stored(review(), pk="PK", sk="SK"), order_context(),
                      sends=[(NOW - timedelta(days=2), "other"), (NOW - timedelta(minutes=5), "PK|SK")])
    s, delivered = sender(store, MessagingSettings(frequency_cap=FrequencyCap(max_messages=2, per_days=7)))
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW) == ("sent", None)
    assert len(delivered) == 1 and store.reserved == []


def test_the_sender_reads_the_offer_the_campaign_fan_out_wrote() -> None:
    # The contract between messaging.campaigns (writes data) and messaging.due (reads it).
    from datetime import date

    from postpurchase.messaging.campaigns import CampaignIn, CustomerFacts, scheduled_message

    campaign = CampaignIn(campaign_id="bf", occasion="black_friday", send_on=date(2026, 11, 27),
                          offer={"discount_type": "amount", "value": "7.50", "min_spend": "30", "currency": "EUR",
                                 "valid_days": 5})
    facts = CustomerFacts(customer_id="c-1", order_count=1, bought_categories=frozenset(), locale="en",
                          timezone="Europe/Berlin", last_order_at=None)
    message = scheduled_message("m", campaign, facts)
    spec = d.offer_spec(message, MessagingSettings())
    assert spec == campaign.offer


def test_a_sent_birthday_offer_awards_the_birthday_bonus_once_for_its_year() -> None:
    birthday = rules.birthday_message("m", "c-1", date(1990, 4, 2), NOW - timedelta(days=30), "Europe/Istanbul")
    context = d.MessageContext(customer=CUSTOMER, customer_id="c-1", birthday=date(1990, 4, 2))
    store = FakeStore(Stored(birthday), context)
    bonuses: list = []
    s, delivered = sender(store)
    s = replace(s, birthday_bonus=lambda m, c, year, now: bonuses.append((m, c, year)))
    at = birthday.due_at + timedelta(minutes=1)
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=at), s, at)[0] == "sent"
    assert bonuses == [("m", "c-1", int(birthday.ref))] and len(delivered) == 1
    # A redelivery finds the message settled: nothing is sent or awarded again.
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=at), s, at)[0] == "nothing"
    assert len(bonuses) == 1


def test_a_message_the_cap_holds_past_its_expiry_is_recorded_as_skipped_with_the_reason() -> None:
    recent = [NOW - timedelta(days=1), NOW - timedelta(hours=5)]
    campaign = ScheduledMessage(merchant_id="m", kind="campaign", scope="customer", scope_id="c-1",
                                customer_id="c-1", ref="bf", due_at=NOW, expires_at=NOW + timedelta(days=2),
                                data={"campaign_id": "bf", "occasion": "black_friday"})
    store = FakeStore(Stored(campaign), d.MessageContext(customer=CUSTOMER, customer_id="c-1"), sends=recent)
    s, delivered = sender(store)
    skips: list = []
    s = replace(s, record_skip=lambda *args: skips.append(args))
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW) == ("expired", "frequency_cap")
    assert skips == [("m", ("customer", "c-1"), "campaign#bf", CUSTOMER.email, "frequency_cap", NOW)]
    # deferred (it can still go later) is not a skip
    store = FakeStore(Stored(review()), order_context(), sends=recent)
    s, _ = sender(store, MessagingSettings(frequency_cap=FrequencyCap(max_messages=2, per_days=7)))
    skips.clear()
    s = replace(s, record_skip=lambda *args: skips.append(args))
    assert d.send_due(d.MessageDue(pk="PK", sk="SK", enqueued_at=NOW), s, NOW)[0] == "deferred" and skips == []
