"""Parcel-tracking notice emails: one template family, the variant choosing headline and text."""
from __future__ import annotations

import html as htmllib
import re
from datetime import date, datetime

import pytest
from babel.dates import format_date

from postpurchase.messaging.rendering import render_email
from postpurchase.messaging.requests import ShipmentNotice

# Shared builders (and the pseudo-translation catalog) from the confirmation tests; only
# helpers are imported, so pytest does not collect those tests a second time here.
from test_rendering import (  # noqa: F401  (en_only_locale_dir is a fixture)
    ORDER_URL,
    THAI_TITLE,
    Doc,
    _pseudo_catalog,
    en_only_locale_dir,
    make_merchant,
    make_order,
    make_request,
)

TRACKING_URL = "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=JD014600"
HEADLINES = {
    "shipped": "Your order is on its way",
    "out_for_delivery": "Arriving today",
    "delivered": "Delivered",
    "delayed": "Your parcel is running late",
    "attempt_failed": "We missed you",
    "ready_for_pickup": "Ready for pickup",
    "exception": "There's a problem with your delivery",
    "returned_to_sender": "Your parcel is going back to the sender",
}
VARIANTS = list(HEADLINES)


def make_shipment(**overrides) -> dict:
    shipment = {
        "shipment_id": "s-77",
        "carrier": "dhl_express",
        "tracking_number": "JD014600",
        "tracking_url": TRACKING_URL,
        "status": "in_transit",
        "latest": {
            "occurred_at": "2026-11-22T13:05:00Z",
            "status": "in_transit",
            "description": "Shipment arrived at facility",
            "location": "Leipzig, DE",
        },
        "eta": "2026-11-26T00:00:00Z",
        "original_eta": "2026-11-24T00:00:00Z",
        "delivered_at": "2026-11-23T21:30:00Z",
        "signed_by": "Ayşe Y",
        "items": [{"sku": "SILK-1", "quantity": 1}],
    }
    shipment.update(overrides)
    return shipment


def notice(variant: str, *, shipment: dict | None = None, **overrides):
    fields = {
        "kind": "shipment_notice",
        "variant": variant,
        "ref": "s-77",
        "timezone": "Europe/Istanbul",
        "shipment": ShipmentNotice(**(shipment if shipment is not None else make_shipment())),
    }
    fields.update(overrides)
    return make_request(**fields)


def render(variant: str, *, merchant=None, **kwargs):
    return render_email(notice(variant, **kwargs), merchant or make_merchant())


def spaced(text: str) -> str:
    """CLDR puts a narrow no-break space before AM/PM ("4:05\u202fPM"); compare with plain ones."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def h1(markup: str) -> list[str]:
    return [htmllib.unescape(t).strip() for t in re.findall(r"<h1[^>]*>(.*?)</h1>", markup, re.S)]


# --- variants ----------------------------------------------------------------------------------


def test_every_variant_has_its_own_subject_and_headline_with_the_order_number():
    subjects = {}
    for variant in VARIANTS:
        email = render(variant)
        assert "#1001" in email.subject, variant
        assert "\n" not in email.subject
        assert h1(email.html) == [HEADLINES[variant]], variant
        assert HEADLINES[variant] in email.text.splitlines(), variant
        assert f"<title>{htmllib.escape(email.subject, quote=False)}</title>" in email.html.replace("&#x27;", "'")
        subjects[variant] = email.subject
    assert len(set(subjects.values())) == len(VARIANTS), subjects
    assert subjects["shipped"] == "Your order #1001 is on its way"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_notice_shows_the_shared_facts(variant):
    email = render(variant)
    doc = Doc(email.html)
    # Same layout and branding as the confirmation.
    assert email.html.lower().startswith("<!doctype html>")
    assert "max-width: 600px" in email.html and "#a3195b" in email.html
    assert doc.find("img", "logo")[0]["src"] == "https://cdn.example/logo.png"
    assert "You are receiving this email because you placed an order with Dükkan." in email.text
    for part in (htmllib.unescape(email.html), email.text):
        assert "Hi Ayşe," in part
        assert "Order number" in part and "#1001" in part
        assert "DHL Express" in part and "JD014600" in part
        assert "Latest update" in part
        assert "November 22, 2026, 4:05 PM" in spaced(part)  # 13:05 UTC in Istanbul
        assert "Leipzig, DE" in part and "Shipment arrived at facility" in part
        assert "In this parcel" in part and THAI_TITLE in part
        assert "View your order" in part and "Track your parcel" in part
        assert "help@dukkan.example" in part
    assert doc.find("a", "button-link")[0]["href"] == TRACKING_URL
    assert doc.find("a", "order-link")[0]["href"] == ORDER_URL
    assert 'href="mailto:help@dukkan.example"' in email.html
    assert ORDER_URL in email.text.splitlines()
    assert not re.search(r"<[A-Za-z/!]", email.text)


def test_tracking_url_is_the_button_href_escaped_and_in_the_text():
    email = render("shipped")
    escaped = TRACKING_URL.replace("&", "&amp;")
    assert re.search(rf'<a [^>]*class="button-link"[^>]*href="{re.escape(escaped)}"', email.html) or re.search(
        rf'<a [^>]*href="{re.escape(escaped)}"[^>]*class="button-link"', email.html
    )
    assert f'href="{TRACKING_URL}"' not in email.html
    assert TRACKING_URL in email.text.splitlines()
    assert "&amp;" not in email.text


def test_without_a_tracking_url_the_button_goes_to_the_order_page():
    for url in (None, "javascript:alert(1)"):
        email = render("shipped", shipment=make_shipment(tracking_url=url))
        assert Doc(email.html).find("a", "button-link")[0]["href"] == ORDER_URL
        assert "javascript:" not in email.html and "javascript:" not in email.text
        lines = email.text.splitlines()
        assert lines[lines.index("Track your parcel:") + 1] == ORDER_URL


def test_shipped_shows_carrier_tracking_number_and_eta():
    email = render("shipped")
    eta = format_date(date(2026, 11, 26), format="full", locale="en")
    assert eta == "Thursday, November 26, 2026"
    assert f"Estimated delivery: {eta}" in email.text
    assert "Estimated delivery" in email.html and eta in email.html
    assert "Carrier: DHL Express" in email.text and "Tracking number: JD014600" in email.text
    no_eta = render("shipped", shipment=make_shipment(eta=None, original_eta=None))
    assert "Estimated delivery" not in no_eta.html and "Estimated delivery" not in no_eta.text


def test_a_carrier_date_is_that_day_in_every_time_zone():
    """A date-only estimate arrives as midnight UTC: west of Greenwich it must not become the day before."""
    email = render("shipped", timezone="America/Los_Angeles")
    assert "Estimated delivery: Thursday, November 26, 2026" in email.text
    timed = render("shipped", timezone="America/Los_Angeles", shipment=make_shipment(eta="2026-11-26T03:00:00Z"))
    assert "Estimated delivery: Wednesday, November 25, 2026" in timed.text


def test_delayed_shows_the_original_and_the_new_estimate():
    email = render("delayed")
    original = "Tuesday, November 24, 2026"
    new = "Thursday, November 26, 2026"
    for part in (email.html, email.text):
        assert original in part and new in part
        assert "Originally expected" in part and "New estimate" in part
        assert "still on its way" in part and "keeping an eye on it" in part
    assert f"Originally expected: {original}" in email.text and f"New estimate: {new}" in email.text
    assert Doc(email.html).find("tr", "eta-original") and Doc(email.html).find("tr", "eta-new")
    # No new date from the carrier yet: say so, keep the original.
    unknown = render("delayed", shipment=make_shipment(eta=None))
    assert original in unknown.text and "New estimate" not in unknown.text
    assert "The carrier hasn't given a new delivery date yet." in unknown.text


def test_delivered_time_is_in_the_customers_time_zone():
    # 21:30 UTC on the 23rd is 00:30 on the 24th in Istanbul and 16:30 on the 23rd in New York.
    istanbul = render("delivered")
    sentence = "Your order #1001 was delivered on November 24, 2026 at 12:30 AM."
    assert sentence in spaced(istanbul.text) and sentence in spaced(htmllib.unescape(istanbul.html))
    new_york = render("delivered", timezone="America/New_York")
    assert "was delivered on November 23, 2026 at 4:30 PM." in spaced(new_york.text)
    assert "9:30 PM" not in spaced(new_york.text) and "9:30 PM" not in spaced(new_york.html)
    # Unknown zone: UTC, and the offset is said out loud.
    unknown = render("delivered", timezone=None)
    assert "was delivered on November 23, 2026 at 9:30 PM GMT+00:00." in spaced(unknown.text)


def test_delivered_signed_by_and_missing_parcel_help():
    email = render("delivered")
    assert "Signed for by: Ayşe Y" in email.text
    assert Doc(email.html).find("tr", "signed-by")
    assert "Didn't receive it?" in email.text and "contact us at help@dukkan.example" in email.text
    assert re.search(r"Didn(&#x27;|')t receive it\?.*?<a href=\"mailto:help@dukkan.example\"", email.html, re.S)
    unsigned = render("delivered", shipment=make_shipment(signed_by=None, delivered_at=None))
    assert "Signed for by" not in unsigned.text and "Signed for by" not in unsigned.html
    assert "Your order #1001 has been delivered." in unsigned.text


def test_attempt_failed_quotes_the_carriers_note_escaped():
    latest = {
        "occurred_at": "2026-11-22T13:05:00Z",
        "status": "attempt_failed",
        "description": "Nobody <b>home</b> & no safe place",
        "location": "Kadıköy",
    }
    email = render("attempt_failed", shipment=make_shipment(latest=latest))
    assert "<b>home</b>" not in email.html
    assert "The carrier's note: “Nobody &lt;b&gt;home&lt;/b&gt; &amp; no safe place”" in email.html.replace(
        "&#x27;", "'"
    )
    assert "The carrier's note: “Nobody <b>home</b> & no safe place”" in email.text
    assert "try again on the next working day" in email.text
    assert Doc(email.html).find("p", "carrier-note")


def test_ready_for_pickup_shows_the_location():
    latest = {
        "occurred_at": "2026-11-22T13:05:00Z",
        "status": "available_for_pickup",
        "description": "Available for pickup",
        "location": "PUDO Bakkal, Moda Cd. 5, Istanbul",
    }
    email = render("ready_for_pickup", shipment=make_shipment(latest=latest))
    assert "Pickup location: PUDO Bakkal, Moda Cd. 5, Istanbul" in email.text
    assert Doc(email.html).find("tr", "pickup-location")
    assert "collect it soon" in email.text
    nowhere = render("ready_for_pickup", shipment=make_shipment(latest=None))
    assert "Pickup location" not in nowhere.text
    assert "The tracking page shows where and when you can collect it." in nowhere.text


def test_exception_and_return_point_to_support():
    latest = {"occurred_at": "2026-11-22T13:05:00Z", "status": "exception", "description": "Address incomplete"}
    exception = render("exception", shipment=make_shipment(latest=latest))
    assert "What the carrier says: “Address incomplete”" in exception.text
    assert "Our support team is here to help: write to us at help@dukkan.example." in exception.text
    assert exception.html.count('href="mailto:help@dukkan.example"') == 2  # the paragraph and the footer line
    returned = render("returned_to_sender")
    assert "Please contact us at help@dukkan.example" in returned.text
    assert returned.html.count('href="mailto:help@dukkan.example"') == 2


def test_out_for_delivery_says_today():
    email = render("out_for_delivery")
    assert "Your order #1001 is out for delivery and should arrive today." in email.text
    assert "Estimated delivery" not in email.text


# --- items, scans, carriers ----------------------------------------------------------------------


def test_items_are_the_parcels_own():
    email = render("shipped", shipment=make_shipment(items=[{"sku": "BOOK-2", "quantity": 1}]))
    assert "Kitap: Çağdaş Şiir" in email.text and THAI_TITLE not in email.text
    assert "Kitap: Çağdaş Şiir" in email.html and THAI_TITLE not in email.html
    assert len(Doc(email.html).find("tr", "item-row")) == 1
    assert "https://cdn.example/silk.png" not in email.html
    # Part of a line in this parcel: the parcel's quantity, not the order's.
    partial = render("shipped", shipment=make_shipment(items=[{"sku": "SILK-1", "quantity": 1}]))
    assert "Qty 1" in partial.text and "Qty 2" not in partial.text
    assert Doc(partial.html).find("img", "item-image")[0]["src"] == "https://cdn.example/silk.png"


def test_no_parcel_items_means_the_whole_order():
    email = render("shipped", shipment=make_shipment(items=[]))
    assert len(Doc(email.html).find("tr", "item-row")) == 2
    for part in (email.html, email.text):
        assert THAI_TITLE in part and "Kitap: Çağdaş Şiir" in part
    assert "Qty 2" in email.text and "Qty 1" in email.text


def test_no_latest_scan_no_scan_block():
    email = render("shipped", shipment=make_shipment(latest=None))
    assert "Latest update" not in email.html and "Latest update" not in email.text


def test_carrier_names_read_as_the_carrier_writes_them():
    assert "Carrier: Royal Mail" in render("shipped", shipment=make_shipment(carrier="royal_mail")).text
    assert "Carrier: Poste Italiane" in render("shipped", shipment=make_shipment(carrier="poste_italiane")).text
    assert "Carrier: Yurtiçi Kargo" in render("shipped", shipment=make_shipment(carrier="Yurtiçi Kargo")).text
    unknown = render("shipped", shipment=make_shipment(carrier="unknown"))
    assert "Carrier" not in unknown.text and "Carrier" not in unknown.html


def test_html_escapes_shipment_data():
    shipment = make_shipment(
        carrier="<i>Evil</i> Post",
        tracking_number="<script>1</script>",
        signed_by='"><img src=x>',
        latest={"occurred_at": "2026-11-22T13:05:00Z", "status": "x", "location": "<u>here</u>"},
    )
    email = render("delivered", shipment=shipment)
    for raw in ("<i>Evil", "<script>1", "<img src=x", "<u>here"):
        assert raw not in email.html
    assert "&lt;script&gt;1&lt;/script&gt;" in email.html
    assert "Tracking number: <script>1</script>" in email.text


def test_a_shipment_notice_needs_its_shipment():
    request = make_request(kind="shipment_notice", variant="shipped")
    with pytest.raises(ValueError, match="shipment"):
        render_email(request, make_merchant())


def test_confirmation_is_unchanged_by_the_notice_context():
    email = render_email(make_request(), make_merchant())
    assert email.subject == "Your order #1001 is confirmed"
    assert "Track your parcel" not in email.html


# --- catalogs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_visible_string_comes_from_the_catalog(en_only_locale_dir, variant):
    """A pseudo-translation wraps every msgstr in ⟦ ⟧: whatever is left outside them is data."""
    _pseudo_catalog(en_only_locale_dir, "ar")
    shipment = make_shipment(
        latest={
            "occurred_at": "2026-11-22T13:05:00Z",
            "status": "in_transit",
            "description": "Shipment arrived at facility",
            "location": "Leipzig, DE",
        },
        items=[],
    )
    merchant = make_merchant(name="Дом Ткани")
    email = render(variant, shipment=shipment, merchant=merchant, locale="ar-SA")
    data = [
        "Ayşe", "Ayşe Y", "Kitap: Çağdaş Şiir", "help@dukkan.example", "https://dukkan.example", ORDER_URL,
        "https://cdn.example/logo.png", "https://cdn.example/silk.png", TRACKING_URL, "DHL Express",
        "JD014600", "Shipment arrived at facility", "Leipzig, DE",
    ]  # fmt: skip

    def leftover(text: str) -> list[str]:
        text = re.sub(r"⟦.*?⟧", "", text, flags=re.S)
        for value in sorted(data, key=len, reverse=True):
            text = text.replace(value, "")
        return re.findall(r"[A-Za-z]{3,}", text)

    assert '<html lang="ar" dir="rtl">' in email.html
    doc = Doc(email.html)
    visible = "\n".join(doc.texts + [a.get("alt") or "" for _, a in doc.elements])
    assert leftover(visible) == []
    assert leftover(email.text) == []
    assert leftover(email.subject) == []
    assert email.subject.startswith("⟦") and email.subject.endswith("⟧")
    assert "⟦Track your parcel⟧" in email.html and "⟦Track your parcel⟧" in email.text
    assert f"⟦{HEADLINES[variant]}⟧" in htmllib.unescape(email.html).replace("&#x27;", "'")
    # Dates in the text's language with the customer's region (ar-SA).
    scan_day = format_date(datetime(2026, 11, 22).date(), format="long", locale="ar_SA")
    assert scan_day in htmllib.unescape(email.html) and scan_day in email.text
    # The check has teeth: the English notice leaves plenty outside ⟦ ⟧.
    english = render(variant, shipment=shipment, merchant=merchant, locale="en")
    assert {"Track", "your", "parcel"} <= set(leftover(english.text))
