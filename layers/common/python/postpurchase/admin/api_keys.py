"""`keys create|list|revoke`: a merchant's API keys (a new key is printed once, never stored)."""
from __future__ import annotations

import argparse
from datetime import datetime

from ..errors import NotFound

REVOKE_NOTE = ("the API caches a key for up to 60 s per container: requests with it may still "
               "succeed for a minute")


def register(groups: argparse._SubParsersAction) -> None:
    group = groups.add_parser("keys", help="create, list and revoke a merchant's API keys")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)
    create = commands.add_parser("create", help="a new API key (printed once)")
    create.add_argument("--merchant", required=True)
    create.add_argument("--label", default="", help="what the key is for (e.g. 'shopify app', 'erp')")
    create.set_defaults(handler=create_key)
    listing = commands.add_parser("list", help="the merchant's keys: id, label, created, revoked")
    listing.add_argument("--merchant", required=True)
    listing.set_defaults(handler=list_keys)
    revoke = commands.add_parser("revoke", help="revoke a key by its id (the 8 hex digits `list` shows)")
    revoke.add_argument("--merchant", required=True)
    revoke.add_argument("key_id")
    revoke.add_argument("--force", action="store_true", help="even the merchant's last active key")
    revoke.set_defaults(handler=revoke_key)


def _known_merchant(merchant_id: str) -> None:
    from ..storage.merchants import DynamoMerchantStore

    if DynamoMerchantStore().get(merchant_id) is None:
        raise NotFound(f"no merchant {merchant_id}", field="--merchant")


def create_key(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.api_keys import DynamoApiKeys

    _known_merchant(arguments.merchant)
    api_key, info = DynamoApiKeys().create(arguments.merchant, arguments.label, now)
    return {"merchant_id": arguments.merchant, "api_key": api_key, "key": info.view(),
            "note": "the API key is shown this once"}


def list_keys(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.api_keys import DynamoApiKeys

    _known_merchant(arguments.merchant)
    return {"merchant_id": arguments.merchant, "keys": [info.view() for info in DynamoApiKeys().list(arguments.merchant)]}


def revoke_key(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.api_keys import DynamoApiKeys

    info, revoked_now = DynamoApiKeys().revoke(arguments.merchant, arguments.key_id, now, force=arguments.force)
    return {"merchant_id": arguments.merchant, "key": info.view(),
            "revoked": "now" if revoked_now else "already", "note": REVOKE_NOTE}
