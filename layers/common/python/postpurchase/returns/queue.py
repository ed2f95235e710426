"""The merchant's returns queue: which tab an RMA is listed under and where in it (pure).

Each RMA item carries its place in the queue as gsi1 keys (`M#{m}#RETQ#{partition}`, sort key
below), written with every save of the RMA, so each tab is one Query of gsi1:

=============  ==================================  =====================  ================
tab            statuses                            partition, sort key    order
=============  ==================================  =====================  ================
requested      requested                           requested, last step   oldest first
approved       approved, label_issued (not past)   approved, expires_at   soonest deadline
expired        expired, and approvals past due     approved, expires_at   latest first
in_transit     in_transit                          in_transit, last step  oldest first
received       received, inspected                 received, last step    oldest first
resolved       resolved, closed, rejected,         resolved, last step    newest first
               cancelled
=============  ==================================  =====================  ================

Approvals expire lazily (service.effective: no sweep writes the expiry), so "approved" and
"expired" share a partition sorted by the deadline and split at `now`: an approval whose
window passed is listed as expired at once, without a write.
"""
from __future__ import annotations

from datetime import datetime, timezone

from .rma import ReturnRequest, RmaStatus

TABS = ("requested", "approved", "in_transit", "received", "resolved", "expired")

S = RmaStatus
PARTITION_OF_STATUS: dict[RmaStatus, str] = {
    S.requested: "requested",
    S.approved: "approved", S.label_issued: "approved", S.expired: "approved",
    S.in_transit: "in_transit",
    S.received: "received", S.inspected: "received",
    S.resolved: "resolved", S.closed: "resolved", S.rejected: "resolved", S.cancelled: "resolved",
}
# The tab shown for each (effective) status, for the status column and links.
TAB_OF_STATUS: dict[RmaStatus, str] = {**PARTITION_OF_STATUS, S.expired: "expired"}
# An approval without a deadline (none is made today) sorts after every date: never expired.
NO_DEADLINE = "~"


def sort_time(value: datetime) -> str:
    """A UTC time that sorts as text (fixed width, 'Z')."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def queue_place(rma: ReturnRequest) -> tuple[str, str]:
    """(partition, sort key) of the RMA as stored: where the queue's Queries find it."""
    partition = PARTITION_OF_STATUS[rma.status]
    if partition == "approved":
        at = sort_time(rma.expires_at) if rma.expires_at is not None else NO_DEADLINE
    else:
        at = sort_time(rma.history[-1].at)
    return partition, f"{at}#{rma.order_id}#{rma.rma_id}"


def tab_query(tab: str, now: datetime) -> tuple[str, str | None, str | None, bool]:
    """How to read a tab: (partition, sort key >= from, sort key < before, oldest first)."""
    if tab == "approved":
        return "approved", sort_time(now), None, True
    if tab == "expired":
        return "approved", None, sort_time(now), False
    if tab not in TABS:
        raise ValueError(f"unknown tab {tab!r}")
    return tab, None, None, tab != "resolved"
