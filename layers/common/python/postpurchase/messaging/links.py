"""Links we put in emails: the customer's order page, opened by a signed, expiring token."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from ..security.tokens import Keyring, sign_order_token


def order_page_url(base_url: str, keys: Keyring, merchant_id: str, order_id: str, now: datetime,
                   ttl: timedelta) -> str:
    token = sign_order_token(keys, merchant_id, order_id, now + ttl)
    path = f"/pages/{quote(merchant_id, safe='')}/orders/{quote(order_id, safe='')}"
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def customer_order_link(merchant_id: str, order_id: str, now: datetime) -> str:
    """The order-page link for a customer email, with this deployment's base URL, keys and TTL."""
    from ..config import settings
    from ..services import link_keys

    config = settings()
    return order_page_url(config.public_base_url, link_keys(), merchant_id, order_id, now,
                          timedelta(days=config.order_link_ttl_days))


# A review email's rating link stays valid long enough for a late answer; an unsubscribe link
# must keep working for as long as an old email can sit in an inbox.
FEEDBACK_LINK_TTL = timedelta(days=60)
UNSUBSCRIBE_LINK_TTL = timedelta(days=400)


def rating_url(merchant_id: str, order_id: str, sku: str, now: datetime) -> str:
    """The one-tap rating page for one item of one order; append "?rating=N" (1-5) to rate."""
    from ..config import settings
    from ..security.tokens import sign_claims
    from ..services import link_keys

    config = settings()
    token = sign_claims(link_keys(), "feedback", [merchant_id, order_id, sku], now + FEEDBACK_LINK_TTL)
    return f"{config.public_base_url.rstrip('/')}/pages/{quote(merchant_id, safe='')}/feedback/{token}"


def read_feedback_token(token: str, now: datetime) -> tuple[str, str, str] | None:
    """(merchant_id, order_id, sku) of a valid feedback token, else None."""
    from ..security.tokens import read_claims
    from ..services import link_keys

    claims = read_claims(link_keys(), "feedback", token, now)
    return (claims[0], claims[1], claims[2]) if claims and len(claims) == 3 else None


def unsubscribe_url(merchant_id: str, customer_id: str, kind: str, now: datetime) -> str:
    """RFC 8058 one-click target for the List-Unsubscribe header (POST turns `kind` off; GET
    shows a page with the same button, for clients that only open links)."""
    from ..config import settings
    from ..security.tokens import sign_claims
    from ..services import link_keys

    config = settings()
    token = sign_claims(link_keys(), "unsubscribe", [merchant_id, customer_id, kind],
                        now + UNSUBSCRIBE_LINK_TTL)
    return f"{config.public_base_url.rstrip('/')}/pages/{quote(merchant_id, safe='')}/unsubscribe/{token}"


def read_unsubscribe_token(token: str, now: datetime) -> tuple[str, str, str] | None:
    """(merchant_id, customer_id, kind) of a valid unsubscribe token, else None."""
    from ..security.tokens import read_claims
    from ..services import link_keys

    claims = read_claims(link_keys(), "unsubscribe", token, now)
    return (claims[0], claims[1], claims[2]) if claims and len(claims) == 3 else None
