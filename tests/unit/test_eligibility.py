"""Return eligibility per item (postpurchase.returns.eligibility): examples and properties."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postpurchase.orders.models import Order, Shipment
from postpurchase.returns.eligibility import REASON_PRECEDENCE, ShipmentFacts, eligibility
from postpurchase.returns.policy import DEFAULT_POLICY, CategoryRule, Resolution, ReturnPolicy
from postpurchase.tracking.state import ShipmentTracking

UTC = timezone.utc
PLACED = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def make_order(*items: tuple[str, int, str | None], tz: str | None = None) -> Order:
    return Order.model_validate(
        {
            "order_id": "1001",
            "placed_at": PLACED.isoformat(),
            "currency": "USD",
            "customer": {"email": "a@example.com", "timezone": tz},
            "items": [
                {"sku": sku, "title": sku, "quantity": qty, "price": "10.00", "category": category}
                for sku, qty, category in items
            ],
            "totals": {"subtotal": "10.00", "total": "10.00"},
        }
    )


def shipped(days_after_order: float, *items: tuple[str, int], delivered_after: float | None = None) -> ShipmentFacts:
    return ShipmentFacts(
        items=[{"sku": sku, "quantity": qty} for sku, qty in items] or None,
        fulfilled_at=PLACED + timedelta(days=days_after_order),
        delivered_at=PLACED + timedelta(days=delivered_after) if delivered_after is not None else None,
    )


def policy(version: int = 1, **rule) -> ReturnPolicy:
    base = {
        "window_days": 30,
        "window_starts": "delivery",
        "delivery_grace_days": 5,
        "resolutions": ["refund", "store_credit", "exchange"],
        "auto_approve": True,
    }
    return ReturnPolicy.model_validate(
        {
            **DEFAULT_POLICY.model_dump(mode="json"),
            "version": version,
            "default_rule": {**base, **rule},
        }
    )


def one(order, shipments, now, returned=None, pol=DEFAULT_POLICY, tz=None):
    (result,) = eligibility(order, shipments, returned or {}, pol, now, tz)
    return result


# --- examples -----------------------------------------------------------------------------------


def test_delivered_item_is_returnable_until_window_end_inclusive():
    order = make_order(("TEE", 2, "shirts"))
    ships = [shipped(1, delivered_after=4)]  # delivered 2025-03-05 10:00 UTC
    result = one(order, ships, PLACED + timedelta(days=10))
    assert result.returnable and result.reason is None
    assert result.returnable_quantity == 2
    assert result.last_day == date(2025, 4, 4)
    assert result.resolutions == set(Resolution)
    last_moment = datetime(2025, 4, 4, 23, 59, 59, tzinfo=UTC)
    assert one(order, ships, last_moment).returnable
    closed = one(order, ships, last_moment + timedelta(seconds=1))
    assert closed.reason == "window_closed" and closed.returnable_quantity == 0
    assert closed.resolutions == set() and closed.last_day == date(2025, 4, 4)


def test_no_delivery_scan_counts_from_fulfilment_plus_grace():
    order = make_order(("TEE", 1, None))
    result = one(order, [shipped(2)], PLACED)  # fulfilled 03-03, + 5 grace = 03-08, + 30
    assert result.last_day == date(2025, 4, 7)


def test_delivery_window_uses_the_latest_shipment_carrying_the_sku():
    order = make_order(("TEE", 2, None), ("CAP", 1, None))
    ships = [
        shipped(1, ("TEE", 1), ("CAP", 1), delivered_after=3),
        shipped(5, ("TEE", 1), delivered_after=9),
    ]
    tee, cap = eligibility(order, ships, {}, DEFAULT_POLICY, PLACED)
    assert tee.last_day == date(2025, 3, 10) + timedelta(days=30)
    assert cap.last_day == date(2025, 3, 4) + timedelta(days=30)
    # Mixed: one delivered, one without a scan: the latter counts from fulfilment + grace.
    ships[1] = shipped(5, ("TEE", 1))
    tee, _ = eligibility(order, ships, {}, DEFAULT_POLICY, PLACED)
    assert tee.last_day == date(2025, 3, 11) + timedelta(days=30)


def test_window_from_fulfilment_and_from_order():
    order = make_order(("TEE", 1, None))
    ships = [shipped(2, delivered_after=20)]
    assert one(order, ships, PLACED, pol=policy(window_starts="fulfilment")).last_day == date(2025, 3, 3) + timedelta(days=30)
    assert one(order, ships, PLACED, pol=policy(window_starts="order")).last_day == date(2025, 3, 31)


def test_last_day_is_in_the_customer_time_zone():
    order = make_order(("TEE", 1, None), tz="Pacific/Auckland")
    ships = [ShipmentFacts(fulfilled_at=PLACED, delivered_at=datetime(2025, 3, 5, 13, 0, tzinfo=UTC))]
    # 03-05 13:00 UTC + 30 days = 04-04 13:00 UTC = 04-05 02:00 in Auckland.
    assert one(order, ships, PLACED).last_day == date(2025, 4, 5)
    assert one(order, ships, PLACED, tz="UTC").last_day == date(2025, 4, 4)
    assert one(order, ships, PLACED, tz="America/New_York").last_day == date(2025, 4, 4)
    # 04-05 03:00 UTC: already 04-05 in UTC (closed), still 04-04 23:00 in New York (open).
    late_evening_ny = datetime(2025, 4, 5, 3, 0, tzinfo=UTC)
    assert one(order, ships, late_evening_ny, tz="UTC").reason == "window_closed"
    assert one(order, ships, late_evening_ny, tz="America/New_York").returnable
    # Auckland (+13): 04-05 10:59 UTC is 04-05 23:59 there (open); 11:00 UTC is 04-06 (closed).
    assert one(order, ships, datetime(2025, 4, 5, 10, 59, tzinfo=UTC)).returnable
    assert one(order, ships, datetime(2025, 4, 5, 11, 0, tzinfo=UTC)).reason == "window_closed"


def test_not_yet_shipped_partial_shipment_and_already_returned():
    order = make_order(("TEE", 3, None), ("CAP", 1, None))
    ships = [shipped(1, ("TEE", 2), delivered_after=3)]
    tee, cap = eligibility(order, ships, {}, DEFAULT_POLICY, PLACED + timedelta(days=5))
    assert tee.returnable_quantity == 2
    assert cap.reason == "not_yet_shipped" and cap.last_day is None and cap.returnable_quantity == 0
    tee, _ = eligibility(order, ships, {"TEE": 1}, DEFAULT_POLICY, PLACED + timedelta(days=5))
    assert tee.returnable_quantity == 1
    tee, _ = eligibility(order, ships, {"TEE": 2}, DEFAULT_POLICY, PLACED + timedelta(days=5))
    assert tee.reason == "already_returned" and tee.returnable_quantity == 0


def test_shipment_without_items_carries_everything():
    order = make_order(("TEE", 3, None), ("CAP", 1, None))
    results = eligibility(order, [shipped(1)], {}, DEFAULT_POLICY, PLACED)
    assert [(r.sku, r.returnable_quantity) for r in results] == [("TEE", 3), ("CAP", 1)]


def test_same_sku_on_two_lines_is_counted_together():
    order = make_order(("TEE", 1, None), ("TEE", 2, None))
    (result,) = eligibility(order, [shipped(1)], {}, DEFAULT_POLICY, PLACED)
    assert result.returnable_quantity == 3


def test_final_sale_and_non_returnable_categories():
    order = make_order(("A", 1, "Clearance"), ("B", 1, "gift_card"), ("C", 1, "shoes"))
    a, b, c = eligibility(order, [shipped(1, delivered_after=2)], {}, DEFAULT_POLICY, PLACED)
    assert (a.reason, a.last_day) == ("final_sale", None)
    assert (b.reason, b.last_day) == ("non_returnable", None)
    assert c.returnable


def test_window_days_zero_means_non_returnable():
    order = make_order(("TEE", 1, None))
    result = one(order, [shipped(1, delivered_after=2)], PLACED, pol=policy(window_days=0, auto_approve=False))
    assert result.reason == "non_returnable"


def test_reason_precedence():
    assert REASON_PRECEDENCE == ("non_returnable", "final_sale", "not_yet_shipped", "already_returned", "window_closed")
    order = make_order(("A", 1, "underwear"), ("B", 1, "clearance"), ("C", 1, None), ("D", 1, None))
    late = PLACED + timedelta(days=400)
    ships = [shipped(1, ("D", 1), delivered_after=2)]
    a, b, c, d = eligibility(order, ships, {"A": 1, "B": 1, "D": 1}, DEFAULT_POLICY, late)
    assert [a.reason, b.reason, c.reason, d.reason] == ["non_returnable", "final_sale", "not_yet_shipped", "already_returned"]


def test_category_rule_applies():
    pol = ReturnPolicy.model_validate(
        {
            **DEFAULT_POLICY.model_dump(mode="json"),
            "categories": {"shoes": {"window_days": 7, "resolutions": ["exchange"]}},
        }
    )
    order = make_order(("S", 1, "Shoes"))
    result = one(order, [shipped(0, delivered_after=1)], PLACED, pol=pol)
    assert result.last_day == date(2025, 3, 9) and result.resolutions == {Resolution.EXCHANGE}


def test_from_shipment_and_tracking():
    shipment = Shipment.model_validate(
        {"shipment_id": "s1", "carrier": "ups", "tracking_number": "1Z", "created_at": "2025-03-02T10:00:00", "items": []}
    )
    delivered = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
    facts = ShipmentFacts.from_shipment(shipment, ShipmentTracking(delivered_at=delivered))
    assert facts.items is None and facts.fulfilled_at == datetime(2025, 3, 2, 10, 0, tzinfo=UTC)
    assert facts.delivered_at == delivered
    assert ShipmentFacts.from_shipment(shipment).delivered_at is None


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        eligibility(make_order(("TEE", 1, None)), [], {}, DEFAULT_POLICY, datetime(2025, 3, 1))


# --- properties ---------------------------------------------------------------------------------

SKUS = ["A", "B", "C"]
CATEGORIES = [None, "shirts", "clearance", "underwear"]
ZONES = ["UTC", "Pacific/Auckland", "America/New_York", "Asia/Kolkata", "Pacific/Kiritimati"]


@st.composite
def scenarios(draw):
    lines = draw(
        st.lists(
            st.tuples(st.sampled_from(SKUS), st.integers(1, 5), st.sampled_from(CATEGORIES)),
            min_size=1,
            max_size=4,
        )
    )
    order = make_order(*lines)
    ships = draw(
        st.lists(
            st.builds(
                lambda fulfil, items, delivered: shipped(fulfil, *items, delivered_after=delivered),
                st.floats(0, 20, allow_nan=False),
                st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 6)), max_size=3),
                st.none() | st.floats(20, 40, allow_nan=False),
            ),
            max_size=3,
        )
    )
    returned = draw(st.dictionaries(st.sampled_from(SKUS), st.integers(0, 8)))
    now = PLACED + timedelta(hours=draw(st.integers(0, 24 * 120)))
    tz = draw(st.sampled_from(ZONES))
    pol = policy(
        window_days=draw(st.integers(0, 90)),
        window_starts=draw(st.sampled_from(["delivery", "fulfilment", "order"])),
        delivery_grace_days=draw(st.integers(0, 10)),
        auto_approve=False,
    )
    return order, ships, returned, pol, now, tz


def bought(order: Order) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in order.items:
        counts[item.sku] = counts.get(item.sku, 0) + item.quantity
    return counts


def shipped_units(order: Order, ships: list[ShipmentFacts]) -> dict[str, int]:
    return {sku: sum(f.quantity_of(sku, qty) for f in ships) for sku, qty in bought(order).items()}


@settings(max_examples=300)
@given(scenarios())
def test_returnable_quantity_is_bounded(scenario):
    order, ships, returned, pol, now, tz = scenario
    results = eligibility(order, ships, returned, pol, now, tz)
    units, sent = bought(order), shipped_units(order, ships)
    assert [r.sku for r in results] == list(units)
    for r in results:
        assert 0 <= r.returnable_quantity <= units[r.sku]
        assert r.returnable_quantity <= sent[r.sku]
        assert r.returnable_quantity <= max(0, sent[r.sku] - returned.get(r.sku, 0))


@settings(max_examples=300)
@given(scenarios())
def test_returnable_iff_no_reason(scenario):
    for r in eligibility(*scenario):
        assert r.returnable == (r.reason is None)
        assert r.reason is None or r.reason in REASON_PRECEDENCE
        if r.returnable:
            assert r.returnable_quantity > 0 and r.resolutions and r.last_day is not None
        else:
            assert r.returnable_quantity == 0 and not r.resolutions


@settings(max_examples=300)
@given(scenarios(), st.integers(0, 24 * 400))
def test_later_now_never_makes_an_item_returnable(scenario, later_hours):
    order, ships, returned, pol, now, tz = scenario
    before = eligibility(order, ships, returned, pol, now, tz)
    after = eligibility(order, ships, returned, pol, now + timedelta(hours=later_hours), tz)
    for b, a in zip(before, after, strict=True):
        assert b.last_day == a.last_day
        if not b.returnable:
            assert not a.returnable and a.reason == b.reason


@settings(max_examples=300)
@given(scenarios(), st.integers(1, 365), st.integers(1, 365))
def test_last_day_is_monotone_in_window_days(scenario, days_a, days_b):
    order, ships, returned, pol, now, tz = scenario
    short, long_ = sorted((days_a, days_b))

    def with_days(days: int) -> ReturnPolicy:
        return pol.model_copy(update={"default_rule": pol.default_rule.model_copy(update={"window_days": days})})

    for s, l in zip(
        eligibility(order, ships, returned, with_days(short), now, tz),
        eligibility(order, ships, returned, with_days(long_), now, tz),
        strict=True,
    ):
        assert (s.last_day is None) == (l.last_day is None)
        if s.last_day is not None:
            assert s.last_day <= l.last_day
        if s.returnable:  # a longer window never closes an open one
            assert l.returnable and l.returnable_quantity == s.returnable_quantity


@settings(max_examples=200)
@given(scenarios(), st.integers(0, 365), st.sampled_from(["delivery", "fulfilment", "order"]))
def test_a_new_policy_version_does_not_change_eligibility_under_the_recorded_one(scenario, days, starts):
    order, ships, returned, v1, now, tz = scenario
    recorded_version = v1.version  # what the order stored when it was placed
    before = eligibility(order, ships, returned, v1, now, tz)
    v2 = ReturnPolicy.model_validate(
        {
            **v1.model_dump(mode="json"),
            "version": v1.version + 1,
            "default_rule": {**v1.default_rule.model_dump(mode="json"), "window_days": days, "window_starts": starts},
            "final_sale_categories": ["shirts"],
        }
    )
    versions = {p.version: p for p in (v1, v2)}
    assert eligibility(order, ships, returned, versions[recorded_version], now, tz) == before
    assert v1.default_rule.window_days != days or v1 != v2  # v2 really is a different policy


def test_a_new_policy_version_example():
    order = make_order(("TEE", 1, "shirts"))
    ships = [shipped(1, delivered_after=3)]
    now = PLACED + timedelta(days=20)
    v1 = policy(version=1)
    v2 = policy(version=2, window_days=7)
    assert one(order, ships, now, pol=v1).returnable
    assert one(order, ships, now, pol=v2).reason == "window_closed"
    # The order recorded v1: the edit to v2 does not apply backwards.
    recorded = {1: v1, 2: v2}[1]
    assert one(order, ships, now, pol=recorded).returnable
