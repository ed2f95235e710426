"""What the console's returns pages show and what their forms mean (pure: no AWS, `now` given).

A form becomes the very `ReturnCommandIn` the API's transitions route validates, and the
handler passes it to the same domain call (`returns.views.step`) as the merchant.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping

from ..errors import InvalidInput
from ..returns.queue import TAB_OF_STATUS
from ..returns.requests import ReturnCommandIn
from ..returns.rma import COMMAND_ACTORS, COMMAND_TARGET, TRANSITIONS, ReturnRequest, RmaStatus
from ..returns.service import OrderReturns, effective, refundable_limit
from ..validation import validate

# The steps staff take from the console, in the order a return goes through them.
ACTIONS = ("approve", "reject", "issue_label", "receive", "inspect", "resolve", "close")


@dataclass(frozen=True)
class Row:
    rma: ReturnRequest  # as of now (an overdue approval is expired)
    tab: str


def rows(returns: list[ReturnRequest], now: datetime) -> list[Row]:
    shown = [effective(rma, now) for rma in returns]
    return [Row(rma, TAB_OF_STATUS[rma.status]) for rma in shown]


def actions_for(rma: ReturnRequest) -> list[str]:
    """What a merchant may do to the RMA now (the lifecycle's table and actor rules)."""
    allowed = [action for action in ACTIONS
               if COMMAND_TARGET[action] in TRANSITIONS[rma.status] and "merchant" in COMMAND_ACTORS[action]]
    nothing_accepted = rma.inspection is not None and rma.accepted_quantity == 0
    if rma.status is RmaStatus.inspected:
        # close straight after inspection only when nothing was accepted; resolve otherwise
        allowed = [a for a in allowed if (a == "close") == nothing_accepted]
    return allowed


@dataclass(frozen=True)
class Detail:
    returns: OrderReturns
    rma: ReturnRequest
    actions: list[str]
    refundable: Decimal | None  # what a refund may be at most, once inspected
    resolutions: list[str]


def detail(returns: OrderReturns, rma_id: str) -> Detail | None:
    stored = next((entry for entry in returns.returns if entry.rma.rma_id == rma_id), None)
    if stored is None:
        return None
    rma = stored.rma
    refundable = refundable_limit(returns, rma) if rma.status is RmaStatus.inspected else None
    kinds = list(dict.fromkeys(line.resolution.value for line in rma.lines))
    return Detail(returns, rma, actions_for(rma), refundable, kinds)


def _text(form: Mapping[str, str], name: str) -> str | None:
    return (form.get(name) or "").strip() or None


def _count(form: Mapping[str, str], name: str, *, required: bool) -> int | None:
    text = (form.get(name) or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{name} is required", field=name)
        return None
    if not text.isdigit() or len(text) > 6:
        raise InvalidInput(f"{name} must be a whole number", field=name)
    return int(text)


def command_from_form(action: str, form: Mapping[str, str], rma: ReturnRequest) -> ReturnCommandIn:
    """The API's command for a console form; InvalidInput naming the form's field."""
    if action not in ACTIONS:
        raise InvalidInput("unknown action", field="action")
    body: dict[str, Any] = {"action": action}
    if action == "approve":
        days = _count(form, "ship_within_days", required=False)
        if days is not None:
            body["ship_within_days"] = days
    elif action == "reject":
        body["reason"] = _text(form, "reason")
        if body["reason"] is None:
            raise InvalidInput("reason is required to reject", field="reason")
    elif action == "issue_label":
        body.update({name: _text(form, name) for name in ("carrier", "tracking_number", "label_url")})
    elif action == "inspect":
        body["lines"] = [{"sku": line.sku, "accepted_quantity": _count(form, f"accepted.{line.sku}", required=True),
                          "note": (form.get(f"note.{line.sku}") or "").strip()} for line in rma.lines]
    elif action == "resolve":
        resolution = {name: _text(form, name) for name in ("kind", "amount", "store_credit_code",
                                                          "exchange_order_id")}
        body["resolution"] = {name: value for name, value in resolution.items() if value is not None}
    return validate(ReturnCommandIn, {name: value for name, value in body.items() if value is not None})


@dataclass(frozen=True)
class AttentionRow:
    merchant_id: str
    order_id: str
    shipment_id: str
    carrier: str
    tracking_number: str
    status: str  # the tracking status (TrackingStatus value)
    reason: str  # tracking.attention.REASONS
    since: datetime
    last_scan: datetime | None
    notices: list[str]  # NoticeKind values the customer was sent, in the lifecycle's order


def attention_rows(shipments: list, now: datetime) -> list[AttentionRow]:
    """The listed shipments as of now. One listed under a reason it no longer has (a stall the
    next poll has not yet cleared) keeps the reason it was listed with: stalled."""
    from ..tracking import attention
    from ..tracking.state import NoticeKind

    order = list(NoticeKind)
    rows = []
    for tracked in shipments:
        state = tracked.tracking
        rows.append(AttentionRow(
            tracked.merchant_id, tracked.order_id, tracked.shipment.shipment_id, tracked.shipment.carrier,
            tracked.shipment.tracking_number, state.status.value, attention.reason(state, now) or "stalled",
            attention.since(state, now), state.last_event_at,
            [kind.value for kind in sorted(state.notices_sent, key=order.index)]))
    return rows
