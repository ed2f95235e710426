"""The RMA state machine: legal paths, refused transitions, actor rules, refund arithmetic."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from postpurchase.errors import InvalidInput, NotAllowed
from postpurchase.returns import rma as r
from postpurchase.returns.rma import (
    COMMAND_ACTORS,
    COMMAND_TARGET,
    TERMINAL,
    TRANSITIONS,
    Actor,
    ActorNotAllowed,
    IllegalTransition,
    InspectionLine,
    InspectionOutcome,
    ResolutionKind,
    RmaStatus as S,
)

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
CUSTOMER = Actor(kind="customer", id="cust-1")
MERCHANT = Actor(kind="merchant", id="staff-7")
CARRIER = Actor(kind="carrier", id="ups")
SYSTEM = r.SYSTEM
ACTORS = {"customer": CUSTOMER, "merchant": MERCHANT, "carrier": CARRIER, "system": SYSTEM}
PRICES = {"SHIRT": Decimal("20.00"), "MUG": Decimal("7.50")}
REFUND = {"kind": "refund", "amount": "47.00", "currency": "EUR"}


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def new(actor: Actor = CUSTOMER) -> r.ReturnRequest:
    return r.request(
        rma_id="RMA-1",
        merchant_id="m-1",
        order_id="1001",
        lines=[
            {"sku": "SHIRT", "quantity": 2, "reason": "doesnt_fit", "resolution": "refund", "comment": "too small"},
            {"sku": "MUG", "quantity": 1, "reason": "damaged", "resolution": "refund"},
        ],
        actor=actor,
        now=T0,
    )


def shipped(via_drop_off: bool = False) -> r.ReturnRequest:
    rma = r.approve(new(), MERCHANT, at(1), ship_within_days=10)
    if via_drop_off:
        return r.issue_drop_off_code(rma, MERCHANT, at(2), "DROP-123")
    return r.issue_label(rma, SYSTEM, at(2), "ups", "1Z999", "https://labels.example/1Z999.pdf")


def inspected(accepted: dict[str, int] | None = None) -> r.ReturnRequest:
    rma = r.mark_in_transit(shipped(), CARRIER, at(3))
    rma = r.receive(rma, CARRIER, at(4))
    accepted = {"SHIRT": 2, "MUG": 1} if accepted is None else accepted
    return r.inspect(rma, MERCHANT, at(5), [{"sku": s, "accepted_quantity": q} for s, q in accepted.items()])


def at_status(status: S) -> r.ReturnRequest:
    """An RMA that has reached `status` by a legal path."""
    builders = {
        S.requested: new,
        S.approved: lambda: r.approve(new(), MERCHANT, at(1)),
        S.rejected: lambda: r.reject(new(), MERCHANT, at(1), "outside the return window"),
        S.label_issued: shipped,
        S.in_transit: lambda: r.mark_in_transit(shipped(), CARRIER, at(3)),
        S.received: lambda: r.receive(r.mark_in_transit(shipped(), CARRIER, at(3)), MERCHANT, at(4)),
        S.inspected: inspected,
        S.resolved: lambda: r.resolve(inspected(), MERCHANT, at(6), REFUND, line_prices=PRICES),
        S.closed: lambda: r.close(r.resolve(inspected(), MERCHANT, at(6), REFUND, line_prices=PRICES), MERCHANT, at(7)),
        S.cancelled: lambda: r.cancel(new(), CUSTOMER, at(1)),
        S.expired: lambda: r.expire(r.approve(new(), MERCHANT, at(1), 3), at(1) + timedelta(days=3)),
    }
    rma = builders[status]()
    assert rma.status is status
    return rma


# Each command with the arguments it needs besides (rma, actor, now); expire takes no actor.
def run(command: str, rma: r.ReturnRequest, actor: Actor, now: datetime) -> r.ReturnRequest:
    if command == "approve":
        return r.approve(rma, actor, now, 7)
    if command == "reject":
        return r.reject(rma, actor, now, "no")
    if command == "issue_label":
        return r.issue_label(rma, actor, now, "ups", "1Z1", None)
    if command == "issue_drop_off_code":
        return r.issue_drop_off_code(rma, actor, now, "CODE")
    if command == "mark_in_transit":
        return r.mark_in_transit(rma, actor, now)
    if command == "receive":
        return r.receive(rma, actor, now)
    if command == "inspect":
        return r.inspect(rma, actor, now, [{"sku": "SHIRT", "accepted_quantity": 1}])
    if command == "resolve":
        return r.resolve(rma, actor, now, {"kind": "exchange", "exchange_order_id": "2002"})
    if command == "close":
        return r.close(rma, actor, now)
    if command == "cancel":
        return r.cancel(rma, actor, now)
    if command == "expire":
        return r.expire(rma, now)
    raise AssertionError(command)


COMMANDS = [c for c in COMMAND_TARGET if c != "request"]


def assert_history_chains(rma: r.ReturnRequest) -> None:
    assert rma.history[0].from_status is None and rma.history[0].to_status is S.requested
    for before, after in zip(rma.history, rma.history[1:]):
        assert after.from_status is before.to_status
        assert after.to_status in TRANSITIONS[after.from_status]
        assert after.at >= before.at
    assert rma.history[-1].to_status is rma.status


# --- legal paths ------------------------------------------------------------------------------


def test_request_starts_history():
    rma = new()
    assert rma.status is S.requested
    assert rma.created_at == T0
    assert [line.sku for line in rma.lines] == ["SHIRT", "MUG"]
    assert rma.lines[0].reason == r.ReturnReason.DOESNT_FIT
    assert len(rma.history) == 1 and rma.history[0].actor == CUSTOMER
    assert rma.requested_quantity == 3


def test_happy_path_refund_to_closed():
    rma = new()
    rma = r.approve(rma, MERCHANT, at(1), ship_within_days=10)
    assert rma.approved_at == at(1) and rma.expires_at == at(1) + timedelta(days=10)
    rma = r.issue_label(rma, MERCHANT, at(2), "ups", "1Z999", "https://labels.example/x.pdf")
    assert rma.label.carrier == "ups" and rma.label.tracking_number == "1Z999"
    rma = r.mark_in_transit(rma, CARRIER, at(3))
    rma = r.receive(rma, CARRIER, at(4))
    rma = r.inspect(rma, MERCHANT, at(5), [InspectionLine(sku="SHIRT", accepted_quantity=2), {"sku": "MUG", "accepted_quantity": 1}])
    assert rma.inspection_outcome is InspectionOutcome.accepted
    rma = r.resolve(rma, MERCHANT, at(6), REFUND, line_prices=PRICES)
    assert rma.resolution.kind is ResolutionKind.REFUND and rma.resolution.amount == Decimal("47.00")
    assert rma.history[-1].data["refundable"] == "47.50"
    rma = r.close(rma, MERCHANT, at(7))
    assert rma.status is S.closed
    assert [t.to_status for t in rma.history] == [
        S.requested, S.approved, S.label_issued, S.in_transit, S.received, S.inspected, S.resolved, S.closed,
    ]
    assert [t.actor.kind for t in rma.history] == [
        "customer", "merchant", "merchant", "carrier", "carrier", "merchant", "merchant", "merchant",
    ]
    assert_history_chains(rma)
    assert rma.model_dump(mode="json")["resolution"]["amount"] == "47.00"


def test_happy_path_store_credit():
    rma = r.resolve(
        inspected(), MERCHANT, at(6),
        {"kind": "store_credit", "amount": "50.00", "currency": "EUR", "store_credit_code": "SC-1"},
    )
    assert rma.resolution.store_credit_code == "SC-1"
    assert r.close(rma, SYSTEM, at(7)).status is S.closed


def test_happy_path_exchange():
    rma = r.resolve(inspected(), MERCHANT, at(6), {"kind": "exchange", "exchange_order_id": "2002"})
    assert rma.resolution.exchange_order_id == "2002" and rma.resolution.amount is None
    assert r.close(rma, MERCHANT, at(7)).status is S.closed


def test_drop_off_code_path_received_without_transit():
    rma = shipped(via_drop_off=True)
    assert rma.label.drop_off_code == "DROP-123" and rma.label.carrier is None
    rma = r.receive(rma, MERCHANT, at(3))
    assert rma.status is S.received
    assert_history_chains(rma)


def test_carrier_cannot_drive_a_drop_off_return():
    rma = shipped(via_drop_off=True)
    with pytest.raises(IllegalTransition, match="no carrier label"):
        r.mark_in_transit(rma, CARRIER, at(3))
    with pytest.raises(IllegalTransition, match="no carrier label"):
        r.receive(rma, CARRIER, at(3))
    assert r.mark_in_transit(rma, MERCHANT, at(3)).status is S.in_transit


def test_rejected_with_reason():
    rma = r.reject(new(), MERCHANT, at(1), "  final sale item ")
    assert rma.status is S.rejected and rma.rejection_reason == "final sale item"
    assert rma.history[-1].note == "final sale item"
    for command in COMMANDS:
        with pytest.raises(IllegalTransition):
            run(command, rma, MERCHANT if command != "expire" else SYSTEM, at(2))


def test_reject_needs_reason():
    with pytest.raises(InvalidInput):
        r.reject(new(), MERCHANT, at(1), "   ")


@pytest.mark.parametrize("status", [S.requested, S.approved, S.label_issued])
@pytest.mark.parametrize("actor", [CUSTOMER, MERCHANT])
def test_cancel_before_shipping(status, actor):
    rma = r.cancel(at_status(status), actor, at(10))
    assert rma.status is S.cancelled and rma.history[-1].actor == actor


@pytest.mark.parametrize("status", [S.in_transit, S.received, S.inspected, S.resolved, S.closed, S.rejected, S.expired])
def test_cancel_refused_once_shipped_or_finished(status):
    with pytest.raises(IllegalTransition) as caught:
        r.cancel(at_status(status), CUSTOMER, at(10))
    assert caught.value.current is status and caught.value.command == "cancel"


@pytest.mark.parametrize("status", [S.approved, S.label_issued])
def test_expire_after_window(status):
    rma = at_status(status)
    with pytest.raises(IllegalTransition, match="has not passed"):
        r.expire(rma, rma.expires_at - timedelta(seconds=1))
    expired = r.expire(rma, rma.expires_at)
    assert expired.status is S.expired and expired.history[-1].actor == SYSTEM


def test_expire_refused_when_not_approved():
    with pytest.raises(IllegalTransition):
        r.expire(new(), T0 + timedelta(days=400))
    with pytest.raises(IllegalTransition):
        r.expire(at_status(S.in_transit), T0 + timedelta(days=400))


def test_partial_acceptance_and_refund_cap():
    rma = inspected({"SHIRT": 1})
    assert rma.inspection_outcome is InspectionOutcome.partially_accepted
    assert [(line.sku, line.accepted_quantity) for line in rma.inspection] == [("SHIRT", 1), ("MUG", 0)]
    assert rma.accepted_quantity == 1
    fees = {"line_prices": PRICES, "restocking_percent": "10", "return_shipping_fee": "4.95"}
    with pytest.raises(InvalidInput, match="exceeds the refundable 13.05"):
        r.resolve(rma, MERCHANT, at(6), {"kind": "refund", "amount": "13.06", "currency": "EUR"}, **fees)
    done = r.resolve(rma, MERCHANT, at(6), {"kind": "refund", "amount": "13.05", "currency": "EUR"}, **fees)
    assert done.status is S.resolved


def test_refund_needs_prices():
    with pytest.raises(InvalidInput, match="line prices"):
        r.resolve(inspected(), MERCHANT, at(6), REFUND)


def test_nothing_accepted_closes_without_resolution():
    rma = inspected({})
    assert rma.inspection_outcome is InspectionOutcome.rejected
    with pytest.raises(IllegalTransition, match="accepted nothing"):
        r.resolve(rma, MERCHANT, at(6), {"kind": "exchange", "exchange_order_id": "9"})
    closed = r.close(rma, MERCHANT, at(6))
    assert closed.status is S.closed and closed.resolution is None


def test_accepted_items_must_be_resolved_before_close():
    with pytest.raises(IllegalTransition, match="resolved first"):
        r.close(inspected({"MUG": 1}), MERCHANT, at(6))


@pytest.mark.parametrize(
    "lines, field",
    [
        ([{"sku": "SHIRT", "accepted_quantity": 3}], "lines[0].accepted_quantity"),
        ([{"sku": "HAT", "accepted_quantity": 1}], "lines[0].sku"),
        ([{"sku": "MUG", "accepted_quantity": 1}, {"sku": "MUG", "accepted_quantity": 0}], "lines[1].sku"),
        ([{"sku": "MUG", "accepted_quantity": -1}], "lines[0].accepted_quantity"),
    ],
)
def test_inspection_validation(lines, field):
    rma = at_status(S.received)
    with pytest.raises(InvalidInput) as caught:
        r.inspect(rma, MERCHANT, at(5), lines)
    assert caught.value.field == field


@pytest.mark.parametrize(
    "outcome",
    [
        {"kind": "refund", "currency": "EUR"},
        {"kind": "refund", "amount": "1.00"},
        {"kind": "refund", "amount": "-1.00", "currency": "EUR"},
        {"kind": "refund", "amount": 1.5, "currency": "EUR"},
        {"kind": "store_credit", "amount": "5.00", "currency": "EUR"},
        {"kind": "exchange"},
        {"kind": "refund", "amount": "1.00", "currency": "EUR", "exchange_order_id": "5"},
        {"kind": "gift", "amount": "1.00", "currency": "EUR"},
    ],
)
def test_resolution_outcome_validation(outcome):
    with pytest.raises(InvalidInput):
        r.resolve(inspected(), MERCHANT, at(6), outcome, line_prices=PRICES)


def test_request_validation():
    base = {"rma_id": "R", "merchant_id": "m", "order_id": "o", "actor": CUSTOMER, "now": T0}
    line = {"sku": "A", "quantity": 1, "reason": "other", "resolution": "refund"}
    for bad in (
        [],
        [{**line, "quantity": 0}],
        [{**line, "reason": "bored"}],
        [{**line, "comment": "x" * 1001}],
        [line, line],
    ):
        with pytest.raises(InvalidInput):
            r.request(**base, lines=bad)
    assert r.request(**base, lines=[{**line, "comment": "x" * 1000}]).status is S.requested
    with pytest.raises(InvalidInput, match="timezone-aware"):
        r.request(**{**base, "now": datetime(2024, 1, 1)}, lines=[line])


def test_label_validation():
    rma = at_status(S.approved)
    with pytest.raises(InvalidInput):
        r.issue_label(rma, MERCHANT, at(2), "", "1Z")
    with pytest.raises(InvalidInput):
        r.issue_drop_off_code(rma, MERCHANT, at(2), "")


def test_approve_window_validation():
    for days in (0, -1, 366, True, 1.5):
        with pytest.raises(InvalidInput):
            r.approve(new(), MERCHANT, at(1), days)


def test_auto_approve():
    rma = new()
    assert r.maybe_auto_approve(rma, False, at(1)) is rma
    approved = r.maybe_auto_approve(rma, True, at(1))
    assert approved.status is S.approved and approved.history[-1].actor == SYSTEM
    assert approved.expires_at == at(1) + timedelta(days=r.DEFAULT_SHIP_WITHIN_DAYS)
    # Already decided: left alone.
    rejected = at_status(S.rejected)
    assert r.maybe_auto_approve(rejected, True, at(2)) is rejected
    assert r.maybe_auto_approve(approved, True, at(2)) is approved


def test_model_is_frozen_and_commands_do_not_mutate():
    rma = new()
    with pytest.raises(ValidationError):
        rma.status = S.approved
    approved = r.approve(rma, MERCHANT, at(1))
    assert rma.status is S.requested and len(rma.history) == 1
    assert approved.history[0] is rma.history[0]


def test_round_trip_json():
    rma = at_status(S.closed)
    again = r.ReturnRequest.model_validate_json(rma.model_dump_json())
    assert again == rma


# --- illegal transitions and actor rules ------------------------------------------------------


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("command", COMMANDS)
def test_table_refuses_every_illegal_transition(status, command):
    if COMMAND_TARGET[command] in TRANSITIONS[status]:
        return
    rma = at_status(status)
    allowed_actor = ACTORS[sorted(COMMAND_ACTORS[command])[0]]
    with pytest.raises(IllegalTransition) as caught:
        run(command, rma, allowed_actor, at(10_000_000))
    error = caught.value
    assert isinstance(error, NotAllowed) and error.status == 422
    assert error.current is status and error.command == command
    assert error.as_body()["error"]["code"] == "not_allowed"
    assert f"cannot {command} a return in status {status.value}" in error.message


def test_transition_table_is_closed_and_terminals_have_no_exit():
    for status, nexts in TRANSITIONS.items():
        assert nexts <= set(S)
    assert set(TRANSITIONS) == set(S)
    assert TERMINAL == {S.rejected, S.cancelled, S.expired, S.closed}
    assert set(COMMAND_ACTORS) == set(COMMAND_TARGET)


# For each command: a status from which the table allows it.
LEGAL_FROM = {
    "approve": S.requested,
    "reject": S.requested,
    "issue_label": S.approved,
    "issue_drop_off_code": S.approved,
    "mark_in_transit": S.label_issued,
    "receive": S.in_transit,
    "inspect": S.received,
    "resolve": S.inspected,
    "close": S.resolved,
    "cancel": S.requested,
}


@pytest.mark.parametrize("command", sorted(LEGAL_FROM))
@pytest.mark.parametrize("kind", sorted(ACTORS))
def test_actor_rules(command, kind):
    rma = at_status(LEGAL_FROM[command])
    if kind in COMMAND_ACTORS[command]:
        assert run(command, rma, ACTORS[kind], at(100)).history[-1].actor.kind == kind
    else:
        with pytest.raises(ActorNotAllowed) as caught:
            run(command, rma, ACTORS[kind], at(100))
        assert caught.value.actor_kind == kind and isinstance(caught.value, IllegalTransition)


def test_documented_actor_rules():
    by_kind = {kind: {c for c, kinds in COMMAND_ACTORS.items() if kind in kinds} for kind in ACTORS}
    assert by_kind["customer"] == {"request", "cancel"}
    assert by_kind["carrier"] == {"mark_in_transit", "receive"}
    assert by_kind["system"] == {"approve", "issue_label", "issue_drop_off_code", "close", "expire"}
    assert "expire" not in by_kind["merchant"]


def test_request_refuses_carrier_and_system():
    for actor in (CARRIER, SYSTEM):
        with pytest.raises(ActorNotAllowed):
            new(actor)
    assert new(MERCHANT).history[0].actor == MERCHANT


def test_actor_as_mapping_and_invalid_actor():
    assert r.approve(new(), {"kind": "merchant", "id": "u"}, at(1)).history[-1].actor == Actor(kind="merchant", id="u")
    with pytest.raises(InvalidInput):
        r.approve(new(), {"kind": "robot"}, at(1))


# --- properties -------------------------------------------------------------------------------


def reachable() -> set[S]:
    seen, todo = {S.requested}, [S.requested]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


step = st.tuples(
    st.sampled_from(COMMANDS),
    st.sampled_from(sorted(ACTORS)),
    st.integers(min_value=0, max_value=60 * 24 * 30),  # minutes to advance the clock
    st.dictionaries(st.sampled_from(["SHIRT", "MUG"]), st.integers(min_value=0, max_value=3), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=25))
def test_random_command_sequences_respect_the_table(steps):
    rma = new()
    now = T0
    successes = 1  # the request
    legal = reachable()
    for command, kind, minutes, accepted in steps:
        now = now + timedelta(minutes=minutes)
        before = rma
        try:
            if command == "inspect":
                rma = r.inspect(rma, ACTORS[kind], now, [{"sku": s, "accepted_quantity": q} for s, q in accepted.items()])
            elif command == "resolve":
                rma = r.resolve(
                    rma, ACTORS[kind], now, {"kind": "refund", "amount": "10.00", "currency": "EUR"},
                    line_prices=PRICES, restocking_percent="5",
                )
            else:
                rma = run(command, rma, ACTORS[kind], now)
        except (IllegalTransition, InvalidInput):
            assert rma is before
            continue
        successes += 1
        assert COMMAND_TARGET[command] in TRANSITIONS[before.status]
        assert kind in COMMAND_ACTORS[command] or command == "expire"
        assert rma.history[: len(before.history)] == before.history  # append-only
        assert rma.history[-1].command == command and rma.history[-1].at == now
        assert rma.status in legal
    assert len(rma.history) == successes
    assert_history_chains(rma)


@settings(max_examples=200, deadline=None)
@given(
    shirt=st.integers(min_value=0, max_value=2),
    mug=st.integers(min_value=0, max_value=1),
    price=st.decimals(min_value=0, max_value=10_000, places=2),
    percent=st.decimals(min_value=0, max_value=100, places=2),
    fee=st.decimals(min_value=0, max_value=500, places=2),
)
def test_refundable_amount_properties(shirt, mug, price, percent, fee):
    lines = [InspectionLine(sku="SHIRT", accepted_quantity=shirt), InspectionLine(sku="MUG", accepted_quantity=mug)]
    prices = {"SHIRT": price, "MUG": Decimal("7.50")}
    amount = r.refundable_amount(lines, prices, percent, fee)
    value = price * shirt + Decimal("7.50") * mug
    assert isinstance(amount, Decimal)
    assert Decimal("0") <= amount <= value
    assert amount == amount.quantize(Decimal("0.01"))
    assert r.refundable_amount(lines, prices, percent, fee + 1) <= amount  # fees only lower it


# --- refundable_amount arithmetic -------------------------------------------------------------


def lines_of(**accepted: int) -> list[InspectionLine]:
    return [InspectionLine(sku=sku, accepted_quantity=q) for sku, q in accepted.items()]


def test_refundable_amount_examples():
    assert r.refundable_amount(lines_of(SHIRT=2, MUG=1), PRICES) == Decimal("47.50")
    # 10% restocking on 47.50 = 4.75; shipping 4.95
    assert r.refundable_amount(lines_of(SHIRT=2, MUG=1), PRICES, Decimal("10"), Decimal("4.95")) == Decimal("37.80")
    # String inputs; restocking rounds half-up to the cent: 15% of 7.50 = 1.125 -> 1.13
    assert r.refundable_amount(lines_of(MUG=1), {"MUG": "7.50"}, "15", "0") == Decimal("6.37")
    # Never negative.
    assert r.refundable_amount(lines_of(MUG=1), PRICES, 50, "10.00") == Decimal("0.00")
    assert r.refundable_amount(lines_of(SHIRT=0), {}, 0, 0) == Decimal("0.00")
    assert r.refundable_amount([], PRICES, "100", "0") == Decimal("0.00")
    # Exact decimal arithmetic, no float drift: 3 x 0.10 = 0.30
    assert r.refundable_amount(lines_of(X=3), {"X": Decimal("0.10")}) == Decimal("0.30")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"restocking_percent": "101"},
        {"restocking_percent": "-1"},
        {"return_shipping_fee": "-0.01"},
        {"return_shipping_fee": 1.5},
        {"restocking_percent": "NaN"},
        {"return_shipping_fee": "abc"},
        {"line_prices": {"SHIRT": Decimal("-1")}},
        {"line_prices": {}},
    ],
)
def test_refundable_amount_refuses_bad_input(kwargs):
    args = {"inspection": lines_of(SHIRT=1), "line_prices": PRICES, **kwargs}
    with pytest.raises(InvalidInput):
        r.refundable_amount(**args)
