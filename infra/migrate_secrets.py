"""One-off: move the plain secrets an older deployment stored on merchant items into Secrets Manager.

Deployments before merchant secrets moved to Secrets Manager kept `shopify_secret`,
`woocommerce_secret`, the carrier API key, the EasyPost/AfterShip webhook secrets and the
merchant webhook signing secret on the merchant's `SETTINGS` item. The API function moves a
merchant's on its first read of them; this command moves every merchant's at once, so no plain
secret waits in the table for a webhook that may never come:

    # the API function's configuration (TABLE_NAME, MERCHANT_SECRETS_PREFIX, ...) as the environment
    eval "$(aws lambda get-function-configuration --function-name <stack's ApiFunction> \\
      --query Environment.Variables --output json | jq -r 'to_entries[] | "export \\(.key)=\\(.value)"')"
    python -m infra.migrate_secrets --dry-run    # lists the merchants it would move
    python -m infra.migrate_secrets

It needs dynamodb:Scan and UpdateItem on the table and secretsmanager:GetSecretValue,
PutSecretValue, CreateSecret and TagResource on the prefix (an administrator's credentials,
not a function's role). Running it twice is harmless: a moved merchant has nothing left to move.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

LAYER = Path(__file__).resolve().parents[1] / "layers" / "common" / "python"


def migrate_all(*, dry_run: bool = False) -> list[str]:
    """Move every merchant's plain secrets; returns the ids of the merchants that had some."""
    from postpurchase.storage import keys
    from postpurchase.storage.merchants import DynamoMerchantStore, migrate_secrets
    from postpurchase.storage.table import MerchantRecord

    store = DynamoMerchantStore()
    moved: list[str] = []
    # An admin tool may Scan (DESIGN.md); merchant items are few.
    for record in MerchantRecord.scan(MerchantRecord.sk == keys.SETTINGS_SK):
        merchant_id = record.merchant_id
        merchant = store.get(merchant_id)
        if merchant is None or merchant.legacy_secrets is None:
            continue
        moved.append(merchant_id)
        if not dry_run:
            migrate_secrets(merchant)
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="list the merchants with plain secrets, move nothing")
    args = parser.parse_args(argv)
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))
    from postpurchase.config import ConfigurationError, settings

    try:
        settings()
    except ConfigurationError as error:
        parser.error(str(error))
    moved = migrate_all(dry_run=args.dry_run)
    verb = "would move" if args.dry_run else "moved"
    print(f"{verb} the plain secrets of {len(moved)} merchant(s){': ' + ', '.join(moved) if moved else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
