"""AfterShip Tracking API (version 2024-04): register and poll, and verify/parse webhooks.

API: header `as-api-key`; POST /trackings {"tracking": {"tracking_number", "slug"}} creates
(meta.code 4003 when it already exists); GET /trackings/{id} or /trackings/{slug}/{number}
reads (GET /trackings?tracking_numbers= when the courier is unknown). 2024-04 wraps the
tracking as `data.tracking`; later versions return it as `data` itself, so both are accepted.

Webhooks POST {"event": "tracking_update", "event_id", "is_tracking_first_tag", "msg": tracking,
"ts"} with header `aftership-hmac-sha256` = base64(HMAC-SHA256(secret, raw body)).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import ValidationError

from postpurchase.errors import InvalidInput, InvalidSignature, MalformedJson
from postpurchase.security.signatures import header, verify_hmac_base64
from postpurchase.tracking.carriers.base import (
    format_location,
    make_update,
    normalise_carrier,
    parse_timestamp,
    tracking_url,
)
from postpurchase.tracking.carriers.http import CarrierRequestError, HttpClient
from postpurchase.tracking.model import TrackingEvent, TrackingUpdate
from postpurchase.tracking.status_maps import map_aftership

DEFAULT_BASE_URL = "https://api.aftership.com/tracking/2024-04"
SIGNATURE_HEADER = "aftership-hmac-sha256"
ALREADY_EXISTS = 4003  # meta.code for POST /trackings on a known tracking number

# Our slug -> AfterShip courier slug where they differ (AfterShip slugs are kebab-case; its "dhl"
# is DHL Express).
_AFTERSHIP_SLUGS: dict[str, str] = {
    "dhl_express": "dhl",
    "dhl_ecommerce": "dhl-global-mail",
}


def aftership_slug(carrier: str | None) -> str | None:
    slug = normalise_carrier(carrier)
    if slug == "unknown":
        return None  # let AfterShip detect the courier
    return _AFTERSHIP_SLUGS.get(slug, slug.replace("_", "-"))


class AfterShipClient:
    provider = "aftership"

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, http: HttpClient | None = None, *,
                 requests_per_second: float | None = 5.0, **http_options: Any) -> None:
        if http is None and not api_key:
            raise ValueError("an AfterShip API key is required")
        # http_options (timeouts, retry, rate_limiter, sleep, random) go to the HttpClient.
        # AfterShip documents per-endpoint limits of about 5-20 requests/second; 5 fits all.
        self._http = http or HttpClient(base_url, provider=self.provider, headers={"as-api-key": api_key},
                                        requests_per_second=requests_per_second, **http_options)

    def register(self, carrier: str, tracking_number: str) -> TrackingUpdate:
        tracking: dict[str, Any] = {"tracking_number": tracking_number}
        slug = aftership_slug(carrier)
        if slug:
            tracking["slug"] = slug
        try:
            response = self._http.post("/trackings", {"tracking": tracking})
        except CarrierRequestError as error:
            if _meta_code(error.body) != ALREADY_EXISTS:
                raise
            # Registering twice (a redelivered message) is success: read what is there.
            existing = _tracking(error.body, required=False) or {}
            return self.fetch(carrier, tracking_number, existing.get("id") or None)
        return parse_tracking(_tracking(response))

    def fetch(self, carrier: str, tracking_number: str, provider_tracker_id: str | None) -> TrackingUpdate:
        if provider_tracker_id:
            return parse_tracking(_tracking(self._http.get(f"/trackings/{quote(provider_tracker_id, safe='')}")))
        slug = aftership_slug(carrier)
        if slug:
            path = f"/trackings/{quote(slug, safe='')}/{quote(tracking_number, safe='')}"
            return parse_tracking(_tracking(self._http.get(path)))
        # No courier known: search by number (the list endpoint answers `data.trackings`).
        page = self._http.get("/trackings", {"tracking_numbers": tracking_number})
        data = page.get("data") if isinstance(page, dict) else None
        found = [t for t in (data or {}).get("trackings") or []
                 if isinstance(t, dict) and t.get("tracking_number") == tracking_number]
        if not found:
            raise CarrierRequestError(404, f"no AfterShip tracking for {tracking_number}", page)
        return parse_tracking(max(found, key=lambda t: str(t.get("created_at") or "")))

    @staticmethod
    def parse_webhook(headers: Mapping[str, str] | None, raw_body: bytes, secret: "str | Sequence[str]") -> TrackingUpdate | None:
        return parse_webhook(headers, raw_body, secret)


def _meta_code(body: Any) -> int | None:
    meta = body.get("meta") if isinstance(body, dict) else None
    code = meta.get("code") if isinstance(meta, dict) else None
    return code if isinstance(code, int) else None


def _tracking(response: Any, *, required: bool = True) -> dict[str, Any] | None:
    """The tracking object of an API response: `data.tracking` (2024-04) or `data` (later)."""
    data = response.get("data") if isinstance(response, dict) else None
    if isinstance(data, dict) and isinstance(data.get("tracking"), dict):
        return data["tracking"]
    if isinstance(data, dict) and "tracking_number" in data:
        return data
    if required:
        raise InvalidInput("AfterShip response has no tracking", field="data")
    return None


def parse_tracking(tracking: Any, source: Literal["poll", "webhook"] = "poll") -> TrackingUpdate:
    """An AfterShip tracking object -> TrackingUpdate."""
    if not isinstance(tracking, dict):
        raise InvalidInput("AfterShip tracking must be an object")
    carrier = normalise_carrier(tracking.get("slug"))
    number = str(tracking.get("tracking_number") or "").strip()
    status, sub_status = map_aftership(tracking.get("tag"), tracking.get("subtag"))
    events = sorted(
        (event for checkpoint in tracking.get("checkpoints") or []
         if (event := _event(checkpoint)) is not None),
        key=lambda event: event.occurred_at,
    )
    return make_update(
        carrier=carrier,
        tracking_number=number,
        provider="aftership",
        provider_tracker_id=tracking.get("id") or None,
        status=status,
        sub_status=sub_status,
        events=events,
        estimated_delivery=_estimated_delivery(tracking),
        tracking_url=tracking.get("courier_tracking_link") or tracking_url(carrier, number),
        signed_by=tracking.get("signed_by") or None,
        source=source,
    )


def _estimated_delivery(tracking: dict[str, Any]) -> datetime | None:
    """Most specific first: AfterShip's latest revision, the courier's, then the legacy field."""
    candidates = [
        _field(tracking, "latest_estimated_delivery", "datetime"),
        _field(tracking, "courier_estimated_delivery_date", "estimated_delivery_date"),
        tracking.get("expected_delivery"),
        _field(tracking, "aftership_estimated_delivery_date", "estimated_delivery_date"),
        _field(tracking, "custom_estimated_delivery_date", "datetime"),
    ]
    for candidate in candidates:
        parsed = parse_timestamp(candidate)
        if parsed is not None:
            return parsed
    return None


def _field(tracking: dict[str, Any], outer: str, inner: str) -> Any:
    value = tracking.get(outer)
    return value.get(inner) if isinstance(value, dict) else None


def _event(checkpoint: Any) -> TrackingEvent | None:
    if not isinstance(checkpoint, dict):
        return None
    occurred_at = parse_timestamp(checkpoint.get("checkpoint_time"))
    if occurred_at is None:
        return None
    status, sub_status = map_aftership(checkpoint.get("tag"), checkpoint.get("subtag"))
    country = checkpoint.get("country_region") or checkpoint.get("country_iso3")
    location = format_location(checkpoint.get("city"), checkpoint.get("state"), country)
    if location is None:
        location = format_location(checkpoint.get("location"))
    code = checkpoint.get("raw_tag") or checkpoint.get("subtag") or checkpoint.get("tag")
    try:
        return TrackingEvent(
            occurred_at=occurred_at,
            status=status,
            sub_status=sub_status,
            description=str(checkpoint.get("message") or checkpoint.get("subtag_message") or "")[:500],
            location=location,
            carrier_code=str(code)[:80] if code else None,
            # Newer API versions add a per-checkpoint hash; 2024-04 has no event id.
            carrier_event_id=str(checkpoint["hash"])[:200] if checkpoint.get("hash") else None,
        )
    except ValidationError:
        return None


# --- webhooks ---------------------------------------------------------------------------------

def parse_webhook(headers: Mapping[str, str] | None, raw_body: bytes,
                  secret: str | Sequence[str]) -> TrackingUpdate | None:
    """A verified AfterShip webhook -> TrackingUpdate; None when `msg` is not a tracking.
    Several secrets (current, then previous during a rotation's overlap): any one may sign."""
    from postpurchase.security.merchant_secrets import verify_any

    signature = header(headers, SIGNATURE_HEADER)
    if signature is None:
        raise InvalidSignature("missing aftership-hmac-sha256 header")
    secrets = [secret] if isinstance(secret, str) else list(secret or ())
    if not verify_any(lambda s: verify_hmac_base64(raw_body, signature, s), secrets):
        raise InvalidSignature("aftership-hmac-sha256 does not match")
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedJson("AfterShip webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidInput("AfterShip webhook body must be an object")
    message = payload.get("msg")
    if not isinstance(message, dict) or not message.get("tracking_number"):
        return None
    return parse_tracking(message, source="webhook")
