"""The lookup page's message-us form, pure parts (pages/lookup_contact.py): what was typed and the
error at each field; the anti-forgery pair (a nonce with its HMAC, a day's life)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from postpurchase.pages import lookup_contact
from postpurchase.security.tokens import Keyring

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
KEYS = Keyring.single("a-test-secret-of-sufficient-length-0123456789")


def test_a_good_form_has_no_errors_and_is_trimmed():
    form = lookup_contact.entered({"contact_email": " a@example.com ", "contact_order_number": " #1001 ",
                                   "message": "  Where is it?  "})
    assert form.errors == {} and (form.email, form.order_number, form.text) == ("a@example.com", "#1001",
                                                                                "Where is it?")
    assert lookup_contact.entered({"contact_email": "a@example.com", "message": "hi"}).errors == {}  # number optional


@pytest.mark.parametrize("fields,errors", [
    ({}, {"email": "required", "message": "required"}),
    ({"contact_email": "nope", "message": "x"}, {"email": "invalid_email"}),
    ({"contact_email": "a\u202e@moc.example", "message": "x"}, {"email": "invalid_email"}),
    ({"contact_email": "a@example.com", "message": "x" * 4001}, {"message": "invalid"}),
    ({"contact_email": "a@example.com", "message": "x", "contact_order_number": "#  #"}, {"order_number": "invalid"}),
    ({"contact_email": "a@example.com", "message": "x", "contact_order_number": "1" * 65}, {"order_number": "invalid"}),
])
def test_each_wrong_field_gets_its_error(fields, errors):
    assert lookup_contact.entered(fields).errors == errors


def test_the_form_token_is_bound_to_its_nonce_shop_and_age():
    form = lookup_contact.new_form(NOW, KEYS, "shop-a")
    posted = {"form_nonce": form.form_nonce, "csrf_token": form.csrf_token}
    assert lookup_contact.genuine(posted, NOW + timedelta(hours=23), KEYS, "shop-a") is True
    assert lookup_contact.genuine(posted, NOW + timedelta(days=1, seconds=1), KEYS, "shop-a") is None  # expired
    assert lookup_contact.genuine(posted, NOW, KEYS, "shop-b") is False  # another shop's page
    other = lookup_contact.new_form(NOW, KEYS, "shop-a")
    assert other.form_nonce != form.form_nonce
    assert lookup_contact.genuine({**posted, "form_nonce": other.form_nonce}, NOW, KEYS, "shop-a") is False
    assert lookup_contact.genuine({"form_nonce": form.form_nonce}, NOW, KEYS, "shop-a") is False
    assert lookup_contact.genuine({}, NOW, KEYS, "shop-a") is False
