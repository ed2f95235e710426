"""Following the merchant's storefront admin (returns/storefront_sync.py): Shopify returns/* and
refunds/create become steps on `shopify-<id>` RMAs, taken as the merchant, late, twice and out of
order. In-memory store (see test_return_service.py)."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from postpurchase.errors import RetryLater
from postpurchase.orders.events import StorefrontReturnChanged
from postpurchase.orders.models import Order
from postpurchase.returns.rma import Actor, InspectionOutcome, ReturnRequest, RmaStatus as S
from postpurchase.returns.storefront_sync import apply_storefront_change, storefront_rma_id

from test_return_service import (
    MERCHANT_ACCESS,
    MERCHANT_ID,
    NOW,
    ORDER_ID,
    World,
    body,
    changed,
    command,
    make_order,
    make_shipment,
    make_world,
)

SHOPIFY = Actor(kind="merchant", id="shopify")
OCCURRED = NOW - timedelta(hours=2)


def event(action: str, external_id: str | None = "9001", lines: dict[str, int] | list | None = None, **fields
          ) -> StorefrontReturnChanged:
    if isinstance(lines, dict):
        lines = [{"sku": sku, "quantity": quantity} for sku, quantity in lines.items()]
    return StorefrontReturnChanged.model_validate({
        "event_id": f"evt-{action}-{external_id}", "merchant_id": MERCHANT_ID, "source": "shopify",
        "received_at": NOW.isoformat(), "order_id": ORDER_ID, "external_return_id": external_id,
        "action": action, "occurred_at": fields.pop("occurred_at", OCCURRED).isoformat(), "lines": lines or [],
        **fields,
    })


def sync(world: World, change: StorefrontReturnChanged, now: datetime = NOW) -> str:
    return apply_storefront_change(change, store=world.store, policies=world.policies, notify=world.notify, now=now)


def shopify(world: World, external_id: str = "9001") -> ReturnRequest:
    return world.store.rma(storefront_rma_id("shopify", external_id))


def in_transit(world: World, lines: dict[str, int], external_id: str = "9001") -> ReturnRequest:
    """A storefront return approved in Shopify, then labelled and moving (our merchant steps)."""
    assert sync(world, event("approved", external_id, lines)) == "updated"
    rma_id = storefront_rma_id("shopify", external_id)
    world.step(rma_id, command("issue_label", carrier="ups", tracking_number=f"1Z{external_id}"))
    rma, _ = world.step(rma_id, command("mark_in_transit"))
    world.notify.clear()
    return rma


@pytest.fixture
def world() -> World:
    return make_world()


# --- requested / approved -----------------------------------------------------------------------


def test_a_storefront_request_creates_the_shopify_rma_as_the_merchant(world):
    change = event("requested", lines={"MUG-1": 1, "TEE-1": 2}, reason="damaged", note="box was wet")
    assert sync(world, change) == "created"
    rma = shopify(world)
    assert rma.rma_id == "shopify-9001" and rma.status is S.requested
    assert rma.created_at == OCCURRED and rma.history[0].actor == SHOPIFY
    lines = [(line.sku, line.quantity, line.reason.value, line.comment, line.resolution.value) for line in rma.lines]
    assert lines == [("MUG-1", 1, "damaged", "box was wet", "refund"), ("TEE-1", 2, "damaged", "box was wet", "refund")]
    stored = world.store.stored("shopify-9001")
    assert stored.external_id == "9001" and stored.fingerprint is None and stored.revision == 1
    assert world.notify == [changed("shopify-9001", 0, 1, origin="shopify")]


def test_an_unknown_reason_becomes_other_and_no_reason_too(world):
    sync(world, event("requested", "1", {"MUG-1": 1}, reason="color"))
    sync(world, event("requested", "2", {"TEE-1": 1}))
    assert shopify(world, "1").lines[0].reason.value == "other"
    assert shopify(world, "2").lines[0].reason.value == "other"


def test_the_storefront_skips_the_customer_eligibility_rules(world):
    # Final sale, non-returnable, not yet shipped: the merchant's own hand decides.
    assert sync(world, event("requested", lines={"SALE-1": 1, "CARD-1": 1, "LATE-1": 1})) == "created"
    assert {line.sku for line in shopify(world).lines} == {"SALE-1", "CARD-1", "LATE-1"}


def test_unknown_skus_are_dropped(world):
    assert sync(world, event("requested", lines={"MUG-1": 1, "li123": 1})) == "created"
    assert [line.sku for line in shopify(world).lines] == ["MUG-1"]


def test_a_request_of_only_unknown_skus_or_no_lines_is_unmatched(world):
    assert sync(world, event("requested", "1", {"li123": 1})) == "unmatched"
    assert sync(world, event("requested", "2", [])) == "unmatched"
    assert world.store.all_rmas() == [] and world.notify == []


def test_never_more_units_than_bought(world):
    assert sync(world, event("requested", "1", {"MUG-1": 3})) == "unmatched"
    world.request(body(("MUG-1", 2)))  # the customer's own return holds both mugs
    assert sync(world, event("requested", "2", {"MUG-1": 1})) == "unmatched"
    assert sync(world, event("requested", "3", {"TEE-1": 3})) == "created"
    assert sync(world, event("requested", "4", {"TEE-1": 1})) == "unmatched"
    assert [rma.rma_id for rma in world.store.all_rmas() if rma.rma_id.startswith("shopify-")] == ["shopify-3"]


def test_units_of_a_released_return_may_be_requested_again(world):
    sync(world, event("requested", "1", {"MUG-1": 2}))
    sync(world, event("declined", "1"))
    assert sync(world, event("requested", "2", {"MUG-1": 2})) == "created"


def test_approved_on_a_missing_rma_creates_then_approves(world):
    assert sync(world, event("approved", lines={"TEE-1": 1})) == "updated"
    rma = shopify(world)
    assert rma.status is S.approved
    assert [(t.command, t.actor) for t in rma.history] == [("request", SHOPIFY), ("approve", SHOPIFY)]
    assert rma.expires_at == OCCURRED + timedelta(days=14)
    assert world.notify == [changed(rma.rma_id, 0, 1, "shopify"), changed(rma.rma_id, 1, 2, "shopify")]
    assert world.store.stored(rma.rma_id).revision == 2


def test_approved_on_a_missing_rma_with_too_many_units_is_unmatched(world):
    assert sync(world, event("approved", lines={"MUG-1": 5})) == "unmatched"


def test_approved_after_requested_approves(world):
    sync(world, event("requested", lines={"TEE-1": 1}))
    assert sync(world, event("approved", lines={"TEE-1": 1})) == "updated"
    assert shopify(world).status is S.approved
    assert world.notify[-1] == changed("shopify-9001", 1, 2, "shopify")


@pytest.mark.parametrize("sequence", [["requested", "requested"], ["approved", "approved"],
                                      ["approved", "requested"], ["requested", "declined", "declined"],
                                      ["requested", "declined", "approved"],
                                      ["requested", "cancelled", "cancelled"]])
def test_repeated_and_late_steps_are_unchanged(world, sequence):
    for action in sequence[:-1]:
        sync(world, event(action, lines={"TEE-1": 1}))
    before, notices = shopify(world), list(world.notify)
    assert sync(world, event(sequence[-1], lines={"TEE-1": 1})) == "unchanged"
    assert shopify(world) == before and world.notify == notices


# --- declined / cancelled / closed --------------------------------------------------------------


@pytest.mark.parametrize("action", ["declined", "cancelled", "closed", "refunded"])
def test_a_step_on_an_rma_we_never_saw_is_unmatched(world, action):
    change = event(action, lines={"TEE-1": 1}, refund_amount="10.00") if action == "refunded" else event(action)
    assert sync(world, change) == "unmatched"
    assert world.store.all_rmas() == [] and world.notify == []


def test_declined_rejects_with_the_merchants_note_or_a_default(world):
    sync(world, event("requested", "1", {"TEE-1": 1}))
    sync(world, event("requested", "2", {"MUG-1": 1}))
    assert sync(world, event("declined", "1", note="Worn")) == "updated"
    assert sync(world, event("declined", "2")) == "updated"
    assert (shopify(world, "1").status, shopify(world, "1").rejection_reason) == (S.rejected, "Worn")
    assert shopify(world, "2").rejection_reason == "Declined by the shop"
    assert shopify(world, "1").history[-1].actor == SHOPIFY


def test_cancelled_cancels_an_approved_return(world):
    sync(world, event("approved", lines={"TEE-1": 1}))
    assert sync(world, event("cancelled")) == "updated"
    assert shopify(world).status is S.cancelled
    assert world.notify[-1] == changed("shopify-9001", 2, 3, "shopify")


def test_closed_on_an_open_return_is_not_a_legal_step_and_is_unchanged(world):
    sync(world, event("approved", lines={"TEE-1": 1}))
    assert sync(world, event("closed")) == "unchanged"
    assert shopify(world).status is S.approved


def test_closed_after_the_refund_closes(world):
    in_transit(world, {"MUG-1": 2})
    sync(world, event("refunded", lines={"MUG-1": 2}, refund_amount="25.00"))
    assert sync(world, event("closed")) == "updated"
    assert shopify(world).status is S.closed


# --- refunded -----------------------------------------------------------------------------------


def test_a_refund_on_a_parcel_in_transit_walks_receive_inspect_resolve(world):
    in_transit(world, {"MUG-1": 2})
    # 30.00 is more than the two mugs (25.00): the storefront refunded shipping too.
    assert sync(world, event("refunded", lines={"MUG-1": 2}, refund_amount="30.00", currency="USD")) == "updated"
    rma = shopify(world)
    assert [t.command for t in rma.history[-3:]] == ["receive", "inspect", "resolve"]
    assert all(t.actor == SHOPIFY and t.at == OCCURRED for t in rma.history[-3:])
    assert rma.status is S.resolved and rma.inspection_outcome is InspectionOutcome.accepted
    assert rma.resolution.amount == Decimal("30.00") and rma.resolution.currency == "USD"
    assert rma.history[-1].data["recorded_elsewhere"] is True and "refundable" not in rma.history[-1].data
    revision = len(rma.history)
    assert world.notify == [changed(rma.rma_id, revision - 3, revision, "shopify")]


def test_a_refund_on_a_received_return_inspects_and_resolves(world):
    in_transit(world, {"MUG-1": 2, "TEE-1": 1})
    world.step("shopify-9001", command("receive"))
    assert sync(world, event("refunded", lines={"MUG-1": 1}, refund_amount="12.50")) == "updated"
    rma = shopify(world)
    assert [t.command for t in rma.history[-2:]] == ["inspect", "resolve"]
    assert {line.sku: line.accepted_quantity for line in rma.inspection} == {"MUG-1": 1, "TEE-1": 0}
    assert rma.inspection_outcome is InspectionOutcome.partially_accepted
    assert rma.resolution.currency == "USD"  # the order's, when the storefront gave none


def test_a_refund_on_an_inspected_return_resolves(world):
    in_transit(world, {"MUG-1": 2})
    world.step("shopify-9001", command("receive"))
    world.step("shopify-9001", command("inspect", lines=[{"sku": "MUG-1", "accepted_quantity": 1}]))
    assert sync(world, event("refunded", lines={"MUG-1": 2}, refund_amount="12.50")) == "updated"
    rma = shopify(world)
    assert rma.status is S.resolved and rma.inspection[0].accepted_quantity == 1  # our inspection stands


def test_a_refund_without_lines_covers_the_whole_return(world):
    in_transit(world, {"MUG-1": 2, "TEE-1": 1})
    assert sync(world, event("refunded", refund_amount="45.00")) == "updated"
    rma = shopify(world)
    assert {line.sku: line.accepted_quantity for line in rma.inspection} == {"MUG-1": 2, "TEE-1": 1}


def test_a_refund_of_none_of_the_returns_items_closes_it(world):
    in_transit(world, {"MUG-1": 2})
    assert sync(world, event("refunded", lines={"TEE-1": 1}, refund_amount="20.00")) == "updated"
    rma = shopify(world)
    assert rma.status is S.closed and rma.inspection_outcome is InspectionOutcome.rejected
    assert rma.resolution is None


@pytest.mark.parametrize("steps", [[], ["issue_label"]], ids=["approved", "label_issued"])
def test_a_refund_before_the_parcel_moves_is_unchanged(world, steps):
    sync(world, event("approved", lines={"MUG-1": 1}))
    for step in steps:
        world.step("shopify-9001", command(step, carrier="ups", tracking_number="1Z"))
    assert sync(world, event("refunded", lines={"MUG-1": 1}, refund_amount="12.50")) == "unchanged"


def test_a_refund_with_no_money_moved_is_unchanged(world):
    in_transit(world, {"MUG-1": 2})
    assert sync(world, event("refunded", lines={"MUG-1": 2})) == "unchanged"
    assert shopify(world).status is S.in_transit


def test_a_second_refund_is_unchanged(world):
    in_transit(world, {"MUG-1": 2})
    sync(world, event("refunded", lines={"MUG-1": 2}, refund_amount="25.00"))
    before = shopify(world)
    assert sync(world, event("refunded", lines={"MUG-1": 2}, refund_amount="25.00")) == "unchanged"
    assert shopify(world) == before


def _customer_return(world: World, sku: str, quantity: int, key: str, *, moving: bool = True,
                     now: datetime = NOW) -> str:
    rma, _ = world.request(body((sku, quantity)), key, now=now)
    if rma.status is S.requested:
        world.step(rma.rma_id, command("approve"), now=now)
    if moving:
        world.step(rma.rma_id, command("issue_label", carrier="ups", tracking_number=f"1Z{key}"), now=now)
        world.step(rma.rma_id, command("mark_in_transit"), now=now)
    return rma.rma_id


def test_a_refund_without_a_return_matches_the_oldest_refundable_rma_by_sku(world):
    waiting = _customer_return(world, "MUG-1", 1, "a", moving=False, now=NOW - timedelta(days=3))
    older = _customer_return(world, "MUG-1", 1, "b", now=NOW - timedelta(days=2))
    tee = _customer_return(world, "TEE-1", 1, "c", now=NOW - timedelta(days=4))
    world.notify.clear()
    assert sync(world, event("refunded", None, {"MUG-1": 1}, refund_amount="12.50")) == "updated"
    assert world.store.rma(older).status is S.resolved
    assert world.store.rma(waiting).status is S.approved and world.store.rma(tee).status is S.in_transit
    assert [message.rma_id for message in world.notify] == [older]
    assert world.notify[0].origin == "shopify"


def test_a_refund_without_a_return_or_lines_takes_the_oldest_refundable_rma(world):
    tee = _customer_return(world, "TEE-1", 1, "c", now=NOW - timedelta(days=4))
    _customer_return(world, "MUG-1", 1, "b", now=NOW - timedelta(days=2))
    assert sync(world, event("refunded", None, refund_amount="20.00")) == "updated"
    assert world.store.rma(tee).status is S.resolved


def test_a_refund_without_a_return_matching_nothing_is_unmatched(world):
    _customer_return(world, "MUG-1", 1, "b")
    assert sync(world, event("refunded", None, {"TEE-1": 1}, refund_amount="20.00")) == "unmatched"
    assert sync(world, event("requested", None, {"TEE-1": 1})) == "unmatched"


# --- order and races ----------------------------------------------------------------------------


def test_a_return_for_an_order_not_stored_yet_is_retried_later(world):
    change = event("requested", lines={"MUG-1": 1}).model_copy(update={"order_id": "2002"})
    with pytest.raises(RetryLater):
        sync(world, change)


def test_a_step_that_lost_the_race_is_judged_again(world):
    sync(world, event("requested", lines={"TEE-1": 1}))
    # Our merchant rejects it between Shopify's read and write: the approval no longer applies.
    world.store.interleave.append(lambda: world.step("shopify-9001", command("reject", reason="worn")))
    assert sync(world, event("approved", lines={"TEE-1": 1})) == "unchanged"
    assert shopify(world).status is S.rejected
    assert world.store.reads[-1] is True


def test_a_create_that_lost_the_race_is_judged_again(world):
    # The customer's request for both mugs lands between Shopify's read and write.
    world.store.interleave.append(lambda: world.request(body(("MUG-1", 2))))
    assert sync(world, event("requested", lines={"MUG-1": 1})) == "unmatched"
    assert all(not rma.rma_id.startswith("shopify-") for rma in world.store.all_rmas())


def test_a_storefront_return_that_keeps_losing_the_race_is_retried_later(world):
    def bump() -> None:
        world.store.partitions[(MERCHANT_ID, ORDER_ID)].returns_revision += 1

    world.store.interleave.extend([bump] * 5)
    with pytest.raises(RetryLater):
        sync(world, event("requested", lines={"MUG-1": 1}))


# --- a SKU on two lines -------------------------------------------------------------------------


def _two_line_order_world() -> World:
    order = make_order()
    order = Order.model_validate({**order.model_dump(mode="json"), "items": [
        {"sku": "TEE-1", "title": "Tee (gift wrap)", "quantity": 1, "price": "20.00", "category": "apparel"},
        {"sku": "TEE-1", "title": "Tee", "quantity": 1, "price": "20.00", "category": "apparel"},
    ]})
    return make_world(order, shipments=[make_shipment({"TEE-1": 2})])


def test_a_storefront_return_of_two_line_items_with_one_sku_adds_them_up():
    world = _two_line_order_world()
    assert sync(world, event("requested", lines=[{"sku": "TEE-1", "quantity": 1, "line_id": "1"},
                                                 {"sku": "TEE-1", "quantity": 1, "line_id": "2"}])) == "created"
    (line,) = shopify(world).lines
    assert (line.sku, line.quantity) == ("TEE-1", 2)


def test_a_refund_of_two_line_items_with_one_sku_accepts_both_units():
    world = _two_line_order_world()
    world.request(body(("TEE-1", 2)), "k", access=MERCHANT_ACCESS)
    rma = world.store.all_rmas()[0]
    world.step(rma.rma_id, command("approve"))
    world.step(rma.rma_id, command("issue_label", carrier="ups", tracking_number="1Z"))
    world.step(rma.rma_id, command("mark_in_transit"))
    change = event("refunded", None, [{"sku": "TEE-1", "quantity": 1, "line_id": "1"},
                                      {"sku": "TEE-1", "quantity": 1, "line_id": "2"}], refund_amount="40.00")
    assert sync(world, change) == "updated"
    resolved = world.store.rma(rma.rma_id)
    assert resolved.inspection_outcome is InspectionOutcome.accepted
    assert resolved.inspection[0].accepted_quantity == 2
