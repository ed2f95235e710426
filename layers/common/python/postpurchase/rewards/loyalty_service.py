"""Loyalty points as operations: earn on orders, reverse on cancellations and returns, vest on
delivery, bonuses, redemption into a discount code, the account document, expiry notices.

Every write is: read the ledger (one Query), decide with the pure rules
(postpurchase.rewards.loyalty), append with the revision check (one TransactWrite); when another
write came first, read and decide again. Entry ids are the business identity, so a redelivered
event finds its entries already there and adds nothing.

AWS requests per operation (settings are cached per container for 30 s):
* order recorded: settings GetItem, policy Query + GetItem (cached per version), ledger Query,
  one TransactWrite (+1 Query/TransactWrite per lost race); expiry notice: the schedule's writes;
* cancelled / delivered / return resolved: + one order read to find the customer;
* redemption: ledger Query, TransactWrite, the coupon issuer, one UpdateItem noting the code;
* GET account: one Query (+ settings GetItem when not cached).
"""
from __future__ import annotations

import hashlib
import logging
import random
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ..errors import Conflict, NotAllowed, RetryLater, ServiceUnavailable
from ..messaging.scheduled import MessageSchedule, ScheduledMessage
from ..messaging.settings import OfferSpec
from ..orders.models import Order
from ..returns.policy import DEFAULT_POLICY, ReturnPolicy
from .loyalty import (
    Account,
    BelowMinimum,
    Entry,
    InsufficientPoints,
    LineFacts,
    LoyaltySettings,
    account,
    bonus_entry,
    earn_entry,
    numbered,
    redemption_entry,
    redemption_value,
    reversal_entry,
    vesting_entry,
    window_close,
)
from .ports import CouponIssuer

# The domain does not import postpurchase.observability (its Metrics reads the environment at
# import); handlers' Powertools logger sees these through the standard logging tree.
_log = logging.getLogger(__name__)
ATTEMPTS = 8
MAX_NOTICES = 12  # expiry dates with a notice scheduled ahead


class LedgerLike(Protocol):
    entries: list[Entry]
    revision: int

    def has(self, entry_id: str) -> bool: ...

    def get(self, entry_id: str) -> Entry | None: ...


class LoyaltyStore(Protocol):
    def ledger(self, merchant_id: str, customer_id: str, consistent: bool = True) -> LedgerLike: ...

    def append(self, merchant_id: str, customer_id: str, entries: list[Entry], expected_revision: int,
               now: datetime) -> int: ...

    def set_code(self, merchant_id: str, customer_id: str, entry: Entry, code: str) -> None: ...

    def settings(self, merchant_id: str) -> LoyaltySettings | None: ...

    def save_settings(self, merchant_id: str, settings: LoyaltySettings, now: datetime) -> None: ...


class PolicyLookup(Protocol):
    def version_in_force(self, merchant_id: str, at: datetime) -> int: ...

    def version(self, merchant_id: str, version: int) -> ReturnPolicy | None: ...


def digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]


def earn_id(order_id: str, sku: str) -> str:
    return f"earn-{digest(order_id, sku)}"


class RedemptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    points: int = Field(ge=1, le=100_000_000, strict=True)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


Build = Callable[[LedgerLike, Account, LoyaltySettings], list[Entry]]


class LoyaltyService:
    def __init__(self, store: LoyaltyStore, policies: PolicyLookup, customer_of_order: Callable[[str, str], str | None],
                 coupons: Callable[[], CouponIssuer], schedule: Callable[[], MessageSchedule],
                 stale: type[Exception]) -> None:
        self._store = store
        self._policies = policies
        self._customer_of_order = customer_of_order
        self._coupons = coupons
        self._schedule = schedule
        self._stale = stale

    # ---------------------------------------------------------------------------- the core loop

    def _settings(self, merchant_id: str) -> LoyaltySettings | None:
        settings = self._store.settings(merchant_id)
        return settings if settings is not None and settings.enabled else None

    def _change(self, merchant_id: str, customer_id: str, settings: LoyaltySettings, now: datetime,
                build: Build) -> list[Entry]:
        """Append what `build` decides from the current ledger; retried on a lost race. Returns the
        entries added (none when they were all there already)."""
        for attempt in range(ATTEMPTS):
            ledger = self._store.ledger(merchant_id, customer_id)
            before = account(ledger.entries, settings, now)
            entries = [entry for entry in build(ledger, before, settings) if not ledger.has(entry.entry_id)]
            if not entries:
                return []
            entries = numbered(entries, len(ledger.entries))
            try:
                self._store.append(merchant_id, customer_id, entries, ledger.revision, now)
            except self._stale:
                time.sleep(random.uniform(0, 0.02 * (attempt + 1)))
                continue
            self._notice_expiry(merchant_id, customer_id, settings, before, ledger.entries + entries, now)
            return entries
        raise RetryLater(f"loyalty ledger of {customer_id} kept changing")

    # ---------------------------------------------------------------------------- reactions

    def on_order_recorded(self, recorded: Any, now: datetime) -> None:
        settings = self._settings(recorded.merchant_id)
        if settings is None:
            return
        order: Order = recorded.order
        policy = self._policy(recorded.merchant_id, order.placed_at) if settings.pending_rule == "return_window" else None
        lines = _line_facts(order, policy, settings, now)

        def build(ledger: LedgerLike, current: Account, settings: LoyaltySettings) -> list[Entry]:
            return [earn_entry(earn_id(order.order_id, line.sku), order.currency, order.order_id, line, settings,
                               current.tier, now) for line in lines]

        self._change(recorded.merchant_id, recorded.customer_id, settings, now, build)

    def on_order_cancelled(self, merchant_id: str, order_id: str, now: datetime) -> None:
        settings = self._settings(merchant_id)
        customer_id = self._customer_of_order(merchant_id, order_id) if settings else None
        if settings is None or customer_id is None:
            return

        def build(ledger: LedgerLike, current: Account, settings: LoyaltySettings) -> list[Entry]:
            found = [reversal_entry(f"cxl-{digest(order_id, state.entry.sku or '')}", state, 10 ** 9, "cancelled", now)
                     for state in current.earns.values() if state.entry.order_id == order_id]
            return [entry for entry in found if entry is not None]

        self._change(merchant_id, customer_id, settings, now, build)

    def on_order_delivered(self, merchant_id: str, order_id: str, delivered_at: datetime, now: datetime) -> None:
        """The window of items counted from delivery is now known: their earns vest when it closes."""
        settings = self._settings(merchant_id)
        customer_id = self._customer_of_order(merchant_id, order_id) if settings else None
        if settings is None or customer_id is None:
            return

        def build(ledger: LedgerLike, current: Account, settings: LoyaltySettings) -> list[Entry]:
            entries = []
            for state in current.earns.values():
                entry = state.entry
                if entry.order_id != order_id or not entry.provisional:
                    continue
                days = int(entry.basis.get("window_days", "0"))
                entries.append(vesting_entry(f"vest-{digest(order_id, entry.sku or '')}", order_id,
                                             window_close(delivered_at, days), delivered_at, now, sku=entry.sku))
            return entries

        self._change(merchant_id, customer_id, settings, now, build)

    def on_return_resolved(self, merchant_id: str, order_id: str, rma: Any, now: datetime) -> None:
        """Units that came back lose their points, proportionally (an exchange keeps them)."""
        settings = self._settings(merchant_id)
        if settings is None or (rma.resolution is not None and rma.resolution.kind.value == "exchange"):
            return
        returned = _returned_units(rma)
        customer_id = self._customer_of_order(merchant_id, order_id) if returned else None
        if customer_id is None:
            return

        def build(ledger: LedgerLike, current: Account, settings: LoyaltySettings) -> list[Entry]:
            entries = []
            for sku, units in returned.items():
                state = current.earns.get(earn_id(order_id, sku))
                entry = reversal_entry(f"rev-{digest(rma.rma_id, sku)}", state, units, "return", now,
                                       rma_id=rma.rma_id) if state else None
                if entry is not None:
                    entries.append(entry)
            return entries

        self._change(merchant_id, customer_id, settings, now, build)

    def award_review_bonus(self, merchant_id: str, customer_id: str, order_id: str, sku: str,
                           now: datetime) -> Entry | None:
        """Points for a review of an item the customer earned points on (once per order + sku)."""
        settings = self._settings(merchant_id)
        if settings is None or settings.review_bonus == 0:
            return None

        def build(ledger: LedgerLike, current: Account, settings: LoyaltySettings) -> list[Entry]:
            if earn_id(order_id, sku) not in current.earns:
                return []
            return [bonus_entry(f"rvw-{digest(order_id, sku)}", "review", settings.review_bonus, now,
                                order_id=order_id, sku=sku)]

        added = self._change(merchant_id, customer_id, settings, now, build)
        return added[0] if added else None

    def award_birthday_bonus(self, merchant_id: str, customer_id: str, year: int, now: datetime) -> Entry | None:
        """The birthday bonus, once per customer and year."""
        settings = self._settings(merchant_id)
        if settings is None or settings.birthday_bonus == 0:
            return None

        def build(ledger: LedgerLike, current: Account, settings: LoyaltySettings) -> list[Entry]:
            return [bonus_entry(f"bday-{year}", "birthday", settings.birthday_bonus, now, year=year)]

        added = self._change(merchant_id, customer_id, settings, now, build)
        return added[0] if added else None

    # ---------------------------------------------------------------------------- redemption

    def redeem(self, merchant_id: str, customer_id: str, request: RedemptionIn, idempotency_key: str | None,
               now: datetime) -> tuple[dict, bool]:
        """Points -> a single-use discount code. Returns (document, created).

        The same Idempotency-Key answers with the same redemption and code and never takes points
        twice; if issuing the code failed after the points were taken, the retry issues it (the
        issuer is idempotent on the redemption id)."""
        settings = self._settings(merchant_id)
        if settings is None:
            raise NotAllowed("this merchant has no loyalty program", reason="loyalty_disabled")
        redemption_id = f"r{digest(customer_id, idempotency_key)}" if idempotency_key else f"r{uuid.uuid4().hex[:24]}"
        entry_id = f"rdm-{redemption_id}"
        created = False
        for attempt in range(ATTEMPTS):
            ledger = self._store.ledger(merchant_id, customer_id)
            existing = ledger.get(entry_id)
            if existing is not None:
                if existing.points != request.points or existing.currency not in (None, request.currency):
                    raise Conflict("this Idempotency-Key was used for a different redemption",
                                   field="Idempotency-Key")
                entry, entries = existing, ledger.entries
                break
            before = account(ledger.entries, settings, now)
            try:
                entry = redemption_entry(entry_id, redemption_id, request.points, before, settings, now)
            except BelowMinimum:
                raise NotAllowed(f"at least {settings.min_redemption} points must be redeemed at once",
                                 field="points", reason="below_minimum", min_redemption=settings.min_redemption)
            except InsufficientPoints as error:
                raise NotAllowed(f"{error.asked} points asked, {error.available} available", field="points",
                                 reason="insufficient_points", available=error.available) from None
            entry = entry.model_copy(update={"currency": request.currency, "seq": len(ledger.entries) + 1})
            try:
                self._store.append(merchant_id, customer_id, [entry], ledger.revision, now)
            except self._stale:
                time.sleep(random.uniform(0, 0.02 * (attempt + 1)))
                continue
            entries, created = ledger.entries + [entry], True
            self._notice_expiry(merchant_id, customer_id, settings, before, entries, now)
            break
        else:
            raise Conflict("the points balance kept changing; retry with the same Idempotency-Key")
        value = Decimal(entry.basis.get("value") or redemption_value(entry.points, settings))
        try:
            offer = self._coupons().issue(merchant_id, customer_id,
                                          OfferSpec(discount_type="amount", value=value,
                                                    valid_days=settings.code_valid_days),
                                          campaign="loyalty", ref=redemption_id, currency=request.currency,
                                          now=entry.at)
        except Exception as error:  # the points are taken; the same key gets the code later
            _log.exception("loyalty code not issued", extra={"redemption_id": redemption_id})
            raise ServiceUnavailable("the points are reserved but the code could not be issued yet; retry with "
                                     "the same Idempotency-Key", redemption_id=redemption_id) from error
        if entry.code != offer.code:
            self._store.set_code(merchant_id, customer_id, entry, offer.code)
        after = account(entries, settings, now)
        return ({"redemption_id": redemption_id, "points": entry.points, "value": str(value),
                 "currency": request.currency, "code": offer.model_dump(mode="json"), "balance": after.available},
                created)

    # ---------------------------------------------------------------------------- reading

    def account_document(self, merchant_id: str, customer_id: str, now: datetime) -> dict:
        """Balance, pending, next vesting, expiring soon, tier + progress, history newest first."""
        settings = self._store.settings(merchant_id) or LoyaltySettings(enabled=False)
        ledger = self._store.ledger(merchant_id, customer_id, consistent=False)
        return account_view(customer_id, account(ledger.entries, settings, now), settings, now)

    def settings_document(self, merchant_id: str) -> dict:
        settings = self._store.settings(merchant_id)
        return (settings or LoyaltySettings(enabled=False)).model_dump(mode="json")

    def save_settings(self, merchant_id: str, settings: LoyaltySettings, now: datetime) -> dict:
        self._store.save_settings(merchant_id, settings, now)
        return settings.model_dump(mode="json")

    # ---------------------------------------------------------------------------- helpers

    def _policy(self, merchant_id: str, placed_at: datetime) -> ReturnPolicy:
        version = self._policies.version_in_force(merchant_id, placed_at)
        return self._policies.version(merchant_id, version) or DEFAULT_POLICY

    def _notice_expiry(self, merchant_id: str, customer_id: str, settings: LoyaltySettings, before: Account,
                       entries: list[Entry], now: datetime) -> None:
        """One `points_expiring` message per future expiry date (ref = the date), due notice_days
        before; scheduling again moves it; a date left with no points is cancelled."""
        after = account(entries, settings, now)
        if settings.expiry_months is None or before.expiries == after.expiries:
            return
        try:
            schedule = self._schedule()
        except NotImplementedError:
            _log.warning("no message schedule: points expiry notices are not scheduled")
            return
        by_date: dict[str, datetime] = {}
        for when in list(after.expiries)[:MAX_NOTICES]:
            key = when.date().isoformat()
            by_date[key] = max(by_date.get(key, when), when)
        for key, last in by_date.items():
            due = max(last - timedelta(days=settings.notice_days), now)
            # What the customer will have when the notice is due (unless something changes first,
            # which schedules it again): the points expiring that day, and the balance then.
            then = account(entries, settings, due)
            expiring = sum(points for when, points in then.expiries.items() if when.date().isoformat() == key)
            if expiring <= 0:
                schedule.cancel(merchant_id, "customer", customer_id, "points_expiring", key, "no_points_left", now)
                continue
            schedule.schedule(ScheduledMessage(
                merchant_id=merchant_id, kind="points_expiring", scope="customer", scope_id=customer_id,
                customer_id=customer_id, ref=key, due_at=due, expires_at=last,
                data={"expiring_points": str(expiring), "expires_at": last.isoformat(),
                      "balance": str(then.available)}), now)
        for when in before.expiries:
            key = when.date().isoformat()
            if key not in by_date and when > now:
                schedule.cancel(merchant_id, "customer", customer_id, "points_expiring", key, "no_points_left", now)


def _returned_units(rma: Any) -> dict[str, int]:
    if rma.inspection is not None:
        return {line.sku: line.accepted_quantity for line in rma.inspection if line.accepted_quantity > 0}
    return {line.sku: line.quantity for line in rma.lines}


def _line_facts(order: Order, policy: ReturnPolicy | None, settings: LoyaltySettings, now: datetime) -> list[LineFacts]:
    """The order's SKUs (lines sharing one added up) with when their points vest."""
    grouped: dict[str, list] = {}
    for item in order.items:
        grouped.setdefault(item.sku, []).append(item)
    facts = []
    for sku, items in grouped.items():
        category = next((item.category for item in items if item.category), None)
        units = sum(item.quantity for item in items)
        spend = sum((item.price * item.quantity for item in items), Decimal(0))
        window, provisional, vests_at, days = "immediate", False, now, 0
        if policy is not None:
            rule = policy.rule_for(category)
            days = rule.window_days
            if policy.is_non_returnable(category) or policy.is_final_sale(category) or not rule.returnable:
                window = "not_returnable"
            elif rule.window_starts == "order":
                window, vests_at = f"order+{days}d", max(window_close(order.placed_at, days), now)
            else:  # the window starts at delivery or fulfilment: not known yet
                window, provisional = f"{rule.window_starts}+{days}d", True
                vests_at = max(order.placed_at + timedelta(days=settings.max_pending_days), now)
        facts.append(LineFacts(sku=sku, units=units, spend=spend, category=category, vests_at=vests_at,
                               provisional=provisional, window=window, window_days=days))
    return facts


def account_view(customer_id: str, current: Account, settings: LoyaltySettings, now: datetime) -> dict:
    soon = now + timedelta(days=settings.notice_days)
    tier = current.tier
    progress: dict[str, Any] = {"name": tier.name, "multiplier": str(tier.multiplier),
                                "spend_12m": str(current.spend_12m), "next": None}
    if current.next_tier is not None:
        progress["next"] = {"name": current.next_tier.name, "min_12m_spend": str(current.next_tier.min_12m_spend),
                            "spend_needed": str(current.next_tier.min_12m_spend - current.spend_12m)}
    return {
        "customer_id": customer_id,
        "program_enabled": settings.enabled,
        "balance": current.available,
        "pending": current.pending,
        "debt": current.debt,
        "lifetime": current.lifetime,
        "redeemed": current.redeemed,
        "expired": current.expired,
        "point_value": str(settings.point_value),
        "balance_value": str(redemption_value(current.available, settings)),
        "next_vesting": ({"at": current.next_vesting_at.isoformat(), "points": current.next_vesting_points}
                         if current.next_vesting_at else None),
        "expiring_soon": ({"at": current.expiring_at.isoformat(), "points": current.expiring_points}
                          if current.expiring_at and current.expiring_at <= soon else None),
        "next_expiry": ({"at": current.expiring_at.isoformat(), "points": current.expiring_points}
                        if current.expiring_at else None),
        "tier": progress,
        "history": [{"at": line.at.isoformat(), "kind": line.kind, "reason": line.reason, "points": line.points,
                     "entry_id": line.entry_id, "order_id": line.order_id, "sku": line.sku, "rma_id": line.rma_id,
                     "redemption_id": line.redemption_id, "code": line.code, "details": line.details}
                    for line in reversed(current.history)],
    }
