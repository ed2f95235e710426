"""The returns API's documents, and its calls wired to this deployment's adapters.

Each function is one API route's domain call: the Chalice view parses, calls one of these and
responds. Reads are one Query of the order's partition (plus the policy version, cached).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..errors import InvalidInput, RetryLater, ServiceUnavailable
from ..security.order_access import OrderAccess, open_by_email
from ..security.tokens import sign_order_token
from .messages import ReturnChanged
from .requests import ReturnCommandIn, ReturnRequestIn
from .rma import ReturnRequest
from .service import OrderReturns, find_return, load, request_return, step_return


def rma_document(rma: ReturnRequest) -> dict[str, Any]:
    document = rma.model_dump(mode="json", exclude_none=True)
    document["history"] = [{key: value for key, value in step.items() if value not in (None, {})}
                           for step in document["history"]]
    return document


def returns_document(returns: OrderReturns) -> dict[str, Any]:
    return {
        "order_id": returns.order.order_id,
        "policy_version": returns.policy_version,  # 0: the default policy (none was published yet)
        "items": [{"sku": item.sku, "returnable": item.returnable, "reason": item.reason,
                   "returnable_quantity": item.returnable_quantity,
                   "last_day": item.last_day.isoformat() if item.last_day else None,
                   "resolutions": sorted(resolution.value for resolution in item.resolutions)}
                  for item in returns.items],
        "returns": [rma_document(entry.rma) for entry in returns.returns],
    }


def _notify(change: ReturnChanged) -> None:
    from ..services import return_events_queue

    try:
        return_events_queue().publish(change.model_dump_json(), kind=change.type, merchant_id=change.merchant_id)
    except RetryLater:
        raise ServiceUnavailable("the return was saved, but its notices could not be queued; send the same "
                                 "request again (with the same Idempotency-Key) to finish") from None


def list_returns(access: OrderAccess, now: datetime) -> dict[str, Any]:
    from ..services import policy_store, return_store

    return returns_document(load(return_store(), policy_store(), access.merchant_id, access.order_id, now))


def get_return(access: OrderAccess, rma_id: str, now: datetime) -> dict[str, Any]:
    from ..services import policy_store, return_store

    returns = load(return_store(), policy_store(), access.merchant_id, access.order_id, now)
    return rma_document(find_return(returns, rma_id).rma)


def create_return(access: OrderAccess, body: ReturnRequestIn, client_key: str | None,
                  now: datetime) -> tuple[dict[str, Any], bool]:
    from ..services import policy_store, return_store

    if client_key is not None and not 1 <= len(client_key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1-200 characters", field="Idempotency-Key")
    rma, created = request_return(access, body, client_key, store=return_store(), policies=policy_store(),
                                  notify=_notify, now=now)
    return rma_document(rma), created


def step(access: OrderAccess, rma_id: str, command: ReturnCommandIn, now: datetime) -> dict[str, Any]:
    from ..services import policy_store, return_store

    rma, _ = step_return(access, rma_id, command, store=return_store(), policies=policy_store(), notify=_notify,
                         now=now)
    return rma_document(rma)


# A lookup opens the order for a day; the links in emails last ORDER_LINK_TTL_DAYS.
LOOKUP_TOKEN_TTL = timedelta(days=1)


def lookup_order(merchant_id: str, order_number: str, email: str, client: str, base_url: str,
                 now: datetime) -> dict[str, Any]:
    """Order number + email -> a link token for that one order (the customer's way in without a link)."""
    from ..messaging.links import order_page_url
    from ..services import attempt_limiter, link_keys, order_numbers

    access = open_by_email(merchant_id, order_number, email, client, numbers=order_numbers(),
                           limiter=attempt_limiter(), now=now)
    keys = link_keys()
    expires_at = now + LOOKUP_TOKEN_TTL
    return {"order_id": access.order_id,
            "token": sign_order_token(keys, merchant_id, access.order_id, expires_at),
            "expires_at": expires_at.isoformat(),
            "order_page_url": order_page_url(base_url, keys, merchant_id, access.order_id, now, LOOKUP_TOKEN_TTL)}
