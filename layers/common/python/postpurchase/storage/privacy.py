"""A customer's data: found (export, the emails we sent), and erased (GDPR Art. 17).

Where a customer's items are (docs/architecture.md, "Data"): their own partition
`M#{m}#C#{c}` (profile, purchases, loyalty, referral code and referrals, coupons issued,
customer-scoped messages), their orders through gsi1 (`gsi1pk = M#{m}#C#{c}`) and each order's
partition (shipments, timeline, messages, returns, feedback, schedule), and a few items keyed by
something else: the order-number lookup, the feedback and referral listings, the referral code,
the RMA -> order pointers, the RMAs by email (the console's search), the email -> customer
pointer (the console's messages search), the coupons, the address's suppression, and the support
conversations of the customer's addresses. Finding them is 1 Query (customer) + 1 Query (gsi1) +
1 Query per order + 1 per address and 2 per support conversation + 1 BatchGetItem per 100 side
items; `Found.queries` counts them.

Erasure keeps what the merchant must keep for its books and deletes or strips the rest
(ERASE_POLICY, one decision per item type; a test fails when a new type has none):
- the customer's partition: deleted (profile, points, codes, preferences, customer-scoped messages);
- orders: kept with their lines, totals, currency, dates and status; the customer (names, email,
  address, birthday, payment fingerprint) is replaced by ERASED_EMAIL / ERASED_CUSTOMER, the
  order leaves the customer's gsi1 partition, and `erased_at` is set;
- the send ledger: kept (it is what stops a second send) without the recipient's hash;
- returns: kept without the customer's free text; feedback (ratings and comments): deleted;
- survey answers and detractor messages: deleted (not in ERASE_POLICY: they are not PynamoDB
  types; `action_for` deletes what it does not name); survey counters: kept (they name nobody);
- support conversations (found through `M#{m}#SUPCUST#{sha256(address)}`, one Query per address
  the customer is known by, then one Query per conversation and one of its CSAT answers): the
  conversation, every message (text, sender address; with it the raw mail and the attachments in
  the support mail bucket), the Message-ID pointers, the receipts and the CSAT answers are
  deleted, the address pointers last; the merchant's support counters (per day, no person) stay;
- scheduled messages, the order-number lookup, the referral code, the customer's referrals (as
  referrer) and the listings naming them: deleted; a referral in which the customer was the
  referred friend is the referrer's and is kept (it holds customer ids, no contact data); shipments and timelines (carrier, tracking number, scans): kept;
- the suppression of a bounced or complained address: kept (only a hash; it keeps us from
  mailing that address again), and ERASED_EMAIL is suppressed, so nothing can go to an erased order.
Every step is idempotent and each order is finished (its ORDER item last) before the
customer's partition goes, so a retry after a failure finds what is left and completes it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from ..config import settings
from . import keys

ERASED_CUSTOMER = "erased"
ERASED_EMAIL = "erased@erased.invalid"  # .invalid never resolves (RFC 2606)
ERASED_TEXT = "[erased]"
# Keys of a stored JSON document that hold the customer's own words or contact details.
FREE_TEXT_KEYS = frozenset({"comment", "note", "notes", "customer_note", "email", "phone", "name",
                            "first_name", "last_name", "address", "address1", "address2"})

Action = str  # delete | keep | anonymise_order | strip_recipient | strip_text
# Item type (table.py discriminator) -> what erasure does to it when it is about the customer.
ERASE_POLICY: dict[str, Action] = {
    "customer": "delete", "purchases": "delete", "loyalty_entry": "delete", "loyalty_account": "delete",
    "referral_code": "delete", "referral": "delete", "referral_cap": "delete", "coupon_issue": "delete",
    "scheduled_message": "delete", "feedback": "delete", "feedback_listing": "delete", "order_number": "delete",
    "order": "anonymise_order", "message": "strip_recipient", "return": "strip_text",
    "shipment": "keep", "tracking_event": "keep", "webhook_delivery": "keep", "recs_learned": "keep",
    "return_order": "keep", "coupon": "keep", "suppression": "keep",
    "return_email": "delete",  # the console's search by the customer's email (a hash -> their RMAs)
    "customer_email": "delete",  # the console's messages search (an email's hash -> the customer id)
    # Never about one customer (merchant-wide or system items); listed so every type has a decision.
    "merchant": "keep", "api_key": "keep", "api_key_listing": "keep", "return_policy": "keep", "attempts": "keep", "rate_bucket": "keep",
    "campaign": "keep", "campaign_page": "keep", "referral_settings": "keep", "loyalty_settings": "keep",
    "product": "keep", "product_sku": "keep", "recommendation_rules": "keep", "copurchase": "keep",
    "privacy_request": "keep", "privacy_erasure": "keep", "scheduler_cursor": "keep",
    "support_faq": "keep",  # the shop's own FAQ text
    # Support (storage/support.py), found through the address's pointers (support_customer): the
    # conversation (address, name, subject), its messages (the customer's words; the raw mail and
    # attachments in S3 go with them), the Message-ID pointers and receipts, the CSAT answers:
    # all deleted. The merchant's daily counters (support_stats) name nobody and stay, so the
    # metrics keep their history.
    "support_conversation": "delete", "support_message": "erase_support_message", "support_thread": "delete",
    "support_receipt": "delete", "support_customer": "delete", "support_csat": "delete", "support_stats": "keep",
    # Analytics: daily counts per SKU / carrier / kind and fact markers keyed by ids, never a person.
    "stats": "keep", "stats_marker": "keep",
    # Storefront reviews: the review goes with its public copies, its count and its photos
    # (storage/reviews.erase); copies and counters are only ever reached through it.
    "review": "erase_review", "review_copy": "keep", "review_summary": "keep", "review_feed": "keep",
    # A review's public id -> its order and sku: deleted in the review's erase transaction (and
    # deleted if ever found on its own).
    "review_lookup": "delete",
    # A day's packing-insert batch: date and counts, no customer data (its PDF, which prints first
    # names, is deleted by the bucket's 7-day lifecycle rule, not by an erasure).
    "insert_batch": "keep",
}


@dataclass
class Found:
    merchant_id: str
    customer_ids: list[str]
    order_ids: list[str] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)  # plain values (Decimal, set as they come)
    queries: int = 0

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [item for item in self.items if item.get("type") == kind]


def _client():
    from ..adapters.aws import client

    return client("dynamodb")


def _plain(item: dict) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def _query(found: Found, pk: str, *, index: str | None = None, sk_prefix: str | None = None) -> list[dict]:
    key_name = "gsi1pk" if index else "pk"
    condition = f"{key_name} = :pk" + (" AND begins_with(sk, :prefix)" if sk_prefix else "")
    values = {":pk": {"S": pk}, **({":prefix": {"S": sk_prefix}} if sk_prefix else {})}
    arguments: dict[str, Any] = {"TableName": settings().table_name, "KeyConditionExpression": condition,
                                 "ExpressionAttributeValues": values}
    if index:
        arguments["IndexName"] = index
    else:
        arguments["ConsistentRead"] = True
    items: list[dict] = []
    while True:
        response = _client().query(**arguments)
        found.queries += 1
        items.extend(_plain(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return items
        arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _batch_get(found: Found, wanted: Iterable[tuple[str, str]]) -> list[dict]:
    unique = sorted(set(wanted))
    items: list[dict] = []
    for start in range(0, len(unique), 100):
        request = {settings().table_name: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in
                                                     unique[start:start + 100]], "ConsistentRead": True}}
        while request:
            response = _client().batch_get_item(RequestItems=request)
            found.queries += 1
            items.extend(_plain(item) for item in response.get("Responses", {}).get(settings().table_name, []))
            request = response.get("UnprocessedKeys") or None
    return items


def _document(item: dict) -> dict:
    try:
        value = json.loads(item.get("document") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def customer_ids_for(customer_id: str | None, email: str | None) -> list[str]:
    """The ids a customer's data may be under: the storefront's id, and the guest id an order
    without one gets from the email (orders.models.Customer.customer_id)."""
    from ..orders.models import Customer

    ids = [customer_id] if customer_id else []
    if email:
        guest = Customer(email=email).customer_id()
        if guest not in ids:
            ids.append(guest)
    return ids


def find(merchant_id: str, customer_ids: list[str], order_ids: Iterable[str] = (),
         emails: Iterable[str] = ()) -> Found:
    """Every item about these customers (and these orders of theirs, and these addresses of
    theirs: a customer who only wrote to support has no order), read consistently."""
    from ..security.order_access import email_digest, normalise_order_number
    from .coupons import code_digest

    found = Found(merchant_id, list(customer_ids))
    orders: dict[str, None] = {}
    for customer_id in customer_ids:
        found.items.extend(_query(found, keys.customer_pk(merchant_id, customer_id)))
        for item in _query(found, keys.customer_pk(merchant_id, customer_id), index="gsi1"):
            if item.get("type") == "order":
                orders[item["order_id"]] = None
    for order_id in order_ids:
        orders[str(order_id)] = None
    found.order_ids = list(orders)
    for order_id in found.order_ids:
        found.items.extend(_query(found, keys.order_pk(merchant_id, order_id)))

    # Survey answers and detractor messages (storage/surveys.py; deleted, as unknown types are):
    # one Query of the merchant's surveys, then one per survey and customer. The counters stay
    # (they name nobody).
    from .surveys import list_pk, respondent_pk

    for survey in _query(found, list_pk(merchant_id), sk_prefix="SURVEY#"):
        for customer_id in customer_ids:
            found.items.extend(_query(found, respondent_pk(merchant_id, survey["survey_id"], customer_id)))

    side: set[tuple[str, str]] = set()
    emails = {email.strip() for email in emails if email and email.strip() and email != ERASED_EMAIL}
    for item in found.items:
        kind = item.get("type")
        if kind == "customer" and item.get("email"):
            emails.add(item["email"])
        elif kind == "order":
            document = _document(item)
            for email in (document.get("email"), (document.get("customer") or {}).get("email")):
                if email and email != ERASED_EMAIL:
                    emails.add(email)
            number = document.get("order_number") or document.get("order_id")
            if number:
                try:
                    side.add((keys.order_number_pk(merchant_id, normalise_order_number(str(number))), keys.ORDER_SK))
                except ValueError:
                    pass
            side.add((keys.referrals_pk(merchant_id), keys.referral_listing_sk(item["order_id"])))
        elif kind == "return":
            side.add((keys.return_order_pk(merchant_id, item["sk"][len(keys.RETURN_SK_PREFIX):]), keys.RETURN_ORDER_SK))
        elif kind == "feedback" and item.get("list_sk"):
            side.add((keys.feedback_list_pk(merchant_id), item["list_sk"]))
        elif kind == "referral_code" and item.get("code") and item["pk"].startswith(f"M#{merchant_id}#C#"):
            side.add((keys.referral_code_pk(merchant_id, item["code"]), keys.REFERRAL_CODE_SK))
        elif kind == "referral" and item["sk"].startswith("REFERRAL#"):
            side.add((keys.referrals_pk(merchant_id), keys.referral_listing_sk(item["sk"][len("REFERRAL#"):])))
        elif kind == "coupon_issue" and item.get("code"):
            side.add((keys.coupon_pk(merchant_id, code_digest(item["code"])), keys.COUPON_SK))
    returns = [(item.get("order_id"), item["sk"][len(keys.RETURN_SK_PREFIX):])
               for item in found.items if item.get("type") == "return"]
    for email in emails:
        side.add((keys.suppression_pk(merchant_id, email_digest(email)), keys.SUPPRESSION_SK))
        side.update((keys.customer_email_pk(merchant_id, email_digest(email)), customer_id)
                    for customer_id in customer_ids)
        side.update((keys.return_email_pk(merchant_id, email_digest(email)), keys.return_email_sk(order_id, rma_id))
                    for order_id, rma_id in returns if order_id)
    side |= _support_items(found, emails)
    have = {(item["pk"], item["sk"]) for item in found.items}
    found.items.extend(_batch_get(found, side - have))
    return found


def _support_items(found: Found, emails: Iterable[str]) -> set[tuple[str, str]]:
    """The support conversations of these addresses (storage/support.py) into `found`: the address
    pointers, each conversation's partition (conversation, messages) and its CSAT answers. Returns
    the keys of their Message-ID pointers and receipts, for the side BatchGetItem."""
    from .support import customer_digest, digest

    merchant_id = found.merchant_id
    conversations: dict[str, None] = {}
    for email in sorted(set(emails), key=str.casefold):
        for pointer in _query(found, keys.support_customer_pk(merchant_id, customer_digest(email))):
            found.items.append(pointer)
            conversations[pointer["conversation_id"]] = None
    side: set[tuple[str, str]] = set()
    for conversation_id in conversations:
        for item in _query(found, keys.support_conversation_pk(merchant_id, conversation_id)):
            found.items.append(item)
            if item.get("type") != "support_message":
                continue
            message_id = _document(item).get("email_message_id")
            if message_id and message_id.strip():
                side.add((keys.support_thread_pk(merchant_id, digest(message_id)), keys.SUPPORT_THREAD_SK))
            if item.get("receipt"):
                side.add((keys.support_receipt_pk(merchant_id, item["receipt"]), keys.SUPPORT_RECEIPT_SK))
        found.items.extend(_query(found, f"M#{merchant_id}#CSAT#{conversation_id}"))
    return side


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(_json_safe(v) for v in value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def export(found: Found, now: datetime) -> dict[str, Any]:
    """The customer's data as one JSON document, items grouped by type; stored JSON documents
    (orders, returns, ...) are shown parsed."""
    groups: dict[str, list[dict]] = {}
    for item in sorted(found.items, key=lambda i: (i["pk"], i["sk"])):
        shown = _json_safe(item)
        if isinstance(shown.get("document"), str):
            try:
                shown["document"] = json.loads(shown["document"])
            except ValueError:
                pass
        groups.setdefault(item.get("type") or "unknown", []).append(shown)
    return {"merchant_id": found.merchant_id, "customer_ids": found.customer_ids, "order_ids": found.order_ids,
            "exported_at": now.isoformat(), "item_count": len(found.items), "items": groups}


def emails_sent(merchant_id: str, customer_id: str) -> tuple[list[dict[str, Any]], int]:
    """The send ledger of one customer, oldest first: (entries, Queries made = 2 + orders)."""
    found = Found(merchant_id, [customer_id])
    entries = [(None, item) for item in _query(found, keys.customer_pk(merchant_id, customer_id), sk_prefix="MSG#")]
    orders = [item for item in _query(found, keys.customer_pk(merchant_id, customer_id), index="gsi1")
              if item.get("type") == "order"]
    for order in orders:
        entries.extend((order["order_id"], item) for item in
                       _query(found, keys.order_pk(merchant_id, order["order_id"]), sk_prefix="MSG#"))
    listed = [{"order_id": order_id, "message_key": item.get("message_key"), "state": item.get("state"),
               "claimed_at": item.get("claimed_at"), "sent_at": item.get("sent_at"),
               "provider_message_id": item.get("provider_message_id"), "failure": item.get("failure")}
              for order_id, item in entries]
    return sorted(listed, key=lambda e: (e["sent_at"] or e["claimed_at"] or "")), found.queries


# --- erasure ---------------------------------------------------------------------------------


def _key(item: dict) -> dict:
    return {"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}}


def _delete(item: dict) -> None:
    _client().delete_item(TableName=settings().table_name, Key=_key(item))


def _update(item: dict, expression: str, values: dict, names: dict | None = None) -> None:
    arguments: dict[str, Any] = {"TableName": settings().table_name, "Key": _key(item),
                                 "UpdateExpression": expression, "ExpressionAttributeValues": values,
                                 # Never re-create an item deleted meanwhile.
                                 "ConditionExpression": "attribute_exists(pk)"}
    if names:
        arguments["ExpressionAttributeNames"] = names
    try:
        _client().update_item(**arguments)
    except _client().exceptions.ConditionalCheckFailedException:
        pass


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (ERASED_TEXT if k in FREE_TEXT_KEYS and isinstance(v, str) and v else _scrub(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def anonymised_order(document: dict) -> dict:
    """The order as the merchant keeps it: lines, totals, currency, dates, status; no customer."""
    from ..orders.models import Order

    order = Order.model_validate(document)
    kept = order.model_copy(update={
        "email": ERASED_EMAIL, "shipping_address": None, "payment_fingerprint": None,
        "customer": order.customer.model_copy(update={
            "id": ERASED_CUSTOMER, "email": ERASED_EMAIL, "first_name": None, "last_name": None, "locale": None,
            "timezone": None, "birthday": None, "accepts_marketing": None})})
    return json.loads(Order.model_validate(kept.model_dump(mode="json")).model_dump_json())


def _anonymise_order(item: dict, merchant_id: str, now: datetime) -> None:
    if item.get("erased_at"):
        return
    document = json.dumps(anonymised_order(_document(item)), ensure_ascii=False)
    _update(item, "SET #document = :document, customer_id = :customer, gsi1pk = :gsi1pk, erased_at = :at",
            {":document": {"S": document}, ":customer": {"S": ERASED_CUSTOMER},
             ":gsi1pk": {"S": keys.customer_pk(merchant_id, "~" + ERASED_CUSTOMER)},
             ":at": {"S": _utc(now)}}, {"#document": "document"})


def _utc(now: datetime) -> str:
    from pynamodb.attributes import UTCDateTimeAttribute

    return UTCDateTimeAttribute().serialize(now)


def action_for(item: dict, customer_ids: list[str]) -> Action:
    if item.get("type") == "referral" and _document(item).get("referrer_id") not in customer_ids:
        # The customer was the referred friend: the referral is the referrer's (ids only), kept.
        return "keep"
    return ERASE_POLICY.get(item.get("type") or "", "delete")


def plan(found: Found) -> dict[str, dict[str, int]]:
    """What erase() would do: action -> item type -> count."""
    counts: dict[str, dict[str, int]] = {}
    for item in found.items:
        kind = item.get("type") or "unknown"
        counts.setdefault(action_for(item, found.customer_ids), {}).setdefault(kind, 0)
        counts[action_for(item, found.customer_ids)][kind] += 1
    return counts


def _apply(item: dict, merchant_id: str, customer_ids: list[str], now: datetime) -> str:
    action = action_for(item, customer_ids)
    if action == "delete":
        _delete(item)
    elif action == "strip_recipient":
        if item.get("recipient_hash") != ERASED_CUSTOMER or "gsi5pk" in item:
            # and out of the address's index (gsi5, the console's search): the entry no longer has one
            _update(item, "SET recipient_hash = :erased REMOVE gsi5pk, gsi5sk", {":erased": {"S": ERASED_CUSTOMER}})
    elif action == "strip_text":
        document = _document(item)
        scrubbed = _scrub(document)
        if scrubbed != document:
            _update(item, "SET #document = :document", {":document": {"S": json.dumps(scrubbed, ensure_ascii=False)}},
                    {"#document": "document"})
    elif action == "anonymise_order":
        _anonymise_order(item, merchant_id, now)
    elif action == "erase_review":
        _erase_review(item)
    elif action == "erase_support_message":
        _erase_support_message(item)
    return action


def _erase_support_message(item: dict) -> None:
    """The message, after its raw mail and attachments (the support mail bucket): a failure in
    between leaves the message, so a rerun finds its objects again."""
    from ..adapters.aws import client

    document = _document(item)
    objects = [key for key in (document.get("raw_key"), *(document.get("attachments") or ())) if key]
    if objects:
        bucket = settings().support_mail_bucket
        if not bucket:
            raise RuntimeError("SUPPORT_MAIL_BUCKET is not set: cannot erase support mail objects")
        s3 = client("s3")
        for key in objects:
            s3.delete_object(Bucket=bucket, Key=key)  # a key already gone is no error
    _delete(item)


def _erase_review(item: dict) -> None:
    from .. import services
    from ..reviews.model import Review

    review = Review.model_validate_json(item["document"])
    for photo in review.photos:  # the published copies; the uploads were deleted when processed
        services.review_media().delete(photo.key)
    services.review_store().erase(review)


def erase(merchant_id: str, customer_ids: list[str], order_ids: Iterable[str], now: datetime,
          emails: Iterable[str] = ()) -> dict[str, Any]:
    """Erase (per ERASE_POLICY) everything find() finds; idempotent. Returns counts per action and
    type, and writes an erasure record (`M#{m}#PRIVACY`, sk ERASED#{hash of the ids}: no PII)."""
    found = find(merchant_id, customer_ids, order_ids, emails)
    counts = plan(found)
    # Orders last within their partition, and customer partitions after every order: an
    # interrupted erasure is found again by the next run (gsi1, the ids) and finished.
    customer_pks = {keys.customer_pk(merchant_id, c) for c in customer_ids}

    def order_key(item: dict) -> tuple:
        # Support's address pointers after the conversations they lead to (a rerun finds the rest)
        # and before the orders whose address names them.
        return (item["pk"] in customer_pks, item.get("type") == "order", item.get("type") == "support_customer",
                item["pk"], item["sk"])

    for item in sorted(found.items, key=order_key):
        _apply(item, merchant_id, customer_ids, now)
    _suppress_erased_address(merchant_id, now)
    subject = hashlib.sha256("\n".join(sorted(customer_ids)).encode()).hexdigest()[:32]
    _client().put_item(TableName=settings().table_name, Item={
        "pk": {"S": privacy_pk(merchant_id)}, "sk": {"S": f"ERASED#{subject}"}, "type": {"S": "privacy_erasure"},
        "merchant_id": {"S": merchant_id}, "at": {"S": _utc(now)}, "orders": {"N": str(len(found.order_ids))},
        "items": {"N": str(len(found.items))}})
    return {"merchant_id": merchant_id, "orders": len(found.order_ids), "items": len(found.items),
            "queries": found.queries, "actions": counts}


def _suppress_erased_address(merchant_id: str, now: datetime) -> None:
    from .customers import DynamoCustomerStore

    DynamoCustomerStore().suppress(merchant_id, ERASED_EMAIL, "erased", "customer data erased", now)


# --- data requests (Shopify customers/data_request) --------------------------------------------


def privacy_pk(merchant_id: str) -> str:
    return f"M#{merchant_id}#PRIVACY"


def record_data_request(merchant_id: str, request_id: str, customer_id: str | None, email: str | None,
                        order_ids: list[str], source: str, received_at: datetime) -> bool:
    """Remember a customer's request for their data, once per request id (True when new)."""
    item = {"pk": {"S": privacy_pk(merchant_id)}, "sk": {"S": f"REQUEST#{request_id}"},
            "type": {"S": "privacy_request"}, "merchant_id": {"S": merchant_id}, "source": {"S": source},
            "request_id": {"S": request_id}, "status": {"S": "pending"}, "received_at": {"S": _utc(received_at)},
            "order_ids": {"S": json.dumps(order_ids)}}
    if customer_id:
        item["customer_id"] = {"S": customer_id}
    if email:
        item["email"] = {"S": email}
    try:
        _client().put_item(TableName=settings().table_name, Item=item,
                           ConditionExpression="attribute_not_exists(pk)")
    except _client().exceptions.ConditionalCheckFailedException:
        return False
    return True


def data_requests(merchant_id: str) -> list[dict[str, Any]]:
    found = Found(merchant_id, [])
    return [{"request_id": i.get("request_id"), "status": i.get("status"), "received_at": i.get("received_at"),
             "customer_id": i.get("customer_id"), "email": i.get("email"),
             "order_ids": json.loads(i.get("order_ids") or "[]"), "exported_at": i.get("exported_at")}
            for i in _query(found, privacy_pk(merchant_id), sk_prefix="REQUEST#")]


def mark_exported(merchant_id: str, request_id: str, now: datetime) -> None:
    _update({"pk": privacy_pk(merchant_id), "sk": f"REQUEST#{request_id}"},
            "SET #status = :done, exported_at = :at", {":done": {"S": "exported"}, ":at": {"S": _utc(now)}},
            {"#status": "status"})


class DynamoPrivacyStore:
    """privacy.service.PrivacyStore on the table."""

    def erase(self, merchant_id: str, customer_ids: list[str], order_ids: list[str], now: datetime,
              emails: Iterable[str] = ()) -> dict:
        return erase(merchant_id, customer_ids, order_ids, now, emails)

    def record_data_request(self, merchant_id: str, request_id: str, customer_id: str | None, email: str | None,
                            order_ids: list[str], source: str, received_at: datetime) -> bool:
        return record_data_request(merchant_id, request_id, customer_id, email, order_ids, source, received_at)
