"""`GET /v1/orders/{order_id}/insert.pdf`: load what the insert shows, build it, render it.

Requests: one Query of the order's partition (the order view), the cached merchant; with a
referral programme (a reward configured) one GetItem of its settings and the customer's code
(created on first use, as the confirmation email does); with a loyalty programme one Query of
the customer's ledger. An extra that fails is left out (logged): the insert still prints.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from ..errors import InvalidInput, NotFound
from ..observability import logger
from .content import PAPER_SIZES, InsertContent, build_insert


def paper_size(value: str | None) -> str:
    """A6 when the query has no size; an empty or unknown one is refused, naming ``size``."""
    size = "a6" if value is None else value.strip().lower()
    if size not in PAPER_SIZES:
        raise InvalidInput(f"size must be one of {', '.join(PAPER_SIZES)}", field="size")
    return size


def _extra(name: str, fetch: Callable[[], Any]) -> Any:
    try:
        return fetch()
    except Exception:  # an extra never costs the insert
        logger.exception("packing insert: left out", extra={"extra": name})
        return None


def _referral_code(merchant_id: str, customer_id: str, now: datetime) -> str | None:
    from ..services import referral_codes, referral_store

    settings = referral_store().settings(merchant_id)
    if settings.referrer_reward is None and settings.friend_reward is None:
        return None  # no programme: nothing to share
    return referral_codes().invite_for(merchant_id, customer_id, now).code


def _points_balance(merchant_id: str, customer_id: str, now: datetime) -> int | None:
    from ..services import loyalty

    account = loyalty().account_document(merchant_id, customer_id, now)
    return int(account["balance"]) if account.get("program_enabled") else None


def insert_content(merchant_id: str, order_id: str, now: datetime) -> InsertContent:
    from ..messaging.catalogs import resolve_language
    from ..messaging.links import customer_order_link, rating_url
    from ..services import merchant_store, order_store

    view = order_store().order_view(merchant_id, order_id)
    merchant = merchant_store().get(merchant_id)
    if view is None or merchant is None:
        # Another merchant's order answers exactly like a missing one.
        raise NotFound(f"order {order_id} not found", field="order_id")
    order = view.order
    customer_id = order.customer.customer_id()
    return build_insert(
        order, merchant.branding,
        language=resolve_language(order.customer.locale, merchant.branding.default_locale),
        order_url=customer_order_link(merchant_id, order_id, now),
        # The rating page of the order's first item (the review email links each item).
        review_url=rating_url(merchant_id, order_id, order.items[0].sku, now) if order.items else None,
        referral_code=_extra("referral_code", lambda: _referral_code(merchant_id, customer_id, now)),
        points_balance=_extra("points_balance", lambda: _points_balance(merchant_id, customer_id, now)))


def insert_pdf(merchant_id: str, order_id: str, size: str | None, now: datetime) -> bytes:
    chosen = paper_size(size)  # a bad size is answered before any read
    content = insert_content(merchant_id, order_id, now)
    from .render import render_insert  # fpdf2, uharfbuzz and segno load here, on the first insert

    return render_insert(content, chosen)


# --- a day's batch (insert/batches.py): the API records and enqueues, functions/insert_batches renders


def create_day_batch(merchant_id: str, body, now: datetime) -> dict:
    from ..services import enqueue_insert_batch, insert_batch_store
    from .batches import create_batch

    return create_batch(merchant_id, body, insert_batch_store(), enqueue_insert_batch, now)


def day_batch_document(merchant_id: str, batch_id: str) -> dict:
    from ..services import insert_batch_store, insert_files
    from .batches import batch_document

    return batch_document(merchant_id, batch_id, insert_batch_store(), insert_files())


def render_day_batch(message, now: datetime, *, last_attempt: bool = False) -> str:
    """Requests: one GetItem (the batch), one gsi4 Query per UTC day of the window (per 1 MB of
    keys), per order what one insert costs (the order's Query, the extras), one PutObject, one
    UpdateItem."""
    from ..services import insert_batch_store, insert_files
    from .batches import render_batch
    from .render import render_inserts

    return render_batch(message, insert_batch_store(), insert_files(), insert_content, render_inserts, now,
                        last_attempt=last_attempt)
