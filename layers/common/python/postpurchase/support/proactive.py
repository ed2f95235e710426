"""Proactive conversations: a parcel in trouble opens a conversation for the merchant before the
customer writes (issue 14 item 6).

When the tracking worker requests the notice for a shipment that is in exception or stalled
(postpurchase.tracking.attention reasons), `open_for_shipment` records a conversation with
source "proactive", status open, the order attached, intent where_is_my_order and no message
yet. Once per (shipment, reason): the conversation's receipt is `proactive:{shipment}:{reason}`,
written in the same transaction, so a redelivered tracking event or a retried notice check finds
it (AlreadyRecorded) instead of opening a second one. The order points at its latest proactive
conversation through a thread key (`proactive-order:{order}`, never a real Message-ID: those are
`<...@...>`), so the customer's first message about that order joins it (`joinable`).

Requests: `open_for_shipment` one TransactWriteItems (nothing when the reason is not one of ours);
`joinable` one BatchGetItem and, when found, one GetItem.
"""
from __future__ import annotations

from datetime import datetime

from ..tracking import attention
from ..tracking.state import ShipmentTracking
from .intents import Intent
from .model import Channel, Conversation, Source, Status, conversation_id_for, start

# Attention reasons that open a conversation: the customer is about to ask "where is my order?".
REASONS = frozenset({"exception", "stalled"})


def reason_for(tracking: ShipmentTracking, now: datetime) -> str | None:
    """The proactive reason of this parcel's state at `now`, or None (pure)."""
    found = attention.reason(tracking, now)
    return found if found in REASONS else None


def receipt(shipment_id: str, reason: str) -> str:
    return f"proactive:{shipment_id}:{reason}"


def order_key(order_id: str) -> str:
    return f"proactive-order:{order_id}"


def conversation_for(*, merchant_id: str, order_id: str, shipment_id: str, reason: str, tracking_number: str | None,
                     customer_email: str | None, customer_name: str | None, customer_id: str | None,
                     language: str | None, now: datetime) -> Conversation:
    """The new proactive conversation (pure): open, the order attached, WISMO, a human's turn."""
    conversation = start(conversation_id=conversation_id_for(now, receipt(f"{merchant_id}:{shipment_id}", reason)),
                         merchant_id=merchant_id, channel=Channel.EMAIL, source=Source.PROACTIVE,
                         customer_email=customer_email, customer_name=customer_name,
                         subject=f"{reason}: {tracking_number or shipment_id}", now=now)
    return conversation.model_copy(update={
        "status": Status.OPEN, "order_id": order_id, "customer_id": customer_id,
        "intent": Intent.WHERE_IS_MY_ORDER.value, "confidence": 1.0, "language": language, "needs_human": True})


def open_for_shipment(tracked, now: datetime, *, store=None, order=None) -> Conversation | None:
    """Open the proactive conversation for this tracked shipment if its state calls for one.

    Returns the conversation opened now, or None (no reason, or already opened for this reason)."""
    from .. import services
    from ..storage.support import AlreadyRecorded, Write

    if tracked.shipment.rma_id is not None:
        return None  # a return parcel: the returns capability follows it
    reason = reason_for(tracked.tracking, now)
    if reason is None:
        return None
    if order is None:
        order = services.order_store().get_order(tracked.merchant_id, tracked.order_id)
    customer = order.customer if order is not None else None
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part) if customer else ""
    conversation = conversation_for(
        merchant_id=tracked.merchant_id, order_id=tracked.order_id, shipment_id=tracked.shipment.shipment_id,
        reason=reason, tracking_number=tracked.shipment.tracking_number,
        customer_email=customer.email if customer else None, customer_name=name or None,
        customer_id=customer.customer_id() if customer else None,
        language=customer.locale if customer else None, now=now)
    store = store or services.support_store()
    from .webhook import announce_created

    try:
        store.record(Write(conversation=conversation, previous_revision=None,
                           thread_ids=((order_key(tracked.order_id), "proactive"),),
                           receipt=receipt(tracked.shipment.shipment_id, reason)))
    except AlreadyRecorded:
        # A redelivery: announce the one recorded again (its delivered marker POSTs it once), in
        # case the first attempt stopped between the write and the queue.
        seen = store.receipt(tracked.merchant_id, receipt(tracked.shipment.shipment_id, reason))
        opened = store.get(tracked.merchant_id, seen[0]) if seen else None
        if opened is not None and opened.messages == 0:
            announce_created(opened, first_message="", auto_answered=False)
        return None
    announce_created(conversation, first_message="", auto_answered=False)
    return conversation


def joinable(merchant_id: str, order_id: str | None, *, store=None) -> Conversation | None:
    """The proactive conversation a customer's new message about `order_id` joins, or None."""
    if not order_id:
        return None
    from .. import services

    store = store or services.support_store()
    found = store.conversations_for(merchant_id, [order_key(order_id)]).get(order_key(order_id))
    if found is None:
        return None
    conversation = store.get(merchant_id, found)
    if conversation is None or conversation.source is not Source.PROACTIVE or conversation.order_id != order_id:
        return None
    return conversation
