"""Feedback answers on the one table.

The answer lives in its order's partition (pk M#{m}#O#{o}, sk FEEDBACK#{sku}); a copy sits in
the merchant's listing partition (pk M#{m}#FEEDBACK, sk {updated_at}#{o}#{sku}), so the
merchant's `GET /v1/feedback` is one Query per page, newest first. Both are written in one
transaction: a new answer puts both (the answer only if absent); a change updates the answer
on its version, deletes the old listing item and puts the new one.

Requests: `load` is one BatchGetItem (order + answer); `save` one TransactWriteItems;
`mark_notified` one UpdateItem; `page` one Query.
"""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ..errors import InvalidInput, RetryLater
from ..feedback.model import Feedback
from ..feedback.service import Loaded, StaleFeedback
from ..orders.models import Order
from ..analytics.counters import Tally, rating_answered
from ..reviews.model import Review
from . import keys, stats
from .orders import _connection, _reasons
from .table import FeedbackListingRecord, FeedbackRecord, OrderRecord, Record, ReviewRecord

MAX_PAGE = 100


def _list_sk(feedback: Feedback) -> str:
    return keys.feedback_list_sk(keys.time_key(feedback.updated_at), feedback.order_id, feedback.sku)


def encode_cursor(sk: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": sk}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        sk = data["k"]
        if not isinstance(sk, str) or not 0 < len(sk) <= 2048:
            raise ValueError(sk)
        return sk
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput("cursor is not one this API returned", field="cursor") from None


class DynamoFeedbackStore:
    def load(self, merchant_id: str, order_id: str, sku: str) -> Loaded | None:
        """The order and the item's answer, consistent (one BatchGetItem)."""
        pk = keys.order_pk(merchant_id, order_id)
        order: Order | None = None
        existing: Feedback | None = None
        review: Review | None = None
        notified = 0
        # The storefront review rides along (reviews/service.follow_feedback needs it next).
        for item in Record.batch_get([(pk, keys.ORDER_SK), (pk, keys.feedback_sk(sku)), (pk, keys.review_sk(sku))],
                                     consistent_read=True):
            if isinstance(item, OrderRecord) and item.merchant_id == merchant_id:
                order = Order.model_validate_json(item.document)
            elif isinstance(item, FeedbackRecord):
                existing = Feedback.model_validate_json(item.document)
                notified = int(item.notified_version or 0)
            elif isinstance(item, ReviewRecord) and item.merchant_id == merchant_id:
                review = Review.model_validate_json(item.document)
        return None if order is None else Loaded(order, existing, notified, review)

    def save(self, feedback: Feedback, previous: Feedback | None) -> None:
        m, o = feedback.merchant_id, feedback.order_id
        document = feedback.model_dump_json()
        list_sk = _list_sk(feedback)
        record = FeedbackRecord(keys.order_pk(m, o), keys.feedback_sk(feedback.sku), merchant_id=m, order_id=o,
                                sku=feedback.sku, document=document, rating=feedback.rating,
                                version=feedback.version, notified_version=0, list_sk=list_sk,
                                submitted_at=feedback.submitted_at, updated_at=feedback.updated_at)
        listing = FeedbackListingRecord(keys.feedback_list_pk(m), list_sk, merchant_id=m, document=document)
        try:
            with TransactWrite(connection=_connection()) as transaction:
                if previous is None:
                    transaction.save(record, condition=FeedbackRecord.pk.does_not_exist())
                else:
                    transaction.update(record, actions=[
                        FeedbackRecord.document.set(document), FeedbackRecord.rating.set(feedback.rating),
                        FeedbackRecord.version.set(feedback.version), FeedbackRecord.list_sk.set(list_sk),
                        FeedbackRecord.updated_at.set(feedback.updated_at)],
                        condition=FeedbackRecord.version == previous.version)
                    old_sk = _list_sk(previous)
                    if old_sk != list_sk:
                        transaction.delete(FeedbackListingRecord(keys.feedback_list_pk(m), old_sk))
                transaction.save(listing)
                # The rating counters of the console's analytics: in this version-checked write, so
                # each answer version is counted exactly once.
                stats.updates(transaction, m, rating_tally(feedback).merged(), spread_key=f"{o}#{feedback.sku}")
        except TransactWriteError as error:
            reasons = _reasons(error)
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise StaleFeedback(f"{o}:{feedback.sku}") from None
            raise RetryLater(f"feedback write cancelled: {reasons or error.cause_response_code}") from error

    def mark_notified(self, merchant_id: str, order_id: str, sku: str, version: int) -> None:
        try:
            FeedbackRecord(keys.order_pk(merchant_id, order_id), keys.feedback_sk(sku)).update(
                actions=[FeedbackRecord.notified_version.set(version)],
                condition=FeedbackRecord.pk.exists() & (FeedbackRecord.notified_version < version))
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise RetryLater(f"could not mark feedback notified: {error.cause_response_code}") from error

    def page(self, merchant_id: str, *, limit: int, cursor: str | None,
             since: datetime | None) -> tuple[list[Feedback], str | None]:
        """Newest change first; one Query. `since` keeps answers changed at or after it."""
        start = decode_cursor(cursor) if cursor else None
        condition = FeedbackListingRecord.sk >= keys.time_key(since) if since else None
        query = FeedbackListingRecord.query(
            keys.feedback_list_pk(merchant_id), range_key_condition=condition, scan_index_forward=False,
            limit=min(max(limit, 1), MAX_PAGE),
            last_evaluated_key={"pk": {"S": keys.feedback_list_pk(merchant_id)}, "sk": {"S": start}} if start else None)
        answers = [Feedback.model_validate_json(item.document) for item in query]
        last = query.last_evaluated_key
        return answers, encode_cursor(last["sk"]["S"]) if last else None


def rating_tally(feedback: Feedback) -> Tally:
    """The rating counters of this answer version: its star, less the star it replaced."""
    previous = feedback.history[-1].rating if feedback.version > 1 and feedback.history else None
    return rating_answered(feedback.merchant_id, feedback.order_id, feedback.sku, feedback.version, feedback.rating,
                           previous, feedback.submitted_at)
