"""`python -m postpurchase.admin [--local | --stack NAME] GROUP COMMAND ...`; see --help."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Any, Callable, Sequence, TextIO

from . import api_keys, attention, customers, dlq, inserts, merchants, messages, reviews, secrets, shopify
from .stack import StackError, activate, read_cloudformation_stack, read_local_stack

GROUPS = (merchants, api_keys, dlq, customers, shopify, secrets, attention, messages, inserts, reviews)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m postpurchase.admin",
                                     description="Operate a postpurchase deployment (or `make local`).")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--local", nargs="?", const="", metavar="FILE",
                        help="the running `make local` (its .local/stack.json, or FILE); the default")
    target.add_argument("--stack", metavar="NAME", help="a deployed CloudFormation stack (outputs via boto3)")
    parser.add_argument("--region", help="AWS region of --stack (default: boto3's)")
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    for group in GROUPS:
        group.register(groups)
    return parser


def _stack(arguments: argparse.Namespace):
    if arguments.stack:
        return read_cloudformation_stack(arguments.stack, arguments.region)
    return read_local_stack(arguments.local or None)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None,
         now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> int:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    arguments = build_parser().parse_args(argv)
    try:
        arguments.stack_info = _stack(arguments)
        activate(arguments.stack_info)
        result: Any = arguments.handler(arguments, now())
    except StackError as error:
        print(json.dumps({"error": {"code": "stack", "message": str(error)}}), file=stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - domain errors (refusals, bad input) carry their answer
        from ..errors import DomainError

        if not isinstance(error, DomainError):
            raise
        print(json.dumps(error.as_body(), ensure_ascii=False), file=stderr)
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False, default=str), file=stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
