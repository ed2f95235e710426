"""Provider vocabularies -> our TrackingStatus, as tables.

Each provider speaks its own words (EasyPost `status`/`status_detail`, AfterShip `tag`/`subtag`,
Shopify `shipment_status`). Tables, not if-chains, so a new code is one line and a reviewer can
read the whole vocabulary at a glance. Every mapper is total: an unknown or missing code never
raises (a carrier inventing a word must not drop a webhook); it maps to a conservative default
and the raw code is kept as the sub-status so nothing the carrier said is lost.

Sub-statuses share one small vocabulary across providers ("weather_delay", "incorrect_address",
"returning_to_sender", ...) so templates and rules need not know which provider spoke.

Sources: EasyPost Tracker object (status, status_detail lists); AfterShip "Delivery Statuses"
and "Delivery Sub-statuses" enums; Shopify FulfillmentEventStatus.
"""
from __future__ import annotations

from postpurchase.tracking.model import TrackingStatus

S = TrackingStatus
StatusResult = tuple[TrackingStatus, str | None]

_SUB_STATUS_MAX = 80  # TrackingEvent.sub_status max_length

# Unknown codes become PENDING: it asserts nothing (no "delivered", no alarming "exception"),
# so the worst an unmapped word can do is delay a notification, never send a wrong one.
DEFAULT_STATUS = S.PENDING


def _clean(code: object) -> str | None:
    """A raw code as a trimmed string, or None when absent/blank."""
    if code is None:
        return None
    text = str(code).strip()
    return text or None


def _raw_sub(code: str | None) -> str | None:
    return code.lower()[:_SUB_STATUS_MAX] if code else None


# --- EasyPost ---------------------------------------------------------------------------------

EASYPOST_STATUS: dict[str, TrackingStatus] = {
    "unknown": S.PENDING,  # tracker exists, carrier has nothing yet
    "pre_transit": S.INFO_RECEIVED,  # label/electronic info, no physical scan
    "in_transit": S.IN_TRANSIT,
    "out_for_delivery": S.OUT_FOR_DELIVERY,
    "delivered": S.DELIVERED,
    "available_for_pickup": S.AVAILABLE_FOR_PICKUP,
    "return_to_sender": S.RETURNING_TO_SENDER,  # EasyPost has no distinct "returned" status
    "failure": S.EXCEPTION,
    "cancelled": S.EXCEPTION,
    "error": S.EXCEPTION,
}

# status_detail values that change our status (not just annotate it). Documented list plus
# "delivery_attempted"/"return_to_sender", which integrations report seeing in the wild.
EASYPOST_DETAIL_OVERRIDES: dict[str, StatusResult] = {
    "delivery_attempted": (S.ATTEMPT_FAILED, "delivery_attempted"),
    "address_correction": (S.EXCEPTION, "address_correction"),
    "awaiting_information": (S.EXCEPTION, "awaiting_information"),
    "damaged": (S.EXCEPTION, "damaged"),
    "delayed": (S.EXCEPTION, "delayed"),
    "delivery_exception": (S.EXCEPTION, "delivery_exception"),
    "held": (S.EXCEPTION, "held"),
    "lost": (S.EXCEPTION, "lost"),
    "missorted": (S.EXCEPTION, "missorted"),
    "refused": (S.EXCEPTION, "refused"),
    "transit_exception": (S.EXCEPTION, "transit_exception"),
    "weather_delay": (S.EXCEPTION, "weather_delay"),
    "cancelled": (S.EXCEPTION, "cancelled"),
    "failure": (S.EXCEPTION, "failure"),
    "return": (S.RETURNING_TO_SENDER, "returning_to_sender"),
    "return_to_sender": (S.RETURNING_TO_SENDER, "returning_to_sender"),
    "arrived_at_pickup_location": (S.AVAILABLE_FOR_PICKUP, "arrived_at_pickup_location"),
    "expired": (S.EXPIRED, "expired"),
}

# A detail may only override a non-conclusive status: "delivered" + "arrived_at_destination"
# is still delivered, and a stray detail must never un-deliver a parcel.
_EASYPOST_OVERRIDABLE = frozenset(
    {"unknown", "pre_transit", "in_transit", "out_for_delivery", "available_for_pickup", "failure", "error"})

# Details that only restate the status carry no extra information.
_EASYPOST_SILENT_DETAILS = frozenset({"unknown", "in_transit", "out_for_delivery"})


def map_easypost(status: str | None, status_detail: str | None = None) -> StatusResult:
    """EasyPost tracker (or tracking_detail) `status` + `status_detail` -> (status, sub_status)."""
    code = (_clean(status) or "unknown").lower()
    detail = (_clean(status_detail) or "").lower() or None
    base = EASYPOST_STATUS.get(code)
    if base is None:
        return DEFAULT_STATUS, _raw_sub(detail or code)
    if detail and code in _EASYPOST_OVERRIDABLE and detail in EASYPOST_DETAIL_OVERRIDES:
        return EASYPOST_DETAIL_OVERRIDES[detail]
    if detail is None or detail in _EASYPOST_SILENT_DETAILS or detail == code:
        return base, None
    return base, _raw_sub(detail)


# --- AfterShip --------------------------------------------------------------------------------

AFTERSHIP_TAG: dict[str, TrackingStatus] = {
    "pending": S.PENDING,
    "inforeceived": S.INFO_RECEIVED,
    "intransit": S.IN_TRANSIT,
    "outfordelivery": S.OUT_FOR_DELIVERY,
    "attemptfail": S.ATTEMPT_FAILED,
    "delivered": S.DELIVERED,
    "availableforpickup": S.AVAILABLE_FOR_PICKUP,
    "exception": S.EXCEPTION,
    "expired": S.EXPIRED,
}

# Documented subtags, keyed lower-case (lookups lower-case the input). The two that change our
# status are Exception_010/011 (AfterShip files returns under "Exception"); the rest refine it
# into the shared sub-status vocabulary.
AFTERSHIP_SUBTAG: dict[str, StatusResult] = {
    "inforeceived_001": (S.INFO_RECEIVED, None),
    "intransit_001": (S.IN_TRANSIT, None),
    "intransit_002": (S.IN_TRANSIT, "picked_up"),
    "intransit_003": (S.IN_TRANSIT, "arrived_at_facility"),
    "intransit_004": (S.IN_TRANSIT, "arrived_at_destination_country"),
    "intransit_005": (S.IN_TRANSIT, "customs_cleared"),
    "intransit_006": (S.IN_TRANSIT, "customs_processing"),
    "intransit_007": (S.IN_TRANSIT, "departed_facility"),
    "intransit_008": (S.IN_TRANSIT, "problem_resolved"),
    "intransit_009": (S.IN_TRANSIT, "forwarded"),
    "outfordelivery_001": (S.OUT_FOR_DELIVERY, None),
    "outfordelivery_003": (S.OUT_FOR_DELIVERY, "customer_contacted"),
    "outfordelivery_004": (S.OUT_FOR_DELIVERY, "delivery_scheduled"),
    "attemptfail_001": (S.ATTEMPT_FAILED, "recipient_unavailable"),
    "attemptfail_002": (S.ATTEMPT_FAILED, "business_closed"),
    "attemptfail_003": (S.ATTEMPT_FAILED, "delivery_attempted"),
    "delivered_001": (S.DELIVERED, None),
    "delivered_002": (S.DELIVERED, "picked_up_by_customer"),
    "delivered_003": (S.DELIVERED, "signed"),
    "delivered_004": (S.DELIVERED, "cash_on_delivery"),
    "delivered_005": (S.DELIVERED, "delivered_to_neighbor"),
    "availableforpickup_001": (S.AVAILABLE_FOR_PICKUP, None),
    "exception_001": (S.EXCEPTION, None),
    "exception_002": (S.EXCEPTION, "customer_moved"),
    "exception_003": (S.EXCEPTION, "refused"),
    "exception_004": (S.EXCEPTION, "customs_delay"),
    "exception_005": (S.EXCEPTION, "delayed"),
    "exception_006": (S.EXCEPTION, "held_for_payment"),
    "exception_007": (S.EXCEPTION, "incorrect_address"),
    "exception_008": (S.EXCEPTION, "pickup_missed"),
    "exception_009": (S.EXCEPTION, "rejected_by_carrier"),
    "exception_010": (S.RETURNING_TO_SENDER, "returning_to_sender"),
    "exception_011": (S.RETURNED, "returned_to_sender"),
    "exception_012": (S.EXCEPTION, "damaged"),
    "exception_013": (S.EXCEPTION, "lost"),
    "exception_016": (S.EXCEPTION, "processing_delay"),
    "exception_017": (S.EXCEPTION, "weather_delay"),
    "exception_018": (S.EXCEPTION, "missing_documents"),
    "exception_019": (S.EXCEPTION, "flight_delay"),
    "exception_020": (S.EXCEPTION, "cancelled"),
    "exception_021": (S.EXCEPTION, "disposed"),
    "expired_001": (S.EXPIRED, None),
}


def map_aftership(tag: str | None, subtag: str | None = None) -> StatusResult:
    """AfterShip `tag` + `subtag` (tracking or checkpoint) -> (status, sub_status)."""
    tag_key = (_clean(tag) or "").lower()
    sub = _clean(subtag)
    sub_key = sub.lower() if sub else None
    if sub_key and sub_key in AFTERSHIP_SUBTAG:
        return AFTERSHIP_SUBTAG[sub_key]
    status = AFTERSHIP_TAG.get(tag_key)
    if status is None and sub_key:
        # A new subtag still names its tag ("InTransit_014" -> InTransit).
        status = AFTERSHIP_TAG.get(sub_key.split("_", 1)[0])
    if status is None:
        return DEFAULT_STATUS, _raw_sub(sub or _clean(tag))
    if sub_key and sub_key.endswith("_001"):
        return status, None  # "_001" is the plain form of every tag
    return status, _raw_sub(sub)


# --- Shopify ----------------------------------------------------------------------------------

SHOPIFY_STATUS: dict[str, StatusResult] = {
    "label_printed": (S.INFO_RECEIVED, "label_printed"),
    "label_purchased": (S.INFO_RECEIVED, "label_purchased"),
    "confirmed": (S.INFO_RECEIVED, "confirmed"),  # Shopify's default when nothing else is known
    "carrier_picked_up": (S.IN_TRANSIT, "picked_up"),
    "in_transit": (S.IN_TRANSIT, None),
    "out_for_delivery": (S.OUT_FOR_DELIVERY, None),
    "attempted_delivery": (S.ATTEMPT_FAILED, "delivery_attempted"),
    "ready_for_pickup": (S.AVAILABLE_FOR_PICKUP, None),
    "ready_for_recipient_pickup": (S.AVAILABLE_FOR_PICKUP, None),
    # "picked_up" follows "ready_for_pickup": the customer collected it (not the carrier,
    # which is "carrier_picked_up").
    "picked_up": (S.DELIVERED, "picked_up_by_customer"),
    "delivered": (S.DELIVERED, None),
    "delayed": (S.EXCEPTION, "delayed"),
    "failure": (S.EXCEPTION, "failure"),
    "buyer_action_required": (S.EXCEPTION, "buyer_action_required"),
    "returning_to_sender": (S.RETURNING_TO_SENDER, "returning_to_sender"),
}


def map_shopify(status: str | None) -> StatusResult:
    """Shopify fulfillment event status / fulfillment shipment_status -> (status, sub_status).

    REST sends snake_case ("in_transit"), GraphQL sends the enum ("IN_TRANSIT"); both match.
    """
    code = _clean(status)
    if code is None:
        return DEFAULT_STATUS, None
    key = code.lower().replace("-", "_").replace(" ", "_")
    return SHOPIFY_STATUS.get(key, (DEFAULT_STATUS, _raw_sub(code)))
