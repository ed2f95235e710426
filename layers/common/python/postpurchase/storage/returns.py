"""RMAs on the one table, under their order (pk M#{m}#O#{o}, sk RMA#{r}).

A new RMA is one transaction: put the RMA (only if its id is new) and bump the order's
`returns_revision` (only if it is still the value the request was judged against). A step on
an RMA is a put conditioned on the RMA's own revision. Both write the RMA's place in the
merchant's returns queue (gsi1 keys, returns/queue.py); a new RMA also writes the item that
finds it by the order's email (storage/return_queue.py reads both).
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ..errors import RetryLater
from ..returns.queue import queue_place
from ..returns.rma import ReturnRequest
from ..security.order_access import email_digest
from ..returns.service import ReturnExists, StaleOrder, StaleReturn
from . import keys
from .orders import DynamoOrderStore, OrderView, _connection, _reasons
from .table import OrderRecord, ReturnEmailRecord, ReturnOrderRecord, ReturnRecord


def _queue_keys(merchant_id: str, rma: ReturnRequest) -> tuple[str, str]:
    partition, sort_key = queue_place(rma)
    return keys.returns_queue_pk(merchant_id, partition), sort_key


def _record(merchant_id: str, rma: ReturnRequest, now: datetime, *, fingerprint: str | None,
            external_id: str | None, created_at: datetime) -> ReturnRecord:
    gsi1pk, gsi1sk = _queue_keys(merchant_id, rma)
    return ReturnRecord(keys.order_pk(merchant_id, rma.order_id), keys.return_sk(rma.rma_id),
                        merchant_id=merchant_id, order_id=rma.order_id, rma_id=rma.rma_id,
                        document=rma.model_dump_json(), status=rma.status.value, revision=len(rma.history),
                        fingerprint=fingerprint, external_id=external_id, created_at=created_at, updated_at=now,
                        gsi1pk=gsi1pk, gsi1sk=gsi1sk)


class DynamoReturnStore:
    def __init__(self, orders: DynamoOrderStore) -> None:
        self._orders = orders

    def order_view(self, merchant_id: str, order_id: str, consistent: bool = False) -> OrderView | None:
        return self._orders.order_view(merchant_id, order_id, consistent=consistent)

    def create_return(self, merchant_id: str, rma: ReturnRequest, *, expected_revision: int,
                      fingerprint: str | None, external_id: str | None, now: datetime,
                      email: str | None = None) -> None:
        record = _record(merchant_id, rma, now, fingerprint=fingerprint, external_id=external_id,
                         created_at=rma.created_at)
        seen = (OrderRecord.returns_revision == expected_revision)
        if expected_revision == 0:  # orders stored before returns existed have no counter yet
            seen = seen | OrderRecord.returns_revision.does_not_exist()
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.update(OrderRecord(keys.order_pk(merchant_id, rma.order_id), keys.ORDER_SK),
                                   actions=[OrderRecord.returns_revision.set(expected_revision + 1)],
                                   condition=OrderRecord.pk.exists() & seen)
                transaction.save(record, condition=ReturnRecord.pk.does_not_exist())
                transaction.save(ReturnOrderRecord(keys.return_order_pk(merchant_id, rma.rma_id), keys.RETURN_ORDER_SK,
                                                   merchant_id=merchant_id, order_id=rma.order_id))
                if email:
                    transaction.save(ReturnEmailRecord(keys.return_email_pk(merchant_id, email_digest(email)),
                                                       keys.return_email_sk(rma.order_id, rma.rma_id),
                                                       merchant_id=merchant_id, order_id=rma.order_id,
                                                       rma_id=rma.rma_id))
        except TransactWriteError as error:
            # PynamoDB sends condition checks, deletes, puts, then updates, whatever the order of
            # the calls above: [RMA put, RMA->order put, (email put), order update].
            puts = 3 if email else 2
            reasons = _reasons(error) + [None] * (puts + 1)
            if reasons[0] == "ConditionalCheckFailed":
                raise ReturnExists(rma.rma_id) from None
            if reasons[puts] == "ConditionalCheckFailed" or "TransactionConflict" in reasons:
                raise StaleOrder(rma.order_id) from None
            raise RetryLater(f"return write cancelled: {_reasons(error) or error.cause_response_code}") from error

    def order_of_return(self, merchant_id: str, rma_id: str) -> str | None:
        try:
            return ReturnOrderRecord.get(keys.return_order_pk(merchant_id, rma_id), keys.RETURN_ORDER_SK).order_id
        except DoesNotExist:
            return None

    def save_return(self, merchant_id: str, rma: ReturnRequest, *, expected_revision: int, now: datetime) -> None:
        record = ReturnRecord(keys.order_pk(merchant_id, rma.order_id), keys.return_sk(rma.rma_id))
        gsi1pk, gsi1sk = _queue_keys(merchant_id, rma)
        try:
            record.update(actions=[ReturnRecord.document.set(rma.model_dump_json()),
                                   ReturnRecord.status.set(rma.status.value),
                                   ReturnRecord.revision.set(len(rma.history)),
                                   ReturnRecord.updated_at.set(now),
                                   ReturnRecord.gsi1pk.set(gsi1pk), ReturnRecord.gsi1sk.set(gsi1sk)],
                          condition=ReturnRecord.revision == expected_revision)
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise StaleReturn(rma.rma_id) from None
            raise RetryLater(f"return save failed: {error.cause_response_code}") from error
