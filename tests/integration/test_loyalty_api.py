"""Loyalty points through the real handlers against moto: earning via the order-events consumer,
vesting, a partial return reversed through the return-events reaction, redemptions (in parallel,
replayed), tenant isolation, tiers, settings.

The coupon issuer and the message schedule belong to other capabilities: in-memory fakes stand
in for them (services.coupon_issuer / services.message_schedule)."""
from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest

MERCHANT = "demo-store"
CUSTOMER = "c-1"  # events/storefronts/api/order.json
SHIPMENT = {"carrier": "fedex", "tracking_number": "794698760140", "items": [{"sku": "MUG-1", "quantity": 2}]}
LABEL = {"action": "issue_label", "carrier": "ups", "tracking_number": "1Z999AA10123456784",
         "label_url": "https://labels.example/1Z999AA10123456784.pdf"}
SETTINGS = {"points_per_unit": "1", "review_bonus": 20, "birthday_bonus": 100, "expiry_months": 12,
            "notice_days": 14, "min_redemption": 10, "point_value": "0.05", "code_valid_days": 60}


class FakeCoupons:
    """rewards.ports.CouponIssuer: idempotent on (campaign, ref); can be told to fail."""

    def __init__(self) -> None:
        self.issued: dict[tuple[str, str], object] = {}
        self.fail = False
        self._lock = threading.Lock()

    def issue(self, merchant_id, customer_id, spec, *, campaign, ref, currency, now):
        from postpurchase.messaging.requests import OfferNotice

        if self.fail:
            raise ConnectionError("coupon service down")
        with self._lock:
            key = (campaign, ref)
            if key not in self.issued:
                self.issued[key] = OfferNotice(code=f"LOY-{len(self.issued) + 1:04d}", discount_type=spec.discount_type,
                                               value=spec.value, currency=currency,
                                               expires_at=now + timedelta(days=spec.valid_days))
            return self.issued[key]


class FakeSchedule:
    """The real message schedule, watched: the latest version of each points_expiring message by
    identity (the calendar's own kinds - anniversary, win-back - go through unrecorded)."""

    def __init__(self, real) -> None:
        self.real = real
        self.messages: dict[tuple, object] = {}
        self.cancelled: list[tuple] = []

    def schedule(self, message, now) -> None:
        if message.kind == "points_expiring":
            self.messages[(message.merchant_id, message.scope, message.scope_id, message.kind, message.ref)] = message
        self.real.schedule(message, now)

    def cancel(self, merchant_id, scope, scope_id, kind, ref, reason, now) -> None:
        if kind == "points_expiring":
            self.cancelled.append((merchant_id, scope, scope_id, kind, ref))
            self.messages.pop((merchant_id, scope, scope_id, kind, ref), None)
        self.real.cancel(merchant_id, scope, scope_id, kind, ref, reason, now)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def fakes(aws, monkeypatch):
    from postpurchase import services

    coupons, schedule = FakeCoupons(), FakeSchedule(services.message_schedule())
    for name, fake in (("coupon_issuer", coupons), ("message_schedule", schedule)):
        factory = lambda fake=fake: fake  # noqa: E731
        factory.cache_clear = lambda: None  # services.reset() clears every factory
        monkeypatch.setattr(services, name, factory)
    return coupons, schedule


def configure(aws, api_key: str | None = None, **overrides) -> dict:
    response = aws.client.put("/v1/settings/loyalty", headers=aws.auth(api_key),
                              body=aws.encode({**SETTINGS, **overrides}))
    assert response.status_code == 200, response.body
    return response.json_body


def place(aws, order_id: str = "1001", **fields) -> None:
    order = aws.api_order(order_id, placed_at=aws.clock.now(), **fields)
    assert aws.post_order(order).status_code == 202
    assert aws.pump_queue("OrderEventsQueue") == 1


def points(aws, customer: str = CUSTOMER, api_key: str | None = None) -> dict:
    response = aws.client.get(f"/v1/customers/{customer}/loyalty", headers=aws.auth(api_key))
    assert response.status_code == 200, response.body
    return response.json_body


def redeem(aws, amount: int, key: str | None = None, customer: str = CUSTOMER, api_key: str | None = None):
    headers = aws.auth(api_key)
    if key is not None:
        headers["Idempotency-Key"] = key
    return aws.client.post(f"/v1/customers/{customer}/loyalty/redemptions", headers=headers,
                           body=aws.encode({"points": amount, "currency": "USD"}))


def redeliver(aws, order_id: str) -> None:
    from postpurchase import services
    from postpurchase.orders.reactions import after_order_recorded
    from postpurchase.storage.orders import RecordedOrder

    order = services.order_store().get_order(MERCHANT, order_id)
    after_order_recorded(RecordedOrder(MERCHANT, order, CUSTOMER, False, False), aws.clock.now())


def birthday(aws, year: int = 2026, customer: str = CUSTOMER) -> None:
    from postpurchase import services

    services.loyalty().award_birthday_bonus(MERCHANT, customer, year, aws.clock.now())


# ------------------------------------------------------------------------------ earning and vesting


def test_an_order_earns_pending_points_that_vest_when_the_window_closes(aws, fakes):
    from postpurchase.orders.reactions import after_order_delivered

    configure(aws)
    place(aws)

    account = points(aws)
    assert (account["balance"], account["pending"]) == (0, 25)  # 2 x 12.50 at 1 point per unit
    earn = account["history"][0]
    assert (earn["kind"], earn["reason"], earn["order_id"], earn["sku"], earn["points"]) == (
        "earn", "order", "1001", "MUG-1", 25)
    assert earn["details"]["tier"] == "bronze" and earn["details"]["window"] == "delivery+30d"

    redeliver(aws, "1001")  # the order event again (SQS at least once): nothing earned twice
    assert points(aws)["pending"] == 25

    delivered = aws.clock.now() + timedelta(days=3)
    aws.clock.set(delivered)
    after_order_delivered(MERCHANT, "1001", delivered, delivered)
    after_order_delivered(MERCHANT, "1001", delivered, delivered)  # idempotent
    vesting = points(aws)["next_vesting"]
    assert vesting == {"at": (delivered + timedelta(days=31)).isoformat(), "points": 25}

    aws.clock.set(delivered + timedelta(days=31))
    account = points(aws)
    assert (account["balance"], account["pending"]) == (25, 0)
    assert [line["kind"] for line in account["history"]] == ["vesting", "earn"]


def test_points_without_a_delivery_vest_after_the_fallback_and_expiry_is_noticed(aws, fakes):
    _, schedule = fakes
    configure(aws, max_pending_days=60)
    placed = aws.clock.now()
    place(aws)

    assert points(aws)["balance"] == 0
    aws.clock.set(placed + timedelta(days=60))
    assert points(aws)["balance"] == 25

    # One notice per expiry date, due notice_days before: 12 months after vesting; the balance
    # is the one expected then.
    (message,) = schedule.messages.values()
    vested = placed + timedelta(days=60)
    expires = vested.replace(year=vested.year + 1)
    assert (message.kind, message.scope, message.customer_id, message.ref) == (
        "points_expiring", "customer", CUSTOMER, expires.date().isoformat())
    assert message.due_at == expires - timedelta(days=14)
    assert message.data == {"expiring_points": "25", "expires_at": expires.isoformat(), "balance": "25"}


def test_the_tier_multiplier_applies_from_twelve_months_spend(aws, fakes):
    configure(aws, tiers=[{"name": "bronze", "min_12m_spend": "0", "multiplier": "1"},
                          {"name": "silver", "min_12m_spend": "20", "multiplier": "2"}])
    place(aws, "1001")
    place(aws, "1002")

    account = points(aws)
    first, second = sorted((line for line in account["history"] if line["kind"] == "earn"),
                           key=lambda line: line["order_id"])
    assert (first["points"], first["details"]["tier"]) == (25, "bronze")
    assert (second["points"], second["details"]["tier"], second["details"]["tier_multiplier"]) == (50, "silver", "2")
    assert account["tier"] == {"name": "silver", "multiplier": "2", "spend_12m": "50.00", "next": None}


# ------------------------------------------------------------------------------ returns


def test_a_partial_return_reverses_its_share_through_the_reaction(aws, fakes):
    configure(aws)
    place(aws)
    assert aws.post_shipment("1001", SHIPMENT).status_code == 201
    assert aws.pump_queue("OrderEventsQueue") == 1
    rma = aws.client.post("/v1/orders/1001/returns", headers=aws.auth(), body=aws.encode(
        {"items": [{"sku": "MUG-1", "quantity": 2}], "reason": "damaged", "resolution": "refund"})).json_body
    for command in (LABEL, {"action": "receive"},
                    {"action": "inspect", "lines": [{"sku": "MUG-1", "accepted_quantity": 1}]},
                    {"action": "resolve", "resolution": {"kind": "refund", "amount": "12.50"}}):
        response = aws.client.post(f"/v1/orders/1001/returns/{rma['rma_id']}/transitions", headers=aws.auth(),
                                   body=aws.encode(command))
        assert response.status_code == 200, (command, response.body)
    aws.pump.drain()

    account = points(aws)
    assert account["pending"] == 13  # 25 - floor(25 x 1/2)
    reversal = account["history"][0]
    assert (reversal["kind"], reversal["reason"], reversal["rma_id"], reversal["points"]) == (
        "reverse", "return", rma["rma_id"], -12)
    assert reversal["details"]["units_returned"] == "1" and reversal["details"]["from_item"] == "12"
    assert account["tier"]["spend_12m"] == "12.50"  # net of the return

    from postpurchase import services  # a redelivered resolution reverses nothing twice
    from postpurchase.returns.rma import ReturnRequest
    from postpurchase.orders.reactions import after_return_resolved

    stored = ReturnRequest.model_validate_json(aws.items_of_type("return")[0]["document"])
    after_return_resolved(MERCHANT, "1001", stored, aws.clock.now())
    assert points(aws)["pending"] == 13
    assert services.loyalty_store().ledger(MERCHANT, CUSTOMER).revision == 2


def test_a_cancelled_order_reverses_its_points_through_the_consumer_and_spent_points_become_debt(aws, fakes):
    from postpurchase.orders.events import OrderCancelled

    configure(aws, pending_rule="immediate")
    place(aws)
    assert points(aws)["balance"] == 25
    assert redeem(aws, 20, key="spent").status_code == 201
    cancel = OrderCancelled(event_id="api:1001:cancel", merchant_id=MERCHANT, source="api",
                            received_at=aws.clock.now(), order_id="1001", cancelled_at=aws.clock.now(),
                            reason="customer").model_dump_json()

    for _ in range(2):  # delivered twice: reversed once
        assert aws.deliver(aws.order_events, aws.sqs_event([cancel])) == []

    account = points(aws)
    assert (account["balance"], account["debt"], account["pending"]) == (0, 20, 0)
    reversal = account["history"][0]
    assert (reversal["kind"], reversal["reason"], reversal["points"]) == ("reverse", "cancelled", -25)
    assert (reversal["details"]["from_item"], reversal["details"]["debt"]) == ("5", "20")
    birthday(aws)  # the next points pay the debt first
    assert (points(aws)["balance"], points(aws)["debt"]) == (80, 0)


# ------------------------------------------------------------------------------ redemption


def test_redeeming_turns_points_into_a_code_and_refuses_more_than_the_balance(aws, fakes):
    coupons, _ = fakes
    configure(aws)
    birthday(aws)

    response = redeem(aws, 60, key="checkout-1")

    assert response.status_code == 201, response.body
    body = response.json_body
    assert (body["points"], body["value"], body["currency"], body["balance"]) == (60, "3.00", "USD", 40)
    assert body["code"]["code"] == "LOY-0001" and Decimal(body["code"]["value"]) == Decimal("3.00")
    assert list(coupons.issued) == [("loyalty", body["redemption_id"])]
    account = points(aws)
    assert account["balance"] == 40
    assert account["history"][0]["kind"] == "redeem" and account["history"][0]["code"] == "LOY-0001"

    refused = redeem(aws, 41, key="checkout-2")
    assert refused.status_code == 422
    assert refused.json_body["error"]["reason"] == "insufficient_points"
    assert refused.json_body["error"]["available"] == 40
    assert redeem(aws, 5).json_body["error"]["reason"] == "below_minimum"
    bad = aws.client.post(f"/v1/customers/{CUSTOMER}/loyalty/redemptions", headers=aws.auth(),
                          body=aws.encode({"points": "ten", "currency": "USD"}))
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "points"
    assert points(aws)["balance"] == 40


def test_a_replayed_redemption_returns_the_same_code_and_takes_points_once(aws, fakes):
    coupons, _ = fakes
    configure(aws)
    birthday(aws)
    coupons.fail = True

    failed = redeem(aws, 30, key="k-1")
    assert failed.status_code == 503, failed.body  # the points are reserved, the code is not issued
    assert points(aws)["balance"] == 70
    coupons.fail = False

    first = redeem(aws, 30, key="k-1")
    again = redeem(aws, 30, key="k-1")

    assert first.status_code == again.status_code == 200
    assert first.json_body == again.json_body
    assert first.json_body["balance"] == 70 and len(coupons.issued) == 1
    assert redeem(aws, 31, key="k-1").status_code == 409  # same key, another redemption
    assert points(aws)["balance"] == 70


def test_parallel_redemptions_never_overdraw(aws, fakes, monkeypatch):
    """Five checkouts of 30 points each against 100 points: exactly three win. All five read the
    same ledger before any writes (a barrier), so four lose the first race and decide again."""
    from postpurchase import services
    from postpurchase.errors import NotAllowed
    from postpurchase.rewards.loyalty_service import RedemptionIn
    from postpurchase.storage.loyalty import DynamoLoyaltyStore, StaleLedger

    configure(aws)
    birthday(aws)
    racers = 5
    barrier = threading.Barrier(racers)
    first_read: set[int] = set()
    # moto is not thread-safe (a Query during a transaction can fail): each call is atomic here,
    # and what is tested is our read-judge-write, the barrier making every reader judge first.
    lock = threading.Lock()
    stale: list[int] = []
    original_ledger, original_append = DynamoLoyaltyStore.ledger, DynamoLoyaltyStore.append

    def ledger(self, *args, **kwargs):
        with lock:
            found = original_ledger(self, *args, **kwargs)
        if threading.get_ident() not in first_read:
            first_read.add(threading.get_ident())
            barrier.wait(timeout=20)
        return found

    def append(self, *args, **kwargs):
        with lock:
            try:
                return original_append(self, *args, **kwargs)
            except StaleLedger:
                stale.append(1)
                raise

    monkeypatch.setattr(DynamoLoyaltyStore, "ledger", ledger)
    monkeypatch.setattr(DynamoLoyaltyStore, "append", append)
    service, now = services.loyalty(), aws.clock.now()
    outcomes: list = [None] * racers

    def run(index: int) -> None:
        try:
            outcomes[index] = service.redeem(MERCHANT, CUSTOMER, RedemptionIn(points=30, currency="USD"),
                                             f"race-{index}", now)[0]["points"]
        except NotAllowed as error:
            outcomes[index] = error.details["reason"]
        except BaseException as error:  # noqa: BLE001 - reported below
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(map(str, outcomes)) == ["30", "30", "30", "insufficient_points", "insufficient_points"]
    assert len(stale) >= racers - 1
    monkeypatch.setattr(DynamoLoyaltyStore, "ledger", original_ledger)
    assert points(aws)["balance"] == 10
    assert len(fakes[0].issued) == 3


def test_a_ledger_read_that_misses_entries_of_its_revision_is_read_again(aws, fakes, monkeypatch):
    """DynamoDB's Query is read-committed, not a snapshot: seeing the revision of a transaction
    without all its entries must not let a redemption be judged on a partial ledger."""
    from postpurchase import services
    from postpurchase.errors import RetryLater
    from postpurchase.storage.table import LoyaltyEntryRecord, Record

    configure(aws)
    birthday(aws)
    store = services.loyalty_store()
    assert store.ledger(MERCHANT, CUSTOMER).revision == 1
    original = Record.query
    monkeypatch.setattr(Record, "query", classmethod(
        lambda cls, *args, **kwargs: [r for r in original(*args, **kwargs) if not isinstance(r, LoyaltyEntryRecord)]))
    with pytest.raises(RetryLater):
        store.ledger(MERCHANT, CUSTOMER)


# ------------------------------------------------------------------------------ tenants and settings


def test_another_merchant_sees_none_of_the_points(aws, fakes, other_store):
    configure(aws)
    birthday(aws)

    theirs = points(aws, api_key=other_store)
    assert (theirs["balance"], theirs["history"], theirs["program_enabled"]) == (0, [], False)
    refused = redeem(aws, 50, api_key=other_store)
    assert refused.status_code == 422 and refused.json_body["error"]["reason"] == "loyalty_disabled"
    configure(aws, api_key=other_store)
    assert redeem(aws, 50, api_key=other_store).json_body["error"]["reason"] == "insufficient_points"
    assert points(aws)["balance"] == 100
    unauthenticated = aws.client.get(f"/v1/customers/{CUSTOMER}/loyalty")
    assert unauthenticated.status_code == 401


def test_settings_round_trip_and_bad_settings_name_the_field(aws, fakes):
    assert aws.client.get("/v1/settings/loyalty", headers=aws.auth()).json_body["enabled"] is False
    saved = configure(aws, category_multipliers={"Home": "2"})
    assert saved["category_multipliers"] == {"home": "2"}
    got = aws.client.get("/v1/settings/loyalty", headers=aws.auth()).json_body
    assert got == saved and got["enabled"] is True

    bad = aws.client.put("/v1/settings/loyalty", headers=aws.auth(), body=aws.encode({"min_redemption": 0}))
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "min_redemption"
    bad_id = aws.client.get(f"/v1/customers/{'c' * 129}/loyalty", headers=aws.auth())
    assert bad_id.status_code == 400 and bad_id.json_body["error"]["field"] == "customer_id"

    place(aws)  # the category multiplier applies to the home mug
    assert points(aws)["pending"] == 50
