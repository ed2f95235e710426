"""Reactions that count what just happened (orders/reactions.py lists them), and the `count`
port the consumers' effects use: each builds a Tally (counters.py) and hands it to the counter
store, which counts it once per event key (storage/stats.py)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from . import counters

if TYPE_CHECKING:
    from ..orders.processing import RecordedOrderLike
    from ..returns.rma import ReturnRequest


class Counters(Protocol):
    def record(self, tally: counters.Tally, now: datetime) -> bool: ...


def count(tally: counters.Tally, now: datetime) -> bool:
    """Count one fact (False: it was counted before)."""
    from .. import services

    return services.stats().record(tally, now)


def on_order_recorded(recorded: "RecordedOrderLike", now: datetime) -> None:
    order = recorded.order
    count(counters.order_placed(recorded.merchant_id, order.order_id, order.placed_at,
                                [(item.sku, item.quantity) for item in order.items]), now)


def refunded_at(rma: "ReturnRequest") -> datetime | None:
    """When the RMA was resolved with a refund (None: not a refund, or not resolved)."""
    from ..returns.rma import ResolutionKind

    if rma.resolution is None or rma.resolution.kind is not ResolutionKind.REFUND:
        return None
    return next((step.at for step in reversed(rma.history) if step.command == "resolve"), None)


def on_return_resolved(merchant_id: str, order_id: str, rma: "ReturnRequest", now: datetime) -> None:
    at = refunded_at(rma)
    if at is not None:
        count(counters.return_refunded(merchant_id, rma.rma_id, rma.created_at, at), now)


def return_requested(merchant_id: str, rma: "ReturnRequest") -> counters.Tally:
    return counters.return_requested(merchant_id, rma.rma_id, rma.created_at,
                                     [(line.sku, line.reason.value, line.quantity) for line in rma.lines])


def count_sent(request, outcome: str, now: datetime) -> None:
    """An email request delivered: counted once per ledger message ("duplicate": the send a
    crash kept from being counted, or already counted)."""
    if outcome not in ("sent", "duplicate"):
        return
    scope, owner = request.ledger_scope
    count(counters.email_outcome(request.merchant_id, "sent", request.kind, f"{scope}#{owner}#{request.message_key}",
                                 now), now)


def count_feedback(suppression) -> None:
    """A hard bounce or a complaint SES told us of (the same notification again: counted once)."""
    outcome = {"bounce": "bounced", "complaint": "complained"}.get(suppression.reason)
    if outcome is None or suppression.merchant_id is None:
        return
    import hashlib

    # The address only as a digest: the marker outlives nothing, but keys are no place for an email.
    digest = hashlib.sha256(suppression.email.encode()).hexdigest()[:32]
    identity = f"{digest}#{suppression.at.isoformat()}"
    count(counters.email_outcome(suppression.merchant_id, outcome, suppression.kind or "unknown", identity,
                                 suppression.at), suppression.at)


def count_unsubscribe(merchant_id: str, customer_id: str, kind: str, was_subscribed: bool, now: datetime) -> None:
    """A customer turned a kind of email off (only a change counts: a second click does not)."""
    if was_subscribed:
        import hashlib

        digest = hashlib.sha256(customer_id.encode()).hexdigest()[:32]  # a guest's id derives from the email
        count(counters.email_outcome(merchant_id, "unsubscribed", kind, f"{digest}#{kind}#{now.isoformat()}", now),
              now)
