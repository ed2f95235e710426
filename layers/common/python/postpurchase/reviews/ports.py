"""The feed job's ports served by this deployment's adapters (DynamoDB, S3, merchant settings)."""
from __future__ import annotations

from .. import services
from ..config import settings
from .settings import ReviewSettings


class AwsFeedPorts:
    reviews = property(lambda self: services.review_store())

    def shop(self, merchant_id: str):  # noqa: ANN201 - MerchantBranding
        merchant = services.merchant_store().get(merchant_id)
        return merchant.branding if merchant else None

    def review_settings(self, merchant_id: str) -> ReviewSettings:
        return services.messaging_settings(merchant_id).reviews

    def write_feed(self, merchant_id: str, xml: bytes) -> str:
        from .views import feed_key

        key = feed_key(merchant_id)
        services.review_media().put(key, xml, "application/xml", "public, max-age=3600")
        return f"{settings().review_media_base_url.rstrip('/')}/{key}"

    def photo_url(self, key: str) -> str:
        return f"{settings().review_media_base_url.rstrip('/')}/{key}"


FEED_PORTS = AwsFeedPorts()
