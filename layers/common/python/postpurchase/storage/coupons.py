"""Coupons on the table (implements rewards.ports.CouponIssuer).

- coupon: pk M#{m}#CPN#{sha256(code)}, sk COUPON. Found by its exact code only; the key holds
  a digest, so keys (in logs, exports, metrics) never show a usable code, and nothing lists codes.
- issuance identity: pk M#{m}#C#{c}, sk CPN#{campaign}#{ref}, written in the same transaction
  as the coupon, so a retried issue (SQS redelivery, re-run scheduler) answers the same code.

AWS requests: issue = 1 TransactWriteItems (a retry: + 1 GetItem); get = 1 GetItem;
redeem = 1 conditional UpdateItem (+ 1 GetItem when the condition fails, to tell a replay of
the same order from a second order); void = 1 conditional UpdateItem.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, GetError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ..errors import InvalidInput, RetryLater
from ..messaging.requests import OfferNotice
from ..messaging.settings import OfferSpec
from ..rewards.coupons import Coupon, make_coupon
from . import keys
from .table import CouponIssueRecord, CouponRecord

_FRESH_CODE_TRIES = 3


def _connection() -> Connection:
    from .orders import _connection as shared

    return shared()


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _coupon_of(record: CouponRecord) -> Coupon:
    coupon = Coupon.model_validate_json(record.document)
    return coupon.model_copy(update={
        "state": record.state, "redeemed_order_id": record.redeemed_order_id, "redeemed_at": record.redeemed_at,
        "discount_amount": Decimal(record.discount_amount) if record.discount_amount else None,
        "void_reason": record.void_reason})


def _ref_part(name: str, value: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 200 or any(ord(ch) < 32 for ch in value):
        raise InvalidInput(f"{name} must be 1-200 printable characters", field=name)
    return value


class DynamoCouponStore:
    """CouponIssuer, plus what the redeem/preview API and referral rewards need."""

    def issue(self, merchant_id: str, customer_id: str, spec: OfferSpec, *, campaign: str, ref: str,
              currency: str | None, now: datetime, valid_from: datetime | None = None) -> OfferNotice:
        return self.issue_coupon(merchant_id, customer_id, spec, campaign=campaign, ref=ref, currency=currency,
                                 now=now, valid_from=valid_from).notice()

    def issue_coupon(self, merchant_id: str, customer_id: str, spec: OfferSpec, *, campaign: str, ref: str,
                     currency: str | None, now: datetime, valid_from: datetime | None = None) -> Coupon:
        """A new code for (campaign, ref), or the one issued for it before (whatever `spec` says now)."""
        identity_pk = keys.customer_pk(merchant_id, customer_id)
        identity_sk = keys.coupon_issue_sk(_ref_part("campaign", campaign), _ref_part("ref", ref))
        try:
            coupon = make_coupon(merchant_id, customer_id, spec, campaign=campaign, ref=ref, currency=currency,
                                 now=now, valid_from=valid_from)
        except ValueError as error:
            raise InvalidInput(str(error), field="currency") from error
        for _ in range(_FRESH_CODE_TRIES):
            document = coupon.model_dump_json()
            try:
                with TransactWrite(connection=_connection()) as transaction:
                    transaction.save(CouponRecord(keys.coupon_pk(merchant_id, code_digest(coupon.code)), keys.COUPON_SK,
                                                  merchant_id=merchant_id, state="issued", document=document),
                                     condition=CouponRecord.pk.does_not_exist())
                    transaction.save(CouponIssueRecord(identity_pk, identity_sk, code=coupon.code, document=document),
                                     condition=CouponIssueRecord.pk.does_not_exist())
                return coupon
            except TransactWriteError as error:
                reasons = [reason.code if reason else None for reason in (error.cancellation_reasons or [])]
                if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                    try:  # issued before: the same code again
                        existing = CouponIssueRecord.get(identity_pk, identity_sk, consistent_read=True)
                    except DoesNotExist as missing:  # pragma: no cover - written before it failed us
                        raise RetryLater("coupon identity vanished") from missing
                    return Coupon.model_validate_json(existing.document)
                if reasons and reasons[0] == "ConditionalCheckFailed":  # a 79-bit collision: draw again
                    coupon = coupon.model_copy(update={"code": make_coupon(
                        merchant_id, customer_id, spec, campaign=campaign, ref=ref, currency=currency, now=now).code})
                    continue
                raise RetryLater(f"coupon issue cancelled: {reasons or error.cause_response_code}") from error
        raise RetryLater("could not draw a fresh coupon code")  # pragma: no cover

    def get(self, merchant_id: str, code: str) -> Coupon | None:
        """The coupon with exactly this (normalised) code; None when unknown or another merchant's."""
        try:
            record = CouponRecord.get(keys.coupon_pk(merchant_id, code_digest(code)), keys.COUPON_SK,
                                      consistent_read=True)
        except DoesNotExist:
            return None
        except GetError as error:
            raise RetryLater(f"coupon read: {error.cause_response_code}") from error
        return _coupon_of(record) if record.merchant_id == merchant_id else None

    def mark_redeemed(self, merchant_id: str, code: str, order_id: str, discount_amount: Decimal,
                      now: datetime) -> bool:
        """issued -> redeemed, in one conditional update: of concurrent redemptions exactly one
        gets True."""
        record = CouponRecord(keys.coupon_pk(merchant_id, code_digest(code)), keys.COUPON_SK)
        try:
            record.update(actions=[CouponRecord.state.set("redeemed"), CouponRecord.redeemed_order_id.set(order_id),
                                   CouponRecord.redeemed_at.set(now),
                                   CouponRecord.discount_amount.set(str(discount_amount))],
                          condition=(CouponRecord.state == "issued"))
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise RetryLater(f"coupon redeem: {error.cause_response_code}") from error
        return True

    def void(self, merchant_id: str, code: str, reason: str) -> bool:
        """issued -> void (a referral reward whose order was cancelled or returned). False when
        it was already used or void."""
        record = CouponRecord(keys.coupon_pk(merchant_id, code_digest(code)), keys.COUPON_SK)
        try:
            record.update(actions=[CouponRecord.state.set("void"), CouponRecord.void_reason.set(reason)],
                          condition=(CouponRecord.state == "issued"))
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise RetryLater(f"coupon void: {error.cause_response_code}") from error
        return True
