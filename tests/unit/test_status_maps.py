"""Provider vocabularies -> TrackingStatus (EasyPost, AfterShip, Shopify), and carrier names."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postpurchase.tracking.carriers.base import TRACKING_URL_TEMPLATES, normalise_carrier, tracking_url
from postpurchase.tracking.model import TrackingStatus as S
from postpurchase.tracking.status_maps import (
    AFTERSHIP_SUBTAG,
    AFTERSHIP_TAG,
    EASYPOST_STATUS,
    SHOPIFY_STATUS,
    map_aftership,
    map_easypost,
    map_shopify,
)

# As documented on EasyPost's Tracker object.
EASYPOST_STATUSES = ["unknown", "pre_transit", "in_transit", "out_for_delivery", "delivered",
                     "available_for_pickup", "return_to_sender", "failure", "cancelled", "error"]
EASYPOST_DETAILS = ["address_correction", "arrived_at_destination", "arrived_at_facility",
                    "arrived_at_pickup_location", "awaiting_information", "cancelled", "damaged", "delayed",
                    "delivery_exception", "departed_facility", "departed_origin_facility", "expired", "failure",
                    "held", "in_transit", "label_created", "lost", "missorted", "out_for_delivery",
                    "received_at_destination_facility", "received_at_origin_facility", "refused", "return",
                    "status_update", "transferred_to_destination_carrier", "transit_exception", "unknown",
                    "weather_delay"]
AFTERSHIP_TAGS = ["Pending", "InfoReceived", "InTransit", "OutForDelivery", "AttemptFail", "Delivered",
                  "AvailableForPickup", "Exception", "Expired"]
SHOPIFY_VALUES = ["label_printed", "label_purchased", "confirmed", "carrier_picked_up", "picked_up", "in_transit",
                  "out_for_delivery", "attempted_delivery", "ready_for_pickup", "delivered", "failure", "delayed"]


def test_maps_are_tables():
    for table in (EASYPOST_STATUS, AFTERSHIP_TAG, AFTERSHIP_SUBTAG, SHOPIFY_STATUS):
        assert isinstance(table, dict) and table


# --- EasyPost ---------------------------------------------------------------------------------

@pytest.mark.parametrize("status, expected", [
    ("unknown", S.PENDING),
    ("pre_transit", S.INFO_RECEIVED),
    ("in_transit", S.IN_TRANSIT),
    ("out_for_delivery", S.OUT_FOR_DELIVERY),
    ("delivered", S.DELIVERED),
    ("available_for_pickup", S.AVAILABLE_FOR_PICKUP),
    ("return_to_sender", S.RETURNING_TO_SENDER),
    ("failure", S.EXCEPTION),
    ("cancelled", S.EXCEPTION),
    ("error", S.EXCEPTION),
])
def test_easypost_status(status, expected):
    assert map_easypost(status, None) == (expected, None)


def test_every_documented_easypost_status_is_in_the_table():
    assert set(EASYPOST_STATUSES) <= set(EASYPOST_STATUS)


@pytest.mark.parametrize("status, detail, expected", [
    ("out_for_delivery", "delivery_attempted", (S.ATTEMPT_FAILED, "delivery_attempted")),
    ("in_transit", "delivery_attempted", (S.ATTEMPT_FAILED, "delivery_attempted")),
    ("in_transit", "address_correction", (S.EXCEPTION, "address_correction")),
    ("in_transit", "weather_delay", (S.EXCEPTION, "weather_delay")),
    ("in_transit", "delayed", (S.EXCEPTION, "delayed")),
    ("in_transit", "lost", (S.EXCEPTION, "lost")),
    ("out_for_delivery", "refused", (S.EXCEPTION, "refused")),
    ("in_transit", "return", (S.RETURNING_TO_SENDER, "returning_to_sender")),
    ("failure", "return_to_sender", (S.RETURNING_TO_SENDER, "returning_to_sender")),
    ("in_transit", "arrived_at_pickup_location", (S.AVAILABLE_FOR_PICKUP, "arrived_at_pickup_location")),
    ("unknown", "expired", (S.EXPIRED, "expired")),
    # informational details annotate, they do not change the status
    ("in_transit", "arrived_at_facility", (S.IN_TRANSIT, "arrived_at_facility")),
    ("in_transit", "departed_facility", (S.IN_TRANSIT, "departed_facility")),
    ("pre_transit", "label_created", (S.INFO_RECEIVED, "label_created")),
    ("in_transit", "in_transit", (S.IN_TRANSIT, None)),
    ("out_for_delivery", "out_for_delivery", (S.OUT_FOR_DELIVERY, None)),
    ("in_transit", "unknown", (S.IN_TRANSIT, None)),
    ("delivered", "arrived_at_destination", (S.DELIVERED, "arrived_at_destination")),
])
def test_easypost_detail_refines_status(status, detail, expected):
    assert map_easypost(status, detail) == expected


@pytest.mark.parametrize("detail", ["weather_delay", "return", "delivery_attempted", "lost", "expired"])
def test_a_detail_never_undelivers(detail):
    status, _ = map_easypost("delivered", detail)
    assert status is S.DELIVERED


@pytest.mark.parametrize("status", EASYPOST_STATUSES)
@pytest.mark.parametrize("detail", EASYPOST_DETAILS + [None, ""])
def test_every_documented_easypost_pair_maps(status, detail):
    mapped, sub = map_easypost(status, detail)
    assert isinstance(mapped, S)
    assert sub is None or (isinstance(sub, str) and 0 < len(sub) <= 80)


def test_easypost_is_case_and_space_tolerant():
    assert map_easypost(" In_Transit ", "Weather_Delay") == (S.EXCEPTION, "weather_delay")


def test_unknown_easypost_status_defaults_to_pending_and_keeps_the_code():
    assert map_easypost("teleported", None) == (S.PENDING, "teleported")
    assert map_easypost("teleported", "beamed_up") == (S.PENDING, "beamed_up")
    assert map_easypost(None, None) == (S.PENDING, None)


# --- AfterShip --------------------------------------------------------------------------------

@pytest.mark.parametrize("tag, expected", list(zip(AFTERSHIP_TAGS, [
    S.PENDING, S.INFO_RECEIVED, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.ATTEMPT_FAILED, S.DELIVERED,
    S.AVAILABLE_FOR_PICKUP, S.EXCEPTION, S.EXPIRED])))
def test_aftership_tag(tag, expected):
    assert map_aftership(tag, None) == (expected, None)


@pytest.mark.parametrize("tag, subtag, expected", [
    ("Exception", "Exception_010", (S.RETURNING_TO_SENDER, "returning_to_sender")),
    ("Exception", "Exception_011", (S.RETURNED, "returned_to_sender")),
    ("Exception", "Exception_007", (S.EXCEPTION, "incorrect_address")),
    ("Exception", "Exception_013", (S.EXCEPTION, "lost")),
    ("Exception", "Exception_017", (S.EXCEPTION, "weather_delay")),
    ("Delivered", "Delivered_001", (S.DELIVERED, None)),
    ("Delivered", "Delivered_002", (S.DELIVERED, "picked_up_by_customer")),
    ("Delivered", "Delivered_003", (S.DELIVERED, "signed")),
    ("AttemptFail", "AttemptFail_001", (S.ATTEMPT_FAILED, "recipient_unavailable")),
    ("InTransit", "InTransit_002", (S.IN_TRANSIT, "picked_up")),
    ("InTransit", "InTransit_007", (S.IN_TRANSIT, "departed_facility")),
    ("OutForDelivery", "OutForDelivery_001", (S.OUT_FOR_DELIVERY, None)),
    ("AvailableForPickup", "AvailableForPickup_001", (S.AVAILABLE_FOR_PICKUP, None)),
    ("Pending", "Pending_001", (S.PENDING, None)),
    ("Expired", "Expired_001", (S.EXPIRED, None)),
])
def test_aftership_subtag(tag, subtag, expected):
    assert map_aftership(tag, subtag) == expected


def test_aftership_subtag_alone_is_enough():
    assert map_aftership(None, "Exception_011") == (S.RETURNED, "returned_to_sender")


def test_aftership_is_case_insensitive():
    assert map_aftership("intransit", "intransit_003") == (S.IN_TRANSIT, "arrived_at_facility")
    assert map_aftership("EXCEPTION", "EXCEPTION_010") == (S.RETURNING_TO_SENDER, "returning_to_sender")


def test_new_aftership_subtag_falls_back_to_its_tag_and_keeps_the_code():
    assert map_aftership("InTransit", "InTransit_042") == (S.IN_TRANSIT, "intransit_042")
    assert map_aftership(None, "Delivered_042") == (S.DELIVERED, "delivered_042")


def test_unknown_aftership_tag_defaults_to_pending():
    assert map_aftership("Teleported", None) == (S.PENDING, "teleported")
    assert map_aftership(None, None) == (S.PENDING, None)


# --- Shopify ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("label_printed", S.INFO_RECEIVED),
    ("label_purchased", S.INFO_RECEIVED),
    ("confirmed", S.INFO_RECEIVED),
    ("carrier_picked_up", S.IN_TRANSIT),
    ("picked_up", S.DELIVERED),
    ("in_transit", S.IN_TRANSIT),
    ("out_for_delivery", S.OUT_FOR_DELIVERY),
    ("attempted_delivery", S.ATTEMPT_FAILED),
    ("ready_for_pickup", S.AVAILABLE_FOR_PICKUP),
    ("delivered", S.DELIVERED),
    ("failure", S.EXCEPTION),
    ("delayed", S.EXCEPTION),
])
def test_shopify(value, expected):
    assert map_shopify(value)[0] is expected


def test_every_documented_shopify_value_is_in_the_table():
    assert set(SHOPIFY_VALUES) <= set(SHOPIFY_STATUS)


def test_shopify_graphql_enum_spelling():
    assert map_shopify("IN_TRANSIT") == map_shopify("in_transit")
    assert map_shopify("ATTEMPTED_DELIVERY") == (S.ATTEMPT_FAILED, "delivery_attempted")


def test_sub_status_stays_within_the_model_limit_even_when_lowercasing_grows_it():
    # "İ".lower() is two characters: truncating before lower-casing would overflow 80.
    assert len(map_easypost("İ" * 80, None)[1]) == 80
    assert len(map_shopify("İ" * 80)[1]) == 80


def test_unknown_shopify_value_defaults_to_pending():
    assert map_shopify("teleported") == (S.PENDING, "teleported")
    assert map_shopify(None) == (S.PENDING, None)
    assert map_shopify("   ") == (S.PENDING, None)


# --- never raise ------------------------------------------------------------------------------

codes = st.one_of(st.none(), st.text(max_size=200), st.sampled_from(EASYPOST_STATUSES + EASYPOST_DETAILS))


@given(codes, codes)
def test_mappers_are_total(first, second):
    for status, sub in (map_easypost(first, second), map_aftership(first, second), map_shopify(first)):
        assert isinstance(status, S)
        assert sub is None or (isinstance(sub, str) and 0 < len(sub) <= 80)


# --- carrier names and public tracking pages (carriers/base.py) -------------------------------

@pytest.mark.parametrize("name, slug", [
    ("FedEx", "fedex"), ("UPS", "ups"), ("usps", "usps"), ("DHLExpress", "dhl_express"),
    ("DHL Express", "dhl_express"), ("dhl express", "dhl_express"), ("CanadaPost", "canada_post"),
    ("Canada Post", "canada_post"), ("royal-mail", "royal_mail"), ("RoyalMail", "royal_mail"),
    ("australia-post", "australia_post"), ("", "unknown"), (None, "unknown"), ("  ", "unknown"),
])
def test_normalise_carrier(name, slug):
    assert normalise_carrier(name) == slug


@pytest.mark.parametrize("carrier, url", [
    ("usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111206213859143125"),
    ("UPS", "https://www.ups.com/track?tracknum=9400111206213859143125"),
    ("FedEx", "https://www.fedex.com/fedextrack/?trknbr=9400111206213859143125"),
    ("Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/9400111206213859143125"),
])
def test_tracking_url(carrier, url):
    assert tracking_url(carrier, "9400111206213859143125") == url


def test_tracking_url_for_unknown_carrier_or_number():
    assert tracking_url("pigeon-post", "123") is None
    assert tracking_url("ups", "") is None and tracking_url("ups", None) is None


def test_tracking_url_quotes_the_number():
    assert tracking_url("ups", "1Z 99/9?x") == "https://www.ups.com/track?tracknum=1Z%2099%2F9%3Fx"


def test_every_template_has_a_placeholder():
    assert all("{n}" in template for template in TRACKING_URL_TEMPLATES.values())
