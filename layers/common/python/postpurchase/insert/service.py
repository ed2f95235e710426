"""`GET /v1/orders/{order_id}/insert.pdf`: load what the insert shows, build it, render it.

Requests: one Query of the order's partition (the order view); the merchant's settings the
insert depends on (`InsertSettings`: the cached merchant, one GetItem of the referral settings,
the briefly cached loyalty settings), read once per insert and once per day's batch; with a
referral programme (a reward configured) one GetItem of the customer's code (created on first
use, as the confirmation email does); with a loyalty programme on, one Query of the customer's
ledger. An extra that fails is left out (logged): the insert still prints.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
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


@dataclass(frozen=True)
class InsertSettings:
    """The merchant's settings every insert of it shares: read once per insert and once per day's
    batch, not once per order (a batch of 1000 orders made 1000 reads of the same items)."""

    merchant: Any  # storage.merchants.Merchant, None when there is no such merchant
    referral_on: bool = False  # a referrer or friend reward is configured
    loyalty: Any = None  # rewards.loyalty.LoyaltySettings when the programme is on, else None


def insert_settings(merchant_id: str) -> InsertSettings:
    """The cached merchant, one GetItem of the referral settings, the loyalty settings (cached
    briefly by their store). A programme whose settings cannot be read is left out (logged)."""
    from ..services import loyalty_store, merchant_store, referral_store

    merchant = merchant_store().get(merchant_id)
    if merchant is None:
        return InsertSettings(merchant=None)
    referral = _extra("referral_settings", lambda: referral_store().settings(merchant_id))
    loyalty = _extra("loyalty_settings", lambda: loyalty_store().settings(merchant_id))
    return InsertSettings(
        merchant=merchant,
        referral_on=referral is not None and (referral.referrer_reward is not None or
                                              referral.friend_reward is not None),
        loyalty=loyalty if loyalty is not None and loyalty.enabled else None)


def _referral_code(merchant_id: str, customer_id: str, now: datetime, shared: InsertSettings) -> str | None:
    """The customer's referral code, as the confirmation email's invite has it (created on first use)."""
    from ..services import referral_store

    if not shared.referral_on:
        return None  # no programme: nothing to share
    store = referral_store()
    return store.code_of(merchant_id, customer_id) or store.create_code(merchant_id, customer_id, now)


def _points_balance(merchant_id: str, customer_id: str, now: datetime, shared: InsertSettings) -> int | None:
    """The available points, as the loyalty account shows them (one Query of the ledger)."""
    from ..rewards.loyalty import account
    from ..services import loyalty_store

    if shared.loyalty is None:
        return None  # no programme: no ledger read
    ledger = loyalty_store().ledger(merchant_id, customer_id, consistent=False)
    return int(account(ledger.entries, shared.loyalty, now).available)


def insert_content(merchant_id: str, order_id: str, now: datetime,
                   shared: InsertSettings | None = None) -> InsertContent:
    """What one order's insert shows; ``shared`` are the merchant's settings when already read
    (a day's batch reads them once), else they are read here, after the order is found."""
    from ..messaging.catalogs import resolve_language
    from ..messaging.links import customer_order_link, rating_url
    from ..services import order_store

    view = order_store().order_view(merchant_id, order_id)
    if view is not None and shared is None:
        shared = insert_settings(merchant_id)
    if view is None or shared is None or shared.merchant is None:
        # Another merchant's order answers exactly like a missing one.
        raise NotFound(f"order {order_id} not found", field="order_id")
    merchant = shared.merchant
    order = view.order
    customer_id = order.customer.customer_id()
    return build_insert(
        order, merchant.branding,
        language=resolve_language(order.customer.locale, merchant.branding.default_locale),
        order_url=customer_order_link(merchant_id, order_id, now),
        # The rating page of the order's first item (the review email links each item).
        review_url=rating_url(merchant_id, order_id, order.items[0].sku, now) if order.items else None,
        referral_code=_extra("referral_code", lambda: _referral_code(merchant_id, customer_id, now, shared)),
        points_balance=_extra("points_balance", lambda: _points_balance(merchant_id, customer_id, now, shared)))


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
    keys), the merchant's settings once (`insert_settings`, at the first order), per order the
    order's Query and the programmes' per-customer reads, one PutObject, one UpdateItem."""
    from ..services import insert_batch_store, insert_files
    from .batches import render_batch
    from .render import render_inserts

    shared = cache(lambda: insert_settings(message.merchant_id))  # an empty day reads none

    def content_of(merchant_id: str, order_id: str, at: datetime) -> InsertContent:
        return insert_content(merchant_id, order_id, at, shared())

    return render_batch(message, insert_batch_store(), insert_files(), content_of, render_inserts, now,
                        last_attempt=last_attempt)
