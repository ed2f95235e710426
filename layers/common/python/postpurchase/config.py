"""Configuration: environment variables set in template.yaml, read and validated in one place.

Every function reads the same variables (declared under Globals in template.yaml), so a
missing one fails fast at cold start with the variable's name instead of a KeyError deep
inside a request.
"""
from __future__ import annotations

import os
from functools import lru_cache

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, ValidationError

if TYPE_CHECKING:
    from .security.outbound import OutboundPolicy


class Settings(BaseModel):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    idempotency_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=1)
    order_events_queue_url: str = Field(alias="ORDER_EVENTS_QUEUE_URL", min_length=1)
    outbound_email_queue_url: str = Field(alias="OUTBOUND_EMAIL_QUEUE_URL", min_length=1)
    tracking_queue_url: str = Field(alias="TRACKING_QUEUE_URL", min_length=1)
    return_events_queue_url: str = Field(alias="RETURN_EVENTS_QUEUE_URL", min_length=1)
    campaign_queue_url: str = Field(alias="CAMPAIGN_QUEUE_URL", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    # Merchant webhooks must be https to a global address (security/outbound.py); the local
    # runtime alone allows http and loopback, to reach its own receivers on 127.0.0.1.
    webhooks_allow_http: bool = Field(alias="WEBHOOKS_ALLOW_HTTP", default=False)
    webhooks_allow_loopback: bool = Field(alias="WEBHOOKS_ALLOW_LOOPBACK", default=False)
    # The whole exchange with the merchant's endpoint: lookup, connect, TLS, request, answer.
    webhook_timeout_seconds: float = Field(alias="WEBHOOK_TIMEOUT_SECONDS", default=5.0, gt=0, le=20)
    # A merchant webhook that fails is re-published with a growing delay up to this (SQS's limit is
    # 900 s); the local runtime lowers it, since SQS delays are real seconds even on simulated time.
    webhook_retry_max_delay_seconds: int = Field(alias="WEBHOOK_RETRY_MAX_DELAY_SECONDS", default=900, ge=0,
                                                 le=900)
    ses_configuration_set: str = Field(alias="SES_CONFIGURATION_SET", min_length=1)
    # A status change waits this long before its notice is picked, so a burst of scans
    # (in transit, out for delivery, delivered within a minute) sends one email, not three.
    notice_debounce_seconds: int = Field(alias="NOTICE_DEBOUNCE_SECONDS", default=120, ge=0, le=900)
    # Partitions of the sparse indexes the poller and the message scheduler read (one Query each
    # per run): chosen at the first deploy, as lowering them strands entries in higher shards.
    due_index_shards: int = Field(alias="DUE_INDEX_SHARDS", default=8, ge=1, le=64)
    poll_index_shards: int = Field(alias="POLL_INDEX_SHARDS", default=16, ge=1, le=64)
    # Shipments one poller sweep enqueues per shard at most; the rest wait for the next sweep.
    poll_sweep_limit: int = Field(alias="POLL_SWEEP_LIMIT", default=1000, ge=1)
    # Secrets Manager secret holding the link-signing keyring (security/tokens.py), read only by
    # the functions that sign or verify links. Cached at most 10 minutes: a rotation waits 15
    # before signing with a new key, so every container knows it by then (docs/architecture.md).
    link_keys_secret_arn: str = Field(alias="LINK_KEYS_SECRET_ARN", min_length=1)
    link_keys_max_age_seconds: int = Field(alias="LINK_KEYS_MAX_AGE_SECONDS", default=300, ge=0, le=600)
    public_base_url: str = Field(alias="PUBLIC_BASE_URL", min_length=1)
    # Merchants' webhook and carrier secrets are Secrets Manager secrets named prefix + merchant id
    # (template.yaml grants reading them to the functions that verify or sign, and only there).
    merchant_secrets_prefix: str = Field(alias="MERCHANT_SECRETS_PREFIX", min_length=2,
                                         pattern=r"^[A-Za-z0-9/_+=.@-]+/$")
    # How long a container serves a merchant's secret from its cache (a rotation is seen sooner:
    # security/merchant_secrets.py, revisions).
    merchant_secrets_max_age_seconds: int = Field(alias="MERCHANT_SECRETS_MAX_AGE_SECONDS", default=300, ge=0,
                                                  le=3600)
    # Carrier APIs (tracking/carriers/http.py): the connect and read budget of one attempt, and
    # the base URLs, which only a local run changes (infra/chaos points them at its fake carrier;
    # unset, the clients use the providers' production URLs).
    carrier_connect_timeout_seconds: float = Field(alias="CARRIER_CONNECT_TIMEOUT_SECONDS", default=5.0, gt=0,
                                                   le=30)
    carrier_read_timeout_seconds: float = Field(alias="CARRIER_READ_TIMEOUT_SECONDS", default=15.0, gt=0, le=60)
    easypost_base_url: str | None = Field(alias="EASYPOST_BASE_URL", default=None)
    aftership_base_url: str | None = Field(alias="AFTERSHIP_BASE_URL", default=None)
    order_link_ttl_days: int = Field(alias="ORDER_LINK_TTL_DAYS", default=180, ge=1, le=730)
    # The merchant console's session cookie (console/session.py): its lifetime, and Secure, which
    # only the local runtime (plain http on localhost) turns off.
    console_session_hours: int = Field(alias="CONSOLE_SESSION_HOURS", default=8, ge=1, le=24)
    console_cookie_secure: bool = Field(alias="CONSOLE_COOKIE_SECURE", default=True)
    # Per-merchant token bucket on the authenticated API calls (security/rate_limit.py): tokens
    # a second and bucket size. template.yaml sets both on the API function; 0 turns it off
    # (the default, for the local runtime and the tests that do not exercise it).
    merchant_api_rate_per_second: float = Field(alias="MERCHANT_API_RATE_PER_SECOND", default=0, ge=0, le=10_000)
    merchant_api_burst: int = Field(alias="MERCHANT_API_BURST", default=40, ge=1, le=100_000)
    max_body_bytes: int = Field(alias="MAX_BODY_BYTES", default=262_144, ge=1024)
    # How long an "in progress" email claim may stand before it is treated as possibly sent.
    # Must exceed the email_sender Timeout (30 s in template.yaml): an older claim is certainly dead.
    email_claim_timeout_seconds: int = Field(alias="EMAIL_CLAIM_TIMEOUT_SECONDS", default=120, ge=30)
    idempotency_ttl_seconds: int = Field(alias="IDEMPOTENCY_TTL_SECONDS", default=7 * 86400, ge=60)
    # Packing-insert batches (postpurchase/insert/batches.py): their queue, the bucket of their
    # PDFs, and how long a download link lasts. Set under Globals; None only outside a deployment.
    insert_batch_queue_url: str | None = Field(alias="INSERT_BATCH_QUEUE_URL", default=None)
    inserts_bucket: str | None = Field(alias="INSERTS_BUCKET", default=None)
    insert_url_ttl_seconds: int = Field(alias="INSERT_URL_TTL_SECONDS", default=900, ge=60, le=86400)
    aws_region: str = Field(alias="AWS_REGION", default="us-east-1")
    # Storefront reviews (reviews/): the bucket of review photos (uploads/ private, public/ served)
    # and the feeds (public/feeds/), the URL public/ is served from, and how long browsers and CDNs
    # may keep a public review read.
    review_media_bucket: str = Field(alias="REVIEW_MEDIA_BUCKET", default="postpurchase-review-media")
    review_media_base_url: str = Field(alias="REVIEW_MEDIA_BASE_URL", default="https://media.invalid")
    review_cache_seconds: int = Field(alias="REVIEW_CACHE_SECONDS", default=300, ge=0, le=86400)
    # Support (postpurchase.support): the domain SES receives support mail on; replies carry
    # Reply-To {merchant}@{domain} and Message-IDs of that domain. Empty: no inbound mail.
    support_mail_domain: str = Field(alias="SUPPORT_MAIL_DOMAIN", default="", pattern=r"^([a-z0-9-]+(\.[a-z0-9-]+)+)?$")
    # The bucket SES stores support mail in (raw mail inbound/, attachments/): an erasure deletes a
    # customer's objects there (storage/privacy.py).
    support_mail_bucket: str = Field(alias="SUPPORT_MAIL_BUCKET", default="")


class ConfigurationError(RuntimeError):
    pass


@lru_cache(maxsize=1)
def settings() -> Settings:
    env = dict(os.environ)
    env.setdefault("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1"))
    try:
        return Settings.model_validate(env)
    except ValidationError as exc:
        problems = ", ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"invalid environment configuration: {problems}") from None


def outbound_policy() -> "OutboundPolicy":
    """What a request to a merchant-chosen URL may reach in this deployment."""
    from .security.outbound import OutboundPolicy

    config = settings()
    return OutboundPolicy(allow_http=config.webhooks_allow_http, allow_loopback=config.webhooks_allow_loopback)


def reset() -> None:
    """Forget the cached settings (tests and the local runtime change the environment)."""
    settings.cache_clear()
