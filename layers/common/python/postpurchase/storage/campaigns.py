"""Campaigns on the one table, the merchant's customer list they page through, and the
customer facts their segments read (bought categories, last order).

AWS requests per operation:
- create: one conditional PutItem (+ one GetItem when it already exists);
- get: one GetItem;
- customers_page: one Query on gsi1 (partition M#{m}#CUSTOMERS, after the cursor);
- count_page: one TransactWriteItems (page marker + counts), never counted twice;
- remember_order: one Query (the customer's newest order, gsi1) + one UpdateItem.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, QueryError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ..config import settings
from ..errors import Conflict, RetryLater
from ..messaging.campaigns import CampaignIn, CustomerFacts
from . import keys
from .table import CampaignPageRecord, CampaignRecord, CustomerRecord, OrderRecord


@dataclass(frozen=True)
class StoredCampaign:
    campaign: CampaignIn
    status: str  # fanning_out | scheduled
    scheduled: int
    skipped: int
    pages: int
    created_at: datetime
    completed_at: datetime | None


@lru_cache(maxsize=1)
def _connection() -> Connection:
    from .orders import _connection as shared

    return shared()  # one per container, not one botocore client per transaction


def _stored(record: CampaignRecord) -> StoredCampaign:
    return StoredCampaign(CampaignIn.model_validate_json(record.document), record.status, int(record.scheduled or 0),
                          int(record.skipped or 0), int(record.pages or 0), record.created_at, record.completed_at)


def _facts(record: CustomerRecord) -> CustomerFacts:
    return CustomerFacts(customer_id=record.customer_id, order_count=int(record.order_count or 0),
                         bought_categories=frozenset(record.bought_categories or ()), locale=record.locale,
                         timezone=record.timezone, last_order_at=record.last_order_at)


class DynamoCampaignStore:
    def create(self, merchant_id: str, campaign: CampaignIn, now: datetime) -> tuple[StoredCampaign, bool]:
        """(the campaign, True) when stored now; (the stored one, False) for the same body again.
        A different body under the same campaign id: Conflict."""
        fingerprint = campaign.fingerprint()
        record = CampaignRecord(keys.campaign_pk(merchant_id, campaign.campaign_id), keys.CAMPAIGN_SK,
                                merchant_id=merchant_id, campaign_id=campaign.campaign_id,
                                document=campaign.model_dump_json(), fingerprint=fingerprint, status="fanning_out",
                                scheduled=0, skipped=0, pages=0, created_at=now, updated_at=now)
        try:
            record.save(condition=CampaignRecord.pk.does_not_exist())
            return _stored(record), True
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise RetryLater(f"campaign not saved: {error.cause_response_code}") from error
        existing = CampaignRecord.get(record.pk, keys.CAMPAIGN_SK, consistent_read=True)
        if existing.fingerprint != fingerprint:
            raise Conflict(f"campaign {campaign.campaign_id} already exists with a different body",
                           field="campaign_id", reason="campaign_exists")
        return _stored(existing), False

    def get(self, merchant_id: str, campaign_id: str) -> StoredCampaign | None:
        try:
            return _stored(CampaignRecord.get(keys.campaign_pk(merchant_id, campaign_id), keys.CAMPAIGN_SK))
        except DoesNotExist:
            return None

    def customers_page(self, merchant_id: str, after: str | None, limit: int) -> tuple[list[CustomerFacts], bool]:
        """Up to `limit` customers after customer id `after`, in id order; and whether more may follow."""
        condition = CustomerRecord.gsi1sk > after if after else None
        try:
            results = CustomerRecord.customers_index.query(
                keys.customers_index_pk(merchant_id), condition, limit=limit, page_size=limit)
            page = [_facts(record) for record in results]
        except QueryError as error:
            raise RetryLater(f"customers not read: {error.cause_response_code}") from error
        return page, len(page) == limit

    def count_page(self, merchant_id: str, campaign_id: str, page: int, scheduled: int, skipped: int, last: bool,
                   now: datetime) -> bool:
        """Add one page's counts once (False: this page was already counted)."""
        pk = keys.campaign_pk(merchant_id, campaign_id)
        actions = [CampaignRecord.scheduled.add(scheduled), CampaignRecord.skipped.add(skipped),
                   CampaignRecord.pages.add(1), CampaignRecord.updated_at.set(now)]
        if last:
            actions += [CampaignRecord.status.set("scheduled"), CampaignRecord.completed_at.set(now)]
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.save(CampaignPageRecord(pk, keys.campaign_page_sk(page), scheduled=scheduled,
                                                    skipped=skipped, at=now),
                                 condition=CampaignPageRecord.pk.does_not_exist())
                transaction.update(CampaignRecord(pk, keys.CAMPAIGN_SK), actions=actions,
                                   condition=CampaignRecord.pk.exists())
        except TransactWriteError as error:
            reasons = [reason.code if reason else None for reason in (error.cancellation_reasons or [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            raise RetryLater(f"campaign counts not saved: {reasons or error.cause_response_code}") from error
        return True

    def remember_order(self, merchant_id: str, customer_id: str, categories: set[str], now: datetime) -> None:
        """Add the order's categories to the customer's, and set last_order_at to their newest
        order's time (orders can arrive out of order). Idempotent: a set union and a max."""
        profile_pk = keys.customer_pk(merchant_id, customer_id)
        newest = next(iter(OrderRecord.customer_orders_index.query(profile_pk, scan_index_forward=False, limit=1,
                                                           page_size=1)), None)
        actions = [CustomerRecord.updated_at.set(now)]
        if categories:
            actions.append(CustomerRecord.bought_categories.add(categories))
        if newest is not None:
            actions.append(CustomerRecord.last_order_at.set(newest.placed_at))
        try:
            CustomerRecord(profile_pk, keys.PROFILE_SK).update(actions=actions, condition=CustomerRecord.pk.exists())
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return  # no profile (yet): record_order writes it first, so nothing to add to
            raise RetryLater(f"customer facts not saved: {error.cause_response_code}") from error


def remember_order_facts(recorded, now: datetime) -> None:
    """orders.reactions after_order_recorded: what campaign segments need about the customer."""
    from ..services import campaign_store

    categories = {item.category for item in recorded.order.items if getattr(item, "category", None)}
    campaign_store().remember_order(recorded.merchant_id, recorded.customer_id, categories, now)
