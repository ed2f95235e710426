"""SES bounce and complaint notifications -> the addresses to stop emailing (pure).

Both formats SES publishes are read: identity notifications (`notificationType`) and
configuration-set event publishing (`eventType`), delivered through SNS to SQS (the SNS
envelope's `Message` holds the notification as a string) or raw. Only hard bounces
(`Permanent`) and complaints suppress an address; a soft bounce will be retried by SES itself.
The merchant comes from the `merchant` tag we put on every email we send.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Reason = Literal["bounce", "complaint"]


class MalformedFeedback(ValueError):
    """Not an SES notification we can read (it goes to the DLQ after its retries)."""


@dataclass(frozen=True)
class Suppression:
    email: str
    reason: Reason
    at: datetime
    merchant_id: str | None
    detail: str  # bounce type/subtype or complaint feedback type, for the merchant to read
    message_id: str | None = None  # SES's id of the email (the ledger's provider_message_id)
    kind: str | None = None  # the `kind` tag we put on every email (messaging.requests.MessageKind)


def _notification(body: str) -> dict[str, Any]:
    try:
        outer = json.loads(body)
        if isinstance(outer, dict) and outer.get("Type") == "Notification" and isinstance(outer.get("Message"), str):
            outer = json.loads(outer["Message"])
    except (ValueError, TypeError) as error:
        raise MalformedFeedback(f"not JSON: {error}") from None
    if not isinstance(outer, dict):
        raise MalformedFeedback("not a JSON object")
    return outer


def _when(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise MalformedFeedback(f"bad timestamp {value!r}") from None


def _addresses(entries: Any, field: str) -> list[str]:
    if not isinstance(entries, list):
        raise MalformedFeedback(f"{field} must be a list")
    found = []
    for entry in entries:
        address = entry.get("emailAddress") if isinstance(entry, dict) else None
        if not isinstance(address, str) or "@" not in address:
            raise MalformedFeedback(f"{field}[].emailAddress missing")
        # SES may give "Name <a@b.c>"
        found.append(address.rsplit("<", 1)[-1].rstrip(">").strip().lower())
    return found


def suppressions(body: str) -> list[Suppression]:
    """The addresses one SQS message tells us to stop emailing ([] for anything else)."""
    note = _notification(body)
    kind = note.get("notificationType") or note.get("eventType")
    tags = (note.get("mail") or {}).get("tags") or {}
    merchant = tags.get("merchant", [None])[0] if isinstance(tags.get("merchant"), list) else None
    kind_tag = tags.get("kind", [None])[0] if isinstance(tags.get("kind"), list) and tags.get("kind") else None
    message_id = (note.get("mail") or {}).get("messageId")
    message_id = message_id if isinstance(message_id, str) and 0 < len(message_id) <= 256 else None
    kind_tag = kind_tag if isinstance(kind_tag, str) and 0 < len(kind_tag) <= 64 else None
    if kind == "Bounce":
        bounce = note.get("bounce")
        if not isinstance(bounce, dict):
            raise MalformedFeedback("a Bounce without bounce")
        if bounce.get("bounceType") != "Permanent":
            return []
        detail = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
        return [Suppression(address, "bounce", _when(bounce.get("timestamp")), merchant, detail, message_id, kind_tag)
                for address in _addresses(bounce.get("bouncedRecipients"), "bounce.bouncedRecipients")]
    if kind == "Complaint":
        complaint = note.get("complaint")
        if not isinstance(complaint, dict):
            raise MalformedFeedback("a Complaint without complaint")
        detail = str(complaint.get("complaintFeedbackType") or "complaint")
        return [Suppression(address, "complaint", _when(complaint.get("timestamp")), merchant, detail, message_id,
                            kind_tag)
                for address in _addresses(complaint.get("complainedRecipients"), "complaint.complainedRecipients")]
    if kind is None:
        raise MalformedFeedback("neither notificationType nor eventType")
    return []  # Delivery, Send, Open, ...: nothing to suppress
