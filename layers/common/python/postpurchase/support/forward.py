"""The helpdesk forward (issue 14 item 4): every customer message that goes to a person
(needs_human) is also emailed to the merchant's helpdesk address, when they set one
(`PUT /v1/settings/messaging` `support_forward_address`).

The forward is merchant-facing (English, in the support_forward templates): Reply-To is the
customer, so the helpdesk answers them directly; it carries the customer's words, the order and
its parcels' status, and the conversation's link; `Auto-Submitted: auto-forwarded`. It goes
through the email sender like every email: the send ledger keys it by (conversation, message),
so a redelivered message (which publishes it again) is forwarded once. The customer's consent
and suppression do not apply: it is not mail to them (messaging.requests.MERCHANT_KINDS).
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from ..messaging.requests import MESSAGE_ID, EmailRequest, SupportReply
from ..orders.models import Customer, Order
from .model import Conversation, SupportMessage


def wanted(message: SupportMessage, address: str | None) -> bool:
    """Is this message forwarded (pure)? Only a customer's message a person must answer."""
    return bool(address) and message.direction.value == "in" and "needs_human" in message.flags


def forward_request(conversation: Conversation, message: SupportMessage, address: str, *, order: Order | None,
                    shipments: list, message_id: str, conversation_url: str | None, now: datetime) -> EmailRequest:
    """The forward as an email request (pure)."""
    c, m = conversation.conversation_id, conversation.merchant_id
    thread = message.email_message_id if message.email_message_id and MESSAGE_ID.match(message.email_message_id) else None
    support = SupportReply(
        conversation_id=c, message_id=message_id, in_reply_to=thread, references=[thread] if thread else [],
        automated=True, auto_submitted="auto-forwarded", reply_to=conversation.customer_email,
        reply_to_name=conversation.customer_name, subject=message.subject or conversation.subject,
        text=message.text, shipments=shipments, conversation_url=conversation_url)
    fields: dict = dict(kind="support_forward", merchant_id=m, ref=f"{c}.{message.message_id}", recipient=address,
                        locale="en", requested_at=now, support=support)
    if order is not None:
        fields.update(order=order, timezone=order.customer.timezone)
    else:
        # The ledger keeps it under the customer (or, with no address, under the helpdesk's).
        fields["customer"] = Customer(email=conversation.customer_email or address,
                                      first_name=conversation.customer_name)
    return EmailRequest(**fields)


def forward(conversation: Conversation, message: SupportMessage, now: datetime) -> EmailRequest | None:
    """Publish the forward of `message` when the merchant wants one; the request, or None.
    Reads: the messaging settings (one GetItem, cached), the order and its parcels when matched."""
    from ..config import settings
    from ..services import messaging_settings, order_store, outbound_email_queue
    from .replies import tracking_answer
    from .service import outbound_message_id

    address = messaging_settings(conversation.merchant_id).support_forward_address
    if not wanted(message, address):
        return None
    order = order_store().get_order(conversation.merchant_id, conversation.order_id) if conversation.order_id else None
    shipments = list(tracking_answer(conversation.merchant_id, order, now).shipments) if order is not None else []
    base = settings().public_base_url.rstrip("/")
    url = (f"{base}/v1/support/conversations/{quote(conversation.conversation_id, safe='')}" if base else None)
    request = forward_request(
        conversation, message, address, order=order, shipments=shipments, conversation_url=url, now=now,
        message_id=outbound_message_id(conversation.conversation_id, f"fwd.{message.message_id}",
                                       conversation.merchant_id))
    outbound_email_queue().publish(request.model_dump_json(), kind=request.kind, merchant_id=request.merchant_id)
    return request
