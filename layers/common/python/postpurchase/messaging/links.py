"""Links we put in emails: the customer's order page, opened by a signed, expiring token."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from ..security.tokens import sign_order_token


def order_page_url(base_url: str, secret: str, merchant_id: str, order_id: str, now: datetime,
                   ttl: timedelta) -> str:
    token = sign_order_token(secret, merchant_id, order_id, now + ttl)
    path = f"/pages/{quote(merchant_id, safe='')}/orders/{quote(order_id, safe='')}"
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def customer_order_link(merchant_id: str, order_id: str, now: datetime) -> str:
    """The order-page link for a customer email, with this deployment's base URL, secret and TTL."""
    from ..config import settings

    config = settings()
    return order_page_url(config.public_base_url, config.link_signing_secret, merchant_id, order_id, now,
                          timedelta(days=config.order_link_ttl_days))
