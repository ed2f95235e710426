"""The loyalty ledger (postpurchase.rewards.loyalty): earning, vesting, reversal, expiry, tiers.

Pure: entries in, account out. The property tests replay random histories of earns, returns,
redemptions, bonuses, deliveries and the passing of time.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from postpurchase.rewards.loyalty import (
    Account,
    BelowMinimum,
    InsufficientPoints,
    LineFacts,
    LoyaltySettings,
    Tier,
    account,
    add_months,
    numbered,
    bonus_entry,
    earn_entry,
    redemption_entry,
    reversal_entry,
    vesting_entry,
)

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)
SETTINGS = LoyaltySettings(min_redemption=1, expiry_months=6)
BRONZE = SETTINGS.tiers[0]


def line(sku="MUG", units=2, spend="25.00", category=None, vests_at=T0 + timedelta(days=31), provisional=False):
    return LineFacts(sku=sku, units=units, spend=Decimal(spend), category=category, vests_at=vests_at,
                     provisional=provisional, window="delivery+30d")


def earn(entry_id="E1", at=T0, tier=BRONZE, settings=SETTINGS, **facts):
    return earn_entry(entry_id, "USD", "1001", line(**facts), settings, tier, at)


def test_earn_is_pending_until_the_window_closes_then_available():
    entries = [earn(spend="25.00")]
    assert account(entries, SETTINGS, T0 + timedelta(days=30)).pending == 25
    assert account(entries, SETTINGS, T0 + timedelta(days=30)).available == 0
    later = account(entries, SETTINGS, T0 + timedelta(days=31))
    assert (later.pending, later.available) == (0, 25)


def test_category_and_tier_multipliers_are_applied_and_recorded():
    settings = LoyaltySettings(points_per_unit=Decimal("2"), category_multipliers={"Shoes": Decimal("1.5")})
    gold = Tier(name="gold", min_12m_spend=Decimal("1500"), multiplier=Decimal("1.5"))
    entry = earn(settings=settings, tier=gold, spend="10.00", category="shoes")
    assert entry.points == 45  # 10 x 2 x 1.5 x 1.5
    assert entry.basis["tier"] == "gold" and entry.basis["category_multiplier"] == "1.5"


def test_partial_return_reverses_proportionally_and_full_return_reverses_all():
    first = earn(units=3, spend="10.00")  # 10 points for 3 units
    state = account([first], SETTINGS, T0).earns["E1"]
    one = reversal_entry("R1", state, 1, "return", T0 + timedelta(days=2), rma_id="rma-1")
    assert one.points == 3 and one.spend == Decimal("3.33")
    state = account([first, one], SETTINGS, T0 + timedelta(days=2)).earns["E1"]
    rest = reversal_entry("R2", state, 5, "return", T0 + timedelta(days=3), rma_id="rma-2")
    assert rest.units == 2 and rest.points == 7  # capped at what is left; adds up to 10
    after = account([first, one, rest], SETTINGS, T0 + timedelta(days=3))
    assert after.earns["E1"].reversed_points == 10
    assert reversal_entry("R3", after.earns["E1"], 1, "return", T0) is None


def test_reversal_of_spent_points_takes_other_points_then_records_debt_paid_by_later_earnings():
    first = earn("E1", spend="100.00", vests_at=T0)
    spent = redemption_entry("X1", "r1", 100, account([first], SETTINGS, T0 + timedelta(hours=1)), SETTINGS,
                             T0 + timedelta(hours=1))
    state = account([first, spent], SETTINGS, T0 + timedelta(hours=2)).earns["E1"]
    back = reversal_entry("R1", state, 2, "return", T0 + timedelta(hours=2))
    now = account([first, spent, back], SETTINGS, T0 + timedelta(hours=3))
    assert (now.available, now.debt) == (0, 100)
    assert now.history[-1].details["debt"] == "100"
    second = earn("E2", at=T0 + timedelta(days=1), spend="150.00", vests_at=T0 + timedelta(days=5))
    paid = account([first, spent, back, second], SETTINGS, T0 + timedelta(days=6))
    assert (paid.available, paid.debt) == (50, 0)


def test_points_expire_months_after_vesting_and_the_expired_part_of_a_return_is_forgiven():
    first = earn(spend="40.00", vests_at=T0)
    expires = add_months(T0, 6)
    soon = account([first], SETTINGS, expires - timedelta(seconds=1))
    assert (soon.available, soon.expiring_points, soon.expiring_at) == (40, 40, expires)
    gone = account([first], SETTINGS, expires)
    assert (gone.available, gone.expired) == (0, 40)
    assert gone.history[-1].kind == "expire"
    back = reversal_entry("R1", gone.earns["E1"], 2, "return", expires + timedelta(days=1))
    after = account([first, back], SETTINGS, expires + timedelta(days=2))
    assert (after.available, after.debt, after.history[-1].points) == (0, 0, 0)


def test_redemption_refuses_more_than_available_and_below_the_minimum():
    first = earn(spend="30.00", vests_at=T0)
    now = account([first], SETTINGS, T0)
    with pytest.raises(InsufficientPoints):
        redemption_entry("X", "r", 31, now, SETTINGS, T0)
    with pytest.raises(BelowMinimum):
        redemption_entry("X", "r", 5, now, LoyaltySettings(min_redemption=10), T0)
    with pytest.raises(BelowMinimum):  # worth less than a cent: no code for nothing
        redemption_entry("X", "r", 1, now, LoyaltySettings(min_redemption=1, point_value=Decimal("0.001")), T0)


def test_delivery_moves_pending_vesting_of_that_order():
    first = earn(spend="10.00", vests_at=T0 + timedelta(days=90), provisional=True)
    moved = vesting_entry("V1", "1001", T0 + timedelta(days=20), T0 + timedelta(days=3), T0 + timedelta(days=3))
    state = account([first, moved], SETTINGS, T0 + timedelta(days=20))
    assert (state.available, state.pending) == (10, 0)


def test_tier_from_twelve_months_spend_net_of_returns():
    settings = LoyaltySettings()
    big = earn("E1", spend="600.00", units=2)
    assert account([big], settings, T0).tier.name == "silver"
    back = reversal_entry("R1", account([big], settings, T0).earns["E1"], 1, "return", T0)
    now = account([big, back], settings, T0)
    assert now.tier.name == "bronze" and now.next_tier.name == "silver"
    assert account([big], settings, T0 + timedelta(days=366)).tier.name == "bronze"


def test_settings_validate_tiers():
    with pytest.raises(ValueError):
        LoyaltySettings(tiers=[Tier(name="a", min_12m_spend=Decimal("10"))])


# ------------------------------------------------------------------------------ properties

ops = st.lists(st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 5), st.integers(0, 500), st.integers(0, 60)),
    st.tuples(st.just("return"), st.integers(0, 20), st.integers(1, 5)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("redeem"), st.integers(1, 400)),
    st.tuples(st.just("bonus"), st.integers(1, 100)),
    st.tuples(st.just("deliver"), st.integers(0, 20), st.integers(0, 40)),
    st.tuples(st.just("wait"), st.integers(0, 200)),
), max_size=40)


def _check(state: Account, entries) -> None:
    assert state.available >= 0 and state.pending >= 0 and state.debt >= 0
    assert state.debt == 0 or state.available == 0
    # The balance equals the sum of its history.
    assert state.available + state.pending - state.debt == sum(line.points for line in state.history)
    # Every line names its source: the merchant can explain each point.
    ids = {entry.entry_id for entry in entries}
    for line in state.history:
        assert line.entry_id in ids
        if line.kind == "earn":
            assert line.order_id and line.sku and line.details["tier"] and line.details["rate"]
        elif line.kind == "redeem":
            assert line.redemption_id
        elif line.kind == "reverse":
            assert line.order_id and {"from_item", "forgiven_expired", "from_balance", "debt"} <= set(line.details)
    for earn_id, earned in state.earns.items():
        reversed_total = sum(e.points for e in entries if e.kind == "reverse" and e.reverses == earn_id)
        assert reversed_total <= earned.entry.points
        assert earned.reversed_units <= (earned.entry.units or 0)


@hsettings(max_examples=300, deadline=None)
@given(ops)
def test_random_histories_keep_the_ledger_consistent(steps):
    settings = LoyaltySettings(min_redemption=1, expiry_months=3, category_multipliers={"x": Decimal("1.5")})
    now = T0
    entries = []
    earn_ids: list[str] = []
    for n, step in enumerate(steps):
        now += timedelta(minutes=n % 2)  # several entries share a timestamp: seq orders them
        state = account(entries, settings, now)
        before = len(entries)
        kind = step[0]
        if kind == "earn":
            _, units, spend, window = step
            entry = earn_entry(f"E{n}", "USD", f"O{n}", line(sku=f"S{n}", units=units, spend=str(spend),
                                                            category="x" if n % 2 else None,
                                                            vests_at=now + timedelta(days=window)),
                               settings, state.tier, now)
            entries.append(entry)
            earn_ids.append(entry.entry_id)
        elif kind in ("return", "cancel") and earn_ids:
            target = earn_ids[step[1] % len(earn_ids)]
            units = step[2] if kind == "return" else 10 ** 6
            entry = reversal_entry(f"R{n}", state.earns[target], units, "return" if kind == "return" else "cancelled",
                                   now)
            if entry is not None:
                entries.append(entry)
        elif kind == "redeem":
            try:
                entries.append(redemption_entry(f"X{n}", f"r{n}", step[1], state, settings, now))
            except InsufficientPoints:
                assert step[1] > state.available
        elif kind == "bonus":
            entries.append(bonus_entry(f"B{n}", "review", step[1], now))
        elif kind == "deliver" and earn_ids:
            target = state.earns[earn_ids[step[1] % len(earn_ids)]].entry
            entries.append(vesting_entry(f"V{n}", target.order_id, now + timedelta(days=step[2]), now, now))
        elif kind == "wait":
            now += timedelta(days=step[1])
        entries[before:] = numbered(entries[before:], before)
        _check(account(entries, settings, now), entries)
    # Every point is accounted for at the end too, and the entry order given does not matter.
    final = account(list(reversed(entries)), settings, now)
    assert final == account(entries, settings, now)
    earned = sum(e.points for e in entries if e.kind in ("earn", "bonus"))
    charged = -sum(line.points for line in final.history if line.kind == "reverse")
    assert final.available + final.pending - final.debt == earned - charged - final.redeemed - final.expired
