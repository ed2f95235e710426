"""`merchants create|show`: a new merchant (settings and first API key, shown once)."""
from __future__ import annotations

import argparse
import re
from datetime import datetime

from ..errors import InvalidInput

# Stricter than the API's identifiers (no '#', blanks or controls; 128 at most), which a new
# merchant id must also be: it is a URL path segment (/webhooks/shopify/{m}, /pages/{m}/...) and a
# field of '|'-joined index keys, so only lower-case letters, digits and inner hyphens.
MERCHANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def check_merchant_id(value: str) -> str:
    from ..orders.models import _identifier

    if not MERCHANT_ID.match(value or ""):
        raise InvalidInput("a merchant id is 1-64 lower-case letters, digits and inner hyphens (e.g. acme-shop)",
                           field="merchant_id")
    return _identifier(value)


def register(groups: argparse._SubParsersAction) -> None:
    group = groups.add_parser("merchants", help="create and show merchants")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)
    create = commands.add_parser("create", help="a new merchant and its first API key (printed once)")
    create.add_argument("merchant_id")
    create.add_argument("--name", required=True, help="the shop's name, as emails show it")
    create.add_argument("--from-email", required=True, help="sender address (its domain verified in SES)")
    create.add_argument("--support-email")
    create.add_argument("--reply-to")
    create.add_argument("--locale", default="en", help="default language of emails (en, tr, ar, ...)")
    create.add_argument("--brand-color", default="#1f6feb", help="#rrggbb")
    create.add_argument("--website", help="https://...")
    create.add_argument("--logo-url")
    create.add_argument("--key-label", default="first key")
    create.set_defaults(handler=create_merchant)
    show = commands.add_parser("show", help="a merchant's settings (no secrets) and API keys")
    show.add_argument("merchant_id")
    show.set_defaults(handler=show_merchant)


def branding_from(arguments: argparse.Namespace):
    """The MerchantBranding of `merchants create`, with errors naming the option."""
    from pydantic import ValidationError

    from ..messaging.requests import MerchantBranding

    check_merchant_id(arguments.merchant_id)
    options = {"merchant_id": "merchant_id", "name": "--name", "from_email": "--from-email",
               "support_email": "--support-email", "reply_to": "--reply-to", "default_locale": "--locale",
               "brand_color": "--brand-color", "website_url": "--website", "logo_url": "--logo-url"}
    values = {"merchant_id": arguments.merchant_id, "name": arguments.name, "from_email": arguments.from_email,
              "support_email": arguments.support_email, "reply_to": arguments.reply_to,
              "default_locale": arguments.locale, "brand_color": arguments.brand_color,
              "website_url": arguments.website, "logo_url": arguments.logo_url}
    try:
        branding = MerchantBranding.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInput(f"{first['msg']}", field=options.get(str(first["loc"][0]), str(first["loc"][0]))) from None
    for option, url in (("--website", branding.website_url), ("--logo-url", branding.logo_url)):
        if url is not None and not url.startswith("https://"):
            raise InvalidInput("must be an https:// URL", field=option)
    from ..messaging.catalogs import LOCALE_DIR, available_languages, candidates

    if not any(c.lower() in available_languages(LOCALE_DIR) for c in candidates(branding.default_locale)):
        raise InvalidInput(f"no email catalog for {branding.default_locale!r}", field="--locale")
    return branding


def create_merchant(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.merchants import DynamoMerchantStore, Merchant

    branding = branding_from(arguments)
    api_key, info = DynamoMerchantStore().create(Merchant(branding=branding), now, arguments.key_label)
    return {"merchant_id": branding.merchant_id, "settings": branding.model_dump(mode="json"),
            "api_key": api_key, "key": info.view(),
            "note": "the API key is shown this once; store it in the storefront's configuration now"}


def show_merchant(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..errors import NotFound
    from ..storage.api_keys import DynamoApiKeys
    from ..storage.merchants import DynamoMerchantStore

    from ..storage.merchants import secrets_of

    merchant = DynamoMerchantStore().get(arguments.merchant_id)
    if merchant is None:
        raise NotFound(f"no merchant {arguments.merchant_id}", field="merchant_id")
    secrets = secrets_of(merchant)
    return {"merchant_id": merchant.merchant_id, "settings": merchant.branding.model_dump(mode="json"),
            "tracking_provider": merchant.tracking.provider,
            "shopify_shop_domain": merchant.shopify_shop_domain,
            "storefront_secrets": {"shopify": secrets.shopify_secret is not None,
                                   "woocommerce": secrets.woocommerce_secret is not None},
            "api_keys": [info.view() for info in DynamoApiKeys().list(merchant.merchant_id)]}
