"""Which customer emails an RMA's new transitions call for (postpurchase.returns.notices)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postpurchase.messaging.requests import EmailRequest
from postpurchase.returns import rma as r
from postpurchase.returns.notices import notice_requests, notice_variants, return_notice
from postpurchase.returns.rma import Actor, ReturnRequest

from test_return_service import POLICY, make_order, make_policy

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
CUSTOMER = Actor(kind="customer", id="link")
MERCHANT = Actor(kind="merchant", id="merchant")
CARRIER = Actor(kind="carrier", id="ups")
LABEL_POLICY = POLICY  # label_provided True
NO_LABEL_POLICY = make_policy(version=2, label_provided=False)
PRICES = {"MUG-1": Decimal("12.50")}
URL = "https://returns.example/m-1/1001?token=abc"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def requested() -> ReturnRequest:
    return r.request(rma_id="R-ABCDEFGHJK", merchant_id="m-1", order_id="1001",
                     lines=[{"sku": "MUG-1", "quantity": 2, "reason": "damaged", "resolution": "refund"}],
                     actor=CUSTOMER, now=T0)


def auto_approved() -> ReturnRequest:
    return r.maybe_auto_approve(requested(), True, T0)


def inspected(accepted: int = 2) -> ReturnRequest:
    rma = r.issue_label(auto_approved(), r.SYSTEM, at(1), "ups", "1ZRET", "https://labels.example/1.pdf")
    rma = r.mark_in_transit(rma, CARRIER, at(2))
    rma = r.receive(rma, CARRIER, at(3))
    return r.inspect(rma, MERCHANT, at(4), [{"sku": "MUG-1", "accepted_quantity": accepted}])


RESOLUTIONS = {
    "refund": {"kind": "refund", "amount": "25.00", "currency": "USD"},
    "store_credit": {"kind": "store_credit", "amount": "25.00", "currency": "USD", "store_credit_code": "SC-1"},
    "exchange": {"kind": "exchange", "exchange_order_id": "2002"},
}


def resolved(kind: str) -> ReturnRequest:
    return r.resolve(inspected(), MERCHANT, at(5), RESOLUTIONS[kind], line_prices=PRICES)


def last(rma: ReturnRequest, count: int = 1) -> list:
    return list(rma.history[-count:])


# --- notice_variants ----------------------------------------------------------------------------


def test_a_request_alone_is_requested():
    rma = requested()
    assert notice_variants(rma, list(rma.history), LABEL_POLICY) == ["requested"]
    assert notice_variants(rma, list(rma.history), NO_LABEL_POLICY) == ["requested"]


def test_auto_approval_waiting_for_a_label_sends_only_requested():
    rma = auto_approved()
    assert [t.command for t in rma.history] == ["request", "approve"]
    assert notice_variants(rma, list(rma.history), LABEL_POLICY) == ["requested"]
    assert notice_variants(rma, last(rma), LABEL_POLICY) == []


def test_auto_approval_without_a_label_sends_only_approved():
    rma = auto_approved()
    assert notice_variants(rma, list(rma.history), NO_LABEL_POLICY) == ["approved"]
    assert notice_variants(rma, last(rma), NO_LABEL_POLICY) == ["approved"]


def test_a_merchant_approval_later_follows_the_same_label_rule():
    rma = r.approve(requested(), MERCHANT, at(1))
    assert notice_variants(rma, last(rma), LABEL_POLICY) == []
    assert notice_variants(rma, last(rma), NO_LABEL_POLICY) == ["approved"]


@pytest.mark.parametrize("policy", [LABEL_POLICY, NO_LABEL_POLICY], ids=["label", "no_label"])
@pytest.mark.parametrize("step", ["issue_label", "issue_drop_off_code"])
def test_the_label_or_drop_off_code_is_the_approved_email(step, policy):
    approved = auto_approved()
    if step == "issue_label":
        rma = r.issue_label(approved, r.SYSTEM, at(1), "ups", "1ZRET")
    else:
        rma = r.issue_drop_off_code(approved, MERCHANT, at(1), "QR-1")
    assert notice_variants(rma, last(rma), policy) == ["approved"]


def test_approval_and_label_in_one_slice_is_one_approved_email():
    rma = r.issue_label(auto_approved(), r.SYSTEM, at(1), "ups", "1ZRET")
    for policy in (LABEL_POLICY, NO_LABEL_POLICY):
        assert notice_variants(rma, list(rma.history), policy) == ["approved"]


def test_reject_is_rejected():
    rma = r.reject(requested(), MERCHANT, at(1), "worn")
    assert notice_variants(rma, last(rma), LABEL_POLICY) == ["rejected"]
    assert notice_variants(rma, list(rma.history), LABEL_POLICY) == ["requested", "rejected"]


def test_receive_is_received_and_transit_says_nothing():
    rma = r.mark_in_transit(r.issue_label(auto_approved(), r.SYSTEM, at(1), "ups", "1ZRET"), CARRIER, at(2))
    assert notice_variants(rma, last(rma), LABEL_POLICY) == []
    rma = r.receive(rma, CARRIER, at(3))
    assert notice_variants(rma, last(rma), LABEL_POLICY) == ["received"]


@pytest.mark.parametrize(("kind", "variant"), [("refund", "refunded"), ("store_credit", "credit_issued"),
                                               ("exchange", "exchange_shipped")])
def test_each_resolution_has_its_email(kind, variant):
    rma = resolved(kind)
    assert notice_variants(rma, last(rma), LABEL_POLICY) == [variant]
    # Still the resolution's email when the RMA was closed since.
    closed = r.close(rma, MERCHANT, at(6))
    assert notice_variants(closed, last(closed, 2), LABEL_POLICY) == [variant]


def test_cancel_close_inspect_and_expire_say_nothing():
    cancelled = r.cancel(requested(), CUSTOMER, at(1))
    assert notice_variants(cancelled, last(cancelled), LABEL_POLICY) == []
    rejected_inspection = inspected(accepted=0)
    assert notice_variants(rejected_inspection, last(rejected_inspection), LABEL_POLICY) == []
    closed = r.close(rejected_inspection, MERCHANT, at(5))
    assert notice_variants(closed, last(closed), LABEL_POLICY) == []
    expired = r.expire(auto_approved(), T0 + timedelta(days=30))
    assert notice_variants(expired, last(expired), NO_LABEL_POLICY) == []


def test_a_storefront_refund_walk_is_received_then_refunded():
    rma = r.mark_in_transit(r.issue_label(auto_approved(), r.SYSTEM, at(1), "ups", "1ZRET"), CARRIER, at(2))
    rma = r.receive(rma, MERCHANT, at(3))
    rma = r.inspect(rma, MERCHANT, at(3), [{"sku": "MUG-1", "accepted_quantity": 2}])
    rma = r.resolve(rma, MERCHANT, at(3), RESOLUTIONS["refund"], recorded_elsewhere=True)
    assert notice_variants(rma, last(rma, 3), LABEL_POLICY) == ["received", "refunded"]


def test_the_whole_life_in_one_slice_gives_each_email_once_in_order():
    rma = resolved("refund")
    assert notice_variants(rma, list(rma.history), LABEL_POLICY) == ["approved", "received", "refunded"]
    assert notice_variants(rma, list(rma.history), NO_LABEL_POLICY) == ["approved", "received", "refunded"]
    assert notice_variants(rma, [], LABEL_POLICY) == []


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 8), st.integers(0, 8), st.sampled_from(["refund", "store_credit", "exchange"]),
       st.booleans())
def test_any_slice_has_no_duplicates_and_never_both_requested_and_approved(start, length, kind, label):
    rma = r.close(resolved(kind), MERCHANT, at(7))
    policy = LABEL_POLICY if label else NO_LABEL_POLICY
    variants = notice_variants(rma, list(rma.history[start:start + length]), policy)
    assert len(variants) == len(set(variants))
    assert not {"requested", "approved"} <= set(variants)


# --- notice_requests ----------------------------------------------------------------------------


def test_notice_requests_build_one_email_request_per_variant_from_the_order():
    order = make_order()
    rma = resolved("store_credit")
    requests = notice_requests(rma, list(rma.history), order, LABEL_POLICY, order_page_url=URL, now=at(9))
    assert [request.variant for request in requests] == ["approved", "received", "credit_issued"]
    for request in requests:
        assert isinstance(request, EmailRequest)
        assert request.kind == "return_update"
        assert request.ref == rma.rma_id and request.merchant_id == "m-1"
        assert request.message_key == f"return_{request.variant}#{rma.rma_id}"
        assert request.recipient == order.recipient == "ayse.yilmaz@example.com"
        assert request.locale == "tr-TR" and request.timezone == "Europe/Istanbul"
        assert request.order == order and request.order_page_url == URL and request.requested_at == at(9)
        assert request.return_notice == return_notice(rma, LABEL_POLICY)
    notice = requests[0].return_notice
    assert notice.status == "resolved" and notice.credit_code == "SC-1" and notice.amount == Decimal("25.00")
    assert notice.tracking_number == "1ZRET" and notice.label_provided is True
    assert notice.lines[0].accepted_quantity == 2 and notice.ship_by == rma.expires_at


def test_notice_requests_for_a_step_that_says_nothing_is_empty():
    rma = r.cancel(requested(), CUSTOMER, at(1))
    assert notice_requests(rma, last(rma), make_order(), LABEL_POLICY, order_page_url=URL, now=at(2)) == []


def test_the_recipient_is_the_orders_email_over_the_customers():
    order = make_order()
    order = type(order).model_validate({**order.model_dump(mode="json"), "email": "orders@example.com"})
    rma = requested()
    (request,) = notice_requests(rma, list(rma.history), order, LABEL_POLICY, order_page_url=URL, now=T0)
    assert request.recipient == "orders@example.com" and request.message_key == "return_requested#R-ABCDEFGHJK"
