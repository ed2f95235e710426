"""Carrier-provider webhooks: verified, turned into a TrackingUpdate, queued for the worker.

The HTTP answer is quick and cheap (providers retry slow or failed deliveries); matching the
code to a shipment and merging happen on the tracking queue, where duplicates are harmless.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import clock
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

    now = clock.now()
    secrets = secrets_of(merchant, now)
    if provider == "easypost":
        from .carriers import easypost as module

        accepted, header_name = secrets.accepted("easypost_webhook_secret", now), "X-Hmac-Signature"
    else:
        from .carriers import aftership as module

        accepted, header_name = secrets.accepted("aftership_webhook_secret", now), "aftership-hmac-sha256"
    if not accepted:
        raise InvalidSignature(f"no {provider} webhook secret is configured", field=header_name)
    # The current secret, then the one a rotation replaced while its overlap lasts.
    update = module.parse_webhook(headers, raw_body, accepted)
    if update is None:
        return {"received": True, "tracking_number": None}  # an event type we do not act on
    message = CarrierUpdate(merchant_id=merchant_id, update=update.model_copy(update={"source": "webhook"}))
    tracking_queue().publish(message.model_dump_json(), kind=message.type, merchant_id=merchant_id)
    logger.info("carrier webhook", extra={"provider": provider, "status": update.status.value})
    return {"received": True, "tracking_number": update.tracking_number}
