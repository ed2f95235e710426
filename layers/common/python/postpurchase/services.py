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


@lru_cache(maxsize=1)
def order_store() -> "DynamoOrderStore":
    from .storage.orders import DynamoOrderStore

    return DynamoOrderStore()


@lru_cache(maxsize=1)
def merchant_store() -> "DynamoMerchantStore":
    from .storage.merchants import DynamoMerchantStore

    return DynamoMerchantStore()


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
def mailer() -> "SesMailer":
    from .adapters.ses import SesMailer

    return SesMailer(settings().ses_configuration_set)


def reset() -> None:
    """Forget every built adapter (tests and the local runtime rebuild them per environment)."""
    for factory in (order_store, merchant_store, send_ledger, order_events_queue, outbound_email_queue, mailer):
        factory.cache_clear()
