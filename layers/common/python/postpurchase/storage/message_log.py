"""Reading the merchant's messages (the console's messages view): what was sent, skipped, refused
or bounced, newest first.

- a page of one outcome (sent | skipped | failed | bounced), optionally of one kind: ONE Query of
  the sparse gsi1 partition `M#{m}#MSGS#{outcome}` (storage/ledger.py writes it), `Limit` items
  evaluated; a kind is a filter on that Query, so a filtered page may hold fewer rows than the
  page size and still have a next page;
- one customer's messages: ONE Query of the sparse gsi5 partition of their address
  (`M#{m}#RCPT#{email digest}`, newest first), which the ledger writes on every entry, skip and
  bounce; searched by customer id, one GetItem of the profile first gives the address (the
  messages to the address on the profile; those to an address the customer used before are found
  by that address).

Ledger entries written before these indexes existed have neither key: `python -m
postpurchase.admin messages backfill` gives the older ones their gsi5 keys (from the stored hash
of the address); the merchant-wide pages start at the day the gsi1 keys were added.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidInput
from . import keys
from .table import MessageRecord

PAGE_SIZE = 25
SEARCH_MAX_ENTRIES = 200


@dataclass(frozen=True)
class LoggedMessage:
    message_key: str
    kind: str | None
    state: str  # sent | skipped | failed | unknown | bounced | complained | claimed
    at: datetime  # sent, skipped, refused or bounced at (the claim time when not sent)
    order_id: str | None
    customer_id: str | None
    reason: str | None  # why skipped, refused, or the bounce type


@dataclass(frozen=True)
class MessagesPage:
    messages: list[LoggedMessage]
    next_cursor: str | None
    queries: int


def _logged(record: MessageRecord) -> LoggedMessage:
    from ..messaging.requests import kind_of

    return LoggedMessage(record.message_key, record.kind or kind_of(record.message_key), record.state,
                         record.sent_at or record.claimed_at, record.order_id, record.customer_id, record.failure)


def messages_page(merchant_id: str, outcome: str, kind: str | None = None, cursor: str | None = None,
                  limit: int = PAGE_SIZE) -> MessagesPage:
    """One page of one outcome, newest first (one Query of gsi1); InvalidInput for a bad outcome or cursor."""
    from .return_queue import _decode_cursor, _encode_cursor

    if outcome not in keys.MESSAGE_OUTCOMES:
        raise InvalidInput("unknown outcome", field="outcome")
    pk = keys.messages_pk(merchant_id, outcome)
    results = MessageRecord.messages_index.query(
        pk, scan_index_forward=False, page_size=limit,
        filter_condition=(MessageRecord.kind == kind) if kind else None,
        last_evaluated_key=_decode_cursor(cursor, pk) if cursor else None)
    # The first page only, whatever the filter kept: a page is one Query.
    page = next(results.page_iter, None) or {}
    records = [MessageRecord.from_raw_data(item) for item in page.get("Items", [])]
    messages = [_logged(record) for record in records if isinstance(record, MessageRecord)]
    return MessagesPage(messages, _encode_cursor(results.page_iter.last_evaluated_key), 1)


def customer_messages(merchant_id: str, text: str, kind: str | None = None) -> MessagesPage:
    """The messages about one address, newest first (sent, skipped, refused, bounced, complained):
    ONE Query of gsi5 for an email; for a customer id, one GetItem of their profile for its
    address first. A kind is a filter on the Query."""
    from ..security.order_access import email_digest

    text = text.strip()
    queries = 0
    if "@" in text:
        from ..orders.models import Customer

        try:
            Customer(email=text).customer_id()  # the address a guest order would accept
        except ValueError:
            raise InvalidInput("not an email address", field="q") from None
        email: str | None = text
    else:
        email, queries = _profile_email(merchant_id, text), 1
        if email is None:
            return MessagesPage([], None, queries)
    pk = keys.recipient_messages_pk(merchant_id, email_digest(email))
    records = MessageRecord.recipient_index.query(
        pk, scan_index_forward=False, page_size=SEARCH_MAX_ENTRIES,
        filter_condition=(MessageRecord.kind == kind) if kind else None)
    page = next(records.page_iter, None) or {}  # the first page only: a search is one Query
    found = [_logged(record) for record in map(MessageRecord.from_raw_data, page.get("Items", []))
             if isinstance(record, MessageRecord)]
    found.sort(key=lambda message: message.at, reverse=True)
    return MessagesPage(found, None, queries + 1)


def _profile_email(merchant_id: str, customer_id: str) -> str | None:
    """The address on the customer's profile (one GetItem), or None for an unknown customer."""
    from pynamodb.exceptions import DoesNotExist

    from .table import CustomerRecord

    try:
        profile = CustomerRecord.get(keys.customer_pk(merchant_id, customer_id), keys.PROFILE_SK)
    except DoesNotExist:
        return None
    return profile.email if isinstance(profile, CustomerRecord) and profile.email else None
