"""`shopify register|topics`: subscribe a shop's webhooks to our route, through the Admin API.

GraphQL Admin API (`webhookSubscriptions`, `webhookSubscriptionCreate`; the REST Admin API is
legacy for new apps). Idempotent: the shop's subscriptions are listed first and a topic already
sent to our URL is left alone. The compliance topics (customers/data_request, customers/redact,
shop/redact) cannot be subscribed this way: they are set in the app's configuration
(`compliance_topics` in shopify.app.toml, or the Partner Dashboard), to the same URL.
"""
from __future__ import annotations

import argparse
import os
import re
from datetime import datetime
from typing import Any

from ..errors import DomainError, InvalidInput, NotFound

API_VERSION = "2025-10"  # `uri` on WebhookSubscriptionInput (callbackUrl before) came in 2025-10
TOKEN_ENV = "SHOPIFY_ADMIN_TOKEN"
BASE_URL_ENV = "SHOPIFY_ADMIN_BASE_URL"  # tests point it at a fake Admin API on loopback
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")

LIST_QUERY = """query Subscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}"""
CREATE_MUTATION = """mutation Subscribe($topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"""


class ShopifyAdminError(DomainError):
    status = 502
    code = "shopify_admin_error"


def registered_topics() -> list[str]:
    """Every topic our Shopify route acts on (orders, fulfilments, returns, refunds, products)."""
    from ..storefronts import shopify
    from ..storefronts.shopify_products import DELETE_TOPIC, PRODUCT_TOPICS

    return sorted((shopify.SUPPORTED_TOPICS - shopify._IGNORED_TOPICS) | PRODUCT_TOPICS | {DELETE_TOPIC})


def compliance_topics() -> list[str]:
    from ..storefronts.shopify_privacy import PRIVACY_TOPICS

    return sorted(PRIVACY_TOPICS)


def graphql_topic(topic: str) -> str:
    """"orders/create" -> ORDERS_CREATE (WebhookSubscriptionTopic)."""
    return topic.upper().replace("/", "_")


def webhook_url(api_url: str, merchant_id: str) -> str:
    return f"{api_url.rstrip('/')}/webhooks/shopify/{merchant_id}"


def register(groups: argparse._SubParsersAction) -> None:
    group = groups.add_parser("shopify", help="register a shop's webhooks (Shopify Admin API)")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)
    command = commands.add_parser("register", help="subscribe every topic we handle to our webhook URL")
    command.add_argument("--merchant", required=True)
    command.add_argument("--shop", required=True, help="the shop's domain, e.g. acme.myshopify.com")
    command.add_argument("--token", help=f"Admin API access token (default: ${TOKEN_ENV}; keeps it out of history)")
    command.add_argument("--api-version", default=API_VERSION)
    command.add_argument("--admin-base-url", help=f"Admin API base (default https://SHOP; or ${BASE_URL_ENV})")
    command.add_argument("--webhook-base-url", help="our API's base URL (default: the stack's ApiUrl)")
    command.set_defaults(handler=register_webhooks)


class AdminApi:
    def __init__(self, base_url: str, token: str, api_version: str) -> None:
        from ..tracking.carriers.http import HttpClient, RetryPolicy

        # Shopify throttles by cost; the client retries 429 and 5xx with backoff (Retry-After first).
        self._http = HttpClient(base_url, provider="shopify-admin", headers={"X-Shopify-Access-Token": token},
                                retry=RetryPolicy(max_attempts=4))
        self._path = f"/admin/api/{api_version}/graphql.json"

    def call(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        from ..errors import RetryLater
        from ..tracking.carriers.http import CarrierRequestError

        try:
            answer = self._http.post(self._path, {"query": query, "variables": variables})
        except CarrierRequestError as error:
            raise ShopifyAdminError(f"the Admin API refused the call: {error}", field="--token"
                                    if error.status in (401, 403) else None) from None
        except RetryLater as error:
            raise ShopifyAdminError(f"the Admin API did not answer: {error}") from None
        if not isinstance(answer, dict) or answer.get("errors"):
            raise ShopifyAdminError(f"GraphQL errors: {answer.get('errors') if isinstance(answer, dict) else answer}")
        return answer.get("data") or {}

    def subscriptions(self) -> list[dict[str, Any]]:
        found, after = [], None
        while True:
            page = self.call(LIST_QUERY, {"after": after})["webhookSubscriptions"]
            found.extend(page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                return found
            after = page["pageInfo"]["endCursor"]

    def subscribe(self, topic: str, uri: str) -> dict[str, Any]:
        result = self.call(CREATE_MUTATION, {"topic": topic, "subscription": {"uri": uri}})["webhookSubscriptionCreate"]
        if result.get("userErrors"):
            raise ShopifyAdminError(f"{topic}: {result['userErrors']}", field=topic)
        return result["webhookSubscription"]


def register_webhooks(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.merchants import DynamoMerchantStore

    shop = arguments.shop.strip().lower()
    if not SHOP_DOMAIN.match(shop):
        raise InvalidInput("must be the shop's myshopify.com domain, e.g. acme.myshopify.com", field="--shop")
    token = arguments.token or os.environ.get(TOKEN_ENV)
    if not token:
        raise InvalidInput(f"give the Admin API access token (--token or ${TOKEN_ENV})", field="--token")
    merchant = DynamoMerchantStore().get(arguments.merchant)
    if merchant is None:
        raise NotFound(f"no merchant {arguments.merchant}", field="--merchant")
    uri = webhook_url(arguments.webhook_base_url or arguments.stack_info.output("ApiUrl"), arguments.merchant)
    api = AdminApi(arguments.admin_base_url or os.environ.get(BASE_URL_ENV) or f"https://{shop}", token,
                   arguments.api_version)
    existing = {(s["topic"], s.get("uri")) for s in api.subscriptions()}
    created, kept = [], []
    for topic in registered_topics():
        if (graphql_topic(topic), uri) in existing:
            kept.append(topic)
            continue
        api.subscribe(graphql_topic(topic), uri)
        created.append(topic)
    warnings = []
    from ..storage.merchants import secrets_of

    if not secrets_of(merchant).shopify_secret:
        warnings.append("the merchant has no Shopify webhook secret yet: deliveries are refused (401) until it is set")
    return {"merchant_id": arguments.merchant, "shop": shop, "webhook_url": uri, "api_version": arguments.api_version,
            "created": created, "already_registered": kept,
            "compliance_topics": {"topics": compliance_topics(), "url": uri,
                                  "note": "set these in the app's configuration (compliance_topics in "
                                          "shopify.app.toml or the Partner Dashboard); the Admin API cannot"},
            "warnings": warnings}
