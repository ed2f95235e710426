"""The send ledger: a conditional write per (order or customer, kind, reference).

A claim is written before SES is called and marked sent after. A claim older than the
email function's timeout belongs to an invocation that died; whether SES sent it is
unknowable, and we choose never to send twice over never to miss one.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from ..errors import RetryLater
from . import keys
from .table import MessageRecord

ClaimOutcome = Literal["claimed", "already_sent", "in_flight", "abandoned", "failed"]


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    pk: str
    sk: str
    token: str


class DynamoSendLedger:
    def __init__(self, claim_timeout: timedelta) -> None:
        self.claim_timeout = claim_timeout

    def claim(self, merchant_id: str, scope: tuple[str, str], message_key: str, recipient: str,
              now: datetime) -> Claim:
        kind, scope_id = scope  # ("order", order id) or ("customer", customer id)
        ledger_pk = keys.order_pk(merchant_id, scope_id) if kind == "order" else keys.customer_pk(merchant_id, scope_id)
        sk = keys.message_sk(message_key)
        token = uuid.uuid4().hex
        record = MessageRecord(ledger_pk, sk, merchant_id=merchant_id, message_key=message_key, state="claimed",
                               claim_token=token, claimed_at=now,
                               recipient_hash=hashlib.sha256(recipient.lower().encode()).hexdigest())
        try:
            record.save(condition=MessageRecord.pk.does_not_exist())
            return Claim("claimed", ledger_pk, sk, token)
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
        return Claim(outcome, ledger_pk, sk, existing.claim_token)

    def mark_sent(self, claim: Claim, provider_message_id: str, now: datetime) -> None:
        MessageRecord(claim.pk, claim.sk).update(
            actions=[MessageRecord.state.set("sent"), MessageRecord.sent_at.set(now),
                     MessageRecord.provider_message_id.set(provider_message_id)],
            condition=MessageRecord.claim_token == claim.token)

    def mark_failed(self, claim: Claim, reason: str) -> None:
        try:
            MessageRecord(claim.pk, claim.sk).update(
                actions=[MessageRecord.state.set("failed"), MessageRecord.failure.set(reason[:500])],
                condition=MessageRecord.claim_token == claim.token)
        except UpdateError as error:
            raise RetryLater(str(error)) from error

    def mark_abandoned(self, claim: Claim) -> None:
        """Record that the outcome of an abandoned claim is unknown, so it is visible and final."""
        try:
            MessageRecord(claim.pk, claim.sk).update(
                actions=[MessageRecord.state.set("unknown")],
                condition=(MessageRecord.claim_token == claim.token) & (MessageRecord.state == "claimed"))
        except UpdateError:
            pass  # someone else settled it first; either way it is final

    def release(self, claim: Claim) -> None:
        """Give a claim back after a send that certainly did not happen, so a retry may send."""
        try:
            MessageRecord(claim.pk, claim.sk).delete(condition=MessageRecord.claim_token == claim.token)
        except DeleteError:
            pass
