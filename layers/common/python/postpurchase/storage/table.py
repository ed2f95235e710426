"""The one DynamoDB table, modelled with PynamoDB (single-table, polymorphic on `type`).

Documents that the domain owns (an order as the storefront sent it) are stored as the
pydantic model's JSON, so money keeps its exact decimal strings and a later field addition
needs no migration.
"""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from ..config import settings


class Record(Model):
    class Meta:
        table_name = settings().table_name
        region = settings().aws_region

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    type = DiscriminatorAttribute()


class MerchantRecord(Record, discriminator="merchant"):
    merchant_id = UnicodeAttribute()
    # Branding (postpurchase.messaging.requests.MerchantBranding) as JSON.
    branding = UnicodeAttribute()
    shopify_secret = UnicodeAttribute(null=True)
    woocommerce_secret = UnicodeAttribute(null=True)
    tracking = UnicodeAttribute(null=True)  # storage.merchants.TrackingSettings as JSON
    updated_at = UTCDateTimeAttribute()
    # storage.merchants.WebhookSettings as JSON: where resolved returns are announced.
    webhooks = UnicodeAttribute(null=True)
    # postpurchase.messaging.settings.MessagingSettings as JSON; absent = the defaults.
    messaging = UnicodeAttribute(null=True)


class ApiKeyRecord(Record, discriminator="api_key"):
    merchant_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class CustomerRecord(Record, discriminator="customer"):
    merchant_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    email = UnicodeAttribute()
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(null=True)
    timezone = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)
    order_count = NumberAttribute(default=0)
    first_order_id = UnicodeAttribute(null=True)
    last_order_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    preferences = UnicodeAttribute(null=True)  # postpurchase.messaging.preferences.Preferences as JSON
    # Recent marketing send times (ISO, JSON list) for the frequency cap, with a revision so two
    # concurrent sends cannot both pass the cap (storage.schedule.DynamoMessageSchedule).
    marketing_sends = UnicodeAttribute(null=True)
    marketing_revision = NumberAttribute(null=True)


class OrderRecord(Record, discriminator="order"):
    merchant_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.orders.models.Order as JSON
    status = UnicodeAttribute()  # placed | cancelled
    is_first_order = BooleanAttribute()
    placed_at = UTCDateTimeAttribute()
    recorded_at = UTCDateTimeAttribute()
    cancelled_at = UTCDateTimeAttribute(null=True)
    cancel_reason = UnicodeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)  # first delivery of any of its parcels
    # The return policy version in force when the order was placed (0 = the default policy).
    policy_version = NumberAttribute(null=True)
    # Bumped by every new return: two concurrent requests cannot both count the same units.
    returns_revision = NumberAttribute(null=True)
    # gsi1: customer -> orders, newest last.
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()


class ShipmentRecord(Record, discriminator="shipment"):
    merchant_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    shipment_id = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.orders.models.Shipment as JSON
    carrier = UnicodeAttribute()
    tracking_number = UnicodeAttribute()
    status = UnicodeAttribute(default="pending")
    recorded_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # postpurchase.tracking.state.ShipmentTracking as JSON, with its own revision so two
    # concurrent updates (a webhook and a poll) cannot overwrite each other.
    tracking = UnicodeAttribute(null=True)
    tracking_revision = NumberAttribute(default=0)
    provider = UnicodeAttribute(null=True)
    provider_tracker_id = UnicodeAttribute(null=True)
    # gsi2 (sparse): shipments due for polling, sharded; removed when polling stops.
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    # gsi4: (merchant, carrier, tracking number) -> shipments, newest last (codes get recycled).
    gsi4pk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)


class TrackingEventRecord(Record, discriminator="tracking_event"):
    """One carrier scan under its shipment: sk SHIP#{s}#EV#{time}#{identity}; puts are idempotent."""

    shipment_id = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.tracking.model.TrackingEvent as JSON


class MessageRecord(Record, discriminator="message"):
    """The send ledger: one item per (order or customer, message kind, reference)."""

    merchant_id = UnicodeAttribute()
    message_key = UnicodeAttribute()
    state = UnicodeAttribute()  # claimed | sent | failed
    claim_token = UnicodeAttribute()
    recipient_hash = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    sent_at = UTCDateTimeAttribute(null=True)
    provider_message_id = UnicodeAttribute(null=True)
    failure = UnicodeAttribute(null=True)


class PolicyRecord(Record, discriminator="return_policy"):
    """One version of a merchant's return policy: pk M#{m}, sk POLICY#v{n:06d}; never updated."""

    merchant_id = UnicodeAttribute()
    version = NumberAttribute()
    document = UnicodeAttribute()  # postpurchase.returns.policy.ReturnPolicy as JSON
    effective_from = UTCDateTimeAttribute()


class OrderNumberRecord(Record, discriminator="order_number"):
    """pk M#{m}#NUM#{number}: what a customer knows (order number + email) -> the order.

    Holds a hash of the order's email, so the lookup compares hashes in constant time without
    reading the order."""

    merchant_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    email_hash = UnicodeAttribute()


class ReturnRecord(Record, discriminator="return"):
    """One RMA under its order: pk M#{m}#O#{o}, sk RMA#{r}; saved with a revision check."""

    merchant_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    rma_id = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.returns.rma.ReturnRequest as JSON
    status = UnicodeAttribute()
    revision = NumberAttribute()  # = number of transitions in the document's history
    fingerprint = UnicodeAttribute(null=True)  # of the creating request, for idempotent retries
    external_id = UnicodeAttribute(null=True)  # the storefront's return id, when it came from one
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class ReturnOrderRecord(Record, discriminator="return_order"):
    """pk M#{m}#RMA#{r}: which order an RMA belongs to, for callers that know only the RMA
    (a storefront's return webhook that names no order)."""

    merchant_id = UnicodeAttribute()
    order_id = UnicodeAttribute()


class AttemptCounterRecord(Record, discriminator="attempts"):
    """Attempts in one fixed window (pk M#{m}#RL#{scope}, sk W#{window start}); expires by TTL."""

    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class SuppressionRecord(Record, discriminator="suppression"):
    """pk M#{m}#SUP#{sha256(email)}, sk SUPPRESSED: an address that hard-bounced or complained;
    nothing more is sent to it for this merchant."""

    merchant_id = UnicodeAttribute()
    reason = UnicodeAttribute()  # bounce | complaint
    detail = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class ScheduledMessageRecord(Record, discriminator="scheduled_message"):
    """A message due later, under its order or customer: sk SCHED#{kind}#{ref}.

    While pending (or enqueued and not yet settled) it carries the sparse gsi3 keys:
    gsi3pk DUE#{yyyy-mm-ddThh}#{shard}, gsi3sk {due ISO}|{pk}|{sk}; settled messages drop them."""

    merchant_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    scope = UnicodeAttribute()  # order | customer
    scope_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    ref = UnicodeAttribute()
    due_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    priority = UnicodeAttribute()
    data = UnicodeAttribute(default="{}")  # JSON object of strings
    status = UnicodeAttribute()  # pending | enqueued | sent | cancelled | expired | skipped
    reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)


class SchedulerCursorRecord(Record, discriminator="scheduler_cursor"):
    """pk SYS#SCHEDULER, sk CURSOR: the oldest due-hour bucket the scheduler has not drained
    (a system item, not a tenant's: the only reader is message_scheduler)."""

    hour = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
