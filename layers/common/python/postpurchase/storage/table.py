"""The one DynamoDB table, modelled with PynamoDB (single-table, polymorphic on `type`).

Documents that the domain owns (an order as the storefront sent it) are stored as the
pydantic model's JSON, so money keeps its exact decimal strings and a later field addition
needs no migration.
"""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    UnicodeSetAttribute,
    DiscriminatorAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from ..config import settings


class Record(Model):
    class Meta:
        table_name = settings().table_name
        region = settings().aws_region

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    type = DiscriminatorAttribute()

    @classmethod
    def _get_connection(cls):
        """PynamoDB's per-class connection, on the one botocore client of storage.orders._connection.

        PynamoDB builds a botocore session and client for every model class it meets (~40 here,
        20-100 ms each on a cold start); the client is thread-safe and every class talks to the
        same table, region and endpoint, so they share it. Each class keeps its own schema (its
        indexes) in its own TableConnection."""
        fresh = cls._connection is None or cls._connection.table_name != cls.Meta.table_name
        table_connection = super()._get_connection()
        if fresh and getattr(cls.Meta, "host", None) is None:
            from .orders import _connection as shared

            shared_connection = shared()
            if shared_connection.region == table_connection.connection.region:
                table_connection.connection._client = shared_connection.client
        return table_connection


class Gsi1(GlobalSecondaryIndex):
    """gsi1 (projection ALL): customer -> orders, a merchant's customer list, its returns queue."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Gsi5(GlobalSecondaryIndex):
    """gsi5 (projection ALL, sparse): an address -> the send-ledger entries about it."""

    class Meta:
        index_name = "gsi5"
        projection = AllProjection()

    gsi5pk = UnicodeAttribute(hash_key=True)
    gsi5sk = UnicodeAttribute(range_key=True)


class MerchantRecord(Record, discriminator="merchant"):
    merchant_id = UnicodeAttribute()
    # Branding (postpurchase.messaging.requests.MerchantBranding) as JSON.
    branding = UnicodeAttribute()
    # Legacy: older deployments kept these secrets here; they now live in Secrets Manager
    # (security/merchant_secrets.py) and are moved, then removed, by merchants.migrate_secrets.
    shopify_secret = UnicodeAttribute(null=True)
    woocommerce_secret = UnicodeAttribute(null=True)
    tracking = UnicodeAttribute(null=True)  # storage.merchants.TrackingSettings as JSON
    shopify_shop_domain = UnicodeAttribute(null=True)  # e.g. demo-store.myshopify.com
    # The revision of the merchant's secret written last: a reader with another one cached re-reads.
    secrets_revision = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    # storage.merchants.WebhookSettings as JSON: where resolved returns are announced.
    webhooks = UnicodeAttribute(null=True)
    # postpurchase.messaging.settings.MessagingSettings as JSON (absent: the defaults).
    messaging = UnicodeAttribute(null=True)


class ApiKeyRecord(Record, discriminator="api_key"):
    merchant_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    key_id = UnicodeAttribute(null=True)  # its ApiKeyListingRecord's id (keys made before listings: none)


class ApiKeyListingRecord(Record, discriminator="api_key_listing"):
    """pk M#{m}, sk KEY#{key id}: one of the merchant's API keys, for listing and revoking (the
    APIKEY#{hash} item cannot be found from the merchant). Written in the same transaction as the
    hash item; a revoked key keeps its listing with `revoked_at`."""

    merchant_id = UnicodeAttribute()
    key_id = UnicodeAttribute()  # the first 8 hex digits of the key's SHA-256
    key_hash = UnicodeAttribute()
    label = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)


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
    # Product categories the customer bought (campaign segments); a set, so adding an order's
    # categories again on a redelivery changes nothing.
    bought_categories = UnicodeSetAttribute(null=True)
    # gsi1 (written with the profile by every order): gsi1pk M#{m}#CUSTOMERS, gsi1sk the customer
    # id, so a campaign pages through a merchant's customers with one Query per page.
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    customers_index = Gsi1()
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
    # Set when the customer's data was erased (storage/privacy.py): the document keeps no customer.
    erased_at = UTCDateTimeAttribute(null=True)
    # gsi1: customer -> orders, newest last.
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    customer_orders_index = Gsi1()
    # gsi4 (keys only): the merchant's orders of a UTC day (keys.orders_day_pk), sort key
    # "{placed_at UTC ISO}|{order_id}": the day's packing-insert batch. Orders recorded before
    # this was added have none.
    gsi4pk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)


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
    # gsi1 (sparse): the merchant's shipments needing attention (tracking/attention.py), set and
    # removed by the tracking worker's saves.
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    attention_index = Gsi1()


class TrackingEventRecord(Record, discriminator="tracking_event"):
    """One carrier scan under its shipment: sk SHIP#{s}#EV#{time}#{identity}; puts are idempotent."""

    shipment_id = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.tracking.model.TrackingEvent as JSON


class MessageRecord(Record, discriminator="message"):
    """The send ledger: one item per (order or customer, message kind, reference)."""

    merchant_id = UnicodeAttribute()
    message_key = UnicodeAttribute()
    state = UnicodeAttribute()  # claimed | sent | failed | unknown (and see below)
    claim_token = UnicodeAttribute()
    recipient_hash = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    sent_at = UTCDateTimeAttribute(null=True)
    provider_message_id = UnicodeAttribute(null=True)
    failure = UnicodeAttribute(null=True)
    # The console's messages view (storage/message_log.py): written since the index was added.
    # state also takes skipped | bounced | complained | unknown; failure holds the reason then.
    kind = UnicodeAttribute(null=True)  # messaging.requests.MessageKind, from the message key
    order_id = UnicodeAttribute(null=True)
    customer_id = UnicodeAttribute(null=True)
    # gsi1 (sparse): M#{m}#MSGS#{outcome} by time, set once the outcome is known (not at claim).
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    messages_index = Gsi1()
    # gsi5 (sparse): M#{m}#RCPT#{email digest} by claim time, written with the entry (claims, skips,
    # bounces) since the index was added; `admin messages backfill` indexes older entries.
    gsi5pk = UnicodeAttribute(null=True)
    gsi5sk = UnicodeAttribute(null=True)
    recipient_index = Gsi5()


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
    # gsi1: the merchant's returns queue (returns/queue.py), moved with every save of the RMA.
    # Null on RMAs saved before the queue existed, until their next step.
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    queue_index = Gsi1()


class CustomerEmailRecord(Record, discriminator="customer_email"):
    """pk M#{m}#CEMAIL#{sha256(email)}, sk the customer id: who an email address is (the console's
    messages search by email); put with every order's profile write, so it is idempotent."""

    merchant_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()


class ReturnEmailRecord(Record, discriminator="return_email"):
    """pk M#{m}#RETEMAIL#{sha256(email)}, sk {o}#{r}: the RMAs of an order email (the merchant
    console's search); written once, in the RMA's creating transaction."""

    merchant_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    rma_id = UnicodeAttribute()


class WebhookDeliveryRecord(Record, discriminator="webhook_delivery"):
    """pk M#{m}#O#{o}, sk WEBHOOK#{delivery id}: the merchant's endpoint answered 2xx for this
    delivery, so a redelivered message posts nothing again."""

    delivered_at = UTCDateTimeAttribute()


class ReturnOrderRecord(Record, discriminator="return_order"):
    """pk M#{m}#RMA#{r}: which order an RMA belongs to, for callers that know only the RMA
    (a storefront's return webhook that names no order)."""

    merchant_id = UnicodeAttribute()
    order_id = UnicodeAttribute()


class AttemptCounterRecord(Record, discriminator="attempts"):
    """Attempts in one fixed window (pk M#{m}#RL#{scope}, sk W#{window start}); expires by TTL."""

    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class RateBucketRecord(Record, discriminator="rate_bucket"):
    """pk M#{m}#RATE, sk BUCKET#{limit}: a merchant's API token bucket as its theoretical
    arrival time in epoch milliseconds (security/rate_limit.py); written by storage/rate_buckets.py
    with the low-level client (it needs ReturnValuesOnConditionCheckFailure); expires by TTL."""

    tat_ms = NumberAttribute()
    expires_at = TTLAttribute()


class SuppressionRecord(Record, discriminator="suppression"):
    """pk M#{m}#SUP#{sha256(email)}, sk SUPPRESSED: an address that hard-bounced or complained;
    nothing more is sent to it for this merchant."""

    merchant_id = UnicodeAttribute()
    reason = UnicodeAttribute()  # bounce | complaint
    detail = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class FeedbackRecord(Record, discriminator="feedback"):
    """pk M#{m}#O#{o}, sk FEEDBACK#{sku}: the customer's answer about one item (rating, comment);
    saved with a version check, so two concurrent answers cannot overwrite each other."""

    merchant_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.feedback.model.Feedback as JSON
    rating = NumberAttribute()
    version = NumberAttribute()
    notified_version = NumberAttribute(default=0)  # the newest version whose webhook was queued
    list_sk = UnicodeAttribute()  # its FeedbackListingRecord's sk (moved on every change)
    submitted_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class FeedbackListingRecord(Record, discriminator="feedback_listing"):
    """pk M#{m}#FEEDBACK, sk {updated_at}#{o}#{sku}: the merchant's answers newest first
    (`GET /v1/feedback` is one Query); written in the same transaction as the answer."""

    merchant_id = UnicodeAttribute()
    document = UnicodeAttribute()  # the same Feedback JSON
class CampaignRecord(Record, discriminator="campaign"):
    """pk M#{m}#CAMPAIGN#{id}, sk CAMPAIGN: a merchant campaign and its fan-out counts.

    Each fanned-out page of customers adds its counts once, with a marker item (sk PAGE#{n})
    written in the same transaction: a redelivered page counts nothing twice."""

    merchant_id = UnicodeAttribute()
    campaign_id = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.messaging.campaigns.CampaignIn as JSON
    fingerprint = UnicodeAttribute()  # of the creating body: same body -> same answer, else 409
    status = UnicodeAttribute()  # fanning_out | scheduled
    scheduled = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    pages = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)


class CampaignPageRecord(Record, discriminator="campaign_page"):
    """pk M#{m}#CAMPAIGN#{id}, sk PAGE#{n:06d}: page n of the fan-out was counted."""

    scheduled = NumberAttribute()
    skipped = NumberAttribute()
    at = UTCDateTimeAttribute()
class CouponRecord(Record, discriminator="coupon"):
    """pk M#{m}#CPN#{sha256(code)}, sk COUPON: one single-use code (found by its exact code only;
    nothing lists codes). Redeemed by one conditional update (state issued -> redeemed)."""

    merchant_id = UnicodeAttribute()
    state = UnicodeAttribute()  # issued | redeemed | void
    document = UnicodeAttribute()  # postpurchase.rewards.coupons.Coupon as JSON (as issued)
    redeemed_order_id = UnicodeAttribute(null=True)
    redeemed_at = UTCDateTimeAttribute(null=True)
    discount_amount = UnicodeAttribute(null=True)  # decimal string
    void_reason = UnicodeAttribute(null=True)


class CouponIssueRecord(Record, discriminator="coupon_issue"):
    """pk M#{m}#C#{c}, sk CPN#{campaign}#{ref}: the code issued for (campaign, ref), written in
    the same transaction as the coupon so a retried issue answers the same code."""

    code = UnicodeAttribute()
    document = UnicodeAttribute()  # the Coupon as issued


class ReferralCodeRecord(Record, discriminator="referral_code"):
    """Both directions of a customer's referral code, written in one transaction:
    pk M#{m}#REFCODE#{code}, sk REFCODE -> the customer; pk M#{m}#C#{c}, sk REFCODE -> the code."""

    merchant_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    code = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ReferralRecord(Record, discriminator="referral"):
    """A referred order, twice: under the referrer (pk M#{m}#C#{r}, sk REFERRAL#{o}) and in the
    merchant's listing (pk M#{m}#REFERRALS, sk R#{o}); both written in one transaction."""

    merchant_id = UnicodeAttribute()
    status = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.rewards.referrals.Referral as JSON
    revision = NumberAttribute()


class ReferralCapRecord(Record, discriminator="referral_cap"):
    """pk M#{m}#C#{r}, sk REFCAP#{yyyy-mm}: accepted referrals of one referrer in one month,
    bumped with a condition in the same transaction that accepts one (the cap holds under races)."""

    count = NumberAttribute(default=0)


class ReferralSettingsRecord(Record, discriminator="referral_settings"):
    """pk M#{m}, sk REFERRAL_SETTINGS: postpurchase.rewards.referrals.ReferralSettings as JSON."""

    document = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()


class LoyaltyEntryRecord(Record, discriminator="loyalty_entry"):
    """One loyalty ledger entry: pk M#{m}#C#{c}, sk PTS#{recorded at, UTC}#{entry id}; put once, never
    deleted (a redemption's entry later gains its discount code)."""

    merchant_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    entry_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    points = NumberAttribute()
    document = UnicodeAttribute()  # postpurchase.rewards.loyalty.Entry as JSON


class LoyaltyAccountRecord(Record, discriminator="loyalty_account"):
    """pk M#{m}#C#{c}, sk PTS#~ACCOUNT: the ledger's revision, bumped by every append in the same
    transaction, so two appends judged against the same ledger cannot both land."""

    merchant_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    revision = NumberAttribute()
    # The seq of the newest entry: a Query that sees the revision but not every entry of the
    # transaction that set it (read-committed, not snapshot) is noticed and read again.
    last_seq = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute()


class LoyaltySettingsRecord(Record, discriminator="loyalty_settings"):
    """pk M#{m}, sk LOYALTY: postpurchase.rewards.loyalty.LoyaltySettings as JSON."""

    merchant_id = UnicodeAttribute()
    document = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
class ProductRecord(Record, discriminator="product"):
    """pk M#{m}#CATALOG, sk P#{product_id}: one catalog product."""

    merchant_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.recommendations.catalog.Product as JSON
    updated_at = UTCDateTimeAttribute()
    # The storefront's own modification time (Shopify updated_at): an older update never wins.
    source_updated_at = UTCDateTimeAttribute(null=True)


class ProductSkuRecord(Record, discriminator="product_sku"):
    """pk M#{m}#SKU#{sku}, sk PRODUCT: which product an order line's SKU is."""

    product_id = UnicodeAttribute()


class RecommendationRulesRecord(Record, discriminator="recommendation_rules"):
    """pk M#{m}#CATALOG, sk RULES: postpurchase.recommendations.rules.RecommendationRules as JSON."""

    document = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()


class CoPurchaseRecord(Record, discriminator="copurchase"):
    """pk M#{m}#COBUY#{product}, sk COBUY. Besides these, one number attribute per product
    bought together with it, `n:{other product}` = how many orders held both (ADDed, so two
    orders counting at once never lose an update). Read raw: storage.recommendations."""

    product_id = UnicodeAttribute()


class PurchaseSummaryRecord(Record, discriminator="purchases"):
    """pk M#{m}#C#{c}, sk PURCHASES: the customer's bought and returned products (ADDed sets)."""

    bought = UnicodeSetAttribute(null=True)
    returned = UnicodeSetAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class LearnedOrderRecord(Record, discriminator="recs_learned"):
    """pk M#{m}#O#{o}, sk RECS#LEARNED: this order's co-purchases were counted (once)."""

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


class PrivacyRequestRecord(Record, discriminator="privacy_request"):
    """pk M#{m}#PRIVACY, sk REQUEST#{request id}: a customer asked for their data (Shopify
    customers/data_request); the operator exports it (admin CLI) and sends it to the merchant."""

    merchant_id = UnicodeAttribute()
    request_id = UnicodeAttribute()
    source = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | exported
    received_at = UTCDateTimeAttribute()
    customer_id = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    order_ids = UnicodeAttribute(default="[]")  # JSON list
    exported_at = UTCDateTimeAttribute(null=True)


class PrivacyErasureRecord(Record, discriminator="privacy_erasure"):
    """pk M#{m}#PRIVACY, sk ERASED#{sha256 of the customer ids}: an erasure happened (when, how
    much), without saying whose data it was."""

    merchant_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    orders = NumberAttribute()
    items = NumberAttribute()


# --- support conversations (storage/support.py) ------------------------------------------------
class SupportConversationRecord(Record, discriminator="support_conversation"):
    """pk M#{m}#CONV#{c}, sk CONV: one conversation (its messages share the partition, so the
    thread is one Query). gsi1 M#{m}#SUPPORT#{status} / {updated}#{c}: the merchant's list by
    status, newest first, moved with every save; saved on its revision."""

    merchant_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.support.model.Conversation as JSON
    status = UnicodeAttribute()
    revision = NumberAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    support_index = Gsi1()


class SupportMessageRecord(Record, discriminator="support_message"):
    """pk M#{m}#CONV#{c}, sk MSG#{time}#{message}: one message of the thread; put once."""

    document = UnicodeAttribute()  # postpurchase.support.model.SupportMessage as JSON
    # An outbound email's EmailRequest as JSON: queued again when a retried intake finds it.
    outbox = UnicodeAttribute(null=True)
    # The inbound message's receipt key digest (SupportReceiptRecord): an erasure finds it here.
    receipt = UnicodeAttribute(null=True)


class SupportThreadRecord(Record, discriminator="support_thread"):
    """pk M#{m}#MID#{sha256(Message-ID)}, sk MID: the conversation an email belongs to, for the
    Message-IDs we sent (a reply's In-Reply-To) and the ones we received (duplicates, References)."""

    conversation_id = UnicodeAttribute()
    direction = UnicodeAttribute()


class SupportReceiptRecord(Record, discriminator="support_receipt"):
    """pk M#{m}#SUPRCPT#{identity}, sk RECEIPT: this inbound message (S3 key, API idempotency key,
    form submission) was recorded, in which conversation; written in the recording transaction."""

    conversation_id = UnicodeAttribute()
    message_id = UnicodeAttribute()


class SupportCustomerRecord(Record, discriminator="support_customer"):
    """pk M#{m}#SUPCUST#{sha256(customer email)}, sk CONV#{c}: the conversations a customer's
    address is in (written with the conversation), so a customer's export and erasure find them
    (storage/privacy.py) with one Query per address."""

    conversation_id = UnicodeAttribute()


class SupportFaqRecord(Record, discriminator="support_faq"):
    """pk M#{m}, sk SUPPORT#FAQ: the merchant's FAQ entries (support/faq.py) as JSON."""

    document = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
class StatsCounterRecord(Record, discriminator="stats"):
    """pk M#{m}#STATS, sk {yyyy-mm-dd}#{metric}#{shard}#{dimension}: one daily counter of the console's
    analytics (analytics/counters.py), created and grown by atomic ADD (storage/stats.py)."""

    count = NumberAttribute(default=0)


class StatsMarkerRecord(Record, discriminator="stats_marker"):
    """pk M#{m}#STATSEV#{event key}, sk COUNTED: this fact was added to the counters (written in
    the same transaction as the ADDs, on the condition it is new); expires by TTL."""

    expires_at = TTLAttribute()
class ReviewRecord(Record, discriminator="review"):
    """pk M#{m}#O#{o}, sk REVIEW#{sku}: the storefront review of one answer (reviews/model.py);
    every save is version-checked and moves its copies and counters in the same transaction."""

    merchant_id = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.reviews.model.Review as JSON
    status = UnicodeAttribute()
    version = NumberAttribute()


class ReviewCopyRecord(Record, discriminator="review_copy"):
    """A published review's copy in its product's partition (one per sort order), in the merchant's
    published listing, or a held review in the moderation queue: the Review JSON, read by Query."""

    merchant_id = UnicodeAttribute()
    document = UnicodeAttribute()


class ReviewLookupRecord(Record, discriminator="review_lookup"):
    """pk M#{m}#REVID#{public id}, sk REVIEW: where the review with this public id lives; written
    in the transaction that first saves the review with that id, deleted with it."""

    merchant_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    sku = UnicodeAttribute()


class ReviewSummaryRecord(Record, discriminator="review_summary"):
    """pk M#{m}#REV#{sku}, sk N~SUMMARY: published reviews per rating (ADDed in each save's
    transaction, so a retry never counts twice)."""

    merchant_id = UnicodeAttribute(null=True)
    r1 = NumberAttribute(default=0)
    r2 = NumberAttribute(default=0)
    r3 = NumberAttribute(default=0)
    r4 = NumberAttribute(default=0)
    r5 = NumberAttribute(default=0)


class ReviewFeedRecord(Record, discriminator="review_feed"):
    """pk SYS#REVIEWFEEDS, sk M#{m}: this merchant has published reviews (the feed builder's list)."""

    merchant_id = UnicodeAttribute()
class InsertBatchRecord(Record, discriminator="insert_batch"):
    """pk M#{m}#INSERTS#{id}, sk BATCH: a day's packing inserts, rendered to one PDF in S3 by
    functions/insert_batches (postpurchase/insert/batches.py)."""

    merchant_id = UnicodeAttribute()
    batch_id = UnicodeAttribute()
    document = UnicodeAttribute()  # postpurchase.insert.batches.BatchIn as JSON
    status = UnicodeAttribute()  # queued | ready | empty | failed
    order_count = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    object_key = UnicodeAttribute(null=True)  # the PDF in the inserts bucket, once ready
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()  # with the PDF's lifecycle rule in the bucket
