"""The RMA lifecycle: one state machine, pure (no AWS; `now` and `actor` are arguments).

Statuses and the transitions between them (TRANSITIONS, checked by every command)::

    requested   -> approved | rejected | cancelled
    approved    -> label_issued | cancelled | expired
    label_issued-> in_transit | received | cancelled | expired
    in_transit  -> received
    received    -> inspected
    inspected   -> resolved | closed      (closed straight away only when nothing was accepted)
    resolved    -> closed
    rejected, cancelled, expired, closed: terminal

`label_issued -> received` exists for drop-off codes and parcels that arrive without a carrier
scan; `in_transit` is driven by the tracking capability where a carrier code exists.

Who may do what (COMMAND_ACTORS, checked by every command):

- customer: request, cancel (only before the parcel ships: requested/approved/label_issued)
- merchant: the manual steps - request (on a customer's behalf), approve, reject, issue a label
  or drop-off code, mark in transit, receive, inspect, resolve, close, cancel
- carrier:  mark in transit and receive (tracking events; only when the label has a carrier)
- system:   approve (auto-approval, see maybe_auto_approve), issue a label, close, expire

Every command returns a new ReturnRequest (the model is frozen) with one Transition appended to
`history` (append-only: the request itself is history[0], from None to requested), or raises
IllegalTransition (a NotAllowed: the API answers 422 with the reason). Bad arguments raise
InvalidInput (400).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import InvalidInput, NotAllowed
from ..orders.models import Identifier, Money, Sku
from ..validation import validate
from .policy import Resolution as ResolutionKind
from .policy import ReturnReason

__all__ = [
    "Actor",
    "ActorNotAllowed",
    "COMMAND_ACTORS",
    "COMMAND_TARGET",
    "IllegalTransition",
    "InspectionLine",
    "InspectionOutcome",
    "Label",
    "ResolutionKind",
    "ResolutionOutcome",
    "ReturnLine",
    "ReturnReason",
    "ReturnRequest",
    "RmaStatus",
    "SYSTEM",
    "TERMINAL",
    "TRANSITIONS",
    "Transition",
    "approve",
    "cancel",
    "close",
    "expire",
    "inspect",
    "issue_drop_off_code",
    "issue_label",
    "mark_in_transit",
    "maybe_auto_approve",
    "receive",
    "refundable_amount",
    "reject",
    "request",
    "resolve",
]

DEFAULT_SHIP_WITHIN_DAYS = 14
_CENT = Decimal("0.01")


class RmaStatus(str, Enum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    label_issued = "label_issued"
    in_transit = "in_transit"
    received = "received"
    inspected = "inspected"
    resolved = "resolved"
    closed = "closed"
    cancelled = "cancelled"
    expired = "expired"


class InspectionOutcome(str, Enum):
    accepted = "accepted"
    partially_accepted = "partially_accepted"
    rejected = "rejected"


S = RmaStatus
TRANSITIONS: dict[RmaStatus, frozenset[RmaStatus]] = {
    S.requested: frozenset({S.approved, S.rejected, S.cancelled}),
    S.approved: frozenset({S.label_issued, S.cancelled, S.expired}),
    S.label_issued: frozenset({S.in_transit, S.received, S.cancelled, S.expired}),
    S.in_transit: frozenset({S.received}),
    S.received: frozenset({S.inspected}),
    S.inspected: frozenset({S.resolved, S.closed}),
    S.resolved: frozenset({S.closed}),
    S.rejected: frozenset(),
    S.cancelled: frozenset(),
    S.expired: frozenset(),
    S.closed: frozenset(),
}
TERMINAL = frozenset(status for status, nexts in TRANSITIONS.items() if not nexts)

ActorKind = Literal["customer", "merchant", "system", "carrier"]

# ReturnReason and ResolutionKind (policy.Resolution) are the policy module's enums: one set of
# API values for both.

# Command name -> the status it leads to, and the actor kinds allowed to issue it.
COMMAND_TARGET: dict[str, RmaStatus] = {
    "request": S.requested,
    "approve": S.approved,
    "reject": S.rejected,
    "issue_label": S.label_issued,
    "issue_drop_off_code": S.label_issued,
    "mark_in_transit": S.in_transit,
    "receive": S.received,
    "inspect": S.inspected,
    "resolve": S.resolved,
    "close": S.closed,
    "cancel": S.cancelled,
    "expire": S.expired,
}
COMMAND_ACTORS: dict[str, frozenset[str]] = {
    "request": frozenset({"customer", "merchant"}),
    "approve": frozenset({"merchant", "system"}),
    "reject": frozenset({"merchant"}),
    "issue_label": frozenset({"merchant", "system"}),
    "issue_drop_off_code": frozenset({"merchant", "system"}),
    "mark_in_transit": frozenset({"carrier", "merchant"}),
    "receive": frozenset({"carrier", "merchant"}),
    "inspect": frozenset({"merchant"}),
    "resolve": frozenset({"merchant"}),
    "close": frozenset({"merchant", "system"}),
    "cancel": frozenset({"customer", "merchant"}),
    "expire": frozenset({"system"}),
}


class IllegalTransition(NotAllowed):
    """A command the RMA's current status (or the actor, or a guard) does not allow."""

    def __init__(self, current: RmaStatus | None, command: str, reason: str | None = None) -> None:
        self.current = current
        self.command = command
        self.reason = reason
        state = current.value if current is not None else "none"
        message = f"cannot {command} a return in status {state}"
        if reason:
            message += f": {reason}"
        super().__init__(message, field="status")


class ActorNotAllowed(IllegalTransition):
    def __init__(self, current: RmaStatus | None, command: str, actor_kind: str) -> None:
        self.actor_kind = actor_kind
        super().__init__(current, command, f"a {actor_kind} may not do this")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Actor(_Model):
    kind: ActorKind
    id: str | None = Field(default=None, max_length=256)


SYSTEM = Actor(kind="system")


class ReturnLine(_Model):
    sku: Sku
    quantity: int = Field(ge=1, le=100_000)
    reason: ReturnReason
    comment: str = Field(default="", max_length=1000)
    resolution: ResolutionKind


class InspectionLine(_Model):
    sku: Sku
    accepted_quantity: int = Field(ge=0, le=100_000)
    note: str = Field(default="", max_length=1000)


class Label(_Model):
    """Either a carrier label (carrier, tracking number, label url) or a drop-off code."""

    carrier: str | None = Field(default=None, min_length=1, max_length=64)
    tracking_number: str | None = Field(default=None, min_length=1, max_length=128)
    label_url: str | None = Field(default=None, min_length=1, max_length=2048)
    drop_off_code: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="after")
    def _one_kind(self) -> Label:
        carrier_label = self.carrier is not None or self.tracking_number is not None or self.label_url is not None
        if self.drop_off_code is not None:
            if carrier_label:
                raise ValueError("a label is either a carrier label or a drop-off code, not both")
        elif not (self.carrier and self.tracking_number):
            raise ValueError("a carrier label needs a carrier and a tracking number")
        return self


class ResolutionOutcome(_Model):
    kind: ResolutionKind
    amount: Money | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    store_credit_code: str | None = Field(default=None, min_length=1, max_length=128)
    exchange_order_id: Identifier | None = None

    @field_validator("amount")
    @classmethod
    def _non_negative(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError("must not be negative")
        return value

    @model_validator(mode="after")
    def _fields_for_kind(self) -> ResolutionOutcome:
        if self.kind in (ResolutionKind.REFUND, ResolutionKind.STORE_CREDIT):
            if self.amount is None or self.currency is None:
                raise ValueError(f"a {self.kind.value} needs an amount and a currency")
            if self.exchange_order_id is not None:
                raise ValueError(f"a {self.kind.value} has no exchange order")
        if self.kind is ResolutionKind.STORE_CREDIT and self.store_credit_code is None:
            raise ValueError("a store credit needs a store_credit_code")
        if self.kind is not ResolutionKind.STORE_CREDIT and self.store_credit_code is not None:
            raise ValueError("only a store credit has a store_credit_code")
        if self.kind is ResolutionKind.EXCHANGE and self.exchange_order_id is None:
            raise ValueError("an exchange needs an exchange_order_id")
        return self


class Transition(_Model):
    from_status: RmaStatus | None
    to_status: RmaStatus
    at: AwareDatetime
    actor: Actor
    command: str
    note: str | None = Field(default=None, max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict)


class ReturnRequest(_Model):
    rma_id: Identifier
    merchant_id: Identifier
    order_id: Identifier
    lines: tuple[ReturnLine, ...] = Field(min_length=1, max_length=250)
    status: RmaStatus
    created_at: AwareDatetime
    history: tuple[Transition, ...] = Field(min_length=1)
    label: Label | None = None
    inspection: tuple[InspectionLine, ...] | None = None
    inspection_outcome: InspectionOutcome | None = None
    resolution: ResolutionOutcome | None = None
    rejection_reason: str | None = None
    approved_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None

    @field_validator("lines")
    @classmethod
    def _unique_skus(cls, lines: tuple[ReturnLine, ...]) -> tuple[ReturnLine, ...]:
        skus = [line.sku for line in lines]
        if len(set(skus)) != len(skus):
            raise ValueError("each sku may appear only once; add up the quantities")
        return lines

    @model_validator(mode="after")
    def _history_matches(self) -> ReturnRequest:
        if self.history[-1].to_status is not self.status:
            raise ValueError("status must be the last transition's to_status")
        return self

    def line(self, sku: str) -> ReturnLine | None:
        return next((line for line in self.lines if line.sku == sku), None)

    @property
    def requested_quantity(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def accepted_quantity(self) -> int:
        return sum(line.accepted_quantity for line in self.inspection or ())


# --- plumbing ---------------------------------------------------------------------------------


def _aware(now: datetime) -> datetime:
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput("now must be a timezone-aware datetime", field="now")
    return now


def _actor(actor: Actor | Mapping[str, Any]) -> Actor:
    return actor if isinstance(actor, Actor) else validate(Actor, actor, "actor")


def _check(rma: ReturnRequest, command: str, actor: Actor) -> RmaStatus:
    """Refuse a command the table or the actor rules do not allow; return its target status."""
    target = COMMAND_TARGET[command]
    if target not in TRANSITIONS[rma.status]:
        raise IllegalTransition(rma.status, command)
    if actor.kind not in COMMAND_ACTORS[command]:
        raise ActorNotAllowed(rma.status, command, actor.kind)
    return target


def _advance(
    rma: ReturnRequest,
    command: str,
    actor: Actor,
    now: datetime,
    *,
    note: str | None = None,
    data: Mapping[str, Any] | None = None,
    **changes: Any,
) -> ReturnRequest:
    target = COMMAND_TARGET[command]
    transition = Transition(
        from_status=rma.status,
        to_status=target,
        at=now,
        actor=actor,
        command=command,
        note=note,
        data=dict(data or {}),
    )
    return rma.model_copy(update={"status": target, "history": (*rma.history, transition), **changes})


# --- commands ---------------------------------------------------------------------------------


def request(
    *,
    rma_id: str,
    merchant_id: str,
    order_id: str,
    lines: Sequence[ReturnLine | Mapping[str, Any]],
    actor: Actor | Mapping[str, Any],
    now: datetime,
) -> ReturnRequest:
    """A new RMA in status requested (history[0] goes from None to requested)."""
    actor = _actor(actor)
    now = _aware(now)
    if actor.kind not in COMMAND_ACTORS["request"]:
        raise ActorNotAllowed(None, "request", actor.kind)
    first = Transition(from_status=None, to_status=S.requested, at=now, actor=actor, command="request")
    return validate(
        ReturnRequest,
        {
            "rma_id": rma_id,
            "merchant_id": merchant_id,
            "order_id": order_id,
            "lines": [line.model_dump() if isinstance(line, ReturnLine) else line for line in lines],
            "status": S.requested,
            "created_at": now,
            "history": [first],
        },
    )


def approve(
    rma: ReturnRequest,
    actor: Actor | Mapping[str, Any],
    now: datetime,
    ship_within_days: int = DEFAULT_SHIP_WITHIN_DAYS,
) -> ReturnRequest:
    """Approve; the customer then has `ship_within_days` days to ship (expires_at)."""
    actor, now = _actor(actor), _aware(now)
    _check(rma, "approve", actor)
    if isinstance(ship_within_days, bool) or not isinstance(ship_within_days, int) or not 1 <= ship_within_days <= 365:
        raise InvalidInput("ship_within_days must be a whole number of days between 1 and 365", field="ship_within_days")
    expires_at = now + timedelta(days=ship_within_days)
    return _advance(
        rma,
        "approve",
        actor,
        now,
        data={"ship_within_days": ship_within_days, "expires_at": expires_at.isoformat()},
        approved_at=now,
        expires_at=expires_at,
    )


def maybe_auto_approve(
    rma: ReturnRequest,
    auto_approve: bool,
    now: datetime,
    ship_within_days: int = DEFAULT_SHIP_WITHIN_DAYS,
) -> ReturnRequest:
    """Approve as the system when the policy allows it and the RMA is still requested; else unchanged."""
    if not auto_approve or rma.status is not S.requested:
        return rma
    return approve(rma, SYSTEM, now, ship_within_days)


def reject(rma: ReturnRequest, actor: Actor | Mapping[str, Any], now: datetime, reason: str) -> ReturnRequest:
    actor, now = _actor(actor), _aware(now)
    _check(rma, "reject", actor)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > 1000:
        raise InvalidInput("a rejection needs a reason of 1-1000 characters", field="reason")
    return _advance(rma, "reject", actor, now, note=reason, rejection_reason=reason)


def issue_label(
    rma: ReturnRequest,
    actor: Actor | Mapping[str, Any],
    now: datetime,
    carrier: str,
    tracking_number: str,
    label_url: str | None = None,
) -> ReturnRequest:
    actor, now = _actor(actor), _aware(now)
    _check(rma, "issue_label", actor)
    label = validate(Label, {"carrier": carrier, "tracking_number": tracking_number, "label_url": label_url}, "label")
    return _advance(rma, "issue_label", actor, now, data=label.model_dump(exclude_none=True), label=label)


def issue_drop_off_code(rma: ReturnRequest, actor: Actor | Mapping[str, Any], now: datetime, code: str) -> ReturnRequest:
    actor, now = _actor(actor), _aware(now)
    _check(rma, "issue_drop_off_code", actor)
    label = validate(Label, {"drop_off_code": code}, "label")
    return _advance(rma, "issue_drop_off_code", actor, now, data=label.model_dump(exclude_none=True), label=label)


def _carrier_needs_tracking(rma: ReturnRequest, command: str, actor: Actor) -> None:
    if actor.kind == "carrier" and (rma.label is None or rma.label.carrier is None):
        raise IllegalTransition(rma.status, command, "no carrier label to track")


def mark_in_transit(rma: ReturnRequest, actor: Actor | Mapping[str, Any], now: datetime) -> ReturnRequest:
    actor, now = _actor(actor), _aware(now)
    _check(rma, "mark_in_transit", actor)
    _carrier_needs_tracking(rma, "mark_in_transit", actor)
    return _advance(rma, "mark_in_transit", actor, now)


def receive(rma: ReturnRequest, actor: Actor | Mapping[str, Any], now: datetime) -> ReturnRequest:
    actor, now = _actor(actor), _aware(now)
    _check(rma, "receive", actor)
    _carrier_needs_tracking(rma, "receive", actor)
    return _advance(rma, "receive", actor, now)


def _outcome(requested: int, accepted: int) -> InspectionOutcome:
    if accepted == 0:
        return InspectionOutcome.rejected
    if accepted == requested:
        return InspectionOutcome.accepted
    return InspectionOutcome.partially_accepted


def inspect(
    rma: ReturnRequest,
    actor: Actor | Mapping[str, Any],
    now: datetime,
    lines: Sequence[InspectionLine | Mapping[str, Any]],
) -> ReturnRequest:
    """Record what was accepted per sku; a requested sku left out counts as 0 accepted."""
    actor, now = _actor(actor), _aware(now)
    _check(rma, "inspect", actor)
    given: dict[str, InspectionLine] = {}
    for index, raw in enumerate(lines):
        line = raw if isinstance(raw, InspectionLine) else validate(InspectionLine, raw, f"lines[{index}]")
        requested = rma.line(line.sku)
        if requested is None:
            raise InvalidInput(f"lines[{index}].sku: {line.sku!r} is not in this return", field=f"lines[{index}].sku")
        if line.sku in given:
            raise InvalidInput(f"lines[{index}].sku: {line.sku!r} appears twice", field=f"lines[{index}].sku")
        if line.accepted_quantity > requested.quantity:
            raise InvalidInput(
                f"lines[{index}].accepted_quantity: {line.accepted_quantity} exceeds the {requested.quantity} requested",
                field=f"lines[{index}].accepted_quantity",
            )
        given[line.sku] = line
    inspection = tuple(given.get(line.sku) or InspectionLine(sku=line.sku, accepted_quantity=0) for line in rma.lines)
    outcome = _outcome(rma.requested_quantity, sum(line.accepted_quantity for line in inspection))
    return _advance(
        rma,
        "inspect",
        actor,
        now,
        data={"outcome": outcome.value, "accepted": {line.sku: line.accepted_quantity for line in inspection}},
        inspection=inspection,
        inspection_outcome=outcome,
    )


def _decimal(value: Decimal | str | int, field: str) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidInput(f"{field} must be a decimal string or Decimal, not a float", field=field)
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except ArithmeticError:
        raise InvalidInput(f"{field} must be a decimal number", field=field) from None
    if not result.is_finite():
        raise InvalidInput(f"{field} must be a finite number", field=field)
    return result


def refundable_amount(
    inspection: Sequence[InspectionLine],
    line_prices: Mapping[str, Decimal | str],
    restocking_percent: Decimal | str | int = Decimal("0"),
    return_shipping_fee: Decimal | str | int = Decimal("0"),
) -> Decimal:
    """What the accepted lines are worth, less the restocking fee and the return-shipping fee.

    value = sum(unit price x accepted quantity); restocking fee = value x percent / 100, rounded
    half-up to the cent; result = value - restocking fee - shipping fee, never below zero,
    rounded half-up to the cent. Prices are per unit, keyed by sku.
    """
    percent = _decimal(restocking_percent, "restocking_percent")
    if not Decimal("0") <= percent <= Decimal("100"):
        raise InvalidInput("restocking_percent must be between 0 and 100", field="restocking_percent")
    fee = _decimal(return_shipping_fee, "return_shipping_fee")
    if fee < 0:
        raise InvalidInput("return_shipping_fee must not be negative", field="return_shipping_fee")
    value = Decimal("0")
    for line in inspection:
        if line.accepted_quantity == 0:
            continue
        if line.sku not in line_prices:
            raise InvalidInput(f"line_prices: no price for sku {line.sku!r}", field="line_prices")
        price = _decimal(line_prices[line.sku], f"line_prices[{line.sku}]")
        if price < 0:
            raise InvalidInput(f"line_prices[{line.sku}] must not be negative", field="line_prices")
        value += price * line.accepted_quantity
    restocking = (value * percent / Decimal("100")).quantize(_CENT, rounding=ROUND_HALF_UP)
    result = value - restocking - fee
    if result < 0:
        result = Decimal("0")
    return result.quantize(_CENT, rounding=ROUND_HALF_UP)


def resolve(
    rma: ReturnRequest,
    actor: Actor | Mapping[str, Any],
    now: datetime,
    outcome: ResolutionOutcome | Mapping[str, Any],
    *,
    line_prices: Mapping[str, Decimal | str] | None = None,
    restocking_percent: Decimal | str | int = Decimal("0"),
    return_shipping_fee: Decimal | str | int = Decimal("0"),
    recorded_elsewhere: bool = False,
    refundable: Decimal | None = None,
) -> ReturnRequest:
    """Refund, issue store credit or ship an exchange for what inspection accepted.

    A refund needs `line_prices` and may not exceed refundable_amount(...). Nothing accepted
    means nothing to resolve: close the RMA instead. `recorded_elsewhere`: the merchant already
    refunded in their storefront (which may include shipping or tax); we record that amount as
    it is instead of checking it against the item prices. `refundable`: the limit, computed by
    the caller (lines under different category rules), instead of from the arguments above.
    """
    actor, now = _actor(actor), _aware(now)
    _check(rma, "resolve", actor)
    resolution = outcome if isinstance(outcome, ResolutionOutcome) else validate(ResolutionOutcome, outcome, "outcome")
    if rma.inspection_outcome is InspectionOutcome.rejected:
        raise IllegalTransition(rma.status, "resolve", "inspection accepted nothing; close the return instead")
    data: dict[str, Any] = resolution.model_dump(mode="json", exclude_none=True)
    if resolution.kind is ResolutionKind.REFUND and recorded_elsewhere:
        data["recorded_elsewhere"] = True
    elif resolution.kind is ResolutionKind.REFUND:
        if line_prices is None and refundable is None:
            raise InvalidInput("a refund needs the line prices to check its amount", field="line_prices")
        limit = refundable if refundable is not None else refundable_amount(
            rma.inspection or (), line_prices or {}, restocking_percent, return_shipping_fee)
        assert resolution.amount is not None  # the model guarantees it for a refund
        if resolution.amount > limit:
            raise InvalidInput(
                f"outcome.amount: {resolution.amount} exceeds the refundable {limit}", field="outcome.amount"
            )
        data["refundable"] = str(limit)
    return _advance(rma, "resolve", actor, now, data=data, resolution=resolution)


def close(rma: ReturnRequest, actor: Actor | Mapping[str, Any], now: datetime) -> ReturnRequest:
    """Close a resolved RMA, or an inspected one whose inspection accepted nothing."""
    actor, now = _actor(actor), _aware(now)
    _check(rma, "close", actor)
    if rma.status is S.inspected and rma.inspection_outcome is not InspectionOutcome.rejected:
        raise IllegalTransition(rma.status, "close", "accepted items must be resolved first")
    return _advance(rma, "close", actor, now)


def cancel(rma: ReturnRequest, actor: Actor | Mapping[str, Any], now: datetime) -> ReturnRequest:
    """The customer (or merchant) withdraws the return before it ships."""
    actor, now = _actor(actor), _aware(now)
    _check(rma, "cancel", actor)
    return _advance(rma, "cancel", actor, now)


def expire(rma: ReturnRequest, now: datetime) -> ReturnRequest:
    """The system expires an approved RMA that was never shipped by its expires_at."""
    now = _aware(now)
    _check(rma, "expire", SYSTEM)
    if rma.expires_at is None or now < rma.expires_at:
        raise IllegalTransition(rma.status, "expire", "the shipping window has not passed")
    return _advance(rma, "expire", SYSTEM, now)
