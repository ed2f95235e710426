"""EasyPost Trackers: register and poll over the v2 API, and verify/parse tracker webhooks.

API: POST /trackers {"tracker": {"tracking_code", "carrier"}} creates (EasyPost de-duplicates
on tracking_code + carrier, returning the original tracker); GET /trackers/{trk_id} reads one;
GET /trackers?tracking_code=... lists. Auth is HTTP Basic with the API key as the username.

Webhooks POST an Event {"object": "Event", "description": "tracker.updated", "result": Tracker}
signed in `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256 of the raw body>`, keyed with the
webhook secret normalised to Unicode NFKD and encoded UTF-8 (as EasyPost's client libraries do).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

from pydantic import ValidationError

from postpurchase.errors import InvalidInput, InvalidSignature, MalformedJson
from postpurchase.security.signatures import header
from postpurchase.tracking.carriers.base import (
    format_location,
    make_update,
    normalise_carrier,
    parse_timestamp,
    tracking_url,
)
from postpurchase.tracking.carriers.http import CarrierRequestError, HttpClient
from postpurchase.tracking.model import TrackingEvent, TrackingUpdate
from postpurchase.tracking.status_maps import map_easypost

DEFAULT_BASE_URL = "https://api.easypost.com/v2"
SIGNATURE_HEADER = "X-Hmac-Signature"
SIGNATURE_PREFIX = "hmac-sha256-hex="
TRACKER_EVENTS = frozenset({"tracker.updated", "tracker.created"})

# Our slug -> EasyPost's carrier name. Anything else is passed through as given: EasyPost
# matches carrier names loosely and can auto-detect.
_EASYPOST_CARRIERS: dict[str, str] = {
    "usps": "USPS",
    "ups": "UPS",
    "fedex": "FedEx",
    "dhl": "DHLExpress",
    "dhl_express": "DHLExpress",
    "dhl_ecommerce": "DHLeCommerceSolutions",
    "canada_post": "CanadaPost",
    "royal_mail": "RoyalMail",
    "australia_post": "AustraliaPost",
    "purolator": "Purolator",
    "ontrac": "OnTrac",
    "dpd_uk": "DPDUK",
    "parcelforce": "Parcelforce",
    "lasership": "LaserShip",
}


def easypost_carrier(carrier: str | None) -> str | None:
    """EasyPost's name for our carrier slug; None lets EasyPost detect the carrier."""
    slug = normalise_carrier(carrier)
    if slug == "unknown":
        return None
    return _EASYPOST_CARRIERS.get(slug, str(carrier).strip())


class EasyPostClient:
    provider = "easypost"

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, http: HttpClient | None = None, *,
                 requests_per_second: float | None = 5.0, **http_options: Any) -> None:
        if http is None and not api_key:
            raise ValueError("an EasyPost API key is required")
        # http_options (timeouts, retry, rate_limiter, sleep, random) go to the HttpClient built
        # here, so callers and tests can tune it without re-creating the auth wiring.
        self._http = http or HttpClient(base_url, provider=self.provider, basic_auth=(api_key, ""),
                                        requests_per_second=requests_per_second, **http_options)

    def register(self, carrier: str, tracking_number: str) -> TrackingUpdate:
        tracker: dict[str, Any] = {"tracking_code": tracking_number}
        if easypost_carrier(carrier):
            tracker["carrier"] = easypost_carrier(carrier)
        return parse_tracker(self._http.post("/trackers", {"tracker": tracker}))

    def fetch(self, carrier: str, tracking_number: str, provider_tracker_id: str | None) -> TrackingUpdate:
        if provider_tracker_id:
            return parse_tracker(self._http.get(f"/trackers/{quote(provider_tracker_id, safe='')}"))
        page = self._http.get("/trackers", {"tracking_code": tracking_number, "carrier": easypost_carrier(carrier),
                                            "page_size": 5})
        trackers = [t for t in (page or {}).get("trackers") or []
                    if isinstance(t, dict) and t.get("tracking_code") == tracking_number]
        if not trackers:
            raise CarrierRequestError(404, f"no EasyPost tracker for {tracking_number}", page)
        # Tracking codes are recycled by carriers: the most recently created tracker is ours.
        return parse_tracker(max(trackers, key=lambda t: str(t.get("created_at") or "")))

    @staticmethod
    def parse_webhook(headers: Mapping[str, str] | None, raw_body: bytes,
                      secret: str | Sequence[str]) -> TrackingUpdate | None:
        return parse_webhook(headers, raw_body, secret)


def parse_tracker(tracker: Any, source: Literal["poll", "webhook"] = "poll") -> TrackingUpdate:
    """An EasyPost Tracker object -> TrackingUpdate."""
    if not isinstance(tracker, dict):
        raise InvalidInput("EasyPost tracker must be an object")
    carrier = normalise_carrier(tracker.get("carrier"))
    number = str(tracker.get("tracking_code") or "").strip()
    status, sub_status = map_easypost(tracker.get("status"), tracker.get("status_detail"))
    events = sorted(
        (event for detail in tracker.get("tracking_details") or [] if (event := _event(detail)) is not None),
        key=lambda event: event.occurred_at,
    )
    return make_update(
        carrier=carrier,
        tracking_number=number,
        provider="easypost",
        provider_tracker_id=tracker.get("id") or None,
        status=status,
        sub_status=sub_status,
        events=events,
        estimated_delivery=parse_timestamp(tracker.get("est_delivery_date")),
        tracking_url=tracker.get("public_url") or tracking_url(carrier, number),
        signed_by=tracker.get("signed_by") or None,
        source=source,
    )


def _event(detail: Any) -> TrackingEvent | None:
    """One TrackingDetail; None for a scan we cannot place in time (it cannot be ordered)."""
    if not isinstance(detail, dict):
        return None
    occurred_at = parse_timestamp(detail.get("datetime"))
    if occurred_at is None:
        return None
    status, sub_status = map_easypost(detail.get("status"), detail.get("status_detail"))
    where = detail.get("tracking_location") if isinstance(detail.get("tracking_location"), dict) else {}
    location = format_location(where.get("city"), where.get("state"), where.get("country"))
    if location is None:
        location = format_location(where.get("zip"))
    # EasyPost has no per-detail id; the event's identity() falls back to time+code+location.
    code = detail.get("carrier_code") or detail.get("status_detail") or detail.get("status")
    try:
        return TrackingEvent(
            occurred_at=occurred_at,
            status=status,
            sub_status=sub_status,
            description=str(detail.get("message") or detail.get("description") or "")[:500],
            location=location,
            carrier_code=str(code)[:80] if code else None,
            carrier_event_id=None,
        )
    except ValidationError:
        return None


# --- webhooks ---------------------------------------------------------------------------------

def sign(raw_body: bytes, secret: str) -> str:
    """The X-Hmac-Signature value EasyPost sends for this body under `secret`."""
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return SIGNATURE_PREFIX + hmac.new(key, bytes(raw_body), hashlib.sha256).hexdigest()


def verify_signature(headers: Mapping[str, str] | None, raw_body: bytes, secret: str | Sequence[str]) -> None:
    """Raise InvalidSignature unless X-Hmac-Signature signs `raw_body` under `secret` (or, given
    several, under one of them: current, then previous during a rotation's overlap)."""
    from postpurchase.security.merchant_secrets import verify_any

    secrets = [secret] if isinstance(secret, str) else list(secret or ())
    secrets = [s for s in secrets if s and isinstance(s, str)]
    if not secrets:
        raise InvalidSignature("webhook secret is not configured")  # never accept unsigned
    given = header(headers, SIGNATURE_HEADER)
    if not isinstance(given, str) or not given.strip():
        raise InvalidSignature("missing X-Hmac-Signature header")
    given_bytes = given.strip().lower().encode("utf-8", "replace")
    if not verify_any(lambda s: hmac.compare_digest(sign(raw_body, s).encode(), given_bytes), secrets):
        raise InvalidSignature("X-Hmac-Signature does not match")


def parse_webhook(headers: Mapping[str, str] | None, raw_body: bytes,
                  secret: str | Sequence[str]) -> TrackingUpdate | None:
    """A verified EasyPost Event -> TrackingUpdate; None for events that are not about trackers."""
    verify_signature(headers, raw_body, secret)
    try:
        event = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedJson("EasyPost webhook body is not JSON") from None
    if not isinstance(event, dict):
        raise InvalidInput("EasyPost webhook body must be an Event object")
    description = event.get("description")
    if not isinstance(description, str) or description not in TRACKER_EVENTS:
        return None
    result = event.get("result")
    if not isinstance(result, dict) or result.get("object", "Tracker") != "Tracker":
        raise InvalidInput("tracker event without a Tracker result", field="result")
    return parse_tracker(result, source="webhook")
