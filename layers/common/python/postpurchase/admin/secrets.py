"""`secrets show|set|rotate|retire`: a merchant's storefront and carrier webhook secrets.

A rotation keeps the replaced value accepted (both verify) until it is retired or its
`--overlap-hours` pass; `set` replaces outright. A new value comes from `--value-env VAR`, from
standard input (one line), or `--generate` (random, printed this once, for secrets we choose
and then enter at the sender: WooCommerce, EasyPost). Nothing else prints a value.
"""
from __future__ import annotations

import argparse
import os
import secrets as random
import sys
from datetime import datetime, timedelta

from ..errors import InvalidInput, NotFound

# CLI name -> MerchantSecretValues field
NAMES = {"shopify": "shopify_secret", "woocommerce": "woocommerce_secret",
         "easypost": "easypost_webhook_secret", "aftership": "aftership_webhook_secret"}
MAX_OVERLAP_HOURS = 24 * 30


def register(groups: argparse._SubParsersAction) -> None:
    group = groups.add_parser("secrets", help="set, rotate and retire storefront/carrier webhook secrets")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)

    show = commands.add_parser("show", help="which secrets are set, previous values and until when (no values)")
    show.add_argument("--merchant", required=True)
    show.set_defaults(handler=show_secrets)

    for name, handler, text in (("set", set_secret, "replace a secret (the old one stops at once)"),
                                ("rotate", rotate, "a new secret; the old one stays accepted for the overlap")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--merchant", required=True)
        command.add_argument("secret", choices=sorted(NAMES))
        source = command.add_mutually_exclusive_group()
        source.add_argument("--value-env", metavar="VAR", help="read the new value from this environment variable")
        source.add_argument("--generate", action="store_true", help="a random value, printed this once")
        if name == "rotate":
            command.add_argument("--overlap-hours", type=float,
                                 help="accept the old value this long (default: until `secrets retire`)")
        command.set_defaults(handler=handler)

    retire = commands.add_parser("retire", help="stop accepting the value the last rotation replaced")
    retire.add_argument("--merchant", required=True)
    retire.add_argument("secret", choices=sorted(NAMES))
    retire.set_defaults(handler=retire_secret)


def _merchant(merchant_id: str):
    from ..storage.merchants import DynamoMerchantStore

    merchant = DynamoMerchantStore().get(merchant_id)
    if merchant is None:
        raise NotFound(f"no merchant {merchant_id}", field="--merchant")
    return merchant


def _new_value(arguments: argparse.Namespace) -> tuple[str, bool]:
    if arguments.generate:
        return f"whsec_{random.token_urlsafe(32)}", True
    if arguments.value_env:
        value = os.environ.get(arguments.value_env, "")
    else:
        value = sys.stdin.readline()
    value = value.strip()
    if not value or len(value) > 1024 or any(ord(c) < 32 for c in value):
        raise InvalidInput("the new secret is empty, too long or has control characters",
                           field="--value-env" if arguments.value_env else "stdin")
    return value, False


def _state(values, now: datetime) -> dict:
    state = {}
    for cli_name, name in NAMES.items():
        old = values.previous.get(name)
        state[cli_name] = {"set": bool(getattr(values, name)),
                           "previous": None if old is None else {"until": old.until or "retired by hand",
                                                                 "accepted_now": old.accepted_at(now)}}
    return {"secrets": state, "carrier_api_key": bool(values.carrier_api_key),
            "webhook_signing_secret": bool(values.webhook_secret), "revision": values.revision}


def show_secrets(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.merchants import secrets_of

    merchant = _merchant(arguments.merchant)
    return {"merchant_id": merchant.merchant_id, **_state(secrets_of(merchant, now), now)}


def _answer(merchant_id: str, values, now: datetime, value: str, generated: bool) -> dict:
    answer = {"merchant_id": merchant_id, **_state(values, now)}
    if generated:
        answer["value"] = value
        answer["note"] = "the generated secret is shown this once; enter it at the sender now"
    return answer


def set_secret(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.merchants import update_secrets

    merchant = _merchant(arguments.merchant)
    value, generated = _new_value(arguments)
    values = update_secrets(merchant, now, **{NAMES[arguments.secret]: value})
    return _answer(merchant.merchant_id, values, now, value, generated)


def rotate(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.merchants import rotate_secret

    hours = arguments.overlap_hours
    if hours is not None and not 0 < hours <= MAX_OVERLAP_HOURS:
        raise InvalidInput(f"--overlap-hours must be more than 0 and at most {MAX_OVERLAP_HOURS}",
                           field="--overlap-hours")
    merchant = _merchant(arguments.merchant)
    value, generated = _new_value(arguments)
    values = rotate_secret(merchant, now, NAMES[arguments.secret], value,
                           timedelta(hours=hours) if hours is not None else None)
    return _answer(merchant.merchant_id, values, now, value, generated)


def retire_secret(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.merchants import retire_secret as retire, secrets_of

    merchant = _merchant(arguments.merchant)
    name = NAMES[arguments.secret]
    if name not in secrets_of(merchant, now).previous:
        return {"merchant_id": merchant.merchant_id, "retired": "already", **_state(secrets_of(merchant, now), now)}
    values = retire(merchant, now, name)
    return {"merchant_id": merchant.merchant_id, "retired": arguments.secret, **_state(values, now)}
