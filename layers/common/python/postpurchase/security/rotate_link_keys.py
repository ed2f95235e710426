"""Operator command: rotate the link-signing keys in their Secrets Manager secret.

    python -m postpurchase.security.rotate_link_keys --secret-id ARN            # add a key, switch to it
    python -m postpurchase.security.rotate_link_keys --secret-id ARN --show     # key ids and dates only
    python -m postpurchase.security.rotate_link_keys --secret-id ARN --retire k1

A rotation adds a new key and makes it the active one from `--delay-minutes` (15) later: the
functions cache the keyring for up to 10 minutes, and one that signed with a key another does
not know yet would hand out a link that fails there. The old keys keep verifying until retired,
which is refused before the longest link lifetime has passed since the key last signed (400
days: the unsubscribe links; order links live 180). boto3 honours AWS_ENDPOINT_URL, so this
runs against the local runtime's moto as well. Key material is never printed.
"""
from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

from .tokens import Keyring

DEFAULT_DELAY = timedelta(minutes=15)
# The longest lifetime of any signed link (messaging/links.py UNSUBSCRIBE_LINK_TTL; order links
# default to 180 days, ORDER_LINK_TTL_DAYS allows up to 730: pass --link-lifetime-days then).
LONGEST_LINK_LIFETIME = timedelta(days=400)


class RotationRefused(Exception):
    pass


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _next_kid(keys: dict[str, str]) -> str:
    numbers = [int(m.group(1)) for kid in keys if (m := re.fullmatch(r"k(\d+)", kid))]
    return f"k{max(numbers, default=-1) + 1}"


def rotated(document: dict[str, Any], now: datetime, delay: timedelta = DEFAULT_DELAY,
            new_key: str | None = None) -> dict[str, Any]:
    """The document with a new key that becomes active at now + delay (the current one signs until then)."""
    current = Keyring.from_document(document, now)
    if document.get("activate_at") and now < _parse(document["activate_at"]):
        raise RotationRefused(f"key {document['active']} is not active yet ({document['activate_at']}); "
                              "rotate again after that")
    keys = dict(document["keys"])
    kid = _next_kid(keys)
    keys[kid] = new_key or secrets.token_urlsafe(48)
    activate_at = now + delay
    out = {**document, "active": kid, "previous": current.active, "activate_at": _iso(activate_at), "keys": keys}
    out["added"] = {**document.get("added", {}), kid: _iso(now)}
    # When each key stopped signing: what retiring it waits on.
    out["deactivated"] = {**document.get("deactivated", {}), current.active: _iso(activate_at)}
    Keyring.from_document(out, now)  # what the functions will load must be valid
    return out


def retired(document: dict[str, Any], kid: str, now: datetime, lifetime: timedelta = LONGEST_LINK_LIFETIME,
            force: bool = False) -> dict[str, Any]:
    """The document without `kid`, once no link it signed can still be valid."""
    keys = dict(document.get("keys") or {})
    if kid not in keys:
        raise RotationRefused(f"no key {kid!r} in the keyring (keys: {', '.join(sorted(keys))})")
    if kid in (document.get("active"), Keyring.from_document(document, now).active):
        raise RotationRefused(f"key {kid} signs links (or is about to): rotate first")
    stopped = (document.get("deactivated") or {}).get(kid)
    if not force:
        if stopped is None:
            raise RotationRefused(f"when key {kid} last signed is not recorded: pass --force if you know "
                                  f"it was more than {lifetime.days} days ago")
        if now < _parse(stopped) + lifetime:
            raise RotationRefused(f"key {kid} signed links until {stopped}; they may be valid until "
                                  f"{_iso(_parse(stopped) + lifetime)}")
    del keys[kid]
    out = {**document, "keys": keys}
    for field in ("added", "deactivated"):
        if field in out:
            out[field] = {k: v for k, v in out[field].items() if k != kid}
    if out.get("legacy") == kid:  # links of the first format stop verifying with it
        del out["legacy"]
    if out.get("previous") == kid:
        del out["previous"]
        out.pop("activate_at", None)
    Keyring.from_document(out, now)
    return out


def summary(document: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What an operator may see: key ids, which signs, dates; never a key."""
    keyring = Keyring.from_document(document, now)
    return {"signing_now": keyring.active, "active": document.get("active"),
            "activate_at": document.get("activate_at"), "legacy": document.get("legacy"),
            "keys": {kid: {"added": (document.get("added") or {}).get(kid),
                           "stopped_signing": (document.get("deactivated") or {}).get(kid)}
                     for kid in sorted(keyring.keys)}}


def main(argv: list[str] | None = None, *, client: Any = None, now: datetime | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m postpurchase.security.rotate_link_keys",
                                     description="Rotate or retire the link-signing keys.")
    parser.add_argument("--secret-id", required=True, help="ARN or name of the LinkSigningKeys secret")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--retire", metavar="KID", help="remove a key that no valid link can still use")
    action.add_argument("--show", action="store_true", help="print key ids and dates, change nothing")
    parser.add_argument("--delay-minutes", type=float, default=DEFAULT_DELAY.total_seconds() / 60,
                        help="minutes before the new key signs (>= the functions' cache, 10 min at most)")
    parser.add_argument("--link-lifetime-days", type=int, default=LONGEST_LINK_LIFETIME.days,
                        help="how long after a key last signed it may be retired")
    parser.add_argument("--force", action="store_true", help="retire even when the dates say not yet")
    args = parser.parse_args(argv)
    if client is None:
        import boto3

        client = boto3.client("secretsmanager")
    now = now or datetime.now(timezone.utc)
    document = json.loads(client.get_secret_value(SecretId=args.secret_id)["SecretString"])
    try:
        if args.show:
            changed = None
        elif args.retire:
            changed = retired(document, args.retire, now, timedelta(days=args.link_lifetime_days), args.force)
        else:
            changed = rotated(document, now, timedelta(minutes=args.delay_minutes))
    except RotationRefused as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 2
    if changed is not None:
        client.put_secret_value(SecretId=args.secret_id, SecretString=json.dumps(changed))
    print(json.dumps(summary(changed or document, now), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
