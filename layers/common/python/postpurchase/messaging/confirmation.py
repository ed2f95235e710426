"""Which confirmation a customer gets, and what it carries.

The merchant's rules (MessagingSettings.confirmation_rules) pick the variant: the first rule
that matches the order wins, "plain" when none does. A variant that needs data we could not
get (no coupon, no referral code, no products) falls back to "reassuring" rather than sending
an email with an empty block. Pure: no AWS here; the order-events consumer fetches the extras
(postpurchase.orders.processing) and passes them in.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from ..orders.models import Order
from .requests import ConfirmationVariant, EmailRequest, OfferNotice, ProductCard, ReferralInvite
from .settings import ConfirmationRule, MessagingSettings, OfferSpec

# A stdlib logger like rendering's: importing postpurchase.observability here would build the
# Powertools Metrics before a handler's environment exists (this module is pure domain code).
logger = logging.getLogger(__name__)

T = TypeVar("T")


class RecordedOrderLike(Protocol):
    merchant_id: str
    order: Order
    is_first_order: bool


def rule_matches(rule: ConfirmationRule, order: Order, is_first_order: bool) -> bool:
    if rule.first_order is not None and rule.first_order != is_first_order:
        return False
    if rule.min_total is not None and order.totals.total < rule.min_total:
        return False
    if rule.categories:
        wanted = {category.casefold() for category in rule.categories}
        if not any(item.category and item.category.casefold() in wanted for item in order.items):
            return False
    return True


def confirmation_variant(rules: Sequence[ConfirmationRule] | bool, order: Order | None = None,
                         is_first_order: bool = False) -> ConfirmationVariant:
    """The variant the first matching rule names; "plain" when no rule matches.

    The old call ``confirmation_variant(is_first_order)`` still works: the default rules
    (welcome for a first order, else reassuring) do not apply there, it keeps welcome/plain."""
    if isinstance(rules, bool):
        return "welcome" if rules else "plain"
    if order is None:
        raise TypeError("confirmation_variant needs the order")
    for rule in rules:
        if rule_matches(rule, order, is_first_order):
            return rule.variant
    return "plain"


def with_fallback(variant: ConfirmationVariant, *, offer: OfferNotice | None, referral: ReferralInvite | None,
                  products: Sequence[ProductCard]) -> ConfirmationVariant:
    """The variant we can actually send with the data at hand."""
    if variant == "enticing" and offer is None and referral is None:
        return "reassuring"
    if variant == "recommendations" and not products:
        return "reassuring"
    return variant


def confirmation_request(recorded: RecordedOrderLike, order_page_url: str, now: datetime, *,
                         settings: MessagingSettings | None = None, variant: ConfirmationVariant | None = None,
                         offer: OfferNotice | None = None, referral: ReferralInvite | None = None,
                         products: Sequence[ProductCard] = ()) -> EmailRequest:
    """The confirmation email request. `variant` is the one already chosen (the caller fetched
    its extras for it); without it the settings' rules choose; without settings, the old
    behaviour (welcome for a first order, else plain)."""
    order = recorded.order
    if variant is None:
        if settings is None:
            variant = confirmation_variant(recorded.is_first_order)
        else:
            variant = confirmation_variant(settings.confirmation_rules, order, recorded.is_first_order)
    chosen = with_fallback(variant, offer=offer, referral=referral, products=products)
    return EmailRequest.about_order(
        order,
        order_page_url=order_page_url,
        now=now,
        kind="order_confirmation",
        variant=chosen,
        merchant_id=recorded.merchant_id,
        ref=order.order_id,
        offer=offer if chosen == "enticing" else None,
        referral=referral if chosen == "enticing" else None,
        products=list(products) if chosen == "recommendations" else [],
    )


# --- composition: fetch what the chosen variant needs, fall back when it is not there ---------


class CouponIssuerLike(Protocol):  # postpurchase.rewards.ports.CouponIssuer
    def issue(self, merchant_id: str, customer_id: str, spec: OfferSpec, *, campaign: str, ref: str,
              currency: str | None, now: datetime) -> OfferNotice: ...


class ReferralCodesLike(Protocol):  # postpurchase.rewards.ports.ReferralCodes
    def invite_for(self, merchant_id: str, customer_id: str, now: datetime) -> ReferralInvite: ...


class RecommenderLike(Protocol):  # postpurchase.recommendations.ports.Recommender
    def for_customer(self, merchant_id: str, customer_id: str, *, limit: int = 4,
                     order: Order | None = None) -> list[ProductCard]: ...


RECOMMENDATIONS_LIMIT = 4
OFFER_CAMPAIGN = "confirmation"


def _optional(what: str, fetch: Callable[[], T | None], recorded: RecordedOrderLike) -> T | None:
    """An extra a confirmation can do without: any failure (the capability is not deployed yet,
    a throttled table) is logged and means "not available", never a lost confirmation."""
    try:
        return fetch()
    except NotImplementedError:
        logger.info("confirmation extra not available", extra={"extra": what, "reason": "not implemented"})
    except Exception:  # noqa: BLE001 - an optional extra must not block the confirmation
        logger.warning("confirmation extra failed", exc_info=True,
                       extra={"extra": what, "merchant_id": recorded.merchant_id, "order_id": recorded.order.order_id})
    return None


def compose_confirmation(recorded: RecordedOrderLike, order_page_url: str, now: datetime, *,
                         settings: MessagingSettings | Callable[[], MessagingSettings] | None = None,
                         coupons: Callable[[], CouponIssuerLike] | None = None,
                         referrals: Callable[[], ReferralCodesLike] | None = None,
                         recommender: Callable[[], RecommenderLike] | None = None) -> EmailRequest:
    """The confirmation request with what its variant needs, fetched only when that variant was
    chosen: enticing -> a coupon (when the merchant set `confirmation_offer`) and the customer's
    referral code; recommendations -> up to four products. Ports are passed as factories so a
    capability that is not deployed (NotImplementedError) costs nothing for other variants.

    AWS requests: settings (1 GetItem, cached by the caller), plus for enticing the issuer's and
    the referral store's own (idempotent on (campaign, order id)), for recommendations one Query."""
    if callable(settings):
        settings = _optional("settings", settings, recorded)
    settings = settings or MessagingSettings()
    order = recorded.order
    customer_id = getattr(recorded, "customer_id", None) or order.customer.customer_id()
    variant = confirmation_variant(settings.confirmation_rules, order, recorded.is_first_order)
    offer: OfferNotice | None = None
    referral: ReferralInvite | None = None
    products: list[ProductCard] = []
    if variant == "enticing":
        spec = settings.confirmation_offer
        if spec is not None and coupons is not None:
            offer = _optional("offer", lambda: coupons().issue(recorded.merchant_id, customer_id, spec,
                                                               campaign=OFFER_CAMPAIGN, ref=order.order_id,
                                                               currency=order.currency, now=now), recorded)
        if referrals is not None:
            referral = _optional("referral", lambda: referrals().invite_for(recorded.merchant_id, customer_id, now),
                                 recorded)
    elif variant == "recommendations" and recommender is not None:
        products = _optional("products", lambda: list(recommender().for_customer(
            recorded.merchant_id, customer_id, limit=RECOMMENDATIONS_LIMIT, order=order)), recorded) or []
    return confirmation_request(recorded, order_page_url, now, variant=variant, offer=offer, referral=referral,
                                products=products[:RECOMMENDATIONS_LIMIT])
