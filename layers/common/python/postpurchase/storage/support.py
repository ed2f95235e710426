"""Support conversations on the one table.

A conversation and its messages share one partition (pk M#{m}#CONV#{c}: sk CONV and
MSG#{time}#{message}), so the thread is one Query. The conversation item carries the sparse
gsi1 keys M#{m}#SUPPORT#{status} / {updated}#{c}: the merchant's list in one status, newest
first, is one Query per page. Message-IDs (ours and the customer's) point at their
conversation (pk M#{m}#MID#{sha256}), so an emailed reply finds its thread with one BatchGetItem;
an inbound message's identity (S3 key, idempotency key) is a receipt written in the same
transaction, so a redelivered message is found, not recorded twice. Each customer address points
at its conversations (pk M#{m}#SUPCUST#{sha256(address)}, sk CONV#{c}, written with the
conversation): a customer's export and erasure find them (storage/privacy.py).

Requests: `record` one TransactWriteItems; `thread` and `page` one Query; `get` and `receipt`
one GetItem; `conversations_for` one BatchGetItem.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from ..errors import RetryLater
from ..support.model import Conversation, SupportMessage
from .return_queue import _decode_cursor as _gsi1_cursor, _encode_cursor  # the one gsi1 page cursor
from . import keys
from .orders import _connection, _reasons
from .table import (Record, SupportConversationRecord, SupportCustomerRecord, SupportMessageRecord,
                    SupportReceiptRecord, SupportThreadRecord)

MAX_PAGE = 100


class StaleConversation(Exception):
    """The conversation changed between reading and writing it."""


class AlreadyRecorded(Exception):
    """This inbound message's receipt exists: a redelivery."""


def digest(value: str) -> str:
    return hashlib.sha256(value.strip().encode("utf-8", "surrogatepass")).hexdigest()


def customer_digest(email: str) -> str:
    """An address as the order-number lookup hashes it (case and spaces do not matter)."""
    from ..security.order_access import email_digest

    return email_digest(email)


@dataclass(frozen=True)
class StoredMessage:
    message: SupportMessage
    outbox: str | None = None  # the EmailRequest JSON of an outbound email


@dataclass(frozen=True)
class Write:
    """What one step of a conversation writes, all or nothing."""

    conversation: Conversation
    previous_revision: int | None  # None: a new conversation
    messages: tuple[StoredMessage, ...] = ()
    thread_ids: tuple[tuple[str, str], ...] = ()  # (Message-ID, direction)
    receipt: str | None = None  # the inbound message's identity
    receipt_message_id: str | None = None
    # The conversation as read before this step (None: new or unknown): support metrics count
    # the difference in the same transaction (storage/support_metrics.py).
    previous: Conversation | None = None


def _list_keys(conversation: Conversation) -> tuple[str, str]:
    return (keys.support_list_pk(conversation.merchant_id, conversation.status.value),
            f"{keys.time_key(conversation.updated_at)}#{conversation.conversation_id}")


def _decode_cursor(cursor: str, partition_pk: str) -> dict:
    return _gsi1_cursor(cursor, partition_pk, field="cursor", message="cursor is not one this API returned")


class DynamoSupportStore:
    def get(self, merchant_id: str, conversation_id: str) -> Conversation | None:
        try:
            record = SupportConversationRecord.get(keys.support_conversation_pk(merchant_id, conversation_id),
                                                   keys.SUPPORT_CONVERSATION_SK, consistent_read=True)
        except DoesNotExist:
            return None
        if record.merchant_id != merchant_id:
            return None
        return Conversation.model_validate_json(record.document)

    def thread(self, merchant_id: str, conversation_id: str,
               consistent: bool = False) -> tuple[Conversation, list[StoredMessage]] | None:
        """The conversation and its messages, oldest first: one Query."""
        conversation: Conversation | None = None
        messages: list[StoredMessage] = []
        for item in Record.query(keys.support_conversation_pk(merchant_id, conversation_id),
                                 consistent_read=consistent):
            if isinstance(item, SupportConversationRecord) and item.merchant_id == merchant_id:
                conversation = Conversation.model_validate_json(item.document)
            elif isinstance(item, SupportMessageRecord):
                messages.append(StoredMessage(SupportMessage.model_validate_json(item.document), item.outbox))
        # Same instant (a message and its automated answer): the question before the answer.
        messages.sort(key=lambda stored: (stored.message.created_at, stored.message.direction != "in"))
        return None if conversation is None else (conversation, messages)

    def page(self, merchant_id: str, status: str, *, limit: int,
             cursor: str | None) -> tuple[list[Conversation], str | None]:
        """One status's conversations, last changed first: one Query of gsi1."""
        pk = keys.support_list_pk(merchant_id, status)
        limit = min(max(limit, 1), MAX_PAGE)
        results = SupportConversationRecord.support_index.query(
            pk, scan_index_forward=False, limit=limit, page_size=limit,
            last_evaluated_key=_decode_cursor(cursor, pk) if cursor else None)
        rows = [Conversation.model_validate_json(record.document) for record in results
                if isinstance(record, SupportConversationRecord) and record.merchant_id == merchant_id]
        return rows, _encode_cursor(results.last_evaluated_key) if len(rows) == limit else None

    def conversations_for(self, merchant_id: str, message_ids: Iterable[str]) -> dict[str, str]:
        """Message-ID -> conversation id, for the ones we know (one BatchGetItem)."""
        wanted = {keys.support_thread_pk(merchant_id, digest(mid)): mid for mid in message_ids if mid and mid.strip()}
        if not wanted:
            return {}
        found: dict[str, str] = {}
        for item in SupportThreadRecord.batch_get([(pk, keys.SUPPORT_THREAD_SK) for pk in list(wanted)[:50]]):
            found[wanted[item.pk]] = item.conversation_id
        return found

    def receipt(self, merchant_id: str, identity: str) -> tuple[str, str] | None:
        """(conversation, message) an inbound message was recorded as, or None."""
        try:
            record = SupportReceiptRecord.get(keys.support_receipt_pk(merchant_id, digest(identity)),
                                              keys.SUPPORT_RECEIPT_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return record.conversation_id, record.message_id

    def record(self, write: Write) -> None:
        conversation = write.conversation
        m, c = conversation.merchant_id, conversation.conversation_id
        pk = keys.support_conversation_pk(m, c)
        gsi1pk, gsi1sk = _list_keys(conversation)
        revision = (write.previous_revision or 0) + 1
        saved = conversation.model_copy(update={"revision": revision})
        record = SupportConversationRecord(pk, keys.SUPPORT_CONVERSATION_SK, merchant_id=m, conversation_id=c,
                                           document=saved.model_dump_json(), status=conversation.status.value,
                                           revision=revision, gsi1pk=gsi1pk, gsi1sk=gsi1sk)
        try:
            with TransactWrite(connection=_connection()) as transaction:
                if write.receipt is not None:
                    transaction.save(SupportReceiptRecord(
                        keys.support_receipt_pk(m, digest(write.receipt)), keys.SUPPORT_RECEIPT_SK,
                        conversation_id=c, message_id=write.receipt_message_id or ""),
                        condition=SupportReceiptRecord.pk.does_not_exist())
                if write.previous_revision is None:
                    transaction.save(record, condition=SupportConversationRecord.pk.does_not_exist())
                else:
                    transaction.save(record, condition=SupportConversationRecord.revision == write.previous_revision)
                for stored in write.messages:
                    message = stored.message
                    receipt = digest(write.receipt) if write.receipt is not None and \
                        message.message_id == write.receipt_message_id else None
                    transaction.save(SupportMessageRecord(
                        pk, keys.support_message_sk(keys.time_key(message.created_at), message.message_id),
                        document=message.model_dump_json(), outbox=stored.outbox, receipt=receipt),
                        condition=SupportMessageRecord.pk.does_not_exist())
                address = conversation.customer_email
                if address and (write.previous_revision is None or write.previous is None
                                or write.previous.customer_email != address):
                    # The address's conversations, for its export and erasure (storage/privacy.py).
                    transaction.save(SupportCustomerRecord(keys.support_customer_pk(m, customer_digest(address)),
                                                           keys.support_customer_sk(c), conversation_id=c))
                from .support_metrics import add_to_transaction
                from ..support.metrics import changes

                if write.previous_revision is None or write.previous is not None:
                    add_to_transaction(transaction, m, changes(write.previous if write.previous_revision is not None
                                                               else None, conversation))
                for message_id, direction in dict(write.thread_ids).items():
                    transaction.save(SupportThreadRecord(keys.support_thread_pk(m, digest(message_id)),
                                                         keys.SUPPORT_THREAD_SK, conversation_id=c,
                                                         direction=direction))
        except TransactWriteError as error:
            reasons = _reasons(error)
            if write.receipt is not None and reasons and reasons[0] == "ConditionalCheckFailed":
                raise AlreadyRecorded(write.receipt) from None
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise StaleConversation(c) from None
            raise RetryLater(f"support write cancelled: {reasons or error.cause_response_code}") from error
