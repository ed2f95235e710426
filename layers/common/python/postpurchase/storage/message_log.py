"""Reading the merchant's messages (the console's messages view): what was sent, skipped, refused
or bounced, newest first.

- a page of one outcome (sent | skipped | failed | bounced), optionally of one kind: ONE Query of
  the sparse gsi1 partition `M#{m}#MSGS#{outcome}` (storage/ledger.py writes it), `Limit` items
  evaluated; a kind is a filter on that Query, so a filtered page may hold fewer rows than the
  page size and still have a next page;
- one customer's messages: for an email address, the customer ids orders named it under (one
  Query of `M#{m}#CEMAIL#{sha256(email)}`, written with each order; and the guest id made from
  it), then the per-customer ledger read of each (storage/privacy.emails_sent: the customer's
  partition, their orders on gsi1, each order's partition), and one Query of the address's
  suppression partition (bounces and complaints).

Ledger entries written before the index existed have no gsi1 keys: they are in the customer
search, not in the merchant-wide pages; a customer whose orders all came before the email
pointer existed is found by customer id, not by email, until their next order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidInput
from . import keys
from .table import MessageRecord

PAGE_SIZE = 25
SEARCH_MAX_ENTRIES = 200
SEARCH_MAX_CUSTOMERS = 5  # customer ids one email was ordered under, read for one search


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
    """Every message the ledger holds for the customer named by an email (their guest id) or a
    customer id, newest first, with the address's bounces and complaints."""
    from ..orders.models import Customer
    from .privacy import emails_sent

    text = text.strip()
    email = text if "@" in text else None
    try:
        customer_ids = [Customer(email=email).customer_id()] if email else [text]
    except ValueError:
        raise InvalidInput("not an email address", field="q") from None
    queries = 0
    if email:
        queries += 1
        customer_ids = list(dict.fromkeys([*_customers_of(merchant_id, email), *customer_ids]))
    found: list[LoggedMessage] = []
    for customer_id in customer_ids[:SEARCH_MAX_CUSTOMERS]:
        entries, made = emails_sent(merchant_id, customer_id)
        queries += made
        found.extend(LoggedMessage(entry["message_key"] or "", None, entry["state"] or "claimed",
                                   _when(entry["sent_at"] or entry["claimed_at"]), entry["order_id"],
                                   None if entry["order_id"] else customer_id, entry["failure"])
                     for entry in entries if entry.get("message_key"))
    if email:
        queries += 1
        found.extend(_logged(record) for record in _feedback_of(merchant_id, email))
    from ..messaging.requests import kind_of

    found = [message if message.kind else _with_kind(message, kind_of(message.message_key)) for message in found]
    if kind:
        found = [message for message in found if message.kind == kind]
    found.sort(key=lambda message: message.at, reverse=True)
    return MessagesPage(found[:SEARCH_MAX_ENTRIES], None, queries)


def _with_kind(message: LoggedMessage, kind: str) -> LoggedMessage:
    from dataclasses import replace

    return replace(message, kind=kind)


def _customers_of(merchant_id: str, email: str) -> list[str]:
    """The customer ids orders named this email under (one Query; written with each order)."""
    from ..security.order_access import email_digest
    from .table import CustomerEmailRecord

    pk = keys.customer_email_pk(merchant_id, email_digest(email))
    return [record.customer_id for record in CustomerEmailRecord.query(pk, limit=SEARCH_MAX_CUSTOMERS)
            if isinstance(record, CustomerEmailRecord)]


def _feedback_of(merchant_id: str, email: str) -> list[MessageRecord]:
    from ..security.order_access import email_digest

    pk = keys.suppression_pk(merchant_id, email_digest(email))
    return [record for record in MessageRecord.query(pk, MessageRecord.sk.startswith("MSG#"), limit=SEARCH_MAX_ENTRIES)
            if isinstance(record, MessageRecord)]


def _when(value) -> datetime:
    if isinstance(value, datetime):
        return value
    from pynamodb.attributes import UTCDateTimeAttribute

    return UTCDateTimeAttribute().deserialize(value)
