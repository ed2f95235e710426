"""Build the page models from what is stored (pure: no AWS, `now` is an argument)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..messaging.requests import MerchantBranding
from ..orders.models import Order
from ..returns.policy import ReturnReason
from ..returns.rma import COMMAND_ACTORS, TRANSITIONS, ReturnRequest, RmaStatus
from ..returns.service import OrderReturns
from ..tracking.carriers.base import tracking_url
from ..tracking.eta import visible_eta
from . import model

LANGUAGES = ["en", "id", "th", "tr", "ar", "ru"]


def shop(branding: MerchantBranding) -> model.Shop:
    return model.Shop(merchant_id=branding.merchant_id, name=branding.name, logo_url=branding.logo_url,
                      brand_color=branding.brand_color,
                      support_email=branding.support_email or branding.reply_to or branding.from_email,
                      website_url=branding.website_url)


def _items(order: Order) -> list[model.Item]:
    return [model.Item(sku=item.sku, title=item.title, variant_title=item.variant_title, image_url=item.image_url,
                       product_url=item.product_url, quantity=item.quantity, unit_price=item.price,
                       line_total=item.price * item.quantity) for item in order.items]


def _address(order: Order) -> model.Address | None:
    a = order.shipping_address
    if a is None:
        return None
    region = " ".join(part for part in (a.province, a.zip) if part)
    lines = [a.name, a.address1, a.address2, ", ".join(p for p in (a.city, region) if p), a.country_code.upper()]
    return model.Address(lines=[line for line in lines if line])


def _parcels(order: Order, tracked: list, now: datetime) -> list[model.Parcel]:
    by_sku = {item.sku: item for item in _items(order)}
    parcels = []
    for parcel in tracked:
        shipment, state = parcel.shipment, parcel.tracking
        if shipment.rma_id is not None:
            continue  # a return parcel is shown with its return
        eta = visible_eta(state, now)
        # A parcel without an items list carries the whole order.
        carried = [(line.sku, line.quantity) for line in shipment.items] or [
            (sku, item.quantity) for sku, item in by_sku.items()]
        parcels.append(model.Parcel(
            shipment_id=shipment.shipment_id, carrier=shipment.carrier, tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url or tracking_url(shipment.carrier, shipment.tracking_number),
            status=state.status.value, eta=eta.eta if eta else None,
            original_eta=eta.original_eta if eta else state.original_eta, is_late=bool(eta and eta.is_late),
            delivered_at=state.delivered_at,
            timeline=[model.TimelineStep(at=event.occurred_at, status=event.status.value, place=event.location,
                                         description=event.description) for event in reversed(parcel.timeline)],
            items=[by_sku[sku].model_copy(update={"quantity": quantity}) for sku, quantity in carried
                   if sku in by_sku]))
    return parcels


def _customer_may_cancel(rma: ReturnRequest) -> bool:
    return RmaStatus.cancelled in TRANSITIONS[rma.status] and "customer" in COMMAND_ACTORS["cancel"]


def _returns(order: Order, returns: OrderReturns) -> list[model.ExistingReturn]:
    titles = {item.sku: item.title for item in order.items}
    shown = []
    for entry in reversed(returns.returns):  # newest first
        rma = entry.rma
        accepted = {line.sku: line.accepted_quantity for line in rma.inspection or ()}
        shown.append(model.ExistingReturn(
            rma_id=rma.rma_id, status=rma.status.value, requested_at=rma.created_at,
            lines=[model.ReturnLine(sku=line.sku, title=titles.get(line.sku, line.sku), quantity=line.quantity,
                                    reason=line.reason.value, resolution=line.resolution.value,
                                    accepted_quantity=accepted.get(line.sku)) for line in rma.lines],
            history=[model.ReturnStep(status=step.to_status.value, at=step.at, by=step.actor.kind)
                     for step in rma.history],
            ship_by=rma.expires_at if rma.status in (RmaStatus.approved, RmaStatus.label_issued) else None,
            carrier=rma.label.carrier if rma.label else None,
            tracking_number=rma.label.tracking_number if rma.label else None,
            label_url=rma.label.label_url if rma.label else None,
            drop_off_code=rma.label.drop_off_code if rma.label else None,
            rejection_reason=rma.rejection_reason,
            resolution=rma.resolution.kind.value if rma.resolution else None,
            amount=rma.resolution.amount if rma.resolution else None,
            can_cancel=_customer_may_cancel(rma)))
    return shown


def _returnables(order: Order, returns: OrderReturns) -> list[model.Returnable]:
    first = {}
    for item in order.items:
        first.setdefault(item.sku, item)
    return [model.Returnable(sku=item.sku, title=first[item.sku].title, variant_title=first[item.sku].variant_title,
                             image_url=first[item.sku].image_url, returnable=item.returnable, reason=item.reason,
                             returnable_quantity=item.returnable_quantity, last_day=item.last_day,
                             resolutions=sorted(resolution.value for resolution in item.resolutions))
            for item in returns.items]


def faq_items(entries: Sequence[Any], language: str, default_locale: str | None) -> list[model.FaqItem]:
    """The merchant's FAQ entries (support.faq.FaqEntry) in `language`, else the shop's default
    language; an entry in neither is left out."""
    fallback = (default_locale or "").replace("_", "-").split("-")[0].lower() or None
    items = []
    for entry in entries:
        localized = entry.localized(language, fallback)
        if localized is not None:
            lang, question, answer = localized
            items.append(model.FaqItem(entry_id=entry.entry_id, language=lang, question=question, answer=answer))
    return items


def _faq(returns: OrderReturns, branding: MerchantBranding, entries: list[model.FaqItem]) -> model.Faq:
    policy = returns.policy
    rule = policy.default_rule
    return model.Faq(window_days=rule.window_days, window_starts=rule.window_starts,
                     label_provided=policy.logistics.label_provided,
                     drop_off_options=[option.value for option in policy.logistics.drop_off_options],
                     processing_days=policy.logistics.processing_days, refund_days=policy.logistics.refund_days,
                     conditions=sorted(condition.value for condition in policy.conditions),
                     support_email=branding.support_email or branding.reply_to or branding.from_email,
                     entries=entries)


def order_page(context: model.PageContext, returns: OrderReturns, order_status: str, tracked: list,
               branding: MerchantBranding, *, form: model.ReturnForm | None = None,
               notice: str | None = None, form_id: str | None = None,
               preferences_url: str | None = None, faq_entries: Sequence[Any] = (),
               contact: model.ContactForm | None = None) -> model.OrderPage:
    order = returns.order
    customer = order.customer
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part) or None
    totals = order.totals
    return model.OrderPage(
        context=context, order_id=order.order_id, order_number=order.display_number, placed_at=order.placed_at,
        status=order_status, customer_name=name, email=order.recipient, shipping_address=_address(order),
        currency=order.currency, financial_status=order.financial_status, items=_items(order),
        totals=model.Totals(subtotal=totals.subtotal, shipping=totals.shipping, tax=totals.tax,
                            discount=abs(totals.discount) if totals.discount else Decimal("0"), total=totals.total),
        parcels=_parcels(order, tracked, context.now), returnables=_returnables(order, returns),
        returns=_returns(order, returns), reasons=[reason.value for reason in ReturnReason],
        faq=_faq(returns, branding, faq_items(faq_entries, context.language, branding.default_locale)), form=form or model.ReturnForm(), notice=notice, form_id=form_id,
        preferences_url=preferences_url, contact=contact or model.ContactForm())
