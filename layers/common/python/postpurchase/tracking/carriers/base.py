"""The carrier port: what the tracking service needs from any tracking provider.

Adapters (EasyPost, AfterShip, the in-process sandbox) implement CarrierClient and return our
TrackingUpdate, so nothing upstream ever sees a provider's JSON. The helpers here are the small
pieces every adapter shares: carrier-name normalisation, public tracking-page URLs, timestamps
and location strings.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from typing import Protocol, runtime_checkable
from urllib.parse import quote

from pydantic import ValidationError

from postpurchase.errors import InvalidInput
from postpurchase.tracking.model import TrackingUpdate


@runtime_checkable
class CarrierClient(Protocol):
    provider: str

    def register(self, carrier: str, tracking_number: str) -> TrackingUpdate:
        """Start tracking a parcel with the provider; returns what it knows now."""
        ...

    def fetch(self, carrier: str, tracking_number: str, provider_tracker_id: str | None) -> TrackingUpdate:
        """The provider's current view of a parcel (poll)."""
        ...


# --- carrier names ----------------------------------------------------------------------------

# Providers and storefronts spell carriers differently ("FedEx", "DHLExpress", "royal-mail",
# "Canada Post"); these collapse to our slug. Keys are the name with every separator removed.
_CARRIER_ALIASES: dict[str, str] = {
    "dhlexpress": "dhl_express",
    "dhlecommerce": "dhl_ecommerce",
    "dhlecs": "dhl_ecommerce",
    "dhlglobalmail": "dhl_ecommerce",
    "canadapost": "canada_post",
    "royalmail": "royal_mail",
    "australiapost": "australia_post",
    "auspost": "australia_post",
    "dpduk": "dpd_uk",
    "fedexground": "fedex",
    "fedexsmartpost": "fedex",
    "upsmailinnovations": "ups",
    "unitedstatespostalservice": "usps",
    "hermesuk": "evri",
}


def normalise_carrier(name: str | None) -> str:
    """Our carrier slug for any spelling: "FedEx" -> "fedex", "DHL Express" -> "dhl_express".

    Empty or missing names become "unknown" (TrackingUpdate.carrier must not be empty).
    """
    if not name or not str(name).strip():
        return "unknown"
    slug = re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_") or "unknown"
    return _CARRIER_ALIASES.get(slug.replace("_", ""), slug)[:64]


# Public tracking pages; `{n}` is the URL-quoted tracking number. Stored as a table so adding a
# carrier is one line (and no carrier-specific branching leaks into callers).
TRACKING_URL_TEMPLATES: dict[str, str] = {
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}",
    "ups": "https://www.ups.com/track?tracknum={n}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={n}",
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={n}",
    "dhl_express": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={n}",
    "dhl_ecommerce": "https://webtrack.dhlecs.com/?trackingnumber={n}",
    "royal_mail": "https://www.royalmail.com/track-your-item#/tracking-results/{n}",
    "parcelforce": "https://www.parcelforce.com/track-trace?trackNumber={n}",
    "evri": "https://www.evri.com/track/parcel/{n}",
    "dpd_uk": "https://track.dpd.co.uk/parcels/{n}",
    "canada_post": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={n}",
    "purolator": "https://www.purolator.com/en/shipping/tracker?pin={n}",
    "australia_post": "https://auspost.com.au/mypost/track/details/{n}",
    "ontrac": "https://www.ontrac.com/tracking/?number={n}",
    "lasership": "https://www.lasership.com/track/{n}",
}


def tracking_url(carrier: str | None, tracking_number: str | None) -> str | None:
    """The carrier's public tracking page for this parcel, or None for carriers we don't know."""
    if not tracking_number or not str(tracking_number).strip():
        return None
    template = TRACKING_URL_TEMPLATES.get(normalise_carrier(carrier))
    if template is None:
        return None
    return template.format(n=quote(str(tracking_number).strip(), safe=""))


# --- parsing helpers shared by the adapters --------------------------------------------------

def parse_timestamp(value: object) -> datetime | None:
    """An aware datetime from a provider timestamp, or None if absent/unparseable.

    Accepts ISO 8601 with "Z" or an offset, and bare dates (ETAs). A timestamp without a zone is
    read as UTC: AfterShip documents some checkpoint times as carrier-local without an offset,
    and UTC is the least surprising guess (EasyPost does the same when it lacks a location).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text), time(0, 0))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def format_location(*parts: object) -> str | None:
    """ "Memphis, TN, US" from whichever parts are present; None if none are. """
    cleaned = [str(p).strip() for p in parts if p is not None and str(p).strip()]
    return ", ".join(cleaned)[:200] if cleaned else None


def make_update(**fields: object) -> TrackingUpdate:
    """A TrackingUpdate, or InvalidInput naming the field a provider payload got wrong.

    Adapters build updates from third-party JSON; a value that breaks our model (an empty
    tracking number, a 300-character carrier) is bad input, not a crash.
    """
    try:
        return TrackingUpdate(**fields)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or None
        raise InvalidInput(f"tracking payload rejected: {first.get('msg', 'invalid')}", field=where) from None
