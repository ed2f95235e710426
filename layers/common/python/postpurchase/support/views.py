"""The support API's request bodies and documents (`/v1/support/...`): parse, one service call, shape."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..orders.models import Email, Identifier
from .intents import LANGUAGES
from .model import MAX_ASSIGNEE, MAX_TEXT, Channel, conversation_document, message_document

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PAGE_SIZE = 25


class MessageIn(BaseModel):
    """`POST /v1/support/messages`: a customer's message from the merchant's chat widget or helpdesk."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Email
    name: Name | None = None
    order_id: Identifier | None = None
    text: Text
    subject: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    language: Literal[LANGUAGES] | None = None  # type: ignore[valid-type]


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Text
    author_name: Name | None = None


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["resolved", "open", "waiting_on_customer"] | None = None
    assignee: Annotated[str, StringConstraints(max_length=MAX_ASSIGNEE)] | None = None


def post_message(merchant_id: str, body: MessageIn, idempotency_key: str | None, now: datetime) -> dict[str, Any]:
    from .service import Incoming, receive_message

    # A retry of the same call (same key, or the same body without one) is the same message.
    identity = "api\x1f" + (f"key\x1f{idempotency_key.strip()}" if idempotency_key and idempotency_key.strip()
                            else hashlib.sha256(body.model_dump_json().encode()).hexdigest())
    received = receive_message(Incoming(merchant_id=merchant_id, channel=Channel.API, identity=identity,
                                        text=body.text, email=body.email, name=body.name, subject=body.subject,
                                        language=body.language, order_id=body.order_id), now)
    return received_document(received)


def received_document(received) -> dict[str, Any]:
    conversation = received.conversation
    return {"conversation_id": conversation.conversation_id, "message_id": received.message.message_id,
            "intent": received.message.intent, "confidence": received.message.confidence,
            "language": received.message.language, "order_id": conversation.order_id,
            "status": conversation.status.value, "auto_answered": received.auto_answered,
            "not_answered_because": received.why_not_answered, "duplicate": received.duplicate}


def list_conversations(merchant_id: str, status: str | None, cursor: str | None, limit: str | None) -> dict[str, Any]:
    from ..errors import InvalidInput
    from ..services import support_store
    from .model import Status

    status = status or Status.OPEN.value
    if status not in {s.value for s in Status}:
        raise InvalidInput(f"status must be one of {', '.join(s.value for s in Status)}", field="status")
    try:
        size = int(limit) if limit else PAGE_SIZE
    except ValueError:
        raise InvalidInput("limit must be a whole number from 1 to 100", field="limit") from None
    if not 1 <= size <= 100:
        raise InvalidInput("limit must be a whole number from 1 to 100", field="limit")
    rows, next_cursor = support_store().page(merchant_id, status, limit=size, cursor=cursor)
    return {"status": status, "conversations": [conversation_document(c) for c in rows], "next_cursor": next_cursor}


def thread_document(merchant_id: str, conversation_id: str) -> dict[str, Any]:
    from .service import thread_or_404

    conversation, stored = thread_or_404(merchant_id, conversation_id)
    return {"conversation": conversation_document(conversation),
            "messages": [message_document(s.message) for s in stored]}


def post_reply(merchant_id: str, conversation_id: str, body: ReplyIn, idempotency_key: str | None,
               now: datetime) -> dict[str, Any]:
    from .service import reply

    key = (idempotency_key or "").strip() or hashlib.sha256(
        json.dumps([body.text, body.author_name, now.isoformat()]).encode()).hexdigest()
    conversation, message = reply(merchant_id, conversation_id, body.text, body.author_name, key, now)
    return {"conversation": conversation_document(conversation), "message": message_document(message)}


def post_status(merchant_id: str, conversation_id: str, body: StatusIn, now: datetime) -> dict[str, Any]:
    from ..errors import InvalidInput
    from .service import UNSET, set_status

    if body.status is None and "assignee" not in body.model_fields_set:
        raise InvalidInput("give status, assignee or both", field="status")
    assignee = body.assignee if "assignee" in body.model_fields_set else UNSET
    return {"conversation": conversation_document(set_status(merchant_id, conversation_id, body.status, now,
                                                             assignee=assignee))}
