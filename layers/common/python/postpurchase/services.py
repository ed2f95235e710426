"""The composition root: which adapter serves each port, built lazily once per container."""
from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Settings
    from .adapters.queues import SqsPublisher
    from .adapters.ses import SesMailer
    from .storage.ledger import DynamoSendLedger
    from .storage.merchants import DynamoMerchantStore
    from .storage.orders import DynamoOrderStore
    from .storage.policies import DynamoPolicyStore
    from .storage.tracking import DynamoTrackingStore
    from .adapters.events import EventBridgePublisher
    from .adapters.webhooks import HttpWebhookSender
    from .storage.attempts import DynamoAttemptLimiter, DynamoOrderNumbers
    from .storage.rate_buckets import DynamoRateBuckets
    from .storage.returns import DynamoReturnStore
    from .storage.return_queue import DynamoReturnQueue
    from .storage.customers import DynamoCustomerStore
    from .storage.campaigns import DynamoCampaignStore
    from .tracking.carriers.base import CarrierClient
    from .storage.feedback import DynamoFeedbackStore
    from .messaging.scheduled import MessageSchedule
    from .rewards.ports import CouponIssuer
    from .storage.coupons import DynamoCouponStore
    from .storage.referrals import DynamoReferralStore
    from .rewards.service import ReferralCodes
    from .rewards.loyalty_service import LoyaltyService
    from .storage.loyalty import DynamoLoyaltyStore
    from .storage.faq import DynamoFaqStore
    from .storage.support import DynamoSupportStore
    from .recommendations.service import Recommendations
    from .storage.recommendations import DynamoCatalogStore, DynamoPurchaseStore
    from .messaging.settings import MessagingSettings
    from .storage.schedule import DynamoMessageSchedule
    from .security.merchant_secrets import MerchantSecrets
    from .security.tokens import Keyring
    from .storage.stats import DynamoStats
    from .storage.surveys import DynamoSurveyStore


def settings() -> "Settings":
    """config.settings(), imported at the first call: the Settings model would bring pydantic (and
    its plugin loader, importlib.metadata) into every cold start, ~60 ms (issue 17)."""
    from .config import settings as current

    return current()


@lru_cache(maxsize=1)
def order_store() -> "DynamoOrderStore":
    from .storage.orders import DynamoOrderStore

    return DynamoOrderStore()


@lru_cache(maxsize=1)
def merchant_store() -> "DynamoMerchantStore":
    from .storage.merchants import DynamoMerchantStore

    return DynamoMerchantStore()


@lru_cache(maxsize=1)
def merchant_secrets() -> "MerchantSecrets":
    """Merchants' webhook and carrier secrets (Secrets Manager; only some functions may read)."""
    from .adapters.secrets import SecretsManagerMerchantSecrets

    config = settings()
    return SecretsManagerMerchantSecrets(config.merchant_secrets_prefix, config.merchant_secrets_max_age_seconds)


@lru_cache(maxsize=1)
def policy_store() -> "DynamoPolicyStore":
    from .storage.policies import DynamoPolicyStore

    return DynamoPolicyStore()


@lru_cache(maxsize=1)
def send_ledger() -> "DynamoSendLedger":
    from .storage.ledger import DynamoSendLedger

    return DynamoSendLedger(timedelta(seconds=settings().email_claim_timeout_seconds))


@lru_cache(maxsize=1)
def order_events_queue() -> "SqsPublisher":
    from .adapters.queues import SqsPublisher

    return SqsPublisher(settings().order_events_queue_url)


@lru_cache(maxsize=1)
def outbound_email_queue() -> "SqsPublisher":
    from .adapters.queues import SqsPublisher

    return SqsPublisher(settings().outbound_email_queue_url)


@lru_cache(maxsize=1)
def tracking_store() -> "DynamoTrackingStore":
    from .storage.tracking import DynamoTrackingStore
    from .adapters.events import EventBridgePublisher
    from .adapters.webhooks import HttpWebhookSender
    from .storage.attempts import DynamoAttemptLimiter, DynamoOrderNumbers
    from .storage.returns import DynamoReturnStore

    return DynamoTrackingStore()


@lru_cache(maxsize=1)
def tracking_queue() -> "SqsPublisher":
    from .adapters.queues import SqsPublisher

    return SqsPublisher(settings().tracking_queue_url)


def carrier_client(merchant_id: str, *, deadline: float | None = None) -> "CarrierClient":
    """The merchant's tracking provider; carrier SDK modules load only here, when needed.

    `deadline` (a time.monotonic() instant) bounds every call of the client, retries included:
    the tracking worker passes its invocation's end, less a margin to save what it learned.
    """
    from . import clock

    merchant = merchant_store().get(merchant_id)
    provider = merchant.tracking.provider if merchant else "sandbox"
    if merchant is not None and provider in ("easypost", "aftership"):
        from .storage.merchants import secrets_of
        from .tracking.carriers.http import Timeouts

        config = settings()
        api_key = secrets_of(merchant).carrier_api_key or ""
        options = {"timeouts": Timeouts(connect=config.carrier_connect_timeout_seconds,
                                        read=config.carrier_read_timeout_seconds), "deadline": deadline}
        if provider == "easypost":
            from .tracking.carriers.easypost import DEFAULT_BASE_URL, EasyPostClient

            return EasyPostClient(api_key, config.easypost_base_url or DEFAULT_BASE_URL, **options)
        from .tracking.carriers.aftership import DEFAULT_BASE_URL as AFTERSHIP_URL, AfterShipClient

        return AfterShipClient(api_key, config.aftership_base_url or AFTERSHIP_URL, **options)
    from .tracking.carriers.sandbox import SandboxCarrier

    return SandboxCarrier(now=clock.now)


@lru_cache(maxsize=1)
def mailer() -> "SesMailer":
    from .adapters.ses import SesMailer

    return SesMailer(settings().ses_configuration_set)


@lru_cache(maxsize=1)
def customer_store() -> "DynamoCustomerStore":
    from .storage.customers import DynamoCustomerStore

    return DynamoCustomerStore()


@lru_cache(maxsize=1)
def return_store() -> "DynamoReturnStore":
    from .storage.returns import DynamoReturnStore

    return DynamoReturnStore(order_store())


@lru_cache(maxsize=1)
def return_queue() -> "DynamoReturnQueue":
    from .storage.return_queue import DynamoReturnQueue

    return DynamoReturnQueue()


@lru_cache(maxsize=1)
def return_events_queue() -> "SqsPublisher":
    from .adapters.queues import SqsPublisher

    return SqsPublisher(settings().return_events_queue_url)


@lru_cache(maxsize=1)
def event_publisher() -> "EventBridgePublisher":
    from .adapters.events import EventBridgePublisher

    return EventBridgePublisher(settings().event_bus_name)


@lru_cache(maxsize=1)
def webhook_sender() -> "HttpWebhookSender":
    from .adapters.webhooks import HttpWebhookSender

    from .config import outbound_policy

    return HttpWebhookSender(outbound_policy(), settings().webhook_timeout_seconds)


@lru_cache(maxsize=1)
def webhook_deliveries() -> "DynamoWebhookDeliveries":
    from .storage.webhook_deliveries import DynamoWebhookDeliveries

    return DynamoWebhookDeliveries()


@lru_cache(maxsize=1)
def attempt_limiter() -> "DynamoAttemptLimiter":
    from .storage.attempts import DynamoAttemptLimiter

    return DynamoAttemptLimiter()


@lru_cache(maxsize=1)
def merchant_rate_limiter() -> "DynamoRateBuckets | None":
    """The per-merchant API token bucket, or None when MERCHANT_API_RATE_PER_SECOND is 0."""
    from .security.rate_limit import TokenBucket
    from .storage.rate_buckets import DynamoRateBuckets

    config = settings()
    if not config.merchant_api_rate_per_second:
        return None
    return DynamoRateBuckets(TokenBucket(config.merchant_api_rate_per_second, config.merchant_api_burst))


@lru_cache(maxsize=1)
def order_numbers() -> "DynamoOrderNumbers":
    from .storage.attempts import DynamoOrderNumbers

    return DynamoOrderNumbers()


@lru_cache(maxsize=1)
def feedback_store() -> "DynamoFeedbackStore":
    from .storage.feedback import DynamoFeedbackStore

    return DynamoFeedbackStore()


@lru_cache(maxsize=1)
def campaign_store() -> "DynamoCampaignStore":
    from .storage.campaigns import DynamoCampaignStore

    return DynamoCampaignStore()


@lru_cache(maxsize=1)
def campaign_queue() -> "SqsPublisher":
    from .adapters.queues import SqsPublisher

    return SqsPublisher(settings().campaign_queue_url)


def campaign_fanout_ports():
    """The campaign fan-out's ports (the API starts page 0; functions/campaign_fanout runs pages)."""
    from .messaging.campaign_fanout import FanOutPorts  # noqa: F401 - the protocol served here

    class _Ports:
        store = property(lambda self: campaign_store())
        # The scheduler capability's factory (storage/schedule.py); only pages use it.
        schedule = property(lambda self: message_schedule())  # type: ignore[name-defined]  # noqa: F821

        def enqueue(self, message) -> None:
            campaign_queue().publish(message.model_dump_json(), kind=message.type, merchant_id=message.merchant_id)

    return _Ports()


@lru_cache(maxsize=1)
def coupon_issuer() -> "DynamoCouponStore":
    """rewards.ports.CouponIssuer (also what the coupon API and referral rewards use)."""
    from .storage.coupons import DynamoCouponStore

    return DynamoCouponStore()


@lru_cache(maxsize=1)
def referral_store() -> "DynamoReferralStore":
    from .storage.referrals import DynamoReferralStore

    return DynamoReferralStore()


@lru_cache(maxsize=1)
def referral_codes() -> "ReferralCodes":
    """rewards.ports.ReferralCodes: a customer's referral code and share link."""
    from .rewards.service import ReferralCodes

    return ReferralCodes(referral_store(), merchant_store(), settings().public_base_url)


@lru_cache(maxsize=1)
def loyalty_store() -> "DynamoLoyaltyStore":
    from .storage.loyalty import DynamoLoyaltyStore

    return DynamoLoyaltyStore()


def _customer_of_order(merchant_id: str, order_id: str) -> str | None:
    order = order_store().get_order(merchant_id, order_id)
    return order.customer.customer_id() if order is not None else None


@lru_cache(maxsize=1)
def loyalty() -> "LoyaltyService":
    """Points: reactions, bonuses (award_review_bonus, award_birthday_bonus), redemption, account."""
    from .rewards.loyalty_service import LoyaltyService
    from .storage.loyalty import StaleLedger

    # The coupon issuer and the schedule are looked up when used, so each is built only if needed.
    return LoyaltyService(loyalty_store(), policy_store(), _customer_of_order, lambda: coupon_issuer(),
                          lambda: message_schedule(), StaleLedger)



@lru_cache(maxsize=1)
def catalog_store() -> "DynamoCatalogStore":
    """Caches each merchant's catalog and rules for 60 s in this container."""
    from .storage.recommendations import DynamoCatalogStore

    return DynamoCatalogStore()


@lru_cache(maxsize=1)
def purchase_store() -> "DynamoPurchaseStore":
    from .storage.recommendations import DynamoPurchaseStore

    return DynamoPurchaseStore()


@lru_cache(maxsize=1)
def recommendations() -> "Recommendations":
    from .recommendations.service import Recommendations

    return Recommendations(catalog_store(), purchase_store())


def recommender() -> "Recommendations":
    """The recommendations.ports.Recommender ("you may also like")."""
    return recommendations()


@lru_cache(maxsize=1)
def message_schedule() -> "DynamoMessageSchedule":
    """The communication calendar (implements postpurchase.messaging.scheduled.MessageSchedule)."""
    from .storage.schedule import DynamoMessageSchedule

    return DynamoMessageSchedule()


def messaging_settings(merchant_id: str) -> "MessagingSettings":
    """The merchant's lifecycle-messaging settings (defaults when none saved; cached 60 s)."""
    from .storage.merchants import messaging_settings as load

    return load(merchant_id)


def link_keys() -> "Keyring":
    """The link-signing keyring (security/tokens.py) from its Secrets Manager secret. Built per
    call from the document Powertools caches (max_age), so a rotation is seen within that time
    and a scheduled key switch (`activate_at`) on this container's clock."""
    from . import clock
    from .adapters.link_keys import UNAVAILABLE, KeyringUnavailable, load_document
    from .observability import logger
    from .security.tokens import Keyring, KeyringError

    config = settings()
    document = load_document(config.link_keys_secret_arn, config.link_keys_max_age_seconds)
    try:
        return Keyring.from_document(document, clock.now())
    except KeyringError as error:
        logger.error("the link-signing keyring is invalid", extra={"problem": str(error)})
        raise KeyringUnavailable(UNAVAILABLE) from None


@lru_cache(maxsize=1)
def faq_store() -> "DynamoFaqStore":
    from .storage.faq import DynamoFaqStore

    return DynamoFaqStore()


@lru_cache(maxsize=1)
def survey_store() -> "DynamoSurveyStore":
    """Surveys: definitions (cached per container), answers and counters."""
    from .storage.surveys import DynamoSurveyStore

    return DynamoSurveyStore()
# --- packing-insert batches (postpurchase/insert/batches.py) ---------------------------------------


@lru_cache(maxsize=1)
def insert_batch_store():
    from .storage.insert_batches import DynamoInsertBatchStore

    return DynamoInsertBatchStore()


@lru_cache(maxsize=1)
def insert_files():
    from .adapters.insert_files import S3InsertFiles

    config = settings()
    return S3InsertFiles(config.inserts_bucket, config.insert_url_ttl_seconds)


@lru_cache(maxsize=1)
def insert_batch_queue() -> "SqsPublisher":
    from .adapters.queues import SqsPublisher
    from .config import ConfigurationError

    url = settings().insert_batch_queue_url
    if not url:
        raise ConfigurationError("INSERT_BATCH_QUEUE_URL is not set (template.yaml, Globals)")
    return SqsPublisher(url)


def enqueue_insert_batch(message) -> None:
    insert_batch_queue().publish(message.model_dump_json(), kind=message.type, merchant_id=message.merchant_id)


@lru_cache(maxsize=1)
def support_store() -> "DynamoSupportStore":
    from .storage.support import DynamoSupportStore

    return DynamoSupportStore()


def reset() -> None:
    """Forget every built adapter (tests and the local runtime rebuild them per environment)."""
    for factory in (order_store, merchant_store, merchant_secrets, send_ledger, order_events_queue, outbound_email_queue, mailer,
                    tracking_store, tracking_queue, policy_store, return_store, return_queue, return_events_queue, event_publisher,
                    webhook_sender, webhook_deliveries, attempt_limiter, merchant_rate_limiter, order_numbers, customer_store, feedback_store, campaign_store,
                    campaign_queue, coupon_issuer, referral_store, referral_codes, loyalty_store, loyalty, catalog_store,
                    purchase_store, recommendations, message_schedule, survey_store, review_store, review_media,
                    insert_batch_store, insert_files, insert_batch_queue):
        factory.cache_clear()
    faq_store.cache_clear()
    support_store.cache_clear()
    import sys

    if "postpurchase.adapters.link_keys" in sys.modules:
        sys.modules["postpurchase.adapters.link_keys"].reset()
    if "postpurchase.adapters.insert_files" in sys.modules:
        sys.modules["postpurchase.adapters.insert_files"]._signer.cache_clear()
    if "postpurchase.storage.loyalty" in sys.modules:
        sys.modules["postpurchase.storage.loyalty"].clear_cache()
    if "postpurchase.storage.faq" in sys.modules:
        sys.modules["postpurchase.storage.faq"].clear_cache()


@lru_cache(maxsize=1)
def stats() -> "DynamoStats":
    """The analytics counters (storage/stats.py; stateless, so `reset` need not forget it)."""
    from .storage.stats import DynamoStats

    return DynamoStats()


@lru_cache(maxsize=1)
def review_store() -> "DynamoReviewStore":  # noqa: F821 - storage.reviews, imported lazily
    from .storage.reviews import DynamoReviewStore

    return DynamoReviewStore()


@lru_cache(maxsize=1)
def review_media() -> "S3ReviewMedia":  # noqa: F821 - adapters.review_media, imported lazily
    from .adapters.review_media import S3ReviewMedia

    return S3ReviewMedia(settings().review_media_bucket)
