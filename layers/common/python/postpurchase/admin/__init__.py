"""The operator CLI: `python -m postpurchase.admin` (`make admin ARGS=...`).

One module per command group (merchants, keys, dlq, customers, shopify, attention, inserts); each has
`register(subcommands)` adding its argparse commands, whose handlers take the parsed arguments
and return what is printed as JSON. Handlers import the storage and domain modules only when they
run, after stack.activate() has set the environment those modules read at import.
Not shipped in the Lambda layer (layers/common/Makefile removes it).
"""
from __future__ import annotations

import argparse
from typing import Callable


def register_backfill(groups: argparse._SubParsersAction, name: str, group_help: str, backfill_help: str,
                      handler: Callable, command: str = "backfill") -> None:
    """`NAME COMMAND [--merchant M] [--dry-run]`: the shape of every one-off index backfill
    (attention.py, messages.py, inserts.py)."""
    group = groups.add_parser(name, help=group_help)
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)
    backfill = commands.add_parser(command, help=backfill_help)
    backfill.add_argument("--merchant", help="only this merchant's items (default: every merchant)")
    backfill.add_argument("--dry-run", action="store_true", help="count what would change; write nothing")
    backfill.set_defaults(handler=handler)


def set_unless_changed(record, actions: list, condition) -> bool:
    """One backfill write: False when the condition failed (a newer write won), so the caller
    counts it as `changed_meanwhile` instead of overwriting (inserts.py, messages.py)."""
    from pynamodb.exceptions import UpdateError

    try:
        record.update(actions=actions, condition=condition)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True
