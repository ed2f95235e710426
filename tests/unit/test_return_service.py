"""Returns against what is stored (postpurchase.returns.service): requesting and stepping RMAs.

No AWS: an in-memory ReturnStore with the optimistic semantics of storage/returns.py (a new RMA
is refused with ReturnExists when its id is taken, else with StaleOrder when the order's
`returns_revision` moved since it was read; a step is refused with StaleReturn when the RMA's
revision moved). `interleave` runs a callable just before the next write, which is how another
request "lands between the read and the write".

The fakes and builders here (FakeStore, FakePolicies, make_order, ...) are also used by
test_storefront_return_sync.py and test_return_handoff.py.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postpurchase.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound, RetryLater
from postpurchase.orders.models import Order, Shipment
from postpurchase.returns import rma as lifecycle
from postpurchase.returns import service
from postpurchase.returns.messages import ReturnChanged
from postpurchase.returns.policy import DEFAULT_POLICY, ReturnPolicy
from postpurchase.returns.requests import ReturnCommandIn, ReturnRequestIn
from postpurchase.returns.rma import Actor, ActorNotAllowed, IllegalTransition, ReturnRequest, RmaStatus as S
from postpurchase.returns.service import (
    MAX_ATTEMPTS,
    RELEASED,
    ReturnExists,
    StaleOrder,
    StaleReturn,
    effective,
    request_return,
    reviewable_skus,
    rma_id_for,
    step_return,
    units_held,
)
from postpurchase.security.order_access import OrderAccess
from postpurchase.tracking.state import ShipmentTracking

UTC = timezone.utc
MERCHANT_ID = "m-1"
ORDER_ID = "1001"
PLACED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SHIPPED = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
DELIVERED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # + 30 days: last day 2026-12-24 (Istanbul)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LAST_DAY = "2026-12-24"

# sku -> (quantity, price, category); LATE-1 is never shipped.
ITEMS = {
    "MUG-1": (2, "12.50", "home"),  # 10 % restocking, 4.95 return shipping, auto-approved
    "TEE-1": (3, "20.00", "apparel"),  # refund or exchange only, 2.00 return shipping, reviewed
    "SALE-1": (1, "5.00", "clearance"),  # final sale
    "CARD-1": (1, "25.00", "gift_card"),  # non-returnable
    "LATE-1": (1, "8.00", None),  # default rule, not shipped yet
}
SHIPPED_ITEMS = {"MUG-1": 2, "TEE-1": 3, "SALE-1": 1, "CARD-1": 1}

CUSTOMER_ACCESS = OrderAccess(MERCHANT_ID, ORDER_ID, "link")
MERCHANT_ACCESS = OrderAccess(MERCHANT_ID, ORDER_ID, "merchant")


# --- builders -----------------------------------------------------------------------------------


def make_order(items: dict[str, tuple[int, str, str | None]] = ITEMS, *, order_id: str = ORDER_ID,
               currency: str = "USD", tz: str | None = "Europe/Istanbul") -> Order:
    """An order shaped like events/storefronts/api/order.json."""
    return Order.model_validate({
        "order_id": order_id,
        "order_number": f"#{order_id}",
        "placed_at": PLACED.isoformat(),
        "email": "ayse.yilmaz@example.com",
        "currency": currency,
        "customer": {"id": "c-1", "email": "ayse.yilmaz@example.com", "first_name": "Ayşe", "last_name": "Yılmaz",
                     "locale": "tr-TR", "timezone": tz},
        "items": [{"sku": sku, "title": sku.title(), "quantity": quantity, "price": price, "category": category}
                  for sku, (quantity, price, category) in items.items()],
        "shipping_address": {"name": "Ayşe Yılmaz", "address1": "İstiklal Caddesi 12", "city": "İstanbul",
                             "zip": "34433", "country_code": "TR"},
        "totals": {"subtotal": "100.00", "shipping": "5.00", "tax": "0.00", "total": "105.00"},
    })


def rule(**overrides) -> dict:
    return {"window_days": 30, "window_starts": "delivery", "delivery_grace_days": 5,
            "resolutions": ["refund", "store_credit", "exchange"], "auto_approve": True, **overrides}


def make_policy(*, version: int = 1, label_provided: bool = True, categories: dict | None = None,
                default: dict | None = None) -> ReturnPolicy:
    return ReturnPolicy.model_validate({
        "version": version,
        "effective_from": "2026-01-01T00:00:00Z",
        "default_rule": default or rule(),
        "categories": categories if categories is not None else {
            "home": rule(restocking_fee_percent="10", return_shipping_fee="4.95"),
            "apparel": rule(resolutions=["refund", "exchange"], return_shipping_fee="2.00", auto_approve=False),
        },
        "final_sale_categories": ["clearance"],
        "non_returnable_categories": ["gift_card"],
        "logistics": {"drop_off_options": ["carrier_drop_off"], "label_provided": label_provided},
        "conditions": ["unworn_with_tags"],
    })


POLICY = make_policy()


@dataclass
class FakeShipment:
    """What service._shipment_facts reads: a Shipment and its tracking state as JSON."""

    shipment: Shipment
    tracking: str | None = None
    status: str = "in_transit"


def make_shipment(items: dict[str, int] = SHIPPED_ITEMS, *, shipment_id: str = "s-1", created_at: datetime = SHIPPED,
                  delivered_at: datetime | None = DELIVERED) -> FakeShipment:
    shipment = Shipment.model_validate({
        "shipment_id": shipment_id, "carrier": "ups", "tracking_number": f"1Z{shipment_id}",
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items.items()],
        "created_at": created_at.isoformat(),
    })
    tracking = None
    if delivered_at is not None:
        tracking = ShipmentTracking(carrier="ups", tracking_number=f"1Z{shipment_id}",
                                    delivered_at=delivered_at).model_dump_json()
    return FakeShipment(shipment, tracking)


@dataclass
class FakeStoredReturn:
    document: str
    revision: int
    fingerprint: str | None
    external_id: str | None


@dataclass
class FakeView:
    order: Order
    status: str
    shipments: list
    returns: list
    policy_version: int
    returns_revision: int


@dataclass
class _Partition:
    order: Order
    status: str
    shipments: list
    policy_version: int
    returns_revision: int = 0
    returns: dict[str, FakeStoredReturn] = field(default_factory=dict)


class FakeStore:
    """ReturnStore in memory, with storage/returns.py's conditions."""

    def __init__(self) -> None:
        self.partitions: dict[tuple[str, str], _Partition] = {}
        self.reads: list[bool] = []  # the `consistent` flag of every order_view
        self.creates: list[str] = []  # rma ids of every create_return attempt
        self.saves: list[str] = []
        self.interleave: list[Callable[[], object]] = []  # each runs once, before the next write

    def add_order(self, order: Order, *, merchant_id: str = MERCHANT_ID, shipments: list | None = None,
                  status: str = "shipped", policy_version: int = 1) -> None:
        self.partitions[(merchant_id, order.order_id)] = _Partition(
            order, status, [make_shipment()] if shipments is None else shipments, policy_version)

    # the port

    def order_view(self, merchant_id: str, order_id: str, consistent: bool = False) -> FakeView | None:
        self.reads.append(consistent)
        part = self.partitions.get((merchant_id, order_id))
        if part is None:
            return None
        returns = [FakeStoredReturn(r.document, r.revision, r.fingerprint, r.external_id)
                   for r in part.returns.values()]
        return FakeView(part.order, part.status, list(part.shipments), returns, part.policy_version,
                        part.returns_revision)

    def create_return(self, merchant_id: str, rma: ReturnRequest, *, expected_revision: int,
                      fingerprint: str | None, external_id: str | None, now: datetime,
                      email: str | None = None) -> None:
        self._interfere()
        self.creates.append(rma.rma_id)
        part = self.partitions[(merchant_id, rma.order_id)]
        if rma.rma_id in part.returns:
            raise ReturnExists(rma.rma_id)
        if part.returns_revision != expected_revision:
            raise StaleOrder(rma.order_id)
        part.returns[rma.rma_id] = FakeStoredReturn(rma.model_dump_json(), len(rma.history), fingerprint, external_id)
        part.returns_revision += 1

    def save_return(self, merchant_id: str, rma: ReturnRequest, *, expected_revision: int, now: datetime) -> None:
        self._interfere()
        self.saves.append(rma.rma_id)
        part = self.partitions[(merchant_id, rma.order_id)]
        stored = part.returns.get(rma.rma_id)
        if stored is None or stored.revision != expected_revision:
            raise StaleReturn(rma.rma_id)
        stored.document, stored.revision = rma.model_dump_json(), len(rma.history)

    # helpers for tests

    def _interfere(self) -> None:
        if self.interleave:
            self.interleave.pop(0)()

    def stored(self, rma_id: str, *, merchant_id: str = MERCHANT_ID, order_id: str = ORDER_ID) -> FakeStoredReturn:
        return self.partitions[(merchant_id, order_id)].returns[rma_id]

    def rma(self, rma_id: str, **where) -> ReturnRequest:
        return ReturnRequest.model_validate_json(self.stored(rma_id, **where).document)

    def returns_revision(self, *, merchant_id: str = MERCHANT_ID, order_id: str = ORDER_ID) -> int:
        return self.partitions[(merchant_id, order_id)].returns_revision

    def all_rmas(self, *, merchant_id: str = MERCHANT_ID, order_id: str = ORDER_ID) -> list[ReturnRequest]:
        return [ReturnRequest.model_validate_json(r.document)
                for r in self.partitions[(merchant_id, order_id)].returns.values()]


class FakePolicies:
    def __init__(self, *policies: ReturnPolicy) -> None:
        self.by_version = {0: DEFAULT_POLICY, **{policy.version: policy for policy in policies}}

    def version(self, merchant_id: str, version: int) -> ReturnPolicy | None:
        return self.by_version.get(version)


class Notices(list):
    """A Notify that records what it was told."""

    def __call__(self, message: ReturnChanged) -> None:
        self.append(message)


def body(*items: tuple[str, int] | dict, reason: str = "doesnt_fit", resolution: str = "refund",
         comment: str = "") -> ReturnRequestIn:
    return ReturnRequestIn.model_validate({
        "items": [item if isinstance(item, dict) else {"sku": item[0], "quantity": item[1]} for item in items],
        "reason": reason, "resolution": resolution, "comment": comment,
    })


def command(action: str, **fields) -> ReturnCommandIn:
    return ReturnCommandIn.model_validate({"action": action, **fields})


@dataclass
class World:
    store: FakeStore
    policies: FakePolicies
    notify: Notices

    def request(self, request: ReturnRequestIn, key: str | None = None, *, access: OrderAccess = CUSTOMER_ACCESS,
                now: datetime = NOW) -> tuple[ReturnRequest, bool]:
        return request_return(access, request, key, store=self.store, policies=self.policies, notify=self.notify,
                              now=now)

    def step(self, rma_id: str, cmd: ReturnCommandIn, *, access: OrderAccess = MERCHANT_ACCESS,
             now: datetime = NOW) -> tuple[ReturnRequest, bool]:
        return step_return(access, rma_id, cmd, store=self.store, policies=self.policies, notify=self.notify,
                           now=now)


def make_world(order: Order | None = None, policy: ReturnPolicy = POLICY, **add) -> World:
    store = FakeStore()
    store.add_order(order or make_order(), policy_version=policy.version, **add)
    return World(store, FakePolicies(policy), Notices())


@pytest.fixture
def world() -> World:
    return make_world()


def changed(rma_id: str, from_revision: int, to_revision: int, origin: str = "api") -> ReturnChanged:
    return ReturnChanged(merchant_id=MERCHANT_ID, order_id=ORDER_ID, rma_id=rma_id, from_revision=from_revision,
                         to_revision=to_revision, origin=origin)


def walk_to_inspected(world: World, rma_id: str, accepted: dict[str, int], *, now: datetime = NOW) -> ReturnRequest:
    """Merchant steps from requested/approved to inspected (label, receive, inspect)."""
    rma = world.store.rma(rma_id)
    if rma.status is S.requested:
        world.step(rma_id, command("approve"), now=now)
    world.step(rma_id, command("issue_label", carrier="ups", tracking_number="1ZRET"), now=now)
    world.step(rma_id, command("receive"), now=now)
    rma, _ = world.step(rma_id, command("inspect", lines=[{"sku": sku, "accepted_quantity": quantity}
                                                          for sku, quantity in accepted.items()]), now=now)
    return rma


# --- request_return: the happy path -------------------------------------------------------------


def test_a_request_whose_lines_all_auto_approve_is_approved_by_the_system(world):
    rma, created = world.request(body(("MUG-1", 1), comment="chipped"), "key-1")
    assert created is True
    assert rma.status is S.approved
    assert rma.rma_id == rma_id_for(MERCHANT_ID, ORDER_ID, "key-1")
    assert [(t.command, t.actor) for t in rma.history] == [
        ("request", Actor(kind="customer", id="link")), ("approve", lifecycle.SYSTEM)]
    assert rma.expires_at == NOW + timedelta(days=lifecycle.DEFAULT_SHIP_WITHIN_DAYS)
    (line,) = rma.lines
    assert (line.sku, line.quantity, line.reason.value, line.resolution.value, line.comment) == (
        "MUG-1", 1, "doesnt_fit", "refund", "chipped")
    stored = world.store.stored(rma.rma_id)
    assert stored.revision == 2 and stored.external_id is None
    assert stored.fingerprint == body(("MUG-1", 1), comment="chipped").fingerprint()
    assert world.store.rma(rma.rma_id) == rma
    assert world.store.returns_revision() == 1
    assert world.notify == [changed(rma.rma_id, 0, 2)]
    assert world.store.reads == [False]  # the first judgement reads eventually consistent


def test_one_line_without_auto_approval_leaves_the_whole_request_for_review(world):
    rma, created = world.request(body(("MUG-1", 1), ("TEE-1", 2)))
    assert created and rma.status is S.requested and len(rma.history) == 1
    assert world.notify == [changed(rma.rma_id, 0, 1)]
    assert world.store.stored(rma.rma_id).revision == 1


def test_the_merchant_may_request_on_the_customers_behalf(world):
    rma, _ = world.request(body(("TEE-1", 1)), access=MERCHANT_ACCESS)
    assert rma.history[0].actor == Actor(kind="merchant", id="merchant")


def test_per_item_reason_comment_and_resolution_override_the_requests():
    world = make_world()
    request = body({"sku": "MUG-1", "quantity": 2, "reason": "damaged", "comment": "cracked", "resolution": "exchange"},
                   {"sku": "TEE-1", "quantity": 1},
                   reason="changed_mind", resolution="refund", comment="general")
    rma, _ = world.request(request)
    mug, tee = rma.lines
    assert (mug.reason.value, mug.comment, mug.resolution.value) == ("damaged", "cracked", "exchange")
    assert (tee.reason.value, tee.comment, tee.resolution.value) == ("changed_mind", "general", "refund")


def test_a_per_item_override_is_checked_against_the_items_offered_resolutions(world):
    # TEE-1 (apparel) offers refund and exchange; the request's store_credit is overridden.
    rma, _ = world.request(body({"sku": "TEE-1", "quantity": 1, "resolution": "exchange"},
                                resolution="store_credit"))
    assert rma.lines[0].resolution.value == "exchange"


def test_a_request_without_a_key_gets_a_fresh_random_id_each_time(world):
    first, _ = world.request(body(("MUG-1", 1)))
    second, _ = world.request(body(("MUG-1", 1)))
    assert first.rma_id != second.rma_id
    assert {r.rma_id for r in world.store.all_rmas()} == {first.rma_id, second.rma_id}
    assert world.store.returns_revision() == 2


# --- request_return: refusals -------------------------------------------------------------------


def refused(world: World, request: ReturnRequestIn, error: type[DomainError], *, quiet: bool = True,
            **kwargs) -> DomainError:
    """The refusal raised; with `quiet`, also that nothing was written or notified."""
    before_revision, before_notices = world.store.returns_revision(), list(world.notify)
    with pytest.raises(error) as info:
        world.request(request, **kwargs)
    assert type(info.value) is error
    if quiet:
        assert world.store.returns_revision() == before_revision
        assert world.notify == before_notices
    return info.value


@pytest.mark.parametrize(
    ("items", "error", "status", "field", "details"),
    [
        ([("MUG-1", 3)], Conflict, 409, "items[0].quantity",
         {"reason": "exceeds_returnable", "returnable_quantity": 2}),
        ([("MUG-1", 1), ("SALE-1", 1)], NotAllowed, 422, "items[1].sku", {"reason": "final_sale"}),
        ([("CARD-1", 1)], NotAllowed, 422, "items[0].sku", {"reason": "non_returnable"}),
        ([("LATE-1", 1)], NotAllowed, 422, "items[0].sku", {"reason": "not_yet_shipped"}),
        ([("NOPE-9", 1)], NotAllowed, 422, "items[0].sku", {"reason": "not_in_order"}),
    ],
)
def test_refusals_name_the_item_the_reason_and_the_status(world, items, error, status, field, details):
    problem = refused(world, body(*items), error)
    assert problem.status == status
    assert problem.field == field
    assert problem.details == details
    assert problem.as_body()["error"]["reason"] == details["reason"]
    assert world.store.creates == []


def test_a_resolution_the_category_does_not_offer_is_not_allowed(world):
    problem = refused(world, body(("TEE-1", 1), resolution="store_credit"), NotAllowed)
    assert problem.status == 422 and problem.field == "items[0].resolution"
    assert problem.details == {"reason": "resolution_not_offered"}
    assert "exchange, refund" in problem.message


def test_already_returned_is_a_conflict_with_the_last_day(world):
    world.request(body(("MUG-1", 2)))
    problem = refused(world, body(("MUG-1", 1)), Conflict)
    assert problem.status == 409 and problem.field == "items[0].sku"
    assert problem.details == {"reason": "already_returned", "last_day": LAST_DAY}


def test_units_in_an_open_return_lower_the_returnable_quantity(world):
    world.request(body(("TEE-1", 2)))
    problem = refused(world, body(("TEE-1", 2)), Conflict)
    assert problem.details == {"reason": "exceeds_returnable", "returnable_quantity": 1}
    rma, _ = world.request(body(("TEE-1", 1)))
    assert rma.lines[0].quantity == 1


def test_after_the_last_day_the_window_is_closed(world):
    late = datetime(2026, 12, 24, 21, 0, tzinfo=UTC)  # 2026-12-25 00:00 in Istanbul
    problem = refused(world, body(("MUG-1", 1)), NotAllowed, now=late)
    assert problem.status == 422
    assert problem.details == {"reason": "window_closed", "last_day": LAST_DAY}
    # One minute earlier is still the customer's last day.
    rma, created = world.request(body(("MUG-1", 1)), now=late - timedelta(minutes=1))
    assert created


def test_a_cancelled_order_has_nothing_to_return():
    world = make_world(status="cancelled")
    problem = refused(world, body(("MUG-1", 1)), NotAllowed)
    assert problem.status == 422 and problem.field == "order_id"
    assert problem.details == {"reason": "order_cancelled"}


def test_an_unknown_order_is_not_found(world):
    with pytest.raises(NotFound) as info:
        request_return(OrderAccess(MERCHANT_ID, "9999", "link"), body(("MUG-1", 1)), None, store=world.store,
                       policies=world.policies, notify=world.notify, now=NOW)
    assert info.value.field == "order_id"


def test_a_missing_policy_version_is_retried_later():
    world = make_world()
    world.store.partitions[(MERCHANT_ID, ORDER_ID)].policy_version = 7
    with pytest.raises(RetryLater):
        world.request(body(("MUG-1", 1)))


# --- request_return: idempotency ----------------------------------------------------------------


def test_the_same_key_and_body_get_the_same_rma_and_the_notices_again(world):
    first, created = world.request(body(("MUG-1", 1)), "key-1")
    again, created_again = world.request(body(("MUG-1", 1)), "key-1", now=NOW + timedelta(minutes=5))
    assert created and not created_again
    assert again == first
    assert world.store.returns_revision() == 1 and len(world.store.all_rmas()) == 1
    assert world.notify == [changed(first.rma_id, 0, 2), changed(first.rma_id, 0, 2)]


def test_the_replay_returns_the_rma_as_it_stands_now(world):
    first, _ = world.request(body(("MUG-1", 1)), "key-1")
    world.step(first.rma_id, command("cancel"), access=CUSTOMER_ACCESS)
    again, created = world.request(body(("MUG-1", 1)), "key-1")
    assert not created and again.status is S.cancelled
    # The replay re-sends what the request itself did (request + auto-approval), not the cancel.
    assert world.notify[-1] == changed(first.rma_id, 0, 2)


def test_the_same_key_with_another_body_is_a_conflict_on_the_key(world):
    world.request(body(("MUG-1", 1)), "key-1")
    for other in (body(("MUG-1", 2)), body(("MUG-1", 1), reason="damaged"), body(("MUG-1", 1), comment="x")):
        problem = refused(world, other, Conflict, key="key-1")
        assert problem.status == 409 and problem.field == "Idempotency-Key"


def test_the_email_is_not_part_of_the_fingerprint(world):
    first, _ = world.request(body(("MUG-1", 1)), "key-1")
    with_email = ReturnRequestIn.model_validate({**body(("MUG-1", 1)).model_dump(mode="json"), "email": "a@b.co"})
    again, created = world.request(with_email, "key-1")
    assert not created and again.rma_id == first.rma_id


def test_the_key_replay_wins_over_the_order_being_cancelled_since(world):
    first, _ = world.request(body(("MUG-1", 1)), "key-1")
    world.store.partitions[(MERCHANT_ID, ORDER_ID)].status = "cancelled"
    again, created = world.request(body(("MUG-1", 1)), "key-1")
    assert not created and again.rma_id == first.rma_id


def test_the_same_key_on_another_order_is_another_rma():
    world = make_world()
    world.store.add_order(make_order(order_id="1002"))
    first, _ = world.request(body(("MUG-1", 1)), "key-1")
    other, created = world.request(body(("MUG-1", 1)), "key-1", access=OrderAccess(MERCHANT_ID, "1002", "link"))
    assert created and other.rma_id != first.rma_id


# --- request_return: concurrency ----------------------------------------------------------------


def test_a_request_written_between_read_and_write_is_counted_on_the_retry(world):
    competitor: list[ReturnRequest] = []
    world.store.interleave.append(lambda: competitor.append(world.request(body(("MUG-1", 2)), "other")[0]))
    problem = refused(world, body(("MUG-1", 1)), Conflict, key="mine", quiet=False)
    assert problem.details == {"reason": "already_returned", "last_day": LAST_DAY}
    assert world.store.creates == [competitor[0].rma_id, rma_id_for(MERCHANT_ID, ORDER_ID, "mine")]
    # read, the competitor's read, then a consistent re-read after StaleOrder
    assert world.store.reads == [False, False, True]
    assert [r.rma_id for r in world.store.all_rmas()] == [competitor[0].rma_id]
    assert world.notify == [changed(competitor[0].rma_id, 0, 2)]


def test_a_retry_that_still_fits_is_written(world):
    world.store.interleave.append(lambda: world.request(body(("MUG-1", 1)), "other"))
    rma, created = world.request(body(("MUG-1", 1)), "mine")
    assert created and rma.rma_id == rma_id_for(MERCHANT_ID, ORDER_ID, "mine")
    assert world.store.returns_revision() == 2
    assert units_held(world.store.all_rmas()) == {"MUG-1": 2}
    assert world.store.reads[-1] is True


def test_the_same_key_written_concurrently_is_found_on_the_retry(world):
    world.store.interleave.append(lambda: world.request(body(("MUG-1", 1)), "key-1"))
    rma, created = world.request(body(("MUG-1", 1)), "key-1")
    assert not created
    assert len(world.store.all_rmas()) == 1
    assert world.notify == [changed(rma.rma_id, 0, 2), changed(rma.rma_id, 0, 2)]


def test_an_order_that_keeps_changing_ends_in_a_conflict(world):
    def bump() -> None:
        world.store.partitions[(MERCHANT_ID, ORDER_ID)].returns_revision += 1

    world.store.interleave.extend([bump] * MAX_ATTEMPTS)
    problem = refused(world, body(("MUG-1", 1)), Conflict, quiet=False)
    assert problem.status == 409 and problem.field == "order_id"
    assert world.notify == []
    assert len(world.store.creates) == MAX_ATTEMPTS
    assert world.store.reads == [False] + [True] * (MAX_ATTEMPTS - 1)
    assert world.store.all_rmas() == []


# --- reading: lazy expiry, held units, review requests ------------------------------------------


def test_an_overdue_approval_reads_as_expired_and_frees_its_units(world):
    first, _ = world.request(body(("MUG-1", 2)))
    assert first.expires_at == NOW + timedelta(days=14)
    later = first.expires_at
    returns = service.load(world.store, world.policies, MERCHANT_ID, ORDER_ID, later)
    (entry,) = returns.returns
    assert entry.rma.status is S.expired and entry.revision == 2
    assert entry.rma.history[-1].command == "expire" and entry.rma.history[-1].at == first.expires_at
    assert entry.rma.history[-1].actor == lifecycle.SYSTEM
    mug = next(item for item in returns.items if item.sku == "MUG-1")
    assert mug.returnable and mug.returnable_quantity == 2
    # The stored document is untouched by reading; a new request may take the units.
    assert world.store.rma(first.rma_id).status is S.approved
    second, created = world.request(body(("MUG-1", 2)), now=later)
    assert created and second.rma_id != first.rma_id
    # A step on the expired RMA is refused: its status is expired.
    with pytest.raises(IllegalTransition):
        world.step(first.rma_id, command("issue_label", carrier="ups", tracking_number="1Z"), now=later)


def test_effective_leaves_everything_but_overdue_approvals_alone():
    rma = lifecycle.request(rma_id="R-1", merchant_id=MERCHANT_ID, order_id=ORDER_ID,
                            lines=[{"sku": "MUG-1", "quantity": 1, "reason": "other", "resolution": "refund"}],
                            actor=Actor(kind="customer"), now=NOW)
    far = NOW + timedelta(days=400)
    assert effective(rma, far) is rma  # requested never expires
    approved = lifecycle.approve(rma, Actor(kind="merchant"), NOW, 3)
    assert effective(approved, approved.expires_at - timedelta(microseconds=1)) is approved
    assert effective(approved, approved.expires_at).status is S.expired
    labelled = lifecycle.issue_label(approved, Actor(kind="merchant"), NOW, "ups", "1Z")
    assert effective(labelled, far).status is S.expired
    in_transit = lifecycle.mark_in_transit(labelled, Actor(kind="carrier"), NOW)
    assert effective(in_transit, far) is in_transit


def _rma(rma_id: str, lines: dict[str, int], status: S) -> ReturnRequest:
    rma = lifecycle.request(rma_id=rma_id, merchant_id=MERCHANT_ID, order_id=ORDER_ID,
                            lines=[{"sku": sku, "quantity": quantity, "reason": "other", "resolution": "refund"}
                                   for sku, quantity in lines.items()],
                            actor=Actor(kind="customer"), now=NOW)
    merchant = Actor(kind="merchant")
    if status is S.requested:
        return rma
    if status is S.rejected:
        return lifecycle.reject(rma, merchant, NOW, "no")
    if status is S.cancelled:
        return lifecycle.cancel(rma, merchant, NOW)
    rma = lifecycle.approve(rma, merchant, NOW, 1)
    if status is S.expired:
        return lifecycle.expire(rma, NOW + timedelta(days=1))
    if status is S.approved:
        return rma
    rma = lifecycle.receive(lifecycle.issue_drop_off_code(rma, merchant, NOW, "D-1"), merchant, NOW)
    assert status is S.received
    return rma


def test_units_held_counts_every_return_but_the_released_ones():
    assert RELEASED == {S.rejected, S.cancelled, S.expired}
    returns = [
        _rma("R-1", {"MUG-1": 1, "TEE-1": 2}, S.requested),
        _rma("R-2", {"MUG-1": 1}, S.approved),
        _rma("R-3", {"TEE-1": 1}, S.received),
        _rma("R-4", {"MUG-1": 5}, S.rejected),
        _rma("R-5", {"MUG-1": 5}, S.cancelled),
        _rma("R-6", {"SALE-1": 1}, S.expired),
    ]
    assert units_held(returns) == {"MUG-1": 2, "TEE-1": 3}
    assert units_held([]) == {}


def test_reviewable_skus_leaves_out_items_in_a_return_and_keeps_order():
    order = make_order({"TEE-1": (1, "20.00", None), "MUG-1": (1, "12.50", None), "CAP-1": (1, "9.00", None)})
    assert reviewable_skus(order, []) == ["TEE-1", "MUG-1", "CAP-1"]
    assert reviewable_skus(order, [_rma("R-1", {"MUG-1": 1}, S.requested)]) == ["TEE-1", "CAP-1"]
    assert reviewable_skus(order, [_rma("R-1", {"MUG-1": 1}, S.rejected)]) == ["TEE-1", "MUG-1", "CAP-1"]
    everything = _rma("R-2", {"TEE-1": 1, "MUG-1": 1, "CAP-1": 1}, S.received)
    assert reviewable_skus(order, [everything]) == []


def test_reviewable_skus_lists_a_sku_on_two_lines_once():
    order = Order.model_validate({**make_order().model_dump(mode="json"), "items": [
        {"sku": "TEE-1", "title": "Tee S", "quantity": 1, "price": "20.00"},
        {"sku": "TEE-1", "title": "Tee M", "quantity": 1, "price": "20.00"},
    ]})
    assert reviewable_skus(order, []) == ["TEE-1"]


# --- rma_id_for ---------------------------------------------------------------------------------

RMA_ID = re.compile(r"^R-[A-Z2-7]{10}$")


def test_rma_id_for_a_key_is_stable_and_scoped_to_merchant_and_order():
    one = rma_id_for("m-1", "1001", "key-1")
    assert one == rma_id_for("m-1", "1001", "key-1")
    assert RMA_ID.match(one)
    others = {rma_id_for("m-1", "1002", "key-1"), rma_id_for("m-2", "1001", "key-1"),
              rma_id_for("m-1", "1001", "key-2")}
    assert one not in others and len(others) == 3


def test_rma_id_without_a_key_is_random():
    ids = {rma_id_for("m-1", "1001", None) for _ in range(50)}
    assert len(ids) == 50 and all(RMA_ID.match(value) for value in ids)
    assert RMA_ID.match(rma_id_for("m-1", "1001", ""))


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=64), st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=200))
def test_rma_ids_are_always_r_and_ten_base32_characters(merchant_id, order_id, key):
    value = rma_id_for(merchant_id, order_id, key)
    assert RMA_ID.match(value)
    assert value == rma_id_for(merchant_id, order_id, key)


# --- property: no more units in returns than were bought ----------------------------------------

PROPERTY_BOUGHT = {"A": 3, "B": 1, "C": 2}
PROPERTY_SHIPPED = {"A": 3, "B": 1, "C": 1}  # one C not shipped yet
PROPERTY_POLICY = make_policy(version=2, categories={"slow": rule(auto_approve=False, window_days=365)},
                              default=rule(window_days=365))

quantities = st.dictionaries(st.sampled_from(sorted(PROPERTY_BOUGHT)), st.one_of(st.just(1), st.integers(1, 4)),
                             min_size=1, max_size=2)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("request"), quantities, st.sampled_from([None, "k1", "k2"])),
        st.tuples(st.just("race"), quantities, quantities),
        st.tuples(st.just("cancel"), st.integers(0, 9)),
        st.tuples(st.just("reject"), st.integers(0, 9)),
        st.tuples(st.just("approve"), st.integers(0, 9)),
        st.tuples(st.just("wait"), st.integers(1, 20)),
    ),
    max_size=14,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_units_held_never_exceed_units_bought(ops):
    order = make_order({"A": (3, "10.00", None), "B": (1, "10.00", "slow"), "C": (2, "10.00", None)})
    world = make_world(order, PROPERTY_POLICY, shipments=[make_shipment(PROPERTY_SHIPPED)])
    now = NOW

    def attempt(lines: dict[str, int], key: str | None) -> None:
        try:
            world.request(body(*lines.items()), key, now=now)
        except (Conflict, NotAllowed):
            pass

    for op in ops:
        kind = op[0]
        if kind == "request":
            attempt(op[1], op[2])
        elif kind == "race":
            world.store.interleave.append(lambda lines=op[2]: attempt(lines, None))
            attempt(op[1], None)
            world.store.interleave.clear()
        elif kind == "wait":
            now += timedelta(days=op[1])  # approvals expire after 14 days
        else:
            rmas = sorted(world.store.all_rmas(), key=lambda r: (r.created_at, r.rma_id))
            if not rmas:
                continue
            target = rmas[op[1] % len(rmas)]
            cmd = command("reject", reason="no") if kind == "reject" else command(kind)
            try:
                world.step(target.rma_id, cmd, now=now)
            except (NotAllowed, Conflict):
                pass
        returns = service.load(world.store, world.policies, MERCHANT_ID, ORDER_ID, now)
        held = units_held(entry.rma for entry in returns.returns)
        for sku, quantity in held.items():
            assert quantity <= PROPERTY_SHIPPED[sku] <= PROPERTY_BOUGHT[sku]
        for item in returns.items:
            assert held.get(item.sku, 0) + item.returnable_quantity <= PROPERTY_SHIPPED[item.sku]


# --- step_return --------------------------------------------------------------------------------


def test_the_merchant_approves_and_the_change_is_notified(world):
    rma, _ = world.request(body(("TEE-1", 1)))
    world.notify.clear()
    later = NOW + timedelta(hours=1)
    approved, changed_ = world.step(rma.rma_id, command("approve", ship_within_days=7), now=later)
    assert changed_ and approved.status is S.approved
    assert approved.history[-1].actor == Actor(kind="merchant", id="merchant")
    assert approved.expires_at == later + timedelta(days=7)
    assert world.store.rma(rma.rma_id) == approved and world.store.stored(rma.rma_id).revision == 2
    assert world.notify == [changed(rma.rma_id, 1, 2)]
    assert world.store.reads[-1] is True


def test_a_customer_may_cancel_but_not_approve(world):
    rma, _ = world.request(body(("TEE-1", 1)))
    with pytest.raises(ActorNotAllowed) as info:
        world.step(rma.rma_id, command("approve"), access=CUSTOMER_ACCESS)
    assert info.value.status == 422
    assert world.store.saves == []
    email_access = OrderAccess(MERCHANT_ID, ORDER_ID, "email")
    cancelled, changed_ = world.step(rma.rma_id, command("cancel"), access=email_access)
    assert changed_ and cancelled.status is S.cancelled
    assert cancelled.history[-1].actor == Actor(kind="customer", id="email")


def test_the_customer_cannot_cancel_once_the_parcel_is_on_its_way(world):
    rma, _ = world.request(body(("MUG-1", 1)))
    world.step(rma.rma_id, command("issue_label", carrier="ups", tracking_number="1ZRET"))
    world.step(rma.rma_id, command("mark_in_transit"))
    with pytest.raises(IllegalTransition):
        world.step(rma.rma_id, command("cancel"), access=CUSTOMER_ACCESS)


def test_the_same_step_sent_again_changes_nothing_and_notifies_the_last_revision(world):
    rma, _ = world.request(body(("TEE-1", 1)))
    approved, _ = world.step(rma.rma_id, command("approve"))
    world.notify.clear()
    saves = list(world.store.saves)
    again, changed_ = world.step(rma.rma_id, command("approve"), now=NOW + timedelta(minutes=3))
    assert not changed_ and again == approved
    assert world.store.saves == saves
    assert world.notify == [changed(rma.rma_id, 1, 2)]


def test_a_customer_cancel_sent_twice_is_a_replay(world):
    rma, _ = world.request(body(("MUG-1", 1)))  # approved: revision 2
    world.step(rma.rma_id, command("cancel"), access=CUSTOMER_ACCESS)
    again, changed_ = world.step(rma.rma_id, command("cancel"), access=CUSTOMER_ACCESS)
    assert not changed_ and again.status is S.cancelled
    assert world.notify[-1] == changed(rma.rma_id, 2, 3)


def test_an_auto_approval_is_not_a_replay_of_the_merchants_approve(world):
    rma, _ = world.request(body(("MUG-1", 1)))  # approved by the system
    with pytest.raises(IllegalTransition):
        world.step(rma.rma_id, command("approve"))


def test_a_step_that_lost_the_race_is_a_conflict(world):
    rma, _ = world.request(body(("TEE-1", 1)))
    world.store.interleave.append(lambda: world.step(rma.rma_id, command("reject", reason="worn")))
    with pytest.raises(Conflict) as info:
        world.step(rma.rma_id, command("approve"))
    assert info.value.status == 409 and info.value.field == "rma_id"
    assert world.store.rma(rma.rma_id).status is S.rejected


def test_an_unknown_rma_is_not_found(world):
    with pytest.raises(NotFound) as info:
        world.step("R-NOPE", command("approve"))
    assert info.value.field == "rma_id"


@pytest.mark.parametrize(("action", "field"), [("reject", "reason"), ("issue_label", "carrier"),
                                               ("issue_drop_off_code", "drop_off_code")])
def test_a_step_missing_what_it_needs_is_invalid(world, action, field):
    rma, _ = world.request(body(("TEE-1", 1)))
    if action != "reject":
        world.step(rma.rma_id, command("approve"))
    with pytest.raises(InvalidInput) as info:
        world.step(rma.rma_id, command(action))
    assert info.value.field == field


def test_refund_currency_defaults_to_the_orders(world):
    rma, _ = world.request(body(("MUG-1", 2)))
    walk_to_inspected(world, rma.rma_id, {"MUG-1": 2})
    resolved, changed_ = world.step(rma.rma_id, command("resolve", resolution={"kind": "refund", "amount": "10.00"}))
    assert changed_ and resolved.status is S.resolved
    assert resolved.resolution.currency == "USD" and resolved.resolution.amount == Decimal("10.00")


@pytest.mark.parametrize("kind", ["refund", "store_credit"])
def test_money_in_another_currency_is_refused(world, kind):
    rma, _ = world.request(body(("MUG-1", 2)))
    walk_to_inspected(world, rma.rma_id, {"MUG-1": 2})
    resolution = {"kind": kind, "amount": "10.00", "currency": "EUR"}
    if kind == "store_credit":
        resolution["store_credit_code"] = "SC-1"
    with pytest.raises(InvalidInput) as info:
        world.step(rma.rma_id, command("resolve", resolution=resolution))
    assert info.value.field == "resolution.currency" and "USD" in info.value.message
    assert world.store.rma(rma.rma_id).status is S.inspected


def test_the_refund_limit_takes_off_the_restocking_fee_and_return_shipping(world):
    # MUG-1 (home): 2 x 12.50 = 25.00, less 10 % restocking (2.50), less 4.95 shipping = 17.55
    rma, _ = world.request(body(("MUG-1", 2)))
    walk_to_inspected(world, rma.rma_id, {"MUG-1": 2})
    with pytest.raises(InvalidInput) as info:
        world.step(rma.rma_id, command("resolve", resolution={"kind": "refund", "amount": "17.56"}))
    assert info.value.field == "resolution.amount" and "refundable 17.55" in info.value.message
    resolved, _ = world.step(rma.rma_id, command("resolve", resolution={"kind": "refund", "amount": "17.55"}))
    assert resolved.history[-1].data["refundable"] == "17.55"
    assert resolved.resolution.amount == Decimal("17.55")


def test_mixed_categories_net_each_line_and_charge_the_largest_shipping_fee(world):
    # MUG-1: 1 accepted x 12.50 less 10 % = 11.25; TEE-1: 2 x 20.00 = 40.00; fee max(4.95, 2.00)
    rma, _ = world.request(body(("MUG-1", 2), ("TEE-1", 2)))
    walk_to_inspected(world, rma.rma_id, {"MUG-1": 1, "TEE-1": 2})
    with pytest.raises(InvalidInput, match="refundable 46.30"):
        world.step(rma.rma_id, command("resolve", resolution={"kind": "refund", "amount": "46.31"}))
    resolved, _ = world.step(rma.rma_id, command("resolve", resolution={"kind": "refund", "amount": "46.30"}))
    assert resolved.history[-1].data["refundable"] == str(Decimal("11.25") + Decimal("40.00") - Decimal("4.95"))


def test_the_refund_limit_never_goes_below_zero():
    order = make_order({"PIN-1": (1, "1.00", "home")})
    world = make_world(order, shipments=[make_shipment({"PIN-1": 1})])
    rma, _ = world.request(body(("PIN-1", 1)))
    walk_to_inspected(world, rma.rma_id, {"PIN-1": 1})
    with pytest.raises(InvalidInput, match="refundable 0.00"):
        world.step(rma.rma_id, command("resolve", resolution={"kind": "refund", "amount": "0.01"}))
    resolved, _ = world.step(rma.rma_id, command("resolve", resolution={"kind": "refund", "amount": "0.00"}))
    assert resolved.history[-1].data["refundable"] == "0.00"


def test_the_refund_limit_rounds_the_restocking_fee_as_refundable_amount_documents():
    policy = make_policy(version=3, categories={"home": rule(restocking_fee_percent="15")})
    order = make_order({"PIN-1": (1, "0.10", "home")})
    world = make_world(order, policy, shipments=[make_shipment({"PIN-1": 1})])
    rma, _ = world.request(body(("PIN-1", 1)))
    inspected = walk_to_inspected(world, rma.rma_id, {"PIN-1": 1})
    documented = lifecycle.refundable_amount(inspected.inspection, {"PIN-1": Decimal("0.10")}, "15", "0")
    assert documented == Decimal("0.08")
    # The restocking fee is rounded half-up to the cent (0.015 -> 0.02), not the net price.
    with pytest.raises(InvalidInput, match="refundable 0.08"):
        world.step(rma.rma_id, command("resolve", resolution={"kind": "refund", "amount": "0.09"}))
    resolved, _ = world.step(rma.rma_id, command("resolve", resolution={"kind": "refund", "amount": "0.08"}))
    assert resolved.history[-1].data["refundable"] == "0.08"


def test_store_credit_and_exchange_resolve_without_a_price_check(world):
    rma, _ = world.request(body(("MUG-1", 2)))
    walk_to_inspected(world, rma.rma_id, {"MUG-1": 2})
    resolved, _ = world.step(rma.rma_id, command("resolve", resolution={
        "kind": "store_credit", "amount": "30.00", "store_credit_code": "SC-9"}))
    assert resolved.resolution.currency == "USD" and "refundable" not in resolved.history[-1].data
    second, _ = world.request(body(("TEE-1", 1), resolution="exchange"))
    world.step(second.rma_id, command("approve"))
    walk_to_inspected(world, second.rma_id, {"TEE-1": 1})
    exchanged, _ = world.step(second.rma_id, command("resolve", resolution={"kind": "exchange",
                                                                            "exchange_order_id": "2002"}))
    assert exchanged.resolution.exchange_order_id == "2002" and exchanged.resolution.currency is None
