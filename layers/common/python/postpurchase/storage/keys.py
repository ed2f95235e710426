"""Table keys. Every key starts with the merchant id, so one tenant never reads another's items."""
from datetime import datetime, timezone


def time_key(at: datetime) -> str:
    """An instant as sort keys spell it: UTC, fixed width (microseconds, 'Z'), so text order is time order."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def merchant_pk(merchant_id: str) -> str:
    return f"M#{merchant_id}"


def customer_pk(merchant_id: str, customer_id: str) -> str:
    return f"M#{merchant_id}#C#{customer_id}"


def order_pk(merchant_id: str, order_id: str) -> str:
    return f"M#{merchant_id}#O#{order_id}"


def shipment_sk(shipment_id: str) -> str:
    return f"SHIP#{shipment_id}"


def tracking_event_sk(shipment_id: str, occurred_at_iso: str, identity: str) -> str:
    return f"SHIP#{shipment_id}#EV#{occurred_at_iso}#{identity}"


def poll_shard_pk(shard: int) -> str:
    return f"POLL#{shard}"


def tracking_number_pk(merchant_id: str, tracking_number: str) -> str:
    # Not keyed by carrier: providers spell carriers differently ("FedEx", "fedex").
    return f"M#{merchant_id}#TRK#{tracking_number.strip().upper()}"


def message_sk(message_key: str) -> str:
    return f"MSG#{message_key}"


def message_skip_sk(message_key: str) -> str:
    """A skipped message, beside its ledger entry (never the claim's own key: a skip must not
    block a later send), so the per-customer ledger read lists it too."""
    return f"MSG#{message_key}#SKIPPED"


def message_feedback_sk(reason: str, provider_message_id: str) -> str:
    """A bounce or complaint, under the address's suppression partition (one per SES message)."""
    return f"MSG#{reason}#{provider_message_id}"


# The console's messages view: one gsi1 partition per outcome, newest first by time.
MESSAGE_OUTCOMES = ("sent", "skipped", "failed", "bounced")


def messages_pk(merchant_id: str, outcome: str) -> str:
    return f"M#{merchant_id}#MSGS#{outcome}"


def messages_sk(at_iso: str, message_key: str) -> str:
    return f"{at_iso}#{message_key}"


def api_key_pk(key_hash: str) -> str:
    # The only key not under a merchant: authentication must find the merchant from the key.
    return f"APIKEY#{key_hash}"


API_KEY_LISTING_SK_PREFIX = "KEY#"


def api_key_listing_sk(key_id: str) -> str:
    return f"{API_KEY_LISTING_SK_PREFIX}{key_id}"


ORDER_SK = "ORDER"
PROFILE_SK = "PROFILE"
SETTINGS_SK = "SETTINGS"
API_KEY_SK = "APIKEY"


POLICY_SK_PREFIX = "POLICY#v"


def policy_sk(version: int) -> str:
    # Zero-padded so versions sort by number: the newest is the last of the partition's range.
    return f"{POLICY_SK_PREFIX}{version:06d}"


def return_sk(rma_id: str) -> str:
    return f"{RETURN_SK_PREFIX}{rma_id}"


RETURN_SK_PREFIX = "RMA#"


def order_number_pk(merchant_id: str, number: str) -> str:
    return f"M#{merchant_id}#NUM#{number}"


def rate_bucket_pk(merchant_id: str) -> str:
    return f"M#{merchant_id}#RATE"


def rate_bucket_sk(limit: str) -> str:
    return f"BUCKET#{limit}"


def attempts_pk(merchant_id: str, scope: str) -> str:
    return f"M#{merchant_id}#RL#{scope}"


def return_order_pk(merchant_id: str, rma_id: str) -> str:
    return f"M#{merchant_id}#RMA#{rma_id}"


RETURN_ORDER_SK = "ORDER"


def returns_queue_pk(merchant_id: str, partition: str) -> str:
    """gsi1 partition of one part of the merchant's returns queue (returns/queue.py)."""
    return f"M#{merchant_id}#RETQ#{partition}"


def attention_pk(merchant_id: str) -> str:
    """gsi1 partition of the merchant's shipments needing attention (tracking/attention.py)."""
    return f"M#{merchant_id}#ATTN"


def return_email_pk(merchant_id: str, email_digest: str) -> str:
    return f"M#{merchant_id}#RETEMAIL#{email_digest}"


def return_email_sk(order_id: str, rma_id: str) -> str:
    return f"{order_id}#{rma_id}"


def recipient_messages_pk(merchant_id: str, email_digest: str) -> str:
    """gsi5: an address (security.order_access.email_digest) -> the send-ledger entries about it."""
    return f"M#{merchant_id}#RCPT#{email_digest}"


def customer_email_pk(merchant_id: str, email_digest: str) -> str:
    """An email address -> the customer ids it was ordered under (the console's messages search)."""
    return f"M#{merchant_id}#CEMAIL#{email_digest}"


def suppression_pk(merchant_id: str, email_digest: str) -> str:
    return f"M#{merchant_id}#SUP#{email_digest}"


SUPPRESSION_SK = "SUPPRESSED"


FEEDBACK_SK_PREFIX = "FEEDBACK#"  # the review reminder's check looks for this prefix in the order's partition


def feedback_sk(sku: str) -> str:
    return f"{FEEDBACK_SK_PREFIX}{sku}"


def feedback_list_pk(merchant_id: str) -> str:
    return f"M#{merchant_id}#FEEDBACK"


def feedback_list_sk(updated_at_key: str, order_id: str, sku: str) -> str:
    # Sorted by last change: the merchant's listing reads newest first, `since` is a key range.
    return f"{updated_at_key}#{order_id}#{sku}"
def customers_index_pk(merchant_id: str) -> str:
    """gsi1 partition listing a merchant's customers (sort key: the customer id)."""
    return f"M#{merchant_id}#CUSTOMERS"


def campaign_pk(merchant_id: str, campaign_id: str) -> str:
    return f"M#{merchant_id}#CAMPAIGN#{campaign_id}"


CAMPAIGN_SK = "CAMPAIGN"


def campaign_page_sk(page: int) -> str:
    return f"PAGE#{page:06d}"
def coupon_pk(merchant_id: str, code_digest: str) -> str:
    return f"M#{merchant_id}#CPN#{code_digest}"


COUPON_SK = "COUPON"


def coupon_issue_sk(campaign: str, ref: str) -> str:
    return f"CPN#{campaign}#{ref}"


def referral_code_pk(merchant_id: str, code: str) -> str:
    return f"M#{merchant_id}#REFCODE#{code}"


REFERRAL_CODE_SK = "REFCODE"


def referral_sk(order_id: str) -> str:
    return f"REFERRAL#{order_id}"


def referrals_pk(merchant_id: str) -> str:
    return f"M#{merchant_id}#REFERRALS"


def referral_listing_sk(order_id: str) -> str:
    return f"R#{order_id}"


def referral_cap_sk(month: str) -> str:
    return f"REFCAP#{month}"


REFERRAL_SETTINGS_SK = "REFERRAL_SETTINGS"
# Loyalty points (storage.loyalty): the ledger under the customer, the account item sorting last
# in the same `PTS#` range so one Query reads both; the merchant's loyalty settings.
LOYALTY_SK_PREFIX = "PTS#"
LOYALTY_ACCOUNT_SK = "PTS#~ACCOUNT"  # '~' sorts after every timestamp
LOYALTY_SETTINGS_SK = "LOYALTY"


def loyalty_entry_sk(at_iso: str, entry_id: str) -> str:
    return f"{LOYALTY_SK_PREFIX}{at_iso}#{entry_id}"
# --- catalog and recommendations (storage/recommendations.py) ---------------------------------

def catalog_pk(merchant_id: str) -> str:
    """The merchant's products (sk P#{product_id}) and recommendation rules (sk RULES): the
    recommender loads the whole partition with one paginated Query and caches it briefly."""
    return f"M#{merchant_id}#CATALOG"


PRODUCT_SK_PREFIX = "P#"
RULES_SK = "RULES"


def product_sk(product_id: str) -> str:
    return f"{PRODUCT_SK_PREFIX}{product_id}"


def sku_pk(merchant_id: str, sku: str) -> str:
    """SKU -> product: order lines carry SKUs; a BatchGet resolves an order's lines."""
    return f"M#{merchant_id}#SKU#{sku}"


SKU_SK = "PRODUCT"


def copurchase_pk(merchant_id: str, product_id: str) -> str:
    """One item per product: an attribute per product bought with it (n:{other} = orders)."""
    return f"M#{merchant_id}#COBUY#{product_id}"


COPURCHASE_SK = "COBUY"
# Under the customer's partition: products bought and returned (string sets).
PURCHASES_SK = "PURCHASES"
# Under the order's partition: its products were counted (written in the same transaction).
LEARNED_SK = "RECS#LEARNED"
SCHEDULED_SK_PREFIX = "SCHED#"
FEEDBACK_SK_PREFIX = "FEEDBACK#"  # written by the feedback capability under the order


def scheduled_sk(kind: str, ref: str) -> str:
    return f"{SCHEDULED_SK_PREFIX}{kind}#{ref}"


def due_bucket_pk(day: str, shard: int) -> str:
    """gsi3 partition: the UTC day a message falls due ("yyyy-mm-dd") and its shard."""
    return f"DUE#{day}#{shard}"


SCHEDULER_CURSOR_PK = "SYS#SCHEDULER"
SCHEDULER_CURSOR_SK = "CURSOR"


def webhook_delivery_sk(delivery_id: str) -> str:
    return f"WEBHOOK#{delivery_id}"
# --- support conversations (storage/support.py) ---
SUPPORT_CONVERSATION_SK = "CONV"
SUPPORT_MESSAGE_SK_PREFIX = "MSG#"
SUPPORT_THREAD_SK = "MID"
SUPPORT_RECEIPT_SK = "RECEIPT"


def support_conversation_pk(merchant_id: str, conversation_id: str) -> str:
    return f"M#{merchant_id}#CONV#{conversation_id}"


def support_message_sk(at_key: str, message_id: str) -> str:
    return f"{SUPPORT_MESSAGE_SK_PREFIX}{at_key}#{message_id}"


def support_list_pk(merchant_id: str, status: str) -> str:
    """gsi1 partition: the merchant's conversations in one status (sort key: last change)."""
    return f"M#{merchant_id}#SUPPORT#{status}"


def support_thread_pk(merchant_id: str, message_id_digest: str) -> str:
    return f"M#{merchant_id}#MID#{message_id_digest}"


def support_receipt_pk(merchant_id: str, identity_digest: str) -> str:
    return f"M#{merchant_id}#SUPRCPT#{identity_digest}"


def support_customer_pk(merchant_id: str, email_digest: str) -> str:
    """A customer address's conversations (sk CONV#{c}; storage/support.py, storage/privacy.py)."""
    return f"M#{merchant_id}#SUPCUST#{email_digest}"


def support_customer_sk(conversation_id: str) -> str:
    return f"CONV#{conversation_id}"


# Support FAQ (support/faq.py): one item per merchant in the merchant's partition.
SUPPORT_FAQ_SK = "SUPPORT#FAQ"
STATS_MARKER_SK = "COUNTED"


def stats_pk(merchant_id: str) -> str:
    """The merchant's analytics counters: a day range of them is one Query of this partition."""
    return f"M#{merchant_id}#STATS"


def stats_sk(day_iso: str, metric: str, shard: int, dimension: str) -> str:
    """A counter of one day: its shard (spreads concurrent transactions over items) before the
    dimension, which may itself hold "#"."""
    return f"{day_iso}#{metric}#{shard}#{dimension}"


def stats_marker_pk(merchant_id: str, event_key: str) -> str:
    return f"M#{merchant_id}#STATSEV#{event_key}"
# --- storefront reviews (storage/reviews.py) ----------------------------------------------------
REVIEW_SK_PREFIX = "REVIEW#"  # the review itself, under its order (next to its FEEDBACK#{sku})


def review_sk(sku: str) -> str:
    return f"{REVIEW_SK_PREFIX}{sku}"


def product_reviews_pk(merchant_id: str, sku: str) -> str:
    """A product's published reviews, one copy per sort order, and its summary counters:
    N#{published}#{id} newest, H#{rating}#{published}#{id} highest, P#{published}#{id} with photos
    (sparse: only reviews with photos), and REVIEW_SUMMARY_SK, which sorts just after every N#
    key, so the JSON-LD read gets the summary and the newest reviews in one Query."""
    return f"M#{merchant_id}#REV#{sku}"


REVIEW_SORT_PREFIXES = {"newest": "N#", "highest": "H#", "with_photos": "P#"}
REVIEW_SUMMARY_SK = "N~SUMMARY"  # '~' sorts after '#'


def review_queue_pk(merchant_id: str) -> str:
    """The merchant's moderation queue (sk {submitted}#{review id}): held reviews only."""
    return f"M#{merchant_id}#REVQ"


def published_reviews_pk(merchant_id: str) -> str:
    """All the merchant's published reviews (sk the review id): the feed's one paged Query."""
    return f"M#{merchant_id}#REVPUB"


def review_lookup_pk(merchant_id: str, public_id: str) -> str:
    """A review's public id -> its order and sku (sk REVIEW_LOOKUP_SK): the merchant's routes
    taking {review_id} resolve it with one GetItem; another merchant's id is not in this partition."""
    return f"M#{merchant_id}#REVID#{public_id}"


REVIEW_LOOKUP_SK = "REVIEW"
# The merchants with a reviews feed to build (sk M#{m}): a cross-tenant registry holding only merchant
# ids, like APIKEY#, read by the daily feed builder.
REVIEW_FEEDS_PK = "SYS#REVIEWFEEDS"
# --- packing inserts (postpurchase/insert/batches.py) ---------------------------------------------


def orders_day_pk(merchant_id: str, day: str) -> str:
    """gsi4 partition (keys only) of a merchant's orders placed on a UTC day ("yyyy-mm-dd"): the
    day's packing-insert batch reads it. gsi4 otherwise holds tracking numbers; the prefixes differ."""
    return f"M#{merchant_id}#ODAY#{day}"


order_day_instant = time_key  # gsi4's order-day sort keys spell an instant as every sort key does


def order_day_sk(placed_at, order_id: str) -> str:
    return f"{order_day_instant(placed_at)}|{order_id}"


def insert_batch_pk(merchant_id: str, batch_id: str) -> str:
    return f"M#{merchant_id}#INSERTS#{batch_id}"


INSERT_BATCH_SK = "BATCH"
