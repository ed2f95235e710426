"""Loyalty points: merchant settings, the append-only ledger, and the account derived from it.

Pure: no AWS, `now` passed in. postpurchase.storage.loyalty keeps the entries; this module
decides what they mean.

The ledger
----------
Entries are never changed or deleted. Each has a kind, a signed effect, a reason and its
source (order id + sku, rma id, redemption id), so every point is explainable from history:

* ``earn``     +points for an order line (units x price x rate x category x tier multiplier);
               pending until ``vests_at`` (the item's return window closes), then available.
* ``bonus``    +points for a review (order + sku) or a birthday (year); vests at once.
* ``vesting``  0 points: the order was delivered, so its pending earns now vest at the given
               time (the window counts from delivery); moves only earns still pending.
* ``reverse``  -points of one earn: returned units (proportional) or a cancelled order.
* ``redeem``   -points turned into a discount code.

Expiry is derived, not stored: a lot (the points of one earn or bonus) expires
``expiry_months`` after it vests; the account shows each expiry as a history line.

How a balance is derived (``account``): replay the entries in ledger order (``seq``: the order
they were appended in), with vest and expiry moments in between.

* a redemption consumes available lots FIFO: soonest to expire first;
* a reversal takes, in this order: (1) what is left of the reversed earn (pending or
  available), (2) nothing for the part of that earn that already expired (the customer lost
  those points already: that part is *forgiven*), (3) the customer's other available points
  (soonest to expire first), (4) the rest becomes *debt*;
* debt is paid by the next points that vest, before they become available;
* so the available balance is never negative, and debt > 0 only while available == 0.

Identity (checked by the property tests): pending + available - debt ==
sum(earn, bonus) - sum(reverse charged) - sum(redeemed) - sum(expired).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..orders.models import Identifier, Money
from ..validation import PlainDecimal

EntryKind = Literal["earn", "bonus", "vesting", "reverse", "redeem"]
Reason = Literal["order", "review", "birthday", "delivered", "return", "cancelled", "redemption"]
Multiplier = Annotated[Decimal, Field(ge=0, le=100)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tier(_Model):
    name: Annotated[str, Field(min_length=1, max_length=50)]
    min_12m_spend: Annotated[Decimal, Field(ge=0)]
    multiplier: Multiplier = Decimal("1")


def _default_tiers() -> list[Tier]:
    return [Tier(name="bronze", min_12m_spend=Decimal("0"), multiplier=Decimal("1")),
            Tier(name="silver", min_12m_spend=Decimal("500"), multiplier=Decimal("1.25")),
            Tier(name="gold", min_12m_spend=Decimal("1500"), multiplier=Decimal("1.5"))]


class LoyaltySettings(_Model):
    """What a merchant decides (`PUT /v1/settings/loyalty`). No stored settings = no program."""

    enabled: bool = True
    points_per_unit: Annotated[PlainDecimal, Field(ge=0, le=1000)] = Decimal("1")  # per currency unit spent
    category_multipliers: dict[Annotated[str, Field(min_length=1, max_length=100)], Multiplier] = {}
    review_bonus: Annotated[int, Field(ge=0, le=1_000_000)] = 50
    birthday_bonus: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    # return_window: an earn vests when its item's return window closes; immediate: at once.
    pending_rule: Literal["return_window", "immediate"] = "return_window"
    # An earn whose window start is unknown (never delivered) vests this long after the order.
    max_pending_days: Annotated[int, Field(ge=0, le=730)] = 90
    expiry_months: Annotated[int, Field(ge=1, le=120)] | None = 12  # None: points never expire
    notice_days: Annotated[int, Field(ge=1, le=90)] = 14
    tiers: Annotated[list[Tier], Field(min_length=1, max_length=10)] = Field(default_factory=_default_tiers)
    point_value: Annotated[PlainDecimal, Field(gt=0, le=1000)] = Decimal("0.01")  # money per point redeemed
    min_redemption: Annotated[int, Field(ge=1, le=10_000_000)] = 100
    code_valid_days: Annotated[int, Field(ge=1, le=366)] = 90

    @field_validator("category_multipliers")
    @classmethod
    def _lower(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        lowered = {name.strip().lower(): multiplier for name, multiplier in value.items()}
        if len(lowered) != len(value):
            raise ValueError("a category is listed twice (names are case-insensitive)")
        return lowered

    @model_validator(mode="after")
    def _tiers_ordered(self) -> "LoyaltySettings":
        spends = [tier.min_12m_spend for tier in self.tiers]
        if spends != sorted(spends) or len(set(spends)) != len(spends) or spends[0] != 0:
            raise ValueError("tiers must start at min_12m_spend 0 and rise strictly")
        if len({tier.name for tier in self.tiers}) != len(self.tiers):
            raise ValueError("tier names must be unique")
        return self

    def tier_for(self, spend: Decimal) -> Tier:
        return [tier for tier in self.tiers if spend >= tier.min_12m_spend][-1]

    def category_multiplier(self, category: str | None) -> Decimal:
        if category is None:
            return Decimal("1")
        return self.category_multipliers.get(category.strip().lower(), Decimal("1"))


class Entry(_Model):
    """One ledger line. `points` is always >= 0; the kind gives the sign."""

    entry_id: Identifier
    kind: EntryKind
    points: Annotated[int, Field(ge=0)]
    at: AwareDatetime  # when it was recorded: the ledger's order
    reason: Reason
    order_id: str | None = None
    sku: str | None = None
    rma_id: str | None = None
    redemption_id: str | None = None
    reverses: str | None = None  # reverse: the earn entry id
    units: int | None = None  # earn: units bought; reverse: units returned (cancel: all remaining)
    spend: Money | None = None  # earn: what the line cost; reverse: the share returned (tier spend)
    currency: str | None = None
    vests_at: AwareDatetime | None = None  # earn/bonus: when pending points vest; vesting: the new time
    provisional: bool = False  # earn: vests_at is a fallback (window start not known yet)
    # How the points were computed, for the merchant: rate, multipliers, tier, window...
    basis: dict[str, str] = {}
    code: str | None = None  # redeem: the discount code (set after it was issued)
    # Position in the ledger, assigned when appended (under the revision check, so unique): the
    # replay follows the order the decisions were made in, whatever the clocks of the writers.
    seq: Annotated[int, Field(ge=0)] = 0

    @property
    def signed(self) -> int:
        return self.points if self.kind in ("earn", "bonus") else (0 if self.kind == "vesting" else -self.points)


def ledger_order(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda entry: (entry.seq, entry.at, entry.entry_id))


def numbered(entries: list[Entry], existing: int) -> list[Entry]:
    """`entries` numbered after the `existing` ones, in the order given."""
    return [entry.model_copy(update={"seq": existing + index + 1}) for index, entry in enumerate(entries)]


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# ------------------------------------------------------------------------------ derivation


@dataclass
class _Lot:
    entry: Entry
    vests_at: datetime
    remaining: int
    state: str = "pending"  # pending | available | done
    expires_at: datetime | None = None
    redeemed: int = 0  # taken by redemptions, other reversals or debt: spent
    expired: int = 0
    reversed: int = 0  # reversal points asked of this lot so far
    forgiven: int = 0  # of those, the part that had already expired


@dataclass(frozen=True)
class HistoryLine:
    """One line the merchant (and customer) can read: what happened, and how many points."""

    at: datetime
    kind: str  # earn | bonus | vesting | reverse | redeem | expire
    reason: str
    points: int  # signed effect on pending + available - debt
    entry_id: str | None
    order_id: str | None = None
    sku: str | None = None
    rma_id: str | None = None
    redemption_id: str | None = None
    code: str | None = None
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    available: int
    pending: int
    debt: int
    lifetime: int  # earned and bonus points, net of reversals
    redeemed: int
    expired: int
    next_vesting_at: datetime | None
    next_vesting_points: int
    expiring_at: datetime | None  # the next expiry with points in it
    expiring_points: int
    spend_12m: Decimal
    tier: Tier
    next_tier: Tier | None
    history: list[HistoryLine]  # oldest first
    earns: dict[str, "EarnState"]
    expiries: dict[datetime, int]  # every future expiry moment -> points left to expire then (pending too)

    @property
    def balance(self) -> int:
        return self.available


@dataclass(frozen=True)
class EarnState:
    entry: Entry
    reversed_points: int
    reversed_units: int


class _Replay:
    def __init__(self, settings: LoyaltySettings) -> None:
        self.settings = settings
        self.lots: list[_Lot] = []
        self.by_id: dict[str, _Lot] = {}
        self.debt = 0
        self.history: list[HistoryLine] = []
        self.redeemed = 0
        self.expired = 0

    def _expiry(self, vested: datetime) -> datetime | None:
        months = self.settings.expiry_months
        return add_months(vested, months) if months else None

    def _next_moment(self, until: datetime) -> tuple[datetime, int, _Lot] | None:
        best: tuple[datetime, int, _Lot] | None = None
        for lot in self.lots:
            if lot.state == "pending":
                moment = (lot.vests_at, 0, lot)
            elif lot.state == "available" and lot.expires_at is not None:
                moment = (lot.expires_at, 1, lot)
            else:
                continue
            if moment[0] <= until and (best is None or moment[:2] < best[:2]):
                best = moment
        return best

    def advance(self, until: datetime) -> None:
        """Apply every vest and expiry up to `until` (inclusive), in time order."""
        while (moment := self._next_moment(until)) is not None:
            at, what, lot = moment
            if what == 0:
                self._vest(lot, at)
            else:
                self._expire(lot, at)

    def _vest(self, lot: _Lot, at: datetime) -> None:
        lot.state = "available"
        lot.expires_at = self._expiry(lot.vests_at)
        paid = min(self.debt, lot.remaining)
        if paid:
            lot.remaining -= paid
            lot.redeemed += paid
            self.debt -= paid
            self.history.append(HistoryLine(at, "vesting", "debt_paid", 0, lot.entry.entry_id, lot.entry.order_id,
                                            lot.entry.sku, details={"debt_paid": str(paid)}))
        if lot.remaining == 0 and lot.expires_at is not None:
            lot.state = "done"

    def _expire(self, lot: _Lot, at: datetime) -> None:
        lot.state = "done"
        if lot.remaining:
            lot.expired += lot.remaining
            self.expired += lot.remaining
            self.history.append(HistoryLine(at, "expire", "expired", -lot.remaining, lot.entry.entry_id,
                                            lot.entry.order_id, lot.entry.sku,
                                            details={"vested_at": lot.vests_at.isoformat()}))
            lot.remaining = 0

    def _available_lots(self) -> list[_Lot]:
        lots = [lot for lot in self.lots if lot.state == "available" and lot.remaining > 0]
        far = datetime.max.replace(tzinfo=lots[0].vests_at.tzinfo) if lots else None
        return sorted(lots, key=lambda lot: (lot.expires_at or far, lot.vests_at, lot.entry.entry_id))

    def _take_available(self, points: int) -> int:
        """Take up to `points` from available lots, soonest to expire first; returns what was taken."""
        taken = 0
        for lot in self._available_lots():
            if taken == points:
                break
            part = min(points - taken, lot.remaining)
            lot.remaining -= part
            lot.redeemed += part
            taken += part
        return taken

    def apply(self, entry: Entry) -> None:
        line = lambda points, **details: HistoryLine(  # noqa: E731
            entry.at, entry.kind, entry.reason, points, entry.entry_id, entry.order_id, entry.sku, entry.rma_id,
            entry.redemption_id, entry.code, {**entry.basis, **{k: str(v) for k, v in details.items()}})
        if entry.kind in ("earn", "bonus"):
            vests_at = entry.vests_at or entry.at
            lot = _Lot(entry, vests_at=vests_at, remaining=entry.points)
            self.lots.append(lot)
            self.by_id[entry.entry_id] = lot
            self.history.append(line(entry.points, vests_at=vests_at.isoformat()))
            self.advance(entry.at)
        elif entry.kind == "vesting":
            moved = 0
            for lot in self.lots:
                if (lot.state == "pending" and lot.entry.kind == "earn" and lot.entry.order_id == entry.order_id
                        and (entry.sku is None or lot.entry.sku == entry.sku)):
                    lot.vests_at = max(entry.vests_at or entry.at, lot.entry.at)
                    moved += 1
            self.history.append(line(0, vests_at=(entry.vests_at or entry.at).isoformat(), earns_moved=moved))
            self.advance(entry.at)
        elif entry.kind == "redeem":
            taken = self._take_available(entry.points)
            self.debt += entry.points - taken  # only if the ledger was appended out of order
            self.redeemed += entry.points
            self.history.append(line(-entry.points))
        elif entry.kind == "reverse":
            self._reverse(entry, line)

    def _reverse(self, entry: Entry, line) -> None:
        lot = self.by_id.get(entry.reverses or "")
        if lot is None:  # nothing to reverse (never earned): recorded, no effect
            self.history.append(line(0, charged="0"))
            return
        asked = min(entry.points, lot.entry.points - lot.reversed)  # never more than was earned
        lot.reversed += asked
        own = min(asked, lot.remaining)
        lot.remaining -= own
        rest = asked - own
        forgiven = min(rest, lot.expired - lot.forgiven)
        lot.forgiven += forgiven
        rest -= forgiven
        other = self._take_available(rest)
        debt = rest - other
        self.debt += debt
        charged = asked - forgiven
        self.history.append(line(-charged, from_item=own, forgiven_expired=forgiven, from_balance=other,
                                 debt=debt))

    def expiries(self) -> dict[datetime, int]:
        found: dict[datetime, int] = {}
        for lot in self.lots:
            when = lot.expires_at if lot.state != "pending" else self._expiry(lot.vests_at)
            if lot.remaining > 0 and when is not None and lot.state != "done":
                found[when] = found.get(when, 0) + lot.remaining
        return dict(sorted(found.items()))

    def finish(self, now: datetime) -> None:
        self.advance(now)


def account(entries: list[Entry], settings: LoyaltySettings, now: datetime) -> Account:
    """The customer's points at `now`, derived from the whole ledger (any order of `entries`)."""
    replay = _Replay(settings)
    reversed_points: dict[str, int] = {}
    reversed_units: dict[str, int] = {}
    reversed_spend: dict[str, Decimal] = {}
    for entry in ledger_order(entries):
        replay.advance(entry.at)
        replay.apply(entry)
        if entry.kind == "reverse" and entry.reverses:
            reversed_points[entry.reverses] = reversed_points.get(entry.reverses, 0) + entry.points
            reversed_units[entry.reverses] = reversed_units.get(entry.reverses, 0) + (entry.units or 0)
            reversed_spend[entry.reverses] = reversed_spend.get(entry.reverses, Decimal(0)) + (entry.spend or 0)
    replay.finish(now)
    lots = replay.lots
    pending = [lot for lot in lots if lot.state == "pending" and lot.remaining > 0]
    next_vesting_at = min((lot.vests_at for lot in pending), default=None)
    expiries = replay.expiries()
    expiring_at = min(expiries, default=None)
    year_ago = now - timedelta(days=365)
    spend = Decimal(0)
    earns: dict[str, EarnState] = {}
    for lot in lots:
        if lot.entry.kind != "earn":
            continue
        entry_id = lot.entry.entry_id
        earns[entry_id] = EarnState(lot.entry, min(reversed_points.get(entry_id, 0), lot.entry.points),
                                    reversed_units.get(entry_id, 0))
        if lot.entry.at >= year_ago:
            spend += (lot.entry.spend or Decimal(0)) - reversed_spend.get(entry_id, Decimal(0))
    spend = max(spend, Decimal(0))
    tier = settings.tier_for(spend)
    higher = [candidate for candidate in settings.tiers if candidate.min_12m_spend > tier.min_12m_spend]
    return Account(
        available=sum(lot.remaining for lot in lots if lot.state == "available"),
        pending=sum(lot.remaining for lot in pending),
        debt=replay.debt,
        lifetime=sum(lot.entry.points - lot.reversed + lot.forgiven for lot in lots),
        redeemed=replay.redeemed,
        expired=replay.expired,
        next_vesting_at=next_vesting_at,
        next_vesting_points=sum(lot.remaining for lot in pending if lot.vests_at == next_vesting_at),
        expiring_at=expiring_at,
        expiring_points=expiries.get(expiring_at, 0) if expiring_at else 0,
        expiries=expiries,
        spend_12m=spend,
        tier=tier,
        next_tier=higher[0] if higher else None,
        history=replay.history,
        earns=earns,
    )


# ------------------------------------------------------------------------------ new entries


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class LineFacts:
    """One SKU of an order as the earn rule needs it (lines sharing a SKU are added up)."""

    sku: str
    units: int
    spend: Decimal
    category: str | None
    vests_at: datetime
    provisional: bool
    window: str  # e.g. "delivery+30d", "not_returnable", "immediate"
    window_days: int = 0  # kept in the earn's basis: a delivery later turns it into a vesting time


def earn_entry(entry_id: str, merchant_currency: str, order_id: str, line: LineFacts, settings: LoyaltySettings,
               tier: Tier, now: datetime) -> Entry:
    category = settings.category_multiplier(line.category)
    points = _floor(line.spend * settings.points_per_unit * category * tier.multiplier)
    return Entry(entry_id=entry_id, kind="earn", points=max(points, 0), at=now, reason="order", order_id=order_id,
                 sku=line.sku, units=line.units, spend=line.spend, currency=merchant_currency,
                 vests_at=line.vests_at, provisional=line.provisional,
                 basis={"spend": str(line.spend), "rate": str(settings.points_per_unit),
                        "category": line.category or "", "category_multiplier": str(category),
                        "tier": tier.name, "tier_multiplier": str(tier.multiplier), "window": line.window,
                        "window_days": str(line.window_days)})


def reversal_entry(entry_id: str, earn: EarnState, units: int, reason: Literal["return", "cancelled"],
                   now: datetime, rma_id: str | None = None) -> Entry | None:
    """Reverse `units` more of an earn, proportionally, cumulatively rounded down so that the
    reversals of one earn add up to exactly its points when every unit came back, and never more.
    None when nothing is left to reverse."""
    bought = earn.entry.units or 0
    units = min(units, bought - earn.reversed_units)
    if units <= 0 or bought == 0:
        return None
    total_units = earn.reversed_units + units
    target = _floor(Decimal(earn.entry.points) * total_units / bought)
    points = max(target - earn.reversed_points, 0)
    spend = ((earn.entry.spend or Decimal(0)) * units / bought).quantize(Decimal("0.01"))
    return Entry(entry_id=entry_id, kind="reverse", points=points, at=now, reason=reason,
                 order_id=earn.entry.order_id, sku=earn.entry.sku, rma_id=rma_id, reverses=earn.entry.entry_id,
                 units=units, spend=spend, currency=earn.entry.currency,
                 basis={"earned": str(earn.entry.points), "units_bought": str(bought), "units_returned": str(units)})


def bonus_entry(entry_id: str, reason: Literal["review", "birthday"], points: int, now: datetime,
                order_id: str | None = None, sku: str | None = None, year: int | None = None) -> Entry:
    basis = {"year": str(year)} if year is not None else {}
    return Entry(entry_id=entry_id, kind="bonus", points=points, at=now, reason=reason, order_id=order_id, sku=sku,
                 vests_at=now, basis=basis)


def vesting_entry(entry_id: str, order_id: str, vests_at: datetime, delivered_at: datetime, now: datetime,
                  sku: str | None = None) -> Entry:
    """The order (or one of its skus) was delivered: its pending earns vest at `vests_at`."""
    return Entry(entry_id=entry_id, kind="vesting", points=0, at=now, reason="delivered", order_id=order_id,
                 sku=sku, vests_at=vests_at, basis={"delivered_at": delivered_at.isoformat()})


class InsufficientPoints(Exception):
    def __init__(self, available: int, asked: int) -> None:
        super().__init__(f"{asked} points asked, {available} available")
        self.available = available
        self.asked = asked


class BelowMinimum(Exception):
    pass


def redemption_entry(entry_id: str, redemption_id: str, points: int, current: Account, settings: LoyaltySettings,
                     now: datetime) -> Entry:
    """A redemption of `points` against the account as derived at `now` (raises when unaffordable)."""
    if points < settings.min_redemption or redemption_value(points, settings) <= 0:
        raise BelowMinimum(settings.min_redemption)
    if points > current.available:
        raise InsufficientPoints(current.available, points)
    return Entry(entry_id=entry_id, kind="redeem", points=points, at=now, reason="redemption",
                 redemption_id=redemption_id, basis={"point_value": str(settings.point_value),
                                                     "value": str(redemption_value(points, settings))})


def redemption_value(points: int, settings: LoyaltySettings) -> Decimal:
    return (Decimal(points) * settings.point_value).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


def window_close(start: datetime, window_days: int) -> datetime:
    """When an item's return window has surely closed: the start + window + one day (the last
    day is a whole local date in the customer's time zone, at most a day past UTC)."""
    return start + timedelta(days=window_days + 1)
