"""Order intake: every storefront's input becomes internal events on the order-events queue.

One path for all three ways in (our API, Shopify, WooCommerce): `publish_once` is
idempotent on the business identity of the input (the merchant's order id, or the
storefront's webhook delivery id), so a storefront's retry is accepted once, not twice.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import Conflict, InvalidInput, InvalidSignature, NotFound, Unauthorized
from ..observability import MetricUnit, logger, metrics
from ..security.signatures import header, verify_hmac_base64
from ..services import merchant_store, order_events_queue, settings

# The storage layer (PynamoDB, botocore) and the event models load at the first request, not at
# import (issue 17).
if TYPE_CHECKING:
    from ..storage.merchants import Merchant
    from .events import OrderCancelled, OrderPlaced, PrivacyEvent, ShipmentCreated
    from .models import Order, Shipment

    Event = OrderPlaced | ShipmentCreated | OrderCancelled | PrivacyEvent


def _publish(intake: dict[str, Any]) -> dict[str, Any]:
    queue = order_events_queue()
    for body, kind in zip(intake["events"], intake["kinds"]):
        queue.publish(body, kind=kind, merchant_id=intake["merchant_id"])
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=len(intake["events"]))
    orders = intake["kinds"].count("OrderPlaced")
    if orders:
        metrics.add_metric(name="OrdersAccepted", unit=MetricUnit.Count, value=orders)
    result = {"accepted_events": len(intake["events"]), "key": intake["key"]}
    if intake.get("api_version"):  # kept on the delivery record (the idempotency item)
        result["api_version"] = intake["api_version"]
    return result


_lambda_context: list[Any] = []


def bind_lambda_context(context: Any) -> None:
    """Remember this invocation's context: an in-progress record then expires with the
    invocation, so a storefront's retry after a crashed request is not refused for days."""
    _lambda_context[:] = [context] if context is not None else []


@lru_cache(maxsize=1)
def _idempotency_config() -> Any:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(event_key_jmespath="[merchant_id, key]", payload_validation_jmespath="fingerprint",
                             expires_after_seconds=settings().idempotency_ttl_seconds)


@lru_cache(maxsize=1)
def _idempotent_publish() -> Callable[..., dict[str, Any]]:
    # Built on first use: the persistence layer creates its boto3 client when constructed.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    from ..adapters.aws import client

    persistence = DynamoDBPersistenceLayer(table_name=settings().idempotency_table_name,
                                           boto3_client=client("dynamodb"))
    return idempotent_function(data_keyword_argument="intake", persistence_store=persistence,
                               config=_idempotency_config())(_publish)


def publish_once(merchant_id: str, key: str, fingerprint: str, events: Sequence[Event],
                 api_version: str | None = None) -> dict[str, Any]:
    """Enqueue the events of one storefront input, at most once per (merchant, key)."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    if _lambda_context:
        _idempotency_config().register_lambda_context(_lambda_context[0])
    intake = {"merchant_id": merchant_id, "key": key, "fingerprint": fingerprint,
              "events": [event.model_dump_json() for event in events], "kinds": [event.type for event in events]}
    if api_version:
        intake["api_version"] = api_version
    try:
        return _idempotent_publish()(intake=intake)
    except IdempotencyValidationError:
        raise Conflict(f"{key} was already accepted with different content; use a new id for a new order",
                       field="order_id") from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(f"{key} is being accepted by a concurrent request; retry shortly") from None


def _fingerprint(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def accept_api_order(merchant_id: str, order: Order, now: datetime) -> dict[str, Any]:
    from .events import OrderPlaced

    event = OrderPlaced(event_id=f"api:{order.order_id}", merchant_id=merchant_id, source="api",
                        received_at=now, order=order)
    publish_once(merchant_id, f"order:{order.order_id}", _fingerprint(order.model_dump_json()), [event])
    logger.info("order accepted", extra={"merchant_id": merchant_id, "order_id": order.order_id})
    return {"order_id": order.order_id, "status": "accepted"}


def accept_api_shipment(merchant_id: str, order_id: str, shipment: Shipment, now: datetime) -> dict[str, Any]:
    from .events import ShipmentCreated

    from ..services import order_store

    if order_store().order_view(merchant_id, order_id) is None:
        raise NotFound(f"order {order_id} not found", field="order_id")
    event = ShipmentCreated(event_id=f"api:{order_id}:{shipment.shipment_id}", merchant_id=merchant_id,
                            source="api", received_at=now, order_id=order_id, shipment=shipment)
    publish_once(merchant_id, f"shipment:{order_id}:{shipment.shipment_id}",
                 _fingerprint(shipment.model_dump_json(exclude={"created_at"})), [event])
    return {"order_id": order_id, "shipment_id": shipment.shipment_id, "status": "accepted"}


def _merchant(merchant_id: str) -> Merchant:
    merchant = merchant_store().get(merchant_id)
    if merchant is None:
        raise NotFound(f"unknown merchant {merchant_id}", field="merchant_id")
    return merchant


def _verified(raw_body: bytes, signature: str | None, secrets: list[str], header_name: str) -> None:
    """`secrets`: the current one, then the one a rotation replaced while its overlap lasts."""
    from ..security.merchant_secrets import verify_any

    if not secrets:
        raise InvalidSignature(f"no webhook secret is configured for this storefront ({header_name})",
                               field=header_name)
    if not verify_any(lambda secret: verify_hmac_base64(raw_body, signature, secret), secrets):
        raise InvalidSignature(f"{header_name} does not match the body", field=header_name)


def _required_header(headers: Mapping[str, str], name: str) -> str:
    value = header(headers, name)
    if not value:
        raise InvalidInput(f"missing header {name}", field=name)
    return value


def _shop_domain_checked(merchant: Merchant, headers: Mapping[str, str]) -> None:
    """A merchant with a configured shop takes webhooks of that shop only: a valid signature
    from another shop sharing the app secret is not this merchant's order."""
    expected = (merchant.shopify_shop_domain or "").strip().lower()
    if not expected:
        return
    given = (header(headers, "X-Shopify-Shop-Domain") or "").strip().lower()
    if given != expected:
        raise Unauthorized("X-Shopify-Shop-Domain is missing or is not this merchant's shop",
                           field="X-Shopify-Shop-Domain")


def receive_shopify_webhook(merchant_id: str, headers: Mapping[str, str], raw_body: bytes,
                            now: datetime) -> dict[str, Any]:
    from ..storage.merchants import secrets_of
    from ..storefronts import shopify

    merchant = _merchant(merchant_id)
    _verified(raw_body, header(headers, "X-Shopify-Hmac-Sha256"), secrets_of(merchant, now).accepted("shopify_secret", now),
              "X-Shopify-Hmac-Sha256")
    _shop_domain_checked(merchant, headers)
    topic = _required_header(headers, "X-Shopify-Topic")
    # Shopify may deliver one event twice under two webhook ids; the event id names the event.
    event_id = (header(headers, "X-Shopify-Event-Id") or "").strip() or None
    webhook_id = event_id or _required_header(headers, "X-Shopify-Webhook-Id")
    api_version = (header(headers, "X-Shopify-API-Version") or "").strip()[:32] or None
    if topic.strip().lower().startswith("products/"):
        return _shopify_product(merchant, topic.strip().lower(), headers, raw_body, now)
    from ..storefronts import shopify_privacy

    # Compliance topics go through the queue like orders: an erasure that fails is retried.
    if topic.strip().lower() in shopify_privacy.PRIVACY_TOPICS:
        events = shopify_privacy.translate(topic, raw_body, merchant_id=merchant_id, webhook_id=webhook_id,
                                           received_at=now)
    else:
        events = shopify.translate(topic, raw_body, merchant_id=merchant_id, webhook_id=webhook_id, received_at=now,
                                   api_version=api_version)
    if events:
        # Keyed on the event, with the key as fingerprint: any redelivery of the event is
        # answered from the first one's record and enqueues nothing, whatever its body.
        key = f"shopify:{webhook_id}"
        publish_once(merchant_id, key, key, events, api_version=api_version)
    logger.info("shopify webhook", extra={"merchant_id": merchant_id, "topic": topic, "events": len(events),
                                          "api_version": api_version})
    return {"received": True, "topic": topic, "events": len(events)}


def _shopify_product(merchant: Merchant, topic: str, headers: Mapping[str, str], raw_body: bytes,
                     now: datetime) -> dict[str, Any]:
    """Catalog webhooks change the catalog directly (an idempotent upsert or delete): no order
    event, nothing for the order-events consumer."""
    from ..recommendations.views import apply_shopify_product
    from ..storefronts.shopify_products import DELETE_TOPIC, PRODUCT_TOPICS

    if topic not in PRODUCT_TOPICS and topic != DELETE_TOPIC:
        return {"received": True, "topic": topic, "events": 0}
    domain = (header(headers, "X-Shopify-Shop-Domain") or "").strip()
    shop_url = merchant.branding.website_url or (f"https://{domain}" if domain else None)
    result = apply_shopify_product(merchant.merchant_id, topic, raw_body, shop_url, now)
    logger.info("shopify product webhook", extra={"merchant_id": merchant.merchant_id, "topic": topic, **result})
    return {"received": True, "topic": topic, "events": 0, **result}


def receive_woocommerce_webhook(merchant_id: str, headers: Mapping[str, str], raw_body: bytes,
                                now: datetime) -> dict[str, Any]:
    from ..storefronts import woocommerce

    merchant = _merchant(merchant_id)
    if woocommerce.is_ping(raw_body, header(headers, "Content-Type")):
        # WooCommerce pings a new webhook unsigned and disables it unless it gets a 2xx.
        return {"received": True, "ping": True}
    from ..storage.merchants import secrets_of

    _verified(raw_body, header(headers, "X-WC-Webhook-Signature"), secrets_of(merchant, now).accepted("woocommerce_secret", now),
              "X-WC-Webhook-Signature")
    topic = _required_header(headers, "X-WC-Webhook-Topic")
    delivery_id = _required_header(headers, "X-WC-Webhook-Delivery-ID")
    events = woocommerce.translate(topic, raw_body, merchant_id=merchant_id, delivery_id=delivery_id,
                                   received_at=now)
    if events:
        publish_once(merchant_id, f"woocommerce:{delivery_id}", _fingerprint(raw_body), events)
    logger.info("woocommerce webhook", extra={"merchant_id": merchant_id, "topic": topic, "events": len(events)})
    return {"received": True, "topic": topic, "events": len(events)}
