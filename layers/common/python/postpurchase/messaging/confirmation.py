"""Which confirmation a customer gets, and what it carries.

The merchant's rules (MessagingSettings.confirmation_rules) pick the variant: the first rule
that matches the order wins, "plain" when none does. A variant that needs data we could not
get (no coupon, no referral code, no products) falls back to "reassuring" rather than sending
an email with an empty block. Pure: no AWS here; the order-events consumer fetches the extras
(postpurchase.orders.processing) and passes them in.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ..orders.models import Order
from .requests import ConfirmationVariant, EmailRequest, OfferNotice, ProductCard, ReferralInvite
from .settings import ConfirmationRule, MessagingSettings


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
    return EmailRequest(
        kind="order_confirmation",
        variant=chosen,
        merchant_id=recorded.merchant_id,
        ref=order.order_id,
        recipient=order.recipient,
        locale=order.customer.locale,
        timezone=order.customer.timezone,
        order=order,
        order_page_url=order_page_url,
        requested_at=now,
        offer=offer if chosen == "enticing" else None,
        referral=referral if chosen == "enticing" else None,
        products=list(products) if chosen == "recommendations" else [],
    )
