"""The local merchant `demo-store`, with documented development credentials.

Environment variables override each credential (DEMO_API_KEY, DEMO_SHOPIFY_SECRET,
DEMO_WOO_SECRET, DEMO_EASYPOST_SECRET, DEMO_AFTERSHIP_SECRET), so a shared dev box need not use
the published ones.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone

DEMO_MERCHANT_ID = "demo-store"
DEMO_SENDER_DOMAIN = "demo-store.example"
# Shopify webhooks for demo-store must name this shop in X-Shopify-Shop-Domain.
DEMO_SHOPIFY_SHOP_DOMAIN = "demo-store.myshopify.com"


@dataclass(frozen=True)
class DemoCredentials:
    merchant_id: str
    api_key: str
    shopify_secret: str
    woocommerce_secret: str
    easypost_secret: str
    aftership_secret: str
    shopify_shop_domain: str = DEMO_SHOPIFY_SHOP_DOMAIN  # X-Shopify-Shop-Domain of its webhooks


def demo_credentials() -> DemoCredentials:
    return DemoCredentials(
        merchant_id=DEMO_MERCHANT_ID,
        api_key=os.environ.get("DEMO_API_KEY", "demo-store-local-key"),
        shopify_secret=os.environ.get("DEMO_SHOPIFY_SECRET", "demo-shopify-secret"),
        woocommerce_secret=os.environ.get("DEMO_WOO_SECRET", "demo-woo-secret"),
        easypost_secret=os.environ.get("DEMO_EASYPOST_SECRET", "demo-easypost-secret"),
        aftership_secret=os.environ.get("DEMO_AFTERSHIP_SECRET", "demo-aftership-secret"),
    )


def seed_demo_store(now: datetime | None = None) -> DemoCredentials:
    """Create the demo merchant, its API key (stored as a hash), its secret (Secrets Manager:
    the webhook secrets) and a verified SES sender domain."""
    import boto3

    from postpurchase.messaging.requests import MerchantBranding
    from postpurchase.storage.merchants import DynamoMerchantStore, Merchant, TrackingSettings, update_secrets

    now = now or datetime.now(timezone.utc)
    credentials = demo_credentials()
    store = DynamoMerchantStore()
    merchant = Merchant(
        branding=MerchantBranding(
            merchant_id=credentials.merchant_id, name="Demo Store",
            from_email=f"orders@{DEMO_SENDER_DOMAIN}", support_email=f"help@{DEMO_SENDER_DOMAIN}",
            brand_color="#0f766e", website_url=f"https://{DEMO_SENDER_DOMAIN}", default_locale="en"),
        tracking=TrackingSettings(provider="sandbox"), shopify_shop_domain=DEMO_SHOPIFY_SHOP_DOMAIN)
    store.save(merchant, now)
    # Parcels move on the sandbox carrier locally; EasyPost/AfterShip webhooks verify with the
    # development secrets, so both can be exercised with curl.
    update_secrets(merchant, now, shopify_secret=credentials.shopify_secret,
                   woocommerce_secret=credentials.woocommerce_secret,
                   easypost_webhook_secret=credentials.easypost_secret,
                   aftership_webhook_secret=credentials.aftership_secret)
    store.add_api_key(credentials.merchant_id, credentials.api_key, now)
    boto3.client("sesv2", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1")).create_email_identity(
        EmailIdentity=DEMO_SENDER_DOMAIN)
    return credentials
