"""Carrier-provider webhooks: verified, turned into a TrackingUpdate, queued for the worker.

The HTTP answer is quick and cheap (providers retry slow or failed deliveries); matching the
code to a shipment and merging happen on the tracking queue, where duplicates are harmless.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidSignature, NotFound
from ..observability import logger
from ..services import merchant_store, tracking_queue
from .messages import CarrierUpdate


def receive_provider_webhook(provider: str, merchant_id: str, headers: Mapping[str, str],
                             raw_body: bytes) -> dict[str, Any]:
    merchant = merchant_store().get(merchant_id)
    if merchant is None:
        raise NotFound(f"unknown merchant {merchant_id}", field="merchant_id")
    from ..storage.merchants import secrets_of

    secrets = secrets_of(merchant)
    if provider == "easypost":
        from .carriers import easypost as module

        secret, header_name = secrets.easypost_webhook_secret, "X-Hmac-Signature"
    else:
        from .carriers import aftership as module

        secret, header_name = secrets.aftership_webhook_secret, "aftership-hmac-sha256"
    if not secret:
        raise InvalidSignature(f"no {provider} webhook secret is configured", field=header_name)
    update = module.parse_webhook(headers, raw_body, secret)
    if update is None:
        return {"received": True, "tracking_number": None}  # an event type we do not act on
    message = CarrierUpdate(merchant_id=merchant_id, update=update.model_copy(update={"source": "webhook"}))
    tracking_queue().publish(message.model_dump_json(), kind=message.type, merchant_id=merchant_id)
    logger.info("carrier webhook", extra={"provider": provider, "status": update.status.value})
    return {"received": True, "tracking_number": update.tracking_number}
