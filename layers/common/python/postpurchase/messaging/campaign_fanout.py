"""Campaigns end to end: create (API), show (API), fan out one page of customers (CampaignQueue).

The API stores the campaign and enqueues page 0; functions/campaign_fanout reads one page of
the merchant's customers (one Query), schedules one message per customer in the segment
through the MessageSchedule port, counts the page once and enqueues the next page. SQS may
deliver a page twice: schedule() is idempotent per (customer, "campaign", campaign id) and a
page's counts are added once (a page marker in the same transaction).
"""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ..errors import NotFound, RetryLater, ServiceUnavailable
from .campaigns import CampaignFanOut, CampaignIn, CustomerFacts, check_send_on, matches, scheduled_message
from .scheduled import MessageSchedule

PAGE_SIZE = 100  # customers per fan-out message (one Query each)


class CampaignStore(Protocol):
    def create(self, merchant_id: str, campaign: CampaignIn, now: datetime): ...

    def get(self, merchant_id: str, campaign_id: str): ...

    def customers_page(self, merchant_id: str, after: str | None, limit: int) -> tuple[list[CustomerFacts], bool]: ...

    def count_page(self, merchant_id: str, campaign_id: str, page: int, scheduled: int, skipped: int, last: bool,
                   now: datetime) -> bool: ...


class FanOutPorts(Protocol):
    store: CampaignStore
    schedule: MessageSchedule

    def enqueue(self, message: CampaignFanOut) -> None: ...


def campaign_view(merchant_id: str, stored) -> dict:
    return {"merchant_id": merchant_id, **stored.campaign.model_dump(mode="json"), "status": stored.status,
            "counts": {"scheduled": stored.scheduled, "skipped": stored.skipped, "pages": stored.pages},
            "created_at": stored.created_at.isoformat(),
            "completed_at": stored.completed_at.isoformat() if stored.completed_at else None}


def create_campaign(merchant_id: str, campaign: CampaignIn, ports: FanOutPorts, now: datetime) -> dict:
    """Store the campaign and start its fan-out (PutItem + SendMessage; a repeat: + GetItem).

    A repeat of the same body answers the same campaign; while it is still fanning out the
    first page is enqueued again (a crash between the two writes loses nothing; pages are
    idempotent)."""
    check_send_on(campaign, now)
    stored, _created = ports.store.create(merchant_id, campaign, now)
    if stored.status == "fanning_out" and stored.pages == 0:
        try:
            ports.enqueue(CampaignFanOut(merchant_id=merchant_id, campaign_id=campaign.campaign_id))
        except RetryLater as error:
            raise ServiceUnavailable("campaign stored but its fan-out could not be queued; repeat the request",
                                     field="campaign_id") from error
    return campaign_view(merchant_id, stored)


def campaign_document(merchant_id: str, campaign_id: str, store: CampaignStore) -> dict:
    """`GET /v1/campaigns/{id}`: one GetItem."""
    stored = store.get(merchant_id, campaign_id)
    if stored is None:
        raise NotFound(f"unknown campaign {campaign_id}", field="campaign_id")
    return campaign_view(merchant_id, stored)


def fan_out_page(message: CampaignFanOut, ports: FanOutPorts, now: datetime) -> str:
    """One page: GetItem (campaign) + Query (customers) + one schedule() per match +
    TransactWriteItems (counts) + SendMessage (next page, when there may be one)."""
    stored = ports.store.get(message.merchant_id, message.campaign_id)
    if stored is None:
        return "unknown_campaign"
    campaign = stored.campaign
    customers, more = ports.store.customers_page(message.merchant_id, message.cursor, PAGE_SIZE)
    scheduled = skipped = 0
    for customer in customers:
        # The segment is judged at the campaign's creation time, the same for every page.
        if matches(campaign.segment, customer, stored.created_at):
            ports.schedule.schedule(scheduled_message(message.merchant_id, campaign, customer), now)
            scheduled += 1
        else:
            skipped += 1
    counted = ports.store.count_page(message.merchant_id, message.campaign_id, message.page, scheduled, skipped,
                                     last=not more, now=now)
    if more:
        # Again on a redelivery: the next page is idempotent too.
        ports.enqueue(CampaignFanOut(merchant_id=message.merchant_id, campaign_id=message.campaign_id,
                                     page=message.page + 1, cursor=customers[-1].customer_id))
    return "page_done" if counted else "page_duplicate"
