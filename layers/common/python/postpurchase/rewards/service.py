"""Rewards use cases: coupon redemption and preview, referral codes, referred orders and their
rewards. The rules are in .coupons and .referrals; the stores are passed in (or come from
postpurchase.services), so the API views and the order reactions stay one call each."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import Conflict, InvalidInput, NotAllowed, NotFound, RetryLater, TooManyAttempts
from ..messaging.requests import OfferNotice, ReferralInvite
from ..orders.models import Identifier, Money
from .coupons import Coupon, Redemption, check_redemption, normalise_code
from .referrals import (
    Referral,
    ReferralSettings,
    ReferrerFacts,
    Reward,
    fully_returned,
    judge,
    month_of,
    normalise_referral_code,
    share_url,
    units_by_sku,
    vesting_time,
)

if TYPE_CHECKING:
    from ..orders.processing import RecordedOrderLike
    from ..returns.rma import ReturnRequest
    from ..storage.coupons import DynamoCouponStore
    from ..storage.referrals import DynamoReferralStore

# Failed coupon lookups per merchant key and hour before lookups answer 429: a legitimate
# checkout mistypes now and then; guessing 79-bit codes needs far more than this anyway.
MISSED_LOOKUPS_PER_HOUR = 300
REFERRAL_CAMPAIGN = "referral"
_IDENTIFIER = re.compile(r"^[^#\s\x00-\x1f]{1,128}$")  # as orders.models: ids go into keys
STATUSES = ("accepted", "refused", "flagged", "void")


# ------------------------------------------------------------------------------ coupons


class RedeemIn(BaseModel):
    """`POST /v1/coupons/{code}/redeem`"""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    order_id: Identifier
    order_total: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    customer_id: Identifier | None = None


class PreviewIn(BaseModel):
    """`GET /v1/coupons/{code}?order_total=&currency=&customer_id=` (all optional)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    order_total: Money | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    customer_id: Identifier | None = None


_CONFLICTS = {"already_used", "void"}
_MESSAGES = {
    "already_used": "the coupon was already used on another order",
    "void": "the coupon was withdrawn",
    "not_yet_valid": "the coupon is not valid yet",
    "expired": "the coupon has expired",
    "min_spend_not_met": "the order total is below the coupon's minimum spend",
    "currency_mismatch": "the coupon is in another currency",
    "wrong_customer": "the coupon belongs to another customer",
}


def _not_found() -> NotFound:
    # The same answer whatever the reason (malformed, unknown, another merchant's): a caller
    # learns nothing about which codes exist.
    return NotFound("no such coupon", field="code")


def _refusal(coupon: Coupon, result: Redemption) -> Exception:
    reason = result.reason or "unknown"
    details: dict[str, Any] = {"reason": reason}
    if reason == "not_yet_valid":
        details["valid_from"] = coupon.valid_from.isoformat()
    if reason == "expired":
        details["expires_at"] = coupon.expires_at.isoformat()
    if reason == "min_spend_not_met" and coupon.min_spend is not None:
        details["min_spend"] = str(coupon.min_spend)
    error = Conflict if reason in _CONFLICTS else NotAllowed
    return error(_MESSAGES.get(reason, reason), field="code", **details)


def coupon_document(coupon: Coupon, now: datetime, discount_amount: Decimal | None = None) -> dict:
    return {"code": coupon.code, "discount_type": coupon.discount_type, "value": str(coupon.value),
            "currency": coupon.currency, "min_spend": str(coupon.min_spend) if coupon.min_spend is not None else None,
            "valid_from": coupon.valid_from.isoformat(), "expires_at": coupon.expires_at.isoformat(),
            "campaign": coupon.campaign, "status": coupon.status(now),
            "discount_amount": str(discount_amount) if discount_amount is not None else None}


def _find(store: "DynamoCouponStore", merchant_id: str, typed: str, now: datetime, limiter: Any) -> Coupon:
    code = normalise_code(typed)
    coupon = store.get(merchant_id, code) if code else None
    if coupon is None:
        if limiter is not None and not limiter.allow(merchant_id, "coupon-lookup-miss", MISSED_LOOKUPS_PER_HOUR,
                                                     timedelta(hours=1), now):
            raise TooManyAttempts("too many unknown coupon codes; try again later")
        raise _not_found()
    return coupon


def preview_coupon(merchant_id: str, typed: str, query: PreviewIn, now: datetime, *,
                   store: "DynamoCouponStore", limiter: Any = None) -> dict:
    """Would the coupon apply (checkout preview)? Nothing changes. 1 GetItem."""
    coupon = _find(store, merchant_id, typed, now, limiter)
    result = check_redemption(coupon, now=now, order_total=query.order_total, currency=query.currency,
                              customer_id=query.customer_id)
    if not result.ok:
        raise _refusal(coupon, result)
    return coupon_document(coupon, now, result.discount_amount)


def redeem_coupon(merchant_id: str, typed: str, body: RedeemIn, now: datetime, *,
                  store: "DynamoCouponStore", limiter: Any = None) -> dict:
    """Use the coupon on `body.order_id`: one conditional update decides between concurrent
    redemptions; the same order asking again gets the same success. 1 GetItem + 1 UpdateItem."""
    coupon = _find(store, merchant_id, typed, now, limiter)
    for _ in range(2):
        result = check_redemption(coupon, now=now, order_id=body.order_id, order_total=body.order_total,
                                  currency=body.currency, customer_id=body.customer_id)
        if not result.ok:
            raise _refusal(coupon, result)
        if result.replay:
            break
        assert result.discount_amount is not None
        if store.mark_redeemed(merchant_id, coupon.code, body.order_id, result.discount_amount, now):
            break
        # Someone else changed it first (a concurrent redemption, a void): judge what is there now.
        coupon = store.get(merchant_id, coupon.code) or coupon
    else:  # pragma: no cover - the second pass always sees a non-issued coupon
        raise RetryLater("coupon changed twice during one redemption")
    return {"code": coupon.code, "order_id": body.order_id, "discount_type": coupon.discount_type,
            "value": str(coupon.value), "currency": coupon.currency or body.currency,
            "discount_amount": str(result.discount_amount)}


# ------------------------------------------------------------------------------ referral codes


class ReferralCodes:
    """rewards.ports.ReferralCodes on the table."""

    def __init__(self, store: "DynamoReferralStore", merchants: Any, public_base_url: str) -> None:
        self._store = store
        self._merchants = merchants
        self._base = public_base_url

    def invite_for(self, merchant_id: str, customer_id: str, now: datetime) -> ReferralInvite:
        """1 GetItem (+ 1 TransactWriteItems the first time), the cached merchant, 1 GetItem settings."""
        code = self._store.code_of(merchant_id, customer_id) or self._store.create_code(merchant_id, customer_id, now)
        merchant = self._merchants.get(merchant_id)
        website = merchant.branding.website_url if merchant else None
        reward = self._store.settings(merchant_id).friend_reward
        friend_offer = None
        if reward is not None:
            friend_offer = OfferNotice(code=code, discount_type=reward.discount_type, value=reward.value,
                                       min_spend=reward.min_spend)
        return ReferralInvite(code=code, share_url=share_url(code, website, self._base), friend_offer=friend_offer)


def put_referral_settings(merchant_id: str, body: ReferralSettings, now: datetime, *,
                          store: "DynamoReferralStore") -> dict:
    """`PUT /v1/settings/referrals`: the whole settings (1 PutItem). Applies to referrals judged
    from now on; rewards already issued keep their value."""
    store.save_settings(merchant_id, body, now)
    return body.model_dump(mode="json")


# ------------------------------------------------------------------------------ referred orders


class ReferralProgram:
    """What happens to referred orders; every method is idempotent (SQS redelivers)."""

    def __init__(self, store: "DynamoReferralStore", coupons: "DynamoCouponStore", customers: Any,
                 policies: Any, orders: Any) -> None:
        self._store = store
        self._coupons = coupons
        self._customers = customers
        self._policies = policies
        self._orders = orders

    # --- the order was recorded -------------------------------------------------------------

    def on_order_recorded(self, recorded: "RecordedOrderLike", now: datetime) -> None:
        """Judge and store the referral of an order placed with a referral code (once per order).

        Requests: 1 GetItem (stored already?), 1 GetItem (code), 1 GetItem (profile), 1 Query
        (referrer's orders, gsi1), 1 GetItem (month count), 1 GetItem (settings), the policy
        (1 Query + a cached GetItem); accepted: 2 coupon transactions; 1 TransactWriteItems."""
        order = recorded.order
        if not order.referral_code:
            return
        merchant_id = recorded.merchant_id
        if self._store.get(merchant_id, order.order_id) is not None:
            return
        code = normalise_referral_code(order.referral_code)
        referrer_id = self._store.referrer_of(merchant_id, code) if code else None
        settings = self._store.settings(merchant_id)
        facts = None
        month = month_of(order.placed_at)
        accepted = 0
        if referrer_id is not None:
            profile = self._customers.profile(merchant_id, referrer_id)
            facts = ReferrerFacts.gather(referrer_id, profile.email if profile else None,
                                         [o for o in self._store.orders_of(merchant_id, referrer_id)
                                          if o.order_id != order.order_id])
            accepted = self._store.accepted_in_month(merchant_id, referrer_id, month)
        decision = judge(facts, order, new_customer_id=recorded.customer_id,
                         had_order_before=not recorded.is_first_order, accepted_this_month=accepted,
                         monthly_cap=settings.monthly_cap)
        referral = Referral(referral_id=order.order_id, merchant_id=merchant_id, order_id=order.order_id,
                            code=code or order.referral_code.strip()[:40], referrer_id=referrer_id,
                            friend_id=recorded.customer_id, status=decision.status, reasons=decision.reasons,
                            placed_at=order.placed_at, vests_at=self._vesting(merchant_id, order, settings),
                            created_at=now, decided_at=now if decision.status != "flagged" else None)
        if decision.status != "accepted":
            self._store.add(referral, cap=None)
            return
        rewarded = referral.model_copy(update={"rewards": self._issue_rewards(referral, settings, order.currency,
                                                                               "", now)})
        from ..storage.referrals import CapReached

        try:
            self._store.add(rewarded, cap=(month, settings.monthly_cap))
        except CapReached:  # a concurrent referral took the last place this month
            for reward in rewarded.rewards:
                self._coupons.void(merchant_id, reward.code, "monthly_cap_reached")
            self._store.add(referral.model_copy(update={"status": "flagged", "reasons": ("monthly_cap_reached",),
                                                        "decided_at": None}), cap=None)

    def _vesting(self, merchant_id: str, order: Any, settings: ReferralSettings) -> datetime:
        policy = self._policies.version(merchant_id, self._policies.version_in_force(merchant_id, order.placed_at))
        if policy is None:  # pragma: no cover - a stored version never disappears
            from ..returns.policy import DEFAULT_POLICY as policy
        windows = [policy.rule_for(item.category).window_days for item in order.items]
        return vesting_time(order.placed_at, windows, settings.transit_allowance_days)

    def _issue_rewards(self, referral: Referral, settings: ReferralSettings, currency: str, suffix: str,
                       now: datetime) -> tuple[Reward, ...]:
        rewards = []
        for side, spec, customer_id in (("referrer", settings.referrer_reward, referral.referrer_id),
                                        ("friend", settings.friend_reward, referral.friend_id)):
            if spec is None or customer_id is None:
                continue
            coupon = self._coupons.issue_coupon(referral.merchant_id, customer_id, spec, campaign=REFERRAL_CAMPAIGN,
                                                ref=f"{referral.order_id}.{side}{suffix}", currency=currency,
                                                now=now, valid_from=referral.vests_at)
            rewards.append(Reward(side=side, customer_id=customer_id, code=coupon.code,
                                  discount_type=coupon.discount_type, value=coupon.value, currency=coupon.currency,
                                  valid_from=coupon.valid_from, expires_at=coupon.expires_at))
        return tuple(rewards)

    # --- the merchant decides a flagged one -------------------------------------------------

    def decide(self, merchant_id: str, referral_id: str, decision: Literal["approve", "reject"],
               now: datetime) -> dict:
        found = self._store.get(merchant_id, referral_id) if _identifier(referral_id) else None
        if found is None:
            raise NotFound("no such referral", field="referral_id")
        referral, revision = found
        wanted = "accepted" if decision == "approve" else "refused"
        if referral.decided_by == "merchant" and referral.status == wanted:
            return referral.view(now)  # the same decision again
        if referral.status != "flagged":
            raise Conflict(f"only a flagged referral waits for a decision; this one is {referral.status}",
                           field="decision", reason="not_flagged", status=referral.status)
        changed = referral.model_copy(update={"status": wanted, "decided_at": now, "decided_by": "merchant"})
        if decision == "reject":
            changed = changed.model_copy(update={"reasons": referral.reasons + ("rejected_by_merchant",)})
            self._store.replace(changed, revision)
            return changed.view(now)
        order = self._orders.get_order(merchant_id, referral.order_id)
        currency = order.currency if order else None
        settings = self._store.settings(merchant_id)
        try:
            rewards = self._issue_rewards(referral, settings, currency, ".approved", now)
        except InvalidInput as error:  # pragma: no cover - an amount reward of an order we no longer have
            raise NotAllowed("the referred order is not stored, so the reward's currency is unknown",
                             field="referral_id") from error
        changed = changed.model_copy(update={"rewards": rewards})
        self._store.replace(changed, revision, count_month=month_of(referral.placed_at))
        return changed.view(now)

    # --- the order was cancelled or fully returned ------------------------------------------

    def on_order_cancelled(self, merchant_id: str, order_id: str, now: datetime) -> None:
        self._void(merchant_id, order_id, "order_cancelled", now)

    def on_return_resolved(self, merchant_id: str, order_id: str, rma: "ReturnRequest", now: datetime) -> None:
        """Void the rewards once everything the order had was accepted back (1 GetItem; when a
        referral exists, 1 Query of the order's partition)."""
        from ..returns.rma import ReturnRequest

        found = self._store.get(merchant_id, order_id)
        if found is None or found[0].status not in ("accepted", "flagged"):
            return
        view = self._orders.order_view(merchant_id, order_id, consistent=True)
        if view is None:
            return
        returns = {r.rma_id: r for r in (ReturnRequest.model_validate_json(s.document) for s in view.returns)}
        returns[rma.rma_id] = rma
        accepted_back: dict[str, int] = {}
        for one in returns.values():
            for line in one.inspection or ():
                accepted_back[line.sku] = accepted_back.get(line.sku, 0) + line.accepted_quantity
        if fully_returned(units_by_sku(view.order), accepted_back):
            self._void(merchant_id, order_id, "order_returned", now)

    def _void(self, merchant_id: str, order_id: str, reason: str, now: datetime) -> None:
        found = self._store.get(merchant_id, order_id)
        if found is None:
            return
        referral, revision = found
        if referral.status not in ("accepted", "flagged"):
            return
        rewards = []
        for reward in referral.rewards:
            if reward.void_reason is None:
                self._coupons.void(merchant_id, reward.code, reason)  # False: already used or void
                reward = reward.model_copy(update={"void_reason": reason})
            rewards.append(reward)
        changed = referral.model_copy(update={"status": "void", "void_reason": reason, "rewards": tuple(rewards),
                                              "decided_at": referral.decided_at or now})
        try:
            self._store.replace(changed, revision)
        except Conflict as error:  # decided meanwhile: the redelivery voids what is there then
            raise RetryLater(str(error)) from error


def referral_program() -> ReferralProgram:
    from .. import services

    return ReferralProgram(services.referral_store(), services.coupon_issuer(), services.customer_store(),
                           services.policy_store(), services.order_store())


def referrals_page(merchant_id: str, status: str | None, after: str | None, now: datetime, *,
                   store: "DynamoReferralStore") -> dict:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    referrals, token = store.page(merchant_id, status, after)
    return {"referrals": [r.view(now) for r in referrals], "next": token}


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: Literal["approve", "reject"]


def _identifier(value: str) -> bool:
    return bool(_IDENTIFIER.match(value or ""))


def customer_referral(merchant_id: str, customer_id: str, now: datetime, *, customers: Any,
                      codes: ReferralCodes) -> dict:
    """`GET /v1/customers/{customer_id}/referral`: the code and share link (created on first call).
    1 GetItem (profile) + ReferralCodes.invite_for."""
    if not _identifier(customer_id):
        raise InvalidInput("customer_id must be 1-128 characters without spaces or '#'", field="customer_id")
    if customers.profile(merchant_id, customer_id) is None:
        raise NotFound("no such customer", field="customer_id")
    invite = codes.invite_for(merchant_id, customer_id, now)
    return {"customer_id": customer_id, "code": invite.code, "share_url": invite.share_url}


# Reactions (postpurchase.orders.reactions): built on first use, once per container.

def on_order_recorded(recorded: "RecordedOrderLike", now: datetime) -> None:
    referral_program().on_order_recorded(recorded, now)


def on_order_cancelled(merchant_id: str, order_id: str, now: datetime) -> None:
    referral_program().on_order_cancelled(merchant_id, order_id, now)


def on_return_resolved(merchant_id: str, order_id: str, rma: "ReturnRequest", now: datetime) -> None:
    referral_program().on_return_resolved(merchant_id, order_id, rma, now)
