"""Referrals on the table.

- code -> customer: pk M#{m}#REFCODE#{code}, sk REFCODE; customer -> code: pk M#{m}#C#{c}, sk
  REFCODE. Written together in one transaction (a code is unique per merchant, a customer has one).
- referral: under the referrer (pk M#{m}#C#{r}, sk REFERRAL#{o}) and in the merchant's listing
  (pk M#{m}#REFERRALS, sk R#{o}), the same document, written together with a revision check.
  A referred order with an unknown code has no referrer: it is only in the listing.
- monthly cap counter: pk M#{m}#C#{r}, sk REFCAP#{yyyy-mm}, bumped with `count < cap` in the
  transaction that stores an accepted referral, so concurrent referrals cannot pass the cap.
- settings: pk M#{m}, sk REFERRAL_SETTINGS.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from ..adapters.aws import client
from ..config import settings
from ..errors import Conflict, InvalidInput, RetryLater
from ..orders.models import Order
from ..rewards.referrals import Referral, ReferralSettings, new_referral_code
from . import keys
from .orders import newest_orders
from .table import ReferralCapRecord, ReferralCodeRecord, ReferralRecord, ReferralSettingsRecord

_FRESH_CODE_TRIES = 5
PAGE_SIZE = 50
REFERRER_ORDERS_READ = 100  # the referrer's newest orders whose addresses and cards count


class CapReached(Exception):
    """The referrer's monthly cap was reached while this referral was being stored."""


def _connection():
    from .orders import _connection as shared

    return shared()


def _reasons(error: TransactWriteError) -> list[str | None]:
    return [reason.code if reason else None for reason in (error.cancellation_reasons or [])]


class DynamoReferralStore:
    # --- codes ------------------------------------------------------------------------------

    def code_of(self, merchant_id: str, customer_id: str) -> str | None:
        try:
            return ReferralCodeRecord.get(keys.customer_pk(merchant_id, customer_id), keys.REFERRAL_CODE_SK).code
        except DoesNotExist:
            return None

    def create_code(self, merchant_id: str, customer_id: str, now: datetime) -> str:
        """The customer's code, created now unless a concurrent call created it first."""
        for _ in range(_FRESH_CODE_TRIES):
            code = new_referral_code()
            fields = dict(merchant_id=merchant_id, customer_id=customer_id, code=code, created_at=now)
            try:
                with TransactWrite(connection=_connection()) as transaction:
                    transaction.save(ReferralCodeRecord(keys.referral_code_pk(merchant_id, code),
                                                        keys.REFERRAL_CODE_SK, **fields),
                                     condition=ReferralCodeRecord.pk.does_not_exist())
                    transaction.save(ReferralCodeRecord(keys.customer_pk(merchant_id, customer_id),
                                                        keys.REFERRAL_CODE_SK, **fields),
                                     condition=ReferralCodeRecord.pk.does_not_exist())
                return code
            except TransactWriteError as error:
                reasons = _reasons(error)
                if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                    existing = ReferralCodeRecord.get(keys.customer_pk(merchant_id, customer_id),
                                                      keys.REFERRAL_CODE_SK, consistent_read=True)
                    return existing.code
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    continue  # another customer's code: draw again
                raise RetryLater(f"referral code write cancelled: {reasons or error.cause_response_code}") from error
        raise RetryLater("could not draw a fresh referral code")  # pragma: no cover

    def referrer_of(self, merchant_id: str, code: str) -> str | None:
        try:
            record = ReferralCodeRecord.get(keys.referral_code_pk(merchant_id, code), keys.REFERRAL_CODE_SK)
        except DoesNotExist:
            return None
        return record.customer_id if record.merchant_id == merchant_id else None

    def orders_of(self, merchant_id: str, customer_id: str) -> list[Order]:
        """The customer's newest orders (one Query of gsi1, documents only)."""
        return newest_orders(merchant_id, customer_id, REFERRER_ORDERS_READ)

    # --- settings ---------------------------------------------------------------------------

    def settings(self, merchant_id: str) -> ReferralSettings:
        try:
            record = ReferralSettingsRecord.get(keys.merchant_pk(merchant_id), keys.REFERRAL_SETTINGS_SK)
        except DoesNotExist:
            return ReferralSettings()
        return ReferralSettings.model_validate_json(record.document)

    def save_settings(self, merchant_id: str, value: ReferralSettings, now: datetime) -> None:
        ReferralSettingsRecord(keys.merchant_pk(merchant_id), keys.REFERRAL_SETTINGS_SK,
                               document=value.model_dump_json(), updated_at=now).save()

    # --- referrals --------------------------------------------------------------------------

    def accepted_in_month(self, merchant_id: str, referrer_id: str, month: str) -> int:
        try:
            return int(ReferralCapRecord.get(keys.customer_pk(merchant_id, referrer_id),
                                             keys.referral_cap_sk(month), consistent_read=True).count or 0)
        except DoesNotExist:
            return 0

    def get(self, merchant_id: str, referral_id: str) -> tuple[Referral, int] | None:
        """The referral of order `referral_id` with its revision (1 GetItem)."""
        try:
            record = ReferralRecord.get(keys.referrals_pk(merchant_id), keys.referral_listing_sk(referral_id),
                                        consistent_read=True)
        except DoesNotExist:
            return None
        return Referral.model_validate_json(record.document), int(record.revision)

    def add(self, referral: Referral, *, cap: tuple[str, int] | None) -> bool:
        """Store a new referral (False when this order's referral exists: a redelivery).

        With `cap` = (month, monthly cap), the referrer's month counter is bumped only while
        below the cap; CapReached when it is not."""
        try:
            with TransactWrite(connection=_connection()) as transaction:
                self._write(transaction, referral, revision=1, expected=None)
                if cap is not None and referral.referrer_id is not None:
                    month, limit = cap
                    transaction.update(
                        ReferralCapRecord(keys.customer_pk(referral.merchant_id, referral.referrer_id),
                                          keys.referral_cap_sk(month)),
                        actions=[ReferralCapRecord.type.set(ReferralCapRecord), ReferralCapRecord.count.add(1)],
                        condition=ReferralCapRecord.count.does_not_exist() | (ReferralCapRecord.count < limit))
        except TransactWriteError as error:
            reasons = _reasons(error)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            if reasons and reasons[-1] == "ConditionalCheckFailed" and cap is not None:
                raise CapReached() from error
            raise RetryLater(f"referral write cancelled: {reasons or error.cause_response_code}") from error
        return True

    def replace(self, referral: Referral, revision: int, *, count_month: str | None = None) -> None:
        """Save a changed referral over revision `revision`; Conflict when it changed meanwhile.
        `count_month`: the merchant approved it, so it counts in the referrer's month."""
        try:
            with TransactWrite(connection=_connection()) as transaction:
                self._write(transaction, referral, revision=revision + 1, expected=revision)
                if count_month is not None and referral.referrer_id is not None:
                    transaction.update(
                        ReferralCapRecord(keys.customer_pk(referral.merchant_id, referral.referrer_id),
                                          keys.referral_cap_sk(count_month)),
                        actions=[ReferralCapRecord.type.set(ReferralCapRecord), ReferralCapRecord.count.add(1)])
        except TransactWriteError as error:
            reasons = _reasons(error)
            if "ConditionalCheckFailed" in reasons:
                raise Conflict("the referral changed meanwhile; read it again", field="referral_id") from error
            raise RetryLater(f"referral update cancelled: {reasons or error.cause_response_code}") from error

    @staticmethod
    def _write(transaction: TransactWrite, referral: Referral, *, revision: int, expected: int | None) -> None:
        fields = dict(merchant_id=referral.merchant_id, status=referral.status, document=referral.model_dump_json(),
                      revision=revision)
        condition = (ReferralRecord.pk.does_not_exist() if expected is None else ReferralRecord.revision == expected)
        transaction.save(ReferralRecord(keys.referrals_pk(referral.merchant_id),
                                        keys.referral_listing_sk(referral.order_id), **fields), condition=condition)
        if referral.referrer_id is not None:
            transaction.save(ReferralRecord(keys.customer_pk(referral.merchant_id, referral.referrer_id),
                                            keys.referral_sk(referral.order_id), **fields))

    def page(self, merchant_id: str, status: str | None, after: str | None,
             limit: int = PAGE_SIZE) -> tuple[list[Referral], str | None]:
        """One page of the merchant's referrals (one Query), optionally of one status, and the
        token of the next page."""
        last_key = None
        if after:
            try:
                sk = json.loads(base64.urlsafe_b64decode(after.encode()).decode())["sk"]
            except (ValueError, KeyError, TypeError):
                raise InvalidInput("next is not a token this API gave", field="next") from None
            if not isinstance(sk, str) or not sk.startswith("R#"):
                raise InvalidInput("next is not a token this API gave", field="next")
            last_key = {"pk": {"S": keys.referrals_pk(merchant_id)}, "sk": {"S": sk}}
        request = dict(TableName=settings().table_name, Limit=limit,
                       KeyConditionExpression="pk = :pk AND begins_with(sk, :listing)",
                       ExpressionAttributeValues={":pk": {"S": keys.referrals_pk(merchant_id)},
                                                  ":listing": {"S": "R#"}})
        if status:
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            request["ExpressionAttributeValues"][":status"] = {"S": status}
        if last_key:
            request["ExclusiveStartKey"] = last_key
        # One request: with a status filter a page may hold fewer than `limit` (even none) and
        # still have a next token.
        response = client("dynamodb").query(**request)
        referrals = [Referral.model_validate_json(item["document"]["S"]) for item in response.get("Items", [])]
        token = None
        if response.get("LastEvaluatedKey"):
            token = base64.urlsafe_b64encode(
                json.dumps({"sk": response["LastEvaluatedKey"]["sk"]["S"]}).encode()).decode()
        return referrals, token
