"""Returns against what is stored: request a return, step an RMA, follow the storefront's admin.

The rules live in eligibility.py (what can be returned) and rma.py (the lifecycle); this module
loads an order's partition (one Query: order, shipments, returns), applies the rules and writes
back optimistically:

* a new RMA is written in one transaction with a bump of the order's `returns_revision`, so two
  concurrent requests cannot both count the same units: the loser re-reads and is judged again;
* a step is saved only if the RMA's revision is still the one read (409 otherwise).

An approved RMA whose shipping window passed is expired when read (`effective`), and the expiry
is written with the next change to that RMA: its units are free again at once.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ..errors import Conflict, InvalidInput, NotAllowed, NotFound, RetryLater
from ..orders.models import Order
from ..security.order_access import OrderAccess
from . import rma as lifecycle
from .eligibility import ItemEligibility, ShipmentFacts, eligibility
from .messages import Origin, ReturnChanged
from .policy import Resolution, ReturnPolicy
from .requests import ReturnCommandIn, ReturnRequestIn
from .rma import Actor, ReturnRequest, RmaStatus

# Units in these returns are free to be returned again; every other status holds them.
RELEASED = frozenset({RmaStatus.rejected, RmaStatus.cancelled, RmaStatus.expired})
# Concurrent requests on one order rarely exceed two; each retry re-reads the partition.
MAX_ATTEMPTS = 5
# 422: the request is understood and the item is simply not returnable now.
NOT_ALLOWED_REASONS = frozenset({"window_closed", "final_sale", "non_returnable", "not_yet_shipped"})


class StaleOrder(Exception):
    """The order's returns changed since they were read (another request was written first)."""


class StaleReturn(Exception):
    """The RMA changed since it was read."""


class ReturnExists(Exception):
    """An RMA with this id is already stored (a retry with the same client key)."""


class StoredReturnLike(Protocol):
    document: str
    revision: int
    fingerprint: str | None
    external_id: str | None


class StoredShipmentLike(Protocol):
    shipment: object
    tracking: str | None


class OrderViewLike(Protocol):
    order: Order
    status: str
    shipments: list
    returns: list
    policy_version: int
    returns_revision: int


class ReturnStore(Protocol):
    def order_view(self, merchant_id: str, order_id: str, consistent: bool = False) -> OrderViewLike | None: ...

    def create_return(self, merchant_id: str, rma: ReturnRequest, *, expected_revision: int,
                      fingerprint: str | None, external_id: str | None, now: datetime,
                      email: str | None = None) -> None:
        """`email`: the order's, so the merchant console finds the RMA by it."""

    def save_return(self, merchant_id: str, rma: ReturnRequest, *, expected_revision: int,
                    now: datetime) -> None: ...

    def order_of_return(self, merchant_id: str, rma_id: str) -> str | None: ...


class PolicySource(Protocol):
    def version(self, merchant_id: str, version: int) -> ReturnPolicy | None: ...


Notify = Callable[[ReturnChanged], None]


@dataclass(frozen=True)
class StoredRma:
    rma: ReturnRequest  # as it stands now (an overdue approval shows as expired)
    revision: int  # of the stored document
    fingerprint: str | None
    external_id: str | None


@dataclass(frozen=True)
class OrderReturns:
    """One order's returns as the customer and the merchant see them at `now`."""

    order: Order
    order_status: str
    policy: ReturnPolicy
    policy_version: int  # as recorded on the order (0 = the default policy)
    items: list[ItemEligibility]
    returns: list[StoredRma]
    returns_revision: int


# --- reading -----------------------------------------------------------------------------------


def effective(rma: ReturnRequest, now: datetime) -> ReturnRequest:
    """The RMA as of `now`: an approval whose shipping window has passed is expired."""
    if (rma.status in (RmaStatus.approved, RmaStatus.label_issued) and rma.expires_at is not None
            and now >= rma.expires_at):
        return lifecycle.expire(rma, rma.expires_at)
    return rma


def units_held(returns: Iterable[ReturnRequest]) -> dict[str, int]:
    """Units per SKU in returns that hold them (everything but rejected, cancelled, expired)."""
    held: dict[str, int] = {}
    for rma in returns:
        if rma.status in RELEASED:
            continue
        for line in rma.lines:
            held[line.sku] = held.get(line.sku, 0) + line.quantity
    return held


def reviewable_skus(order: Order, returns: Iterable[ReturnRequest]) -> list[str]:
    """The order's SKUs still worth a review request: none with units in a return.

    The review-request rule asks this at send time, so a return cancels the pending request
    for its items (and the whole request when every item is being returned)."""
    held = units_held(returns)
    return list(dict.fromkeys(item.sku for item in order.items if item.sku not in held))


def _shipment_facts(view: OrderViewLike) -> list[ShipmentFacts]:
    from ..tracking.state import ShipmentTracking

    facts = []
    for stored in view.shipments:
        if stored.shipment.rma_id is not None:
            continue  # a return parcel carries nothing to the customer
        tracking = ShipmentTracking.model_validate_json(stored.tracking) if stored.tracking else None
        facts.append(ShipmentFacts.from_shipment(stored.shipment, tracking))
    return facts


def order_returns(view: OrderViewLike, policies: PolicySource, merchant_id: str, now: datetime) -> OrderReturns:
    policy = policies.version(merchant_id, view.policy_version)
    if policy is None:
        raise RetryLater(f"return policy version {view.policy_version} of {merchant_id} is missing")
    stored = [StoredRma(effective(ReturnRequest.model_validate_json(item.document), now), item.revision,
                        item.fingerprint, item.external_id) for item in view.returns]
    stored.sort(key=lambda entry: (entry.rma.created_at, entry.rma.rma_id))
    items = eligibility(view.order, _shipment_facts(view), units_held(entry.rma for entry in stored), policy, now)
    return OrderReturns(view.order, view.status, policy, view.policy_version, items, stored, view.returns_revision)


def load(store: ReturnStore, policies: PolicySource, merchant_id: str, order_id: str, now: datetime,
         consistent: bool = False) -> OrderReturns:
    view = store.order_view(merchant_id, order_id, consistent=consistent)
    if view is None:
        raise NotFound(f"order {order_id} not found", field="order_id")
    return order_returns(view, policies, merchant_id, now)


# --- requesting --------------------------------------------------------------------------------


def rma_id_for(merchant_id: str, order_id: str, client_key: str | None) -> str:
    """A short id customers can read out ("R-7KQ2M9XD4P"); derived from the client's key, so a
    retry lands on the same RMA, or random without one."""
    if client_key:
        digest = hashlib.sha256(f"{merchant_id}|{order_id}|{client_key}".encode()).digest()
    else:
        digest = secrets.token_bytes(16)
    return "R-" + base64.b32encode(digest).decode()[:10]


def _check_lines(returns: OrderReturns, body: ReturnRequestIn) -> None:
    by_sku = {item.sku: item for item in returns.items}
    for index, line in enumerate(body.lines()):
        field = f"items[{index}]"
        item = by_sku.get(line["sku"])
        if item is None:
            raise NotAllowed(f"{field}.sku: {line['sku']!r} is not in this order", field=f"{field}.sku",
                             reason="not_in_order")
        if not item.returnable:
            message = f"{field}: {line['sku']} cannot be returned ({item.reason})"
            last_day = item.last_day.isoformat() if item.last_day else None
            error = NotAllowed if item.reason in NOT_ALLOWED_REASONS else Conflict
            raise error(message, field=f"{field}.sku", reason=item.reason, last_day=last_day)
        if line["quantity"] > item.returnable_quantity:
            raise Conflict(f"{field}.quantity: only {item.returnable_quantity} of {line['sku']} can still be "
                           "returned", field=f"{field}.quantity", reason="exceeds_returnable",
                           returnable_quantity=item.returnable_quantity)
        if line["resolution"] not in item.resolutions:
            allowed = ", ".join(sorted(resolution.value for resolution in item.resolutions))
            raise NotAllowed(f"{field}.resolution: {line['resolution'].value} is not offered for {line['sku']} "
                             f"(offered: {allowed})", field=f"{field}.resolution", reason="resolution_not_offered")


def _auto_approves(returns: OrderReturns, skus: Iterable[str]) -> bool:
    category = {item.sku: item.category for item in returns.order.items}
    return all(returns.policy.rule_for(category.get(sku)).auto_approve for sku in skus)


def request_return(access: OrderAccess, body: ReturnRequestIn, client_key: str | None, *, store: ReturnStore,
                   policies: PolicySource, notify: Notify, now: datetime) -> tuple[ReturnRequest, bool]:
    """Open an RMA for the items of `body`; (rma, created). A retry with the same client key
    gets the RMA it created (created=False) and its notices queued again."""
    actor = Actor(kind=access.actor_kind, id=access.via)
    rma_id = rma_id_for(access.merchant_id, access.order_id, client_key) if client_key else None
    fingerprint = body.fingerprint()
    for attempt in range(MAX_ATTEMPTS):
        returns = load(store, policies, access.merchant_id, access.order_id, now, consistent=attempt > 0)
        existing = next((entry for entry in returns.returns if entry.rma.rma_id == rma_id), None)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                raise Conflict("this Idempotency-Key was already used for a different return request",
                               field="Idempotency-Key")
            # Replays what the request itself did (its notice), not what happened since.
            notify(ReturnChanged(merchant_id=access.merchant_id, order_id=access.order_id, rma_id=existing.rma.rma_id,
                                 from_revision=0, to_revision=min(existing.revision,
                                                                  creation_revision(existing.rma))))
            return existing.rma, False
        if returns.order_status == "cancelled":
            raise NotAllowed("the order was cancelled; there is nothing to return", field="order_id",
                             reason="order_cancelled")
        _check_lines(returns, body)
        rma = lifecycle.request(rma_id=rma_id or rma_id_for(access.merchant_id, access.order_id, None),
                                merchant_id=access.merchant_id, order_id=access.order_id, lines=body.lines(),
                                actor=actor, now=now)
        rma = lifecycle.maybe_auto_approve(rma, _auto_approves(returns, (line.sku for line in rma.lines)), now)
        try:
            store.create_return(access.merchant_id, rma, expected_revision=returns.returns_revision,
                                fingerprint=fingerprint, external_id=None, now=now, email=returns.order.email)
        except (StaleOrder, ReturnExists):
            continue  # judged again against what the other request wrote
        notify(ReturnChanged(merchant_id=access.merchant_id, order_id=access.order_id, rma_id=rma.rma_id,
                             from_revision=0, to_revision=len(rma.history)))
        return rma, True
    raise Conflict("the order's returns are changing right now; try again", field="order_id")


# --- stepping ----------------------------------------------------------------------------------


def _required(value: object, field: str, action: str) -> object:
    if value is None:
        raise InvalidInput(f"{field} is required to {action.replace('_', ' ')}", field=field)
    return value


def refundable_limit(returns: OrderReturns, rma: ReturnRequest) -> Decimal:
    """What inspection accepted is worth, less each category's restocking fee (rounded per
    category as rma.refundable_amount documents) and one return-shipping fee (the largest of
    the lines' rules: one parcel goes back), never below zero."""
    prices: dict[str, Decimal] = {}
    category: dict[str, str | None] = {}
    for item in returns.order.items:
        prices.setdefault(item.sku, item.price)
        category.setdefault(item.sku, item.category)
    groups: dict[int, list] = {}
    rules = {}
    fee = Decimal("0")
    for line in rma.inspection or ():
        rule = returns.policy.rule_for(category.get(line.sku))
        rules[id(rule)] = rule
        groups.setdefault(id(rule), []).append(line)
        fee = max(fee, rule.return_shipping_fee)
    value = sum((lifecycle.refundable_amount(lines, prices, rules[key].restocking_fee_percent)
                 for key, lines in groups.items()), Decimal("0"))
    return max(Decimal("0"), value - fee).quantize(Decimal("0.01"))


def apply_command(returns: OrderReturns, rma: ReturnRequest, command: ReturnCommandIn, actor: Actor,
                  now: datetime) -> ReturnRequest:
    action = command.action
    if action == "approve":
        return lifecycle.approve(rma, actor, now, command.ship_within_days or lifecycle.DEFAULT_SHIP_WITHIN_DAYS)
    if action == "reject":
        return lifecycle.reject(rma, actor, now, str(_required(command.reason, "reason", action)))
    if action == "issue_label":
        return lifecycle.issue_label(rma, actor, now, str(_required(command.carrier, "carrier", action)),
                                     str(_required(command.tracking_number, "tracking_number", action)),
                                     command.label_url)
    if action == "issue_drop_off_code":
        return lifecycle.issue_drop_off_code(rma, actor, now,
                                             str(_required(command.drop_off_code, "drop_off_code", action)))
    if action == "mark_in_transit":
        return lifecycle.mark_in_transit(rma, actor, now)
    if action == "receive":
        return lifecycle.receive(rma, actor, now)
    if action == "inspect":
        return lifecycle.inspect(rma, actor, now, list(_required(command.lines, "lines", action)))  # type: ignore[arg-type]
    if action == "resolve":
        resolution = _required(command.resolution, "resolution", action)
        outcome = resolution.model_dump(exclude_none=True)  # type: ignore[union-attr]
        currency = returns.order.currency
        if outcome["kind"] in (Resolution.REFUND, Resolution.STORE_CREDIT):
            outcome.setdefault("currency", currency)
            if outcome["currency"] != currency:
                raise InvalidInput(f"resolution.currency must be the order's currency, {currency}",
                                   field="resolution.currency")
        try:
            return lifecycle.resolve(rma, actor, now, outcome, refundable=refundable_limit(returns, rma))
        except InvalidInput as error:  # name the field as the request body spells it
            if error.field and error.field.startswith("outcome"):
                field = "resolution" + error.field.removeprefix("outcome")
                raise InvalidInput(error.message.replace("outcome", "resolution", 1), field=field) from None
            raise
    if action == "close":
        return lifecycle.close(rma, actor, now)
    return lifecycle.cancel(rma, actor, now)


def _replay(rma: ReturnRequest, command: ReturnCommandIn, actor: Actor) -> bool:
    """The same step sent again (a client retrying after a lost answer): same command, same
    actor kind, same content. A different reason, label or amount is a new (illegal) step."""
    last = rma.history[-1]
    if last.command != command.action or last.actor.kind != actor.kind:
        return False
    if command.action == "reject":
        return last.note == (command.reason or "").strip()
    if command.action in ("issue_label", "issue_drop_off_code"):
        return (last.data.get("carrier"), last.data.get("tracking_number"), last.data.get("drop_off_code")) == (
            command.carrier, command.tracking_number, command.drop_off_code)
    if command.action == "inspect":
        given = {line.sku: line.accepted_quantity for line in command.lines or ()}
        return all(last.data.get("accepted", {}).get(sku) == quantity for sku, quantity in given.items())
    if command.action == "resolve":
        resolution = command.resolution
        return resolution is not None and last.data.get("kind") == resolution.kind.value and (
            resolution.amount is None or last.data.get("amount") == str(resolution.amount))
    return True


def creation_revision(rma: ReturnRequest) -> int:
    """How many transitions the request itself made (the request, and an auto-approval)."""
    if len(rma.history) > 1 and rma.history[1].command == "approve" and rma.history[1].actor.kind == "system" \
            and rma.history[1].at == rma.created_at:
        return 2
    return 1


def step_return(access: OrderAccess, rma_id: str, command: ReturnCommandIn, *, store: ReturnStore,
                policies: PolicySource, notify: Notify, now: datetime) -> tuple[ReturnRequest, bool]:
    """Apply one step to an RMA of the order; (rma, changed). Illegal steps raise 422."""
    actor = Actor(kind=access.actor_kind, id=access.via)
    returns = load(store, policies, access.merchant_id, access.order_id, now, consistent=True)
    stored = next((entry for entry in returns.returns if entry.rma.rma_id == rma_id), None)
    if stored is None:
        raise NotFound(f"return {rma_id} not found on order {access.order_id}", field="rma_id")
    if _replay(stored.rma, command, actor):
        notify(ReturnChanged(merchant_id=access.merchant_id, order_id=access.order_id, rma_id=rma_id,
                             from_revision=max(0, stored.revision - 1), to_revision=stored.revision))
        return stored.rma, False
    updated = apply_command(returns, stored.rma, command, actor, now)
    try:
        store.save_return(access.merchant_id, updated, expected_revision=stored.revision, now=now)
    except StaleReturn:
        raise Conflict(f"return {rma_id} changed while this step was being applied; reload it and try again",
                       field="rma_id") from None
    notify(ReturnChanged(merchant_id=access.merchant_id, order_id=access.order_id, rma_id=rma_id,
                         from_revision=stored.revision, to_revision=len(updated.history)))
    return updated, True


def find_return(returns: OrderReturns, rma_id: str) -> StoredRma:
    stored = next((entry for entry in returns.returns if entry.rma.rma_id == rma_id), None)
    if stored is None:
        raise NotFound(f"return {rma_id} not found on order {returns.order.order_id}", field="rma_id")
    return stored


__all__ = ["OrderReturns", "ReturnExists", "ReturnStore", "StaleOrder", "StaleReturn", "StoredRma", "effective",
           "find_return", "load", "order_returns", "request_return", "reviewable_skus", "rma_id_for", "step_return",
           "units_held", "Origin"]
