"""The send ledger: a conditional write per (order or customer, kind, reference).

A claim is written before SES is called and marked sent after. A claim older than the
email function's timeout belongs to an invocation that died; whether SES sent it is
unknowable, and we choose never to send twice over never to miss one.

Each settled entry (sent, failed, unknown) is also put on the merchant's messages index
(sparse gsi1 `M#{m}#MSGS#{outcome}`, sort key `{time}#{message key}`) in the same UpdateItem,
and so are skips (`record_skip`) and SES bounces and complaints (`record_feedback`): the
console's messages view reads a page with one Query (storage/message_log.py). Every entry,
skip and bounce also carries, from its first write, the sparse gsi5 keys of its address
(`M#{m}#RCPT#{email digest}`, `{claim time}#{message key}`): the console's customer search is
one Query of them.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from ..errors import RetryLater
from ..messaging.requests import kind_of
from . import keys
from .table import MessageRecord

ClaimOutcome = Literal["claimed", "already_sent", "in_flight", "abandoned", "failed"]


def _index(merchant_id: str, outcome: str, at: datetime, message_key: str) -> tuple[str, str]:
    return keys.messages_pk(merchant_id, outcome), keys.messages_sk(keys.time_key(at), message_key)


def _by_recipient(merchant_id: str, recipient: str, at: datetime, message_key: str) -> dict[str, str]:
    """gsi5: the address's messages (the console's customer search), keyed once, at the first write."""
    from ..security.order_access import email_digest

    return {"gsi5pk": keys.recipient_messages_pk(merchant_id, email_digest(recipient)),
            "gsi5sk": keys.messages_sk(keys.time_key(at), message_key)}


def _scope_fields(scope: tuple[str, str]) -> dict[str, str]:
    kind, scope_id = scope
    return {"order_id": scope_id} if kind == "order" else {"customer_id": scope_id}


def _scope_pk(merchant_id: str, scope: tuple[str, str]) -> str:
    kind, scope_id = scope
    return keys.order_pk(merchant_id, scope_id) if kind == "order" else keys.customer_pk(merchant_id, scope_id)


def _recipient_hash(recipient: str) -> str:
    return hashlib.sha256(recipient.lower().encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    pk: str
    sk: str
    token: str
    merchant_id: str = ""
    message_key: str = ""


class DynamoSendLedger:
    def __init__(self, claim_timeout: timedelta) -> None:
        self.claim_timeout = claim_timeout

    def claim(self, merchant_id: str, scope: tuple[str, str], message_key: str, recipient: str,
              now: datetime) -> Claim:
        # scope: ("order", order id) or ("customer", customer id)
        ledger_pk = _scope_pk(merchant_id, scope)
        sk = keys.message_sk(message_key)
        token = uuid.uuid4().hex
        record = MessageRecord(ledger_pk, sk, merchant_id=merchant_id, message_key=message_key, state="claimed",
                               claim_token=token, claimed_at=now, recipient_hash=_recipient_hash(recipient),
                               kind=kind_of(message_key), **_scope_fields(scope),
                               **_by_recipient(merchant_id, recipient, now, message_key))
        try:
            record.save(condition=MessageRecord.pk.does_not_exist())
            return Claim("claimed", ledger_pk, sk, token, merchant_id, message_key)
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise RetryLater(f"ledger claim failed: {error.cause_response_code}") from error
        try:
            existing = MessageRecord.get(ledger_pk, sk, consistent_read=True)
        except DoesNotExist:  # released between our write and read: try again later
            raise RetryLater("ledger entry released concurrently") from None
        if existing.state == "sent":
            outcome: ClaimOutcome = "already_sent"
        elif existing.state == "failed":
            outcome = "failed"
        elif existing.state == "unknown":
            outcome = "abandoned"
        elif now - existing.claimed_at < self.claim_timeout:
            outcome = "in_flight"
        else:
            outcome = "abandoned"
        return Claim(outcome, ledger_pk, sk, existing.claim_token, merchant_id, message_key)

    def _indexed(self, claim: Claim, outcome: str, now: datetime) -> list:
        if not claim.merchant_id:
            return []
        pk, sk = _index(claim.merchant_id, outcome, now, claim.message_key)
        return [MessageRecord.gsi1pk.set(pk), MessageRecord.gsi1sk.set(sk)]

    def mark_sent(self, claim: Claim, provider_message_id: str, now: datetime) -> None:
        MessageRecord(claim.pk, claim.sk).update(
            actions=[MessageRecord.state.set("sent"), MessageRecord.sent_at.set(now),
                     MessageRecord.provider_message_id.set(provider_message_id), *self._indexed(claim, "sent", now)],
            condition=MessageRecord.claim_token == claim.token)

    def mark_failed(self, claim: Claim, reason: str, now: datetime | None = None) -> None:
        indexed = self._indexed(claim, "failed", now) if now is not None else []
        try:
            MessageRecord(claim.pk, claim.sk).update(
                actions=[MessageRecord.state.set("failed"), MessageRecord.failure.set(reason[:500]), *indexed],
                condition=MessageRecord.claim_token == claim.token)
        except UpdateError as error:
            raise RetryLater(str(error)) from error

    def mark_abandoned(self, claim: Claim, now: datetime | None = None) -> None:
        """Record that the outcome of an abandoned claim is unknown, so it is visible and final."""
        indexed = self._indexed(claim, "failed", now) if now is not None else []
        try:
            MessageRecord(claim.pk, claim.sk).update(
                actions=[MessageRecord.state.set("unknown"), *indexed],
                condition=(MessageRecord.claim_token == claim.token) & (MessageRecord.state == "claimed"))
        except UpdateError:
            pass  # someone else settled it first; either way it is final

    def record_skip(self, merchant_id: str, scope: tuple[str, str], message_key: str, recipient: str, reason: str,
                    now: datetime) -> None:
        """A message we decided not to send (suppressed, opted out, quiet hours or the cap until
        its expiry): one conditional put beside the ledger entry; a repeat keeps the first."""
        pk, sk = _index(merchant_id, "skipped", now, message_key)
        record = MessageRecord(_scope_pk(merchant_id, scope), keys.message_skip_sk(message_key),
                               merchant_id=merchant_id, message_key=message_key, state="skipped",
                               claim_token="-", claimed_at=now, recipient_hash=_recipient_hash(recipient),
                               failure=reason[:500], kind=kind_of(message_key), gsi1pk=pk, gsi1sk=sk,
                               **_scope_fields(scope), **_by_recipient(merchant_id, recipient, now, message_key))
        self._put_once(record)

    def record_feedback(self, merchant_id: str, email: str, reason: str, detail: str, at: datetime,
                        provider_message_id: str | None, kind: str | None) -> None:
        """An SES bounce or complaint about an email we sent (one per SES message and reason),
        under the address's suppression partition: the ledger entry is not known from SES."""
        from ..security.order_access import email_digest

        reference = provider_message_id or keys.time_key(at)
        message_key = f"{kind or 'unknown'}#{reference}"
        pk, sk = _index(merchant_id, "bounced", at, message_key)
        record = MessageRecord(keys.suppression_pk(merchant_id, email_digest(email)),
                               keys.message_feedback_sk(reason, reference), merchant_id=merchant_id,
                               message_key=message_key, state="bounced" if reason == "bounce" else "complained",
                               claim_token="-", claimed_at=at, recipient_hash=_recipient_hash(email),
                               provider_message_id=provider_message_id, failure=detail[:500], kind=kind,
                               gsi1pk=pk, gsi1sk=sk, **_by_recipient(merchant_id, email, at, message_key))
        self._put_once(record)

    @staticmethod
    def _put_once(record: MessageRecord) -> None:
        try:
            record.save(condition=MessageRecord.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise RetryLater(f"message log write failed: {error.cause_response_code}") from error

    def release(self, claim: Claim) -> None:
        """Give a claim back after a send that certainly did not happen, so a retry may send."""
        try:
            MessageRecord(claim.pk, claim.sk).delete(condition=MessageRecord.claim_token == claim.token)
        except DeleteError:
            pass
