"""Which customer emails an RMA's new transitions call for, and what each says (pure).

One email per step that matters to the customer: request received, approved with
instructions, rejected with reason, parcel received, refund / credit / exchange issued. The
"approved" email carries the instructions, so when the policy promises a prepaid label it
waits for the label (or drop-off code); until then the customer has the "request received"
email. The send ledger keeps each (RMA, variant) to one email whatever is replayed.
"""
from __future__ import annotations

from datetime import datetime

from ..messaging.requests import EmailRequest, ReturnNotice, ReturnNoticeLine, ReturnUpdateVariant
from ..orders.models import Order
from .policy import Resolution, ReturnPolicy
from .rma import ReturnRequest, Transition

_RESOLVED: dict[Resolution, ReturnUpdateVariant] = {
    Resolution.REFUND: "refunded",
    Resolution.STORE_CREDIT: "credit_issued",
    Resolution.EXCHANGE: "exchange_shipped",
}


def notice_variants(rma: ReturnRequest, new: list[Transition], policy: ReturnPolicy) -> list[ReturnUpdateVariant]:
    """The notices `new` (the transitions just made, oldest first) call for, in order, once each."""
    label_expected = policy.logistics.label_provided
    variants: list[ReturnUpdateVariant] = []
    for transition in new:
        command = transition.command
        variant: ReturnUpdateVariant | None = None
        if command == "request":
            variant = "requested"
        elif command == "approve" and not label_expected:
            variant = "approved"
        elif command in ("issue_label", "issue_drop_off_code"):
            variant = "approved"
        elif command == "reject":
            variant = "rejected"
        elif command == "receive":
            variant = "received"
        elif command == "resolve" and rma.resolution is not None:
            variant = _RESOLVED[rma.resolution.kind]
        if variant is not None and variant not in variants:
            variants.append(variant)
    # Approved in the same breath as requested (auto-approval): one email with the instructions.
    if "requested" in variants and "approved" in variants:
        variants.remove("requested")
    return variants


def return_notice(rma: ReturnRequest, policy: ReturnPolicy) -> ReturnNotice:
    accepted = {line.sku: line.accepted_quantity for line in rma.inspection or ()}
    label = rma.label
    resolution = rma.resolution
    return ReturnNotice(
        rma_id=rma.rma_id,
        status=rma.status.value,
        lines=[ReturnNoticeLine(sku=line.sku, quantity=line.quantity, reason=line.reason.value,
                                resolution=line.resolution.value, accepted_quantity=accepted.get(line.sku))
               for line in rma.lines],
        requested_at=rma.created_at,
        ship_by=rma.expires_at,
        label_provided=policy.logistics.label_provided,
        carrier=label.carrier if label else None,
        tracking_number=label.tracking_number if label else None,
        label_url=label.label_url if label else None,
        drop_off_code=label.drop_off_code if label else None,
        drop_off_options=[option.value for option in policy.logistics.drop_off_options],
        conditions=sorted(condition.value for condition in policy.conditions),
        processing_days=policy.logistics.processing_days,
        refund_days=policy.logistics.refund_days,
        rejection_reason=rma.rejection_reason,
        inspection_outcome=rma.inspection_outcome.value if rma.inspection_outcome else None,
        amount=resolution.amount if resolution else None,
        credit_code=resolution.store_credit_code if resolution else None,
    )


def _late_instructions(rma: ReturnRequest, new: list[Transition], policy: ReturnPolicy) -> bool:
    """A label or drop-off code given after an approval email that went without one (the policy
    promised no label, so the approval emailed at once): the customer needs it too."""
    return not policy.logistics.label_provided and any(
        t.command in ("issue_label", "issue_drop_off_code") for t in new)


def notice_requests(rma: ReturnRequest, new: list[Transition], order: Order, policy: ReturnPolicy, *,
                    order_page_url: str, now: datetime) -> list[EmailRequest]:
    notice = return_notice(rma, policy)
    late = _late_instructions(rma, new, policy)
    # The approval email with the label or code, when it comes after an approval email without
    # one: a ledger key of its own, so it is not taken for a duplicate of the first.
    return [EmailRequest.about_order(order, order_page_url=order_page_url, now=now, kind="return_update",
                                     variant=variant, merchant_id=rma.merchant_id,
                                     ref=f"{rma.rma_id}.label" if late and variant == "approved" else rma.rma_id,
                                     return_notice=notice)
            for variant in notice_variants(rma, new, policy)]
