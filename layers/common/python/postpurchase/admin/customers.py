"""`customers emails|export|erase|requests`: one customer's sent emails and their data rights.

A customer is named by id (`--customer`, the storefront's) and/or email (`--email`: guest orders
are under an id made from it); `--order` adds orders of theirs that gsi1 no longer lists.
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

from ..errors import InvalidInput, NotFound


def register(groups: argparse._SubParsersAction) -> None:
    group = groups.add_parser("customers", help="emails sent to a customer; export and erase their data")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)

    emails = commands.add_parser("emails", help="every email the send ledger holds for a customer")
    emails.add_argument("--merchant", required=True)
    emails.add_argument("--customer", required=True)
    emails.set_defaults(handler=list_emails)

    for name, handler, text in (("export", export_customer, "every item about a customer, as JSON"),
                                ("erase", erase_customer, "erase a customer's data (GDPR); a dry run without --yes")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--merchant", required=True)
        command.add_argument("--customer", help="the storefront's customer id")
        command.add_argument("--email", help="the customer's email (finds guest orders)")
        command.add_argument("--order", action="append", default=[], help="an order of theirs (repeatable)")
        command.set_defaults(handler=handler)
        if name == "export":
            command.add_argument("--out", type=Path, help="write the export here instead of printing it")
            command.add_argument("--request", help="the data request this export answers (marks it exported)")
        else:
            command.add_argument("--yes", action="store_true", help="really erase (without it: what would change)")

    requests = commands.add_parser("requests", help="customers' data requests received from storefronts")
    requests.add_argument("--merchant", required=True)
    requests.set_defaults(handler=list_requests)


def _ids(arguments: argparse.Namespace) -> list[str]:
    from ..storage.privacy import customer_ids_for

    if not arguments.customer and not arguments.email:
        raise InvalidInput("name the customer: --customer ID and/or --email ADDRESS", field="--customer")
    return customer_ids_for(arguments.customer, arguments.email)


def _emails(arguments: argparse.Namespace) -> list[str]:
    """The address named (its support conversations are found by it, even without an order)."""
    return [arguments.email] if arguments.email else []


def list_emails(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.privacy import emails_sent

    entries, queries = emails_sent(arguments.merchant, arguments.customer)
    return {"merchant_id": arguments.merchant, "customer_id": arguments.customer, "emails": entries,
            "queries": queries}


def export_customer(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.privacy import data_requests, export, find, mark_exported

    found = find(arguments.merchant, _ids(arguments), arguments.order, _emails(arguments))
    document = export(found, now)
    if arguments.request:
        if arguments.request not in {r["request_id"] for r in data_requests(arguments.merchant)}:
            raise NotFound(f"no data request {arguments.request} for {arguments.merchant}", field="--request")
        mark_exported(arguments.merchant, arguments.request, now)
    if arguments.out is None:
        return document
    arguments.out.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return {"written": str(arguments.out), "item_count": document["item_count"], "order_ids": document["order_ids"],
            "queries": found.queries}


def erase_customer(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.privacy import erase, find, plan

    ids = _ids(arguments)
    if arguments.yes:
        return {"erased": True, **erase(arguments.merchant, ids, arguments.order, now, _emails(arguments))}
    found = find(arguments.merchant, ids, arguments.order, _emails(arguments))
    return {"erased": False, "merchant_id": arguments.merchant, "customer_ids": ids, "orders": found.order_ids,
            "would": plan(found), "note": "nothing changed: run again with --yes to erase"}


def list_requests(arguments: argparse.Namespace, now: datetime) -> dict:
    from ..storage.privacy import data_requests

    return {"merchant_id": arguments.merchant, "requests": data_requests(arguments.merchant)}
