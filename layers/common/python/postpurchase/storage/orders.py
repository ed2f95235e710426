"""OrderStore on the one table: orders, customer profiles and shipments.

Writes that must agree (an order and its customer's profile) go in one transaction, so a
retry after a crash finds either both or neither.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from ..config import settings
from ..errors import RetryLater
from ..orders.models import Order, Shipment
from . import keys
from .table import (CustomerRecord, MessageRecord, OrderNumberRecord, OrderRecord, Record, ReturnRecord,
                    ShipmentRecord, TrackingEventRecord)


@dataclass(frozen=True)
class RecordedOrder:
    merchant_id: str
    order: Order
    customer_id: str
    is_first_order: bool
    newly_recorded: bool


@dataclass(frozen=True)
class StoredShipment:
    shipment: Shipment
    status: str
    tracking: str | None = None  # postpurchase.tracking.state.ShipmentTracking as JSON


@dataclass(frozen=True)
class StoredReturn:
    document: str  # postpurchase.returns.rma.ReturnRequest as JSON
    revision: int
    fingerprint: str | None
    external_id: str | None


@dataclass(frozen=True)
class StoredMessage:
    message_key: str
    state: str
    claimed_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class OrderView:
    """Everything stored under one order, read with one Query."""

    order: Order
    status: str
    is_first_order: bool
    cancelled_at: datetime | None
    shipments: list[StoredShipment]
    messages: list[StoredMessage]
    returns: list[StoredReturn] = field(default_factory=list)
    policy_version: int = 0
    returns_revision: int = 0
    delivered_at: datetime | None = None


class _SharedSessionConnection(Connection):
    """PynamoDB's Connection on the container's botocore session (adapters.aws), not a new one."""

    @property
    def session(self):
        from ..adapters import aws

        return aws.botocore_session()


@lru_cache(maxsize=1)
def _connection() -> Connection:
    # One per container: each Connection builds a botocore client (~100 ms with its own session).
    from ..adapters import aws

    connection = _SharedSessionConnection(region=settings().aws_region)
    with aws.creating:
        connection.client  # built now, under the lock (botocore is not thread-safe); later reads reuse it
    return connection


def _utc(moment: datetime) -> datetime:
    from datetime import timezone

    return moment.astimezone(timezone.utc)


def _reasons(error: TransactWriteError) -> list[str | None]:
    return [reason.code if reason else None for reason in (error.cancellation_reasons or [])]


class DynamoOrderStore:
    def record_order(self, merchant_id: str, order: Order, now: datetime, policy_version: int = 0) -> RecordedOrder:
        """Store the order, its customer's profile and its order-number lookup in one transaction.

        `policy_version` is the return policy in force when the order was placed (0 = the
        default policy); returns of this order are judged by it, whatever is published later."""
        customer_id = order.customer.customer_id()
        profile_pk = keys.customer_pk(merchant_id, customer_id)
        try:
            profile = CustomerRecord.get(profile_pk, keys.PROFILE_SK)
        except DoesNotExist:
            profile = None
        first_order_id = profile.first_order_id if profile else None
        is_first = first_order_id in (None, order.order_id)

        record = OrderRecord(
            keys.order_pk(merchant_id, order.order_id), keys.ORDER_SK,
            merchant_id=merchant_id, order_id=order.order_id, customer_id=customer_id,
            document=order.model_dump_json(), status="placed", is_first_order=is_first,
            placed_at=order.placed_at, recorded_at=now, policy_version=policy_version, returns_revision=0,
            gsi1pk=profile_pk, gsi1sk=f"O#{order.placed_at.isoformat()}#{order.order_id}",
            # The merchant's orders of the day (packing-insert batches; keys-only gsi4).
            gsi4pk=keys.orders_day_pk(merchant_id, _utc(order.placed_at).date().isoformat()),
            gsi4sk=keys.order_day_sk(order.placed_at, order.order_id),
        )
        c = order.customer
        actions = [
            CustomerRecord.type.set(CustomerRecord),
            CustomerRecord.merchant_id.set(merchant_id),
            CustomerRecord.customer_id.set(customer_id),
            CustomerRecord.email.set(c.email),
            CustomerRecord.first_order_id.set(CustomerRecord.first_order_id | order.order_id),
            CustomerRecord.last_order_at.set(order.placed_at),
            CustomerRecord.updated_at.set(now),
            # The merchant's customer list (campaigns page through it; sparse gsi1 entry).
            CustomerRecord.gsi1pk.set(keys.customers_index_pk(merchant_id)),
            CustomerRecord.gsi1sk.set(customer_id),
        ]
        # Only what the storefront sent overwrites what we knew.
        for attribute, value in ((CustomerRecord.first_name, c.first_name), (CustomerRecord.last_name, c.last_name),
                                 (CustomerRecord.locale, c.locale), (CustomerRecord.timezone, c.timezone),
                                 (CustomerRecord.birthday, c.birthday.isoformat() if c.birthday else None)):
            if value is not None:
                actions.append(attribute.set(value))
        actions.append(CustomerRecord.order_count.add(1))
        # A concurrent first order for the same customer must not both be "first".
        condition = (CustomerRecord.first_order_id.does_not_exist() if first_order_id is None
                     else CustomerRecord.first_order_id == first_order_id)
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.save(record, condition=OrderRecord.pk.does_not_exist())
                transaction.update(CustomerRecord(profile_pk, keys.PROFILE_SK), actions=actions,
                                   condition=condition)
                transaction.save(self._number_record(merchant_id, order))
                transaction.save(self._email_record(merchant_id, c.email, customer_id))
        except TransactWriteError as error:
            reasons = _reasons(error)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                existing = OrderRecord.get(record.pk, keys.ORDER_SK)
                return RecordedOrder(merchant_id, Order.model_validate_json(existing.document),
                                     existing.customer_id, existing.is_first_order, newly_recorded=False)
            raise RetryLater(f"order write cancelled: {reasons or error.cause_response_code}") from error
        return RecordedOrder(merchant_id, order, customer_id, is_first, newly_recorded=True)

    @staticmethod
    def _email_record(merchant_id: str, email: str, customer_id: str) -> "CustomerEmailRecord":
        from ..security.order_access import email_digest
        from .table import CustomerEmailRecord

        return CustomerEmailRecord(keys.customer_email_pk(merchant_id, email_digest(email)), customer_id,
                                   merchant_id=merchant_id, customer_id=customer_id)

    @staticmethod
    def _number_record(merchant_id: str, order: Order) -> OrderNumberRecord:
        from ..security.order_access import email_digest, normalise_order_number

        number = normalise_order_number(order.display_number)
        return OrderNumberRecord(keys.order_number_pk(merchant_id, number), keys.ORDER_SK, merchant_id=merchant_id,
                                 order_id=order.order_id, email_hash=email_digest(order.recipient))

    def record_shipment(self, merchant_id: str, order_id: str, shipment: Shipment, now: datetime) -> None:
        pk = keys.order_pk(merchant_id, order_id)
        actions = [
            ShipmentRecord.type.set(ShipmentRecord),
            ShipmentRecord.merchant_id.set(merchant_id),
            ShipmentRecord.order_id.set(order_id),
            ShipmentRecord.shipment_id.set(shipment.shipment_id),
            ShipmentRecord.document.set(shipment.model_dump_json()),
            ShipmentRecord.carrier.set(shipment.carrier),
            ShipmentRecord.tracking_number.set(shipment.tracking_number),
            ShipmentRecord.status.set(ShipmentRecord.status | "pending"),
            ShipmentRecord.recorded_at.set(ShipmentRecord.recorded_at | now),
            ShipmentRecord.updated_at.set(now),
            ShipmentRecord.gsi4pk.set(keys.tracking_number_pk(merchant_id, shipment.tracking_number)),
            ShipmentRecord.gsi4sk.set(f"{shipment.created_at.isoformat()}|{order_id}|{shipment.shipment_id}"),
        ]
        try:
            with TransactWrite(connection=_connection()) as transaction:
                transaction.condition_check(OrderRecord, pk, keys.ORDER_SK, condition=OrderRecord.pk.exists())
                transaction.update(ShipmentRecord(pk, keys.shipment_sk(shipment.shipment_id)), actions=actions)
        except TransactWriteError as error:
            reasons = _reasons(error)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                # Storefronts do not promise order: the order may still be on its way.
                raise RetryLater(f"shipment {shipment.shipment_id} arrived before order {order_id}") from error
            raise RetryLater(f"shipment write cancelled: {reasons or error.cause_response_code}") from error

    def cancel_order(self, merchant_id: str, order_id: str, cancelled_at: datetime, reason: str | None) -> None:
        record = OrderRecord(keys.order_pk(merchant_id, order_id), keys.ORDER_SK)
        actions = [OrderRecord.status.set("cancelled"), OrderRecord.cancelled_at.set(cancelled_at)]
        if reason:
            actions.append(OrderRecord.cancel_reason.set(reason))
        try:
            record.update(actions=actions, condition=OrderRecord.pk.exists())
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise RetryLater(f"cancellation arrived before order {order_id}") from error
            raise RetryLater(str(error)) from error

    def get_order(self, merchant_id: str, order_id: str) -> Order | None:
        try:
            return Order.model_validate_json(OrderRecord.get(keys.order_pk(merchant_id, order_id),
                                                             keys.ORDER_SK).document)
        except DoesNotExist:
            return None

    def record_delivery(self, merchant_id: str, order_id: str, delivered_at: datetime) -> None:
        """The first parcel's delivery time, kept on the order: return windows and review
        requests count from it."""
        try:
            OrderRecord(keys.order_pk(merchant_id, order_id), keys.ORDER_SK).update(
                actions=[OrderRecord.delivered_at.set(OrderRecord.delivered_at | delivered_at)],
                condition=OrderRecord.pk.exists())
        except UpdateError as error:
            raise RetryLater(f"could not record delivery of order {order_id}: {error}") from error

    def order_view(self, merchant_id: str, order_id: str, consistent: bool = False) -> OrderView | None:
        """The order with its shipments, messages and returns: one Query on the order's partition."""
        # Everything but the carrier scans (SHIP#{s}#EV#...), which only the timeline reads.
        return order_view_of(merchant_id, Record.query(keys.order_pk(merchant_id, order_id), consistent_read=consistent,
                                                       filter_condition=Record.type != TrackingEventRecord))

    def order_page(self, merchant_id: str, order_id: str) -> "tuple[OrderView, list] | None":
        """The order view and every parcel with its timeline (a customer's order page): one Query."""
        from .tracking import tracked_shipments

        items = list(Record.query(keys.order_pk(merchant_id, order_id)))
        view = order_view_of(merchant_id, items)
        if view is None:
            return None
        return view, tracked_shipments(merchant_id, order_id, items) or []


def order_view_of(merchant_id: str, items) -> OrderView | None:
    """The order view among an order partition's items; None without the order (or another merchant's)."""
    order: OrderRecord | None = None
    shipments: list[StoredShipment] = []
    messages: list[StoredMessage] = []
    returns: list[StoredReturn] = []
    for item in items:
        if isinstance(item, OrderRecord):
            order = item
        elif isinstance(item, ShipmentRecord):
            shipments.append(StoredShipment(Shipment.model_validate_json(item.document), item.status, item.tracking))
        elif isinstance(item, MessageRecord):
            messages.append(StoredMessage(item.message_key, item.state, item.claimed_at, item.sent_at))
        elif isinstance(item, ReturnRecord):
            returns.append(StoredReturn(item.document, int(item.revision), item.fingerprint, item.external_id))
    if order is None or order.merchant_id != merchant_id:
        return None
    return OrderView(Order.model_validate_json(order.document), order.status, order.is_first_order,
                     order.cancelled_at, shipments, messages, returns, int(order.policy_version or 0),
                     int(order.returns_revision or 0), order.delivered_at)


__all__ = ["DynamoOrderStore", "RecordedOrder", "OrderView", "StoredShipment", "StoredMessage", "StoredReturn"]


def newest_orders(merchant_id: str, customer_id: str, limit: int) -> list[Order]:
    """The customer's newest orders, newest first: one Query of gsi1 (customer -> orders, sort key
    O#{placed_at}#{order}), documents only. Referrals read the referrer's; support the sender's."""
    from ..adapters.aws import client

    response = client("dynamodb").query(
        TableName=settings().table_name, IndexName="gsi1", ScanIndexForward=False, Limit=limit,
        KeyConditionExpression="gsi1pk = :customer AND begins_with(gsi1sk, :orders)",
        ProjectionExpression="#document", ExpressionAttributeNames={"#document": "document"},
        ExpressionAttributeValues={":customer": {"S": keys.customer_pk(merchant_id, customer_id)},
                                   ":orders": {"S": "O#"}})
    return [Order.model_validate_json(item["document"]["S"]) for item in response.get("Items", []) if "document" in item]
