"""Storefront reviews on the one table (keys.py, "storefront reviews"; docs/architecture.md).

The review lives under its order (sk REVIEW#{sku}). Its copies are where the reads are:
a published review has one copy per public sort order in its product's partition (newest,
highest, and with_photos only when it has photos) and one in the merchant's published listing
(the feed); a held one has a copy in the moderation queue. The product's summary is a counter
item in the same partition. `save` writes the review (version-checked), moves the copies and
ADDs the counter change in ONE transaction: a retry finds the version moved and changes nothing.

A review's public id (model.public_id) has a lookup item (keys.review_lookup_pk) written in the
transaction that first saves the review with that id, on the condition that it is new, and
deleted in the erasing one.

Requests: `get` and `locate` one GetItem each; `save` one TransactWriteItems; `page`, `summary`, `jsonld`, `queue`
one Query each; `published` and `feed_merchants` one Query per page of 100.
"""
from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from ..errors import InvalidInput, RetryLater
from ..reviews.model import Review
from ..reviews.service import Sort, StaleReview
from ..reviews.summary import RATINGS, Summary, counter_delta
from . import keys
from .feedback import decode_cursor, encode_cursor
from .orders import _connection, _reasons
from .table import (Record, ReviewCopyRecord, ReviewFeedRecord, ReviewLookupRecord, ReviewRecord,
                    ReviewSummaryRecord)

MAX_PAGE = 50
_COUNTERS = {1: ReviewSummaryRecord.r1, 2: ReviewSummaryRecord.r2, 3: ReviewSummaryRecord.r3,
             4: ReviewSummaryRecord.r4, 5: ReviewSummaryRecord.r5}


def _stamp(review: Review) -> str:
    return keys.time_key(review.published_at or review.submitted_at)


def copies(review: Review | None) -> dict[tuple[str, str], str]:
    """(pk, sk) of every copy this review has in its current state."""
    if review is None:
        return {}
    m, rid = review.merchant_id, review.review_id
    if review.status == "pending":
        return {(keys.review_queue_pk(m), f"{keys.time_key(review.submitted_at)}#{rid}"): "queue"}
    if review.status != "published":
        return {}
    pk, stamp = keys.product_reviews_pk(m, review.sku), _stamp(review)
    found = {(pk, f"N#{stamp}#{rid}"): "newest", (pk, f"H#{review.rating}#{stamp}#{rid}"): "highest",
             (keys.published_reviews_pk(m), rid): "published"}
    if review.photos:
        found[(pk, f"P#{stamp}#{rid}")] = "with_photos"
    return found


def _published_rating(review: Review | None) -> int | None:
    return review.rating if review is not None and review.published else None


class DynamoReviewStore:
    def get(self, merchant_id: str, order_id: str, sku: str) -> Review | None:
        try:
            record = ReviewRecord.get(keys.order_pk(merchant_id, order_id), keys.review_sk(sku), consistent_read=True)
        except DoesNotExist:
            return None
        if not isinstance(record, ReviewRecord) or record.merchant_id != merchant_id:
            return None
        return Review.model_validate_json(record.document)

    def locate(self, merchant_id: str, public_id: str) -> tuple[str, str] | None:
        """(order id, sku) of the merchant's review with this public id, or None: one GetItem."""
        try:
            record = ReviewLookupRecord.get(keys.review_lookup_pk(merchant_id, public_id), keys.REVIEW_LOOKUP_SK)
        except DoesNotExist:
            return None
        if not isinstance(record, ReviewLookupRecord) or record.merchant_id != merchant_id:
            return None
        return record.order_id, record.sku

    def save(self, review: Review, previous: Review | None) -> None:
        self._transition(review, previous, erase=False)

    def erase(self, review: Review) -> None:
        """The customer's data is erased (privacy/): the review, its copies and its count go, in
        one transaction (a retry finds the review gone: nothing more to do)."""
        try:
            self._transition(review, review, erase=True)
        except StaleReview:
            pass

    def _transition(self, review: Review, previous: Review | None, *, erase: bool) -> None:
        m = review.merchant_id
        document = review.model_dump_json()
        record = ReviewRecord(keys.order_pk(m, review.order_id), keys.review_sk(review.sku), merchant_id=m,
                              document=document, status=review.status, version=review.version)
        old, new = copies(previous), ({} if erase else copies(review))
        delta = counter_delta(_published_rating(previous), None if erase else _published_rating(review))
        try:
            with TransactWrite(connection=_connection()) as transaction:
                condition = (ReviewRecord.pk.does_not_exist() if previous is None
                             else ReviewRecord.version == previous.version)
                if erase:
                    transaction.delete(record, condition=condition)
                else:
                    transaction.save(record, condition=condition)
                for pk, sk in old.keys() - new.keys():
                    transaction.delete(ReviewCopyRecord(pk, sk))
                for pk, sk in new:
                    transaction.save(ReviewCopyRecord(pk, sk, merchant_id=m, document=document))
                if review.public_id and (erase or previous is None or previous.public_id != review.public_id):
                    lookup = ReviewLookupRecord(keys.review_lookup_pk(m, review.public_id), keys.REVIEW_LOOKUP_SK,
                                                merchant_id=m, order_id=review.order_id, sku=review.sku)
                    if erase:
                        transaction.delete(lookup)
                    else:  # a public id is never reused: one already taken cancels the write
                        transaction.save(lookup, condition=ReviewLookupRecord.pk.does_not_exist())
                if delta:
                    summary = ReviewSummaryRecord(keys.product_reviews_pk(m, review.sku), keys.REVIEW_SUMMARY_SK)
                    transaction.update(summary, actions=[
                        ReviewSummaryRecord.type.set(ReviewSummaryRecord), ReviewSummaryRecord.merchant_id.set(m),
                        *(_COUNTERS[rating].add(change) for rating, change in sorted(delta.items()))])
                if not erase and review.published and not (previous and previous.published):
                    transaction.save(ReviewFeedRecord(keys.REVIEW_FEEDS_PK, keys.merchant_pk(m), merchant_id=m))
        except TransactWriteError as error:
            reasons = _reasons(error)
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise StaleReview(review.review_id) from None
            raise RetryLater(f"review write cancelled: {reasons or error.cause_response_code}") from error

    # --- reads: one Query each -------------------------------------------------------------------
    def page(self, merchant_id: str, sku: str, sort: Sort, *, limit: int,
             cursor: str | None) -> tuple[list[Review], str | None]:
        pk, prefix = keys.product_reviews_pk(merchant_id, sku), keys.REVIEW_SORT_PREFIXES[sort]
        start = decode_cursor(cursor) if cursor else None
        if start is not None and not start.startswith(prefix):
            raise InvalidInput("cursor is not one this API returned for this sort", field="cursor")
        query = ReviewCopyRecord.query(
            pk, range_key_condition=ReviewCopyRecord.sk.startswith(prefix), scan_index_forward=False,
            limit=min(max(limit, 1), MAX_PAGE),
            last_evaluated_key={"pk": {"S": pk}, "sk": {"S": start}} if start else None)
        reviews = [Review.model_validate_json(item.document) for item in query]
        last = query.last_evaluated_key
        return reviews, encode_cursor(last["sk"]["S"]) if last else None

    def summary(self, merchant_id: str, sku: str) -> Summary:
        pk = keys.product_reviews_pk(merchant_id, sku)
        for item in ReviewSummaryRecord.query(pk, ReviewSummaryRecord.sk == keys.REVIEW_SUMMARY_SK):
            return _summary(item)
        return Summary()

    def jsonld(self, merchant_id: str, sku: str, *, limit: int) -> tuple[Summary, list[Review]]:
        """The summary and the newest reviews in one Query: the summary's key sorts just after
        the newest range, so reading that range backwards meets it first."""
        pk = keys.product_reviews_pk(merchant_id, sku)
        query = Record.query(pk, Record.sk.between("N#", keys.REVIEW_SUMMARY_SK),
                                       scan_index_forward=False, limit=min(max(limit, 1), MAX_PAGE) + 1)
        summary, reviews = Summary(), []
        for item in query:
            if isinstance(item, ReviewSummaryRecord):
                summary = _summary(item)
            elif isinstance(item, ReviewCopyRecord):
                reviews.append(Review.model_validate_json(item.document))
        return summary, reviews

    def queue(self, merchant_id: str, *, limit: int, cursor: str | None) -> tuple[list[Review], str | None]:
        """Held reviews, oldest first (the merchant works through them in order)."""
        pk = keys.review_queue_pk(merchant_id)
        start = decode_cursor(cursor) if cursor else None
        query = ReviewCopyRecord.query(pk, limit=min(max(limit, 1), MAX_PAGE),
                                       last_evaluated_key={"pk": {"S": pk}, "sk": {"S": start}} if start else None)
        reviews = [Review.model_validate_json(item.document) for item in query]
        last = query.last_evaluated_key
        return reviews, encode_cursor(last["sk"]["S"]) if last else None

    def published(self, merchant_id: str) -> Iterator[Review]:
        """Every published review of the merchant (the full feed), 100 per Query."""
        for item in ReviewCopyRecord.query(keys.published_reviews_pk(merchant_id), page_size=100):
            yield Review.model_validate_json(item.document)

    def feed_merchants(self) -> Iterator[str]:
        for item in ReviewFeedRecord.query(keys.REVIEW_FEEDS_PK, page_size=100):
            yield item.merchant_id


def _summary(item: ReviewSummaryRecord) -> Summary:
    return Summary({rating: int(getattr(item, f"r{rating}") or 0) for rating in RATINGS})
