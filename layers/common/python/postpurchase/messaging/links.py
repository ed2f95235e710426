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
