"""The lookup page's "message us" form: a customer without their order link writes to the shop.

Nothing on the page tells whether the address or the order exists: every accepted message gets
the same redirect ("we've received your message, we'll answer by email"). The message goes
through support.service.receive_message with channel `lookup_form`; the order it names is
attached only when that order was placed under the address given (the order-number item's
email digest, compared in constant time), and an automated answer, if any, goes by email to
the order's own address, never onto the page.

Anti-forgery like the other forms: same origin, and a per-render nonce ("{issued}.{random}")
with its HMAC (security.tokens.form_token; the lookup page has no link token to bind to), valid
for a day. The nonce is the message's identity, so a double submit is one message. Rate-limited
with the lookup's own counters (storage/attempts.py): per client address and per email address,
counted before anything is looked up.
"""
from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Mapping

from ..errors import InvalidInput
from . import model

SUBJECT = "lookup-contact"  # what the form token is bound to (with the nonce)
FORM_LIFETIME = timedelta(days=1)
MAX_TEXT = 4000
MAX_ORDER_NUMBER = 64
# Per LOOKUP_WINDOW (an hour), as the lookup's counters: a shopper sends one or two, a script many.
MESSAGES_PER_CLIENT = 10
MESSAGES_PER_EMAIL = 5
_NONCE = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{8,64})$")


def new_form(now: datetime, keys, merchant_id: str) -> model.LookupContactForm:
    """An empty form with a fresh nonce and its token."""
    return with_token(model.LookupContactForm(), now, keys, merchant_id)


def with_token(form: model.LookupContactForm, now: datetime, keys, merchant_id: str) -> model.LookupContactForm:
    from ..security.tokens import form_token

    nonce = f"{int(now.astimezone(timezone.utc).timestamp())}.{secrets.token_urlsafe(12)}"
    return form.model_copy(update={"form_nonce": nonce, "csrf_token": form_token(keys, merchant_id, SUBJECT, nonce)})


def genuine(form: Mapping[str, str], now: datetime, keys, merchant_id: str) -> bool | None:
    """True: our form, recent; False: forged or foreign; None: ours but older than a day."""
    from ..security.tokens import verify_form_token

    nonce = form.get("form_nonce") or ""
    matched = _NONCE.match(nonce)
    if matched is None or not verify_form_token(keys, merchant_id, SUBJECT, nonce, form.get("csrf_token")):
        return False
    issued = datetime.fromtimestamp(int(matched.group(1)), tz=timezone.utc)
    if not -timedelta(minutes=5) <= now - issued <= FORM_LIFETIME:
        return None
    return True


def entered(form: Mapping[str, str]) -> model.LookupContactForm:
    """What was typed, and the error next to each field that is wrong (pure)."""
    from ..orders.models import _email
    from ..security.order_access import normalise_order_number

    email = (form.get("contact_email") or "").strip()
    number = (form.get("contact_order_number") or "").strip()
    text = (form.get("message") or "").strip()
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "required"
    else:
        try:
            _email(email)
        except ValueError:
            errors["email"] = "invalid_email"
    if number:
        try:
            if len(number) > MAX_ORDER_NUMBER:
                raise InvalidInput("order number too long", field="order_number")
            normalise_order_number(number)
        except InvalidInput:
            errors["order_number"] = "invalid"
    if not text:
        errors["message"] = "required"
    elif len(text) > MAX_TEXT:
        errors["message"] = "invalid"
    return model.LookupContactForm(email=email[:254], order_number=number[:MAX_ORDER_NUMBER], text=text[:MAX_TEXT],
                                   errors=errors)


def allowed(merchant_id: str, client: str, email: str, now: datetime, limiter) -> bool:
    """Count this message against the client's and the address's windows (both, always)."""
    from ..security.order_access import LOOKUP_WINDOW, email_digest

    by_client = limiter.allow(merchant_id, f"contact-client#{client}", MESSAGES_PER_CLIENT, LOOKUP_WINDOW, now)
    by_email = limiter.allow(merchant_id, f"contact-email#{email_digest(email)}", MESSAGES_PER_EMAIL, LOOKUP_WINDOW,
                             now)
    return by_client and by_email


def owned_order(merchant_id: str, number: str, email: str) -> str | None:
    """The id of the order with this number when it was placed under this address; else None
    (a number that is someone else's or nobody's looks the same)."""
    from ..security.order_access import email_digest, normalise_order_number
    from ..services import order_numbers

    if not number:
        return None
    found = order_numbers().email_digest_for(merchant_id, normalise_order_number(number))
    if found is None:
        return None
    return found[0] if hmac.compare_digest(found[1], email_digest(email)) else None


def send(merchant_id: str, contact: model.LookupContactForm, nonce: str, language: str | None,
         now: datetime) -> None:
    """The message into support: the order attached only when it is the sender's."""
    from ..services import order_store
    from ..support.model import Channel
    from ..support.service import Incoming, receive_message

    order_id = owned_order(merchant_id, contact.order_number, contact.email)
    order = order_store().get_order(merchant_id, order_id) if order_id else None
    email = order.recipient if order is not None else contact.email  # the order's own spelling
    name = None
    if order is not None:
        name = " ".join(p for p in (order.customer.first_name, order.customer.last_name) if p) or None
    receive_message(Incoming(merchant_id=merchant_id, channel=Channel.LOOKUP_FORM, identity=f"lookup_form\x1f{nonce}",
                             text=contact.text, email=email, name=name,
                             order_id=order.order_id if order is not None else None,
                             named_order=bool(contact.order_number), language=language), now)
