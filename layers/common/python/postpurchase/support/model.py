"""Support conversations and their messages, and the rules of a conversation's life (pure).

A conversation is one customer's question to one merchant, on one channel, with every message
after it (the customer's, the merchant's, our automated replies). Its status says whose turn it
is: `open` (the merchant's), `waiting_on_customer` (the merchant or we answered), `resolved`.
A customer's message always (re)opens it; a merchant's reply hands the turn to the customer;
resolving closes it until the customer writes again.

Every rule takes `now`; nothing here talks to AWS.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..errors import NotAllowed

MAX_TEXT = 20_000  # characters of one message kept (the raw mail stays in S3)
MAX_ASSIGNEE = 200
AUTO_REPLY_INTERVAL = timedelta(days=1)  # at most one automated reply per conversation per day


class Status(StrEnum):
    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"


class Channel(StrEnum):
    EMAIL = "email"
    FORM = "form"
    API = "api"
    LOOKUP_FORM = "lookup_form"  # the lookup page's form: no link, the address is only what was typed


class Source(StrEnum):
    """Who started the conversation: the customer, or we did for them (a tracking exception)."""

    CUSTOMER = "customer"
    PROACTIVE = "proactive"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Author(StrEnum):
    CUSTOMER = "customer"
    MERCHANT = "merchant"
    AUTOMATION = "automation"


class Conversation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    conversation_id: str
    merchant_id: str
    channel: Channel
    source: Source = Source.CUSTOMER
    status: Status = Status.OPEN
    customer_email: str | None = None
    customer_name: str | None = None
    customer_id: str | None = None
    order_id: str | None = None  # the order the customer's messages were matched to (verified)
    # Orders named in the text whose owner we could not confirm: shown to the merchant only.
    mentioned_orders: tuple[str, ...] = ()
    subject: str = ""
    assignee: str | None = None
    intent: str | None = None  # postpurchase.support.intents.Intent value of the last customer message
    confidence: float | None = None
    angry: bool = False
    language: str | None = None
    needs_human: bool = True
    created_at: AwareDatetime
    updated_at: AwareDatetime
    last_customer_message_at: AwareDatetime | None = None
    first_response_at: AwareDatetime | None = None  # the first answer (merchant or automated)
    first_human_response_at: AwareDatetime | None = None
    last_auto_reply_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    auto_replies: int = 0
    messages: int = 0
    revision: int = 0  # bumped by every save: two writers cannot both win


class SupportMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str  # ours: unique within the conversation, stable for the same input
    conversation_id: str
    merchant_id: str
    direction: Direction
    author: Author
    text: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    subject: str = ""
    created_at: AwareDatetime
    attachments: tuple[str, ...] = ()  # S3 keys
    raw_key: str | None = None  # the S3 key of the raw email, when it came by email
    # RFC 5322 Message-ID: the customer's (inbound) or the one we sent (outbound), for threading.
    email_message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    # What to know about it: "automated:<why>" (never auto-answered), mail problems ("too_large",
    # "malformed_mime", ...), "unknown_merchant", "auto_reply", "needs_human".
    flags: tuple[str, ...] = ()
    intent: str | None = None
    confidence: float | None = None
    language: str | None = None
    author_name: str | None = None  # the merchant's agent, for outbound human replies


def stable_id(*parts: str) -> str:
    """A short id that is the same for the same input (redeliveries find what they wrote)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def conversation_id_for(now: datetime, identity: str) -> str:
    """Sorts by creation time (ids read in order) and is stable for the same first message."""
    return f"{now.strftime('%Y%m%d%H%M%S')}-{stable_id(identity)[:12]}"


def start(*, conversation_id: str, merchant_id: str, channel: Channel, now: datetime,
          source: Source = Source.CUSTOMER, customer_email: str | None = None, customer_name: str | None = None,
          subject: str = "") -> Conversation:
    return Conversation(conversation_id=conversation_id, merchant_id=merchant_id, channel=channel, source=source,
                        customer_email=customer_email, customer_name=customer_name, subject=subject[:500],
                        created_at=now, updated_at=now)


def customer_wrote(conversation: Conversation, *, now: datetime, intent: str | None = None,
                   confidence: float | None = None, angry: bool = False, language: str | None = None,
                   needs_human: bool = True) -> Conversation:
    """A customer's message: the conversation is open again, whatever it was."""
    return conversation.model_copy(update={
        "status": Status.OPEN, "updated_at": max(now, conversation.updated_at), "last_customer_message_at": now,
        "resolved_at": None, "intent": intent if intent is not None else conversation.intent,
        "confidence": confidence if confidence is not None else conversation.confidence,
        "angry": angry or conversation.angry, "language": language or conversation.language,
        "needs_human": needs_human, "messages": conversation.messages + 1})


def merchant_replied(conversation: Conversation, *, now: datetime) -> Conversation:
    """The merchant answered: the customer's turn. A resolved conversation stays resolved."""
    status = conversation.status if conversation.status is Status.RESOLVED else Status.WAITING_ON_CUSTOMER
    return conversation.model_copy(update={
        "status": status, "updated_at": max(now, conversation.updated_at), "needs_human": False,
        "first_response_at": conversation.first_response_at or now,
        "first_human_response_at": conversation.first_human_response_at or now,
        "messages": conversation.messages + 1})


def may_auto_reply(conversation: Conversation, *, now: datetime, automated: str | None) -> str | None:
    """None when an automated reply may go out now; else why not (the loop rules)."""
    if automated:
        return f"automated:{automated}"
    if not conversation.customer_email:
        return "no_recipient"
    last = conversation.last_auto_reply_at
    if last is not None and now - last < AUTO_REPLY_INTERVAL:
        return "auto_reply_today"
    return None


def auto_replied(conversation: Conversation, *, now: datetime) -> Conversation:
    """We answered automatically: the customer's turn (a human is not needed unless they write)."""
    return conversation.model_copy(update={
        "status": Status.WAITING_ON_CUSTOMER, "updated_at": max(now, conversation.updated_at),
        "needs_human": False, "first_response_at": conversation.first_response_at or now,
        "last_auto_reply_at": now, "auto_replies": conversation.auto_replies + 1,
        "messages": conversation.messages + 1})


def resolve(conversation: Conversation, *, now: datetime) -> Conversation:
    if conversation.status is Status.RESOLVED:
        return conversation
    return conversation.model_copy(update={"status": Status.RESOLVED, "resolved_at": now, "needs_human": False,
                                           "updated_at": max(now, conversation.updated_at)})


def reopen(conversation: Conversation, *, now: datetime) -> Conversation:
    """The merchant reopens it (a customer's message reopens it by itself)."""
    if conversation.status is Status.OPEN:
        return conversation
    return conversation.model_copy(update={"status": Status.OPEN, "resolved_at": None,
                                           "updated_at": max(now, conversation.updated_at)})


def assign(conversation: Conversation, assignee: str | None, *, now: datetime) -> Conversation:
    if assignee is not None:
        assignee = assignee.strip()
        if not 0 < len(assignee) <= MAX_ASSIGNEE or any(ord(ch) < 32 for ch in assignee):
            raise NotAllowed(f"assignee must be 1-{MAX_ASSIGNEE} printable characters, or null", field="assignee")
    if assignee == conversation.assignee:
        return conversation
    return conversation.model_copy(update={"assignee": assignee, "updated_at": max(now, conversation.updated_at)})


def change_status(conversation: Conversation, status: str, *, now: datetime) -> Conversation:
    """The merchant's `POST .../status`: resolved, open (reopen) or waiting_on_customer."""
    try:
        wanted = Status(status)
    except ValueError:
        raise NotAllowed(f"status must be one of {', '.join(s.value for s in Status)}", field="status") from None
    if wanted is Status.RESOLVED:
        return resolve(conversation, now=now)
    if wanted is Status.OPEN:
        return reopen(conversation, now=now)
    if conversation.status is wanted:
        return conversation
    return conversation.model_copy(update={"status": wanted, "resolved_at": None,
                                           "updated_at": max(now, conversation.updated_at)})


def conversation_document(conversation: Conversation) -> dict:
    """The API's view of a conversation (list items and the thread's head)."""
    return conversation.model_dump(mode="json", exclude={"revision"})


def message_document(message: SupportMessage) -> dict:
    return message.model_dump(mode="json", exclude={"merchant_id", "conversation_id"})
