"""LoyaltyService (postpurchase.rewards.loyalty_service) on in-memory fakes: the reactions, bonuses,
redemption and expiry notices, with the store's revision check and lost races."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest

from postpurchase.errors import Conflict, NotAllowed, RetryLater, ServiceUnavailable
from postpurchase.messaging.requests import OfferNotice
from postpurchase.orders.models import Order
from postpurchase.returns.policy import DEFAULT_POLICY
from postpurchase.rewards.loyalty import LoyaltySettings, account
from postpurchase.rewards.loyalty_service import LoyaltyService, RedemptionIn, earn_id

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
M, C = "shop", "c-1"


class Stale(Exception):
    pass


@dataclass
class Ledger:
    entries: list
    revision: int

    def has(self, entry_id):
        return any(e.entry_id == entry_id for e in self.entries)

    def get(self, entry_id):
        return next((e for e in self.entries if e.entry_id == entry_id), None)


class Store:
    def __init__(self, settings=None):
        self.entries: dict[tuple, list] = {}
        self.revisions: dict[tuple, int] = {}
        self._settings = settings
        self.lose_races = 0  # the next N appends find the ledger changed
        self.appends = 0

    def ledger(self, merchant_id, customer_id, consistent=True):
        key = (merchant_id, customer_id)
        return Ledger(list(self.entries.get(key, [])), self.revisions.get(key, 0))

    def append(self, merchant_id, customer_id, entries, expected_revision, now):
        key = (merchant_id, customer_id)
        if self.lose_races:
            self.lose_races -= 1
            raise Stale()
        assert self.revisions.get(key, 0) == expected_revision
        ids = {e.entry_id for e in self.entries.get(key, [])}
        assert not ids & {e.entry_id for e in entries}
        self.entries.setdefault(key, []).extend(entries)
        self.revisions[key] = expected_revision + 1
        self.appends += 1
        return expected_revision + 1

    def set_code(self, merchant_id, customer_id, entry, code):
        items = self.entries[(merchant_id, customer_id)]
        items[[e.entry_id for e in items].index(entry.entry_id)] = entry.model_copy(update={"code": code})

    def settings(self, merchant_id):
        return self._settings

    def save_settings(self, merchant_id, settings, now):
        self._settings = settings


class Policies:
    def version_in_force(self, merchant_id, at):
        return 0

    def version(self, merchant_id, version):
        return DEFAULT_POLICY


class Coupons:
    def __init__(self):
        self.calls = []
        self.fail = False

    def issue(self, merchant_id, customer_id, spec, *, campaign, ref, currency, now):
        self.calls.append((campaign, ref, spec.value))
        if self.fail:
            raise TimeoutError("down")
        return OfferNotice(code=f"C-{ref[:6]}", discount_type="amount", value=spec.value, currency=currency)


class Schedule:
    def __init__(self):
        self.messages = {}
        self.cancelled = []

    def schedule(self, message, now):
        self.messages[message.ref] = message

    def cancel(self, merchant_id, scope, scope_id, kind, ref, reason, now):
        self.cancelled.append(ref)
        self.messages.pop(ref, None)


def order(order_id="1001", items=None) -> Order:
    return Order.model_validate({
        "order_id": order_id, "placed_at": NOW.isoformat(), "currency": "USD",
        "customer": {"id": C, "email": "a@b.co"},
        "totals": {"subtotal": "41.50", "shipping": "0.00", "tax": "0.00", "total": "41.50"},
        "items": items or [{"sku": "MUG-1", "title": "Mug", "quantity": 2, "price": "12.50", "category": "home"},
                           {"sku": "MUG-1", "title": "Mug", "quantity": 1, "price": "12.50", "category": "home"},
                           {"sku": "SALE", "title": "Sock", "quantity": 1, "price": "4.00", "category": "clearance"}]})


def build(settings=LoyaltySettings(min_redemption=10, expiry_months=12, notice_days=10)):
    store, coupons, schedule = Store(settings), Coupons(), Schedule()
    service = LoyaltyService(store, Policies(), lambda m, o: C, lambda: coupons, lambda: schedule, Stale)
    return service, store, coupons, schedule


def recorded(o: Order):
    return SimpleNamespace(merchant_id=M, order=o, customer_id=C, is_first_order=True, newly_recorded=True)


def state(store, at=NOW):
    return account(store.ledger(M, C).entries, store.settings(M), at)


def test_no_program_no_points():
    service, store, _, _ = build(settings=None)
    service.on_order_recorded(recorded(order()), NOW)
    assert store.appends == 0
    with pytest.raises(NotAllowed):
        service.redeem(M, C, RedemptionIn(points=10, currency="USD"), None, NOW)


def test_an_order_earns_per_sku_final_sale_vests_at_once_and_a_redelivery_adds_nothing():
    service, store, _, schedule = build()
    service.on_order_recorded(recorded(order()), NOW)
    service.on_order_recorded(recorded(order()), NOW + timedelta(minutes=5))
    now = state(store)
    assert (now.pending, now.available) == (37, 4)  # 3 mugs pending; the clearance sock is final sale
    assert store.appends == 1
    assert set(schedule.messages) == {"2027-11-20", "2028-02-18"}  # 12 months after each vesting


def test_cancel_reverses_every_earn_of_the_order_once():
    service, store, _, _ = build()
    service.on_order_recorded(recorded(order()), NOW)
    service.on_order_cancelled(M, "1001", NOW + timedelta(hours=1))
    service.on_order_cancelled(M, "1001", NOW + timedelta(hours=2))
    now = state(store, NOW + timedelta(hours=3))
    assert (now.pending, now.available, now.debt) == (0, 0, 0)
    assert store.appends == 2


def test_an_exchange_keeps_the_points_and_a_refund_reverses_the_accepted_units():
    service, store, _, _ = build()
    service.on_order_recorded(recorded(order()), NOW)
    exchange = SimpleNamespace(rma_id="R-1", resolution=SimpleNamespace(kind=SimpleNamespace(value="exchange")),
                               inspection=None, lines=[SimpleNamespace(sku="MUG-1", quantity=3)])
    service.on_return_resolved(M, "1001", exchange, NOW)
    assert state(store).pending == 37
    refund = SimpleNamespace(rma_id="R-2", resolution=SimpleNamespace(kind=SimpleNamespace(value="refund")),
                             inspection=[SimpleNamespace(sku="MUG-1", accepted_quantity=1)],
                             lines=[SimpleNamespace(sku="MUG-1", quantity=3)])
    service.on_return_resolved(M, "1001", refund, NOW)
    service.on_return_resolved(M, "1001", refund, NOW)
    assert state(store).pending == 37 - 12  # floor(37 x 1/3)


def test_delivery_sets_vesting_from_the_window():
    service, store, _, _ = build()
    service.on_order_recorded(recorded(order()), NOW)
    delivered = NOW + timedelta(days=2)
    service.on_order_delivered(M, "1001", delivered, delivered)
    now = state(store, delivered)
    assert now.next_vesting_at == delivered + timedelta(days=31) and now.next_vesting_points == 37


def test_bonuses_are_once_each_and_a_review_needs_an_earn():
    service, store, _, _ = build()
    assert service.award_review_bonus(M, C, "1001", "MUG-1", NOW) is None
    service.on_order_recorded(recorded(order()), NOW)
    assert service.award_review_bonus(M, C, "1001", "MUG-1", NOW).points == 50
    assert service.award_review_bonus(M, C, "1001", "MUG-1", NOW) is None
    assert service.award_birthday_bonus(M, C, 2026, NOW).points == 100
    assert service.award_birthday_bonus(M, C, 2026, NOW) is None
    assert state(store).available == 4 + 50 + 100


def test_a_lost_race_is_decided_again_and_endless_races_ask_for_a_retry():
    service, store, _, _ = build()
    store.lose_races = 2
    service.award_birthday_bonus(M, C, 2026, NOW)
    assert state(store).available == 100
    store.lose_races = 100
    with pytest.raises(RetryLater):
        service.award_birthday_bonus(M, C, 2027, NOW)
    with pytest.raises(Conflict):
        service.redeem(M, C, RedemptionIn(points=10, currency="USD"), "k", NOW)


def test_redemption_codes_are_issued_once_per_key_even_after_a_failure():
    service, store, coupons, schedule = build()
    service.award_birthday_bonus(M, C, 2026, NOW)
    coupons.fail = True
    with pytest.raises(ServiceUnavailable):
        service.redeem(M, C, RedemptionIn(points=40, currency="USD"), "key-1", NOW)
    coupons.fail = False
    document, created = service.redeem(M, C, RedemptionIn(points=40, currency="USD"), "key-1", NOW)
    assert not created and document["balance"] == 60 and document["value"] == "0.40"
    again, _ = service.redeem(M, C, RedemptionIn(points=40, currency="USD"), "key-1", NOW)
    assert again == document
    assert {ref for _, ref, _ in coupons.calls} == {document["redemption_id"]}
    assert state(store).history[-1].code == document["code"]["code"]
    with pytest.raises(Conflict):
        service.redeem(M, C, RedemptionIn(points=41, currency="USD"), "key-1", NOW)
    with pytest.raises(NotAllowed) as refused:
        service.redeem(M, C, RedemptionIn(points=61, currency="USD"), "key-2", NOW)
    assert refused.value.details == {"reason": "insufficient_points", "available": 60}


def test_spending_every_point_of_an_expiry_date_cancels_its_notice():
    service, store, _, schedule = build()
    service.award_birthday_bonus(M, C, 2026, NOW)
    (notice,) = schedule.messages.values()
    assert notice.due_at == NOW + timedelta(days=365 - 10) and notice.data["expiring_points"] == "100"
    service.redeem(M, C, RedemptionIn(points=100, currency="USD"), "all", NOW)
    assert schedule.messages == {} and schedule.cancelled == ["2027-11-20"]


def test_no_schedule_yet_is_not_an_error():
    store = Store(LoyaltySettings())

    def missing():
        raise NotImplementedError

    service = LoyaltyService(store, Policies(), lambda m, o: C, missing, missing, Stale)
    service.award_birthday_bonus(M, C, 2026, NOW)
    assert state(store).available == 100


def test_earn_ids_are_stable_and_key_safe():
    assert earn_id("1001", "TSHIRT #RED L") == earn_id("1001", "TSHIRT #RED L")
    assert "#" not in earn_id("1001", "TSHIRT #RED L") and earn_id("1001", "A") != earn_id("1002", "A")
    assert Decimal("0.40") == Decimal("40") * LoyaltySettings().point_value
