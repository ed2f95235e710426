"""The composition root: which adapter serves each port, built lazily once per container."""
from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from .config import settings

if TYPE_CHECKING:
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
    from .storage.returns import DynamoReturnStore
    from .storage.customers import DynamoCustomerStore
    from .tracking.carriers.base import CarrierClient
    from .rewards.ports import CouponIssuer, ReferralCodes
    from .recommendations.ports import Recommender


@lru_cache(maxsize=1)
def order_store() -> "DynamoOrderStore":
    from .storage.orders import DynamoOrderStore

    return DynamoOrderStore()


@lru_cache(maxsize=1)
def merchant_store() -> "DynamoMerchantStore":
    from .storage.merchants import DynamoMerchantStore

    return DynamoMerchantStore()


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


def carrier_client(merchant_id: str) -> "CarrierClient":
    """The merchant's tracking provider; carrier SDK modules load only here, when needed."""
    from . import clock

    merchant = merchant_store().get(merchant_id)
    tracking = merchant.tracking if merchant else None
    provider = tracking.provider if tracking else "sandbox"
    if provider == "easypost":
        from .tracking.carriers.easypost import EasyPostClient

        return EasyPostClient(tracking.api_key or "")
    if provider == "aftership":
        from .tracking.carriers.aftership import AfterShipClient

        return AfterShipClient(tracking.api_key or "")
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

    config = settings()
    return HttpWebhookSender(config.webhook_timeout_seconds, config.webhooks_allow_http)


@lru_cache(maxsize=1)
def attempt_limiter() -> "DynamoAttemptLimiter":
    from .storage.attempts import DynamoAttemptLimiter

    return DynamoAttemptLimiter()


@lru_cache(maxsize=1)
def order_numbers() -> "DynamoOrderNumbers":
    from .storage.attempts import DynamoOrderNumbers

    return DynamoOrderNumbers()


# Rewards and recommendations (other capabilities) replace these stubs at merge; until then the
# confirmation composition treats NotImplementedError as "not available" (fallback variant).
@lru_cache(maxsize=1)
def coupon_issuer() -> "CouponIssuer":
    raise NotImplementedError("rewards.coupons is not wired yet")


@lru_cache(maxsize=1)
def referral_codes() -> "ReferralCodes":
    raise NotImplementedError("rewards.referrals is not wired yet")


@lru_cache(maxsize=1)
def recommender() -> "Recommender":
    raise NotImplementedError("recommendations is not wired yet")


def reset() -> None:
    """Forget every built adapter (tests and the local runtime rebuild them per environment)."""
    for factory in (order_store, merchant_store, send_ledger, order_events_queue, outbound_email_queue, mailer,
                    tracking_store, tracking_queue, policy_store, return_store, return_events_queue, event_publisher,
                    webhook_sender, attempt_limiter, order_numbers, customer_store, coupon_issuer, referral_codes,
                    recommender):
        factory.cache_clear()
