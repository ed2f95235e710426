"""`dlq list|redrive`: what sits in each dead-letter queue, and moving it back to its queue.

moto (5.2) has no StartMessageMoveTask, so the move is ours, the same on AWS and locally: receive
a batch (hidden for VISIBILITY_SECONDS), send each body with its message attributes to the queue
the DLQ serves, delete what was sent. A crash between send and delete leaves a copy in both
queues; every consumer is idempotent, so that costs a duplicate delivery, not a duplicate effect.
"""
from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from typing import Any, Iterator

from ..errors import InvalidInput
from .stack import DEAD_LETTER_QUEUES

VISIBILITY_SECONDS = 60  # hides a received message from the rest of this run, then it reappears
BATCH = 10  # SQS's receive/send/delete batch limit


def register(groups: argparse._SubParsersAction) -> None:
    group = groups.add_parser("dlq", help="list and redrive the dead-letter queues")
    commands = group.add_subparsers(dest="command", metavar="COMMAND", required=True)
    listing = commands.add_parser("list", help="message counts of every DLQ, or the first messages of one")
    listing.add_argument("queue", nargs="?", choices=sorted(DEAD_LETTER_QUEUES))
    listing.add_argument("--limit", type=int, default=10, help="messages to summarise (default 10)")
    listing.set_defaults(handler=list_dlq)
    redrive = commands.add_parser("redrive", help="move a DLQ's messages back to the queue it serves")
    redrive.add_argument("queue", choices=sorted(DEAD_LETTER_QUEUES))
    redrive.add_argument("--dry-run", action="store_true", help="show what would move; move nothing")
    redrive.add_argument("--merchant", help="only this merchant's messages (the others stay)")
    redrive.add_argument("--max", type=int, default=10_000, help="move at most this many (default 10000)")
    redrive.set_defaults(handler=redrive_dlq)


def summarize(body: str, attributes: dict[str, str]) -> dict[str, Any]:
    """What an operator needs to judge a message: its type, merchant and order (pure)."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    data = data if isinstance(data, dict) else {}
    nested = [value for value in data.values() if isinstance(value, dict)]

    def find(*names: str) -> Any:
        for source in [data, *nested]:
            for name in names:
                if isinstance(source.get(name), (str, int)) and not isinstance(source.get(name), bool):
                    return str(source[name])
        return None

    return {"type": attributes.get("kind") or find("type", "kind", "Type", "notificationType", "eventType"),
            "merchant_id": attributes.get("merchant_id") or find("merchant_id"),
            "order_id": find("order_id"), "bytes": len(body.encode())}


def _sqs():
    from ..adapters.aws import client

    return client("sqs")


def _urls(arguments: argparse.Namespace, queue: str) -> tuple[str, str]:
    dlq_output, source_output = DEAD_LETTER_QUEUES[queue]
    stack = arguments.stack_info
    return stack.output(dlq_output), stack.output(source_output)


def depth(url: str) -> dict[str, int]:
    attributes = _sqs().get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return {"visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))}


def _receive(url: str, limit: int) -> Iterator[list[dict]]:
    """Batches of received messages (each hidden for the rest of the run), until `limit` or empty."""
    taken = 0
    while taken < limit:
        messages = _sqs().receive_message(
            QueueUrl=url, MaxNumberOfMessages=min(BATCH, limit - taken), WaitTimeSeconds=0,
            VisibilityTimeout=VISIBILITY_SECONDS, MessageAttributeNames=["All"],
            AttributeNames=["ApproximateReceiveCount", "SentTimestamp"]).get("Messages", [])
        if not messages:
            return
        taken += len(messages)
        yield messages


def _describe(message: dict) -> dict[str, Any]:
    attributes = {name: value.get("StringValue") for name, value in (message.get("MessageAttributes") or {}).items()}
    system = message.get("Attributes") or {}
    sent = system.get("SentTimestamp")
    return {"message_id": message["MessageId"], **summarize(message["Body"], attributes),
            # SQS counts this listing's own receive too.
            "receive_count": int(system.get("ApproximateReceiveCount", 0)),
            "sent_at": datetime.fromtimestamp(int(sent) / 1000, timezone.utc).isoformat() if sent else None}


def _release(url: str, messages: list[dict]) -> None:
    """Make messages this run received visible again at once."""
    for start in range(0, len(messages), BATCH):
        chunk = messages[start:start + BATCH]
        _sqs().change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(chunk)])


def _peek(url: str, limit: int) -> list[dict]:
    seen = [message for batch in _receive(url, limit) for message in batch]
    _release(url, seen)
    return seen


def list_dlq(arguments: argparse.Namespace, now: datetime) -> dict:
    if arguments.queue is None:
        return {"queues": {name: depth(arguments.stack_info.output(dlq)) for name, (dlq, _) in
                           sorted(DEAD_LETTER_QUEUES.items())}}
    if arguments.limit < 0:
        raise InvalidInput("must be 0 or more", field="--limit")
    url, source = _urls(arguments, arguments.queue)
    return {"queue": arguments.queue, "url": url, "redrives_to": source, "depth": depth(url),
            "messages": [_describe(m) for m in _peek(url, arguments.limit)]}


def redrive_dlq(arguments: argparse.Namespace, now: datetime) -> dict:
    if arguments.max < 1:
        raise InvalidInput("must be 1 or more", field="--max")
    url, source = _urls(arguments, arguments.queue)
    if arguments.dry_run:
        seen = _peek(url, arguments.max)
        would = [_describe(m) for m in seen]
        if arguments.merchant:
            would = [m for m in would if m["merchant_id"] == arguments.merchant]
        return {"queue": arguments.queue, "dry_run": True, "redrives_to": source, "would_move": len(would),
                "messages": would}
    started = time.monotonic()
    moved, failed, skipped = [], [], []
    for batch in _receive(url, arguments.max):
        chosen = [m for m in batch if not arguments.merchant or _describe(m)["merchant_id"] == arguments.merchant]
        skipped.extend(m for m in batch if m not in chosen)
        if not chosen:
            continue
        entries = [{"Id": str(i), "MessageBody": m["Body"], **({"MessageAttributes": m["MessageAttributes"]}
                                                              if m.get("MessageAttributes") else {})}
                   for i, m in enumerate(chosen)]
        sent = _sqs().send_message_batch(QueueUrl=source, Entries=entries)
        ok = {int(entry["Id"]) for entry in sent.get("Successful", [])}
        for index, message in enumerate(chosen):
            (moved if index in ok else failed).append(message)
        done = [chosen[i] for i in sorted(ok)]
        if done:
            _sqs().delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
    _release(url, skipped + failed)
    seconds = time.monotonic() - started
    return {"queue": arguments.queue, "dry_run": False, "redrives_to": source, "moved": len(moved),
            "failed": len(failed), "left_for_other_merchants": len(skipped), "seconds": round(seconds, 3),
            "messages_per_second": round(len(moved) / seconds, 1) if seconds > 0 and moved else None,
            "message_ids": [m["MessageId"] for m in moved]}
