"""The console's settings pages through the real API handler (moto): each form shows what is
stored, a save changes exactly what the `/v1` route reads back, a refusal is a 4xx page with
the error next to its field and nothing saved, and every POST needs the session's form token."""
from __future__ import annotations

import re

import pytest

from tests.integration.test_console import BASE, csrf, get, html, post, sign_in


def form_of(aws, cookie: str, section: str) -> tuple[str, dict[str, str]]:
    """The page and the fields its form would post as shown (checked boxes, selected options)."""
    page = html(get(aws, f"{BASE}/settings/{section}", cookie))
    fields = {}
    for tag in re.findall(r"<input [^>]+>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        kind = re.search(r'type="([^"]+)"', tag).group(1)
        if kind == "checkbox":
            if " checked" in tag:
                fields[name.group(1)] = "on"
        else:
            fields[name.group(1)] = re.search(r'value="([^"]*)"', tag).group(1)
    for select in re.finditer(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]+)"[^>]*selected', select.group(2))
        fields[select.group(1)] = chosen.group(1) if chosen else ""
    return page, fields


def save(aws, cookie: str, section: str, **changes):
    page, fields = form_of(aws, cookie, section)
    return post(aws, f"{BASE}/settings/{section}", {"csrf_token": csrf(page), **fields, **changes}, cookie)


def test_settings_needs_a_session_and_unknown_sections_are_404(aws):
    assert get(aws, f"{BASE}/settings/messaging").status_code == 401
    cookie = sign_in(aws)
    assert get(aws, f"{BASE}/settings", cookie).headers["Location"].endswith("/settings/messaging")
    assert get(aws, f"{BASE}/settings/secrets", cookie).status_code == 404


def test_messaging_saves_through_the_api_settings_and_the_branding(aws):
    cookie = sign_in(aws)
    response = save(aws, cookie, "messaging", **{"quiet_hours.start_hour": "22", "frequency_cap.max_messages": "3",
                                                 "name": "Demo Store Istanbul", "default_locale": "tr"})
    assert response.status_code == 303 and response.headers["Location"].endswith("notice=settings_saved")
    stored = aws.client.get("/v1/settings/messaging", headers=aws.auth()).json_body
    assert stored["quiet_hours"]["start_hour"] == 22 and stored["frequency_cap"]["max_messages"] == 3
    assert stored["quiet_hours"]["end_hour"] == 9  # the rest as it was
    page, fields = form_of(aws, cookie, "messaging")
    assert fields["name"] == "Demo Store Istanbul" and fields["default_locale"] == "tr"
    assert "Your settings are saved." not in page


@pytest.mark.parametrize("field, value", [("quiet_hours.start_hour", "24"), ("frequency_cap.per_days", "x"),
                                          ("name", ""), ("default_locale", "fr")])
def test_a_bad_messaging_value_is_shown_at_its_field_and_nothing_is_saved(aws, field, value):
    cookie = sign_in(aws)
    before = aws.client.get("/v1/settings/messaging", headers=aws.auth()).json_body
    response = save(aws, cookie, "messaging", **{field: value, "frequency_cap.max_messages": "4"})
    assert response.status_code == 400
    page = html(response)
    assert f'id="{field.replace(".", "-")}-error"' in page and "Nothing was saved." in page
    assert aws.client.get("/v1/settings/messaging", headers=aws.auth()).json_body == before


def test_return_policy_publishes_a_version_and_the_preview_has_six_languages(aws):
    cookie = sign_in(aws)
    page, _ = form_of(aws, cookie, "return-policy")
    assert page.count("<article ") == 6 and 'dir="rtl"' in page and 'lang="ar"' in page
    response = save(aws, cookie, "return-policy", **{"default_rule.window_days": "45",
                                                     "final_sale_categories": "outlet, gift cards",
                                                     "conditions.original_packaging": "on"})
    assert response.status_code == 303, html(response)[:800]
    policy = aws.client.get("/v1/returns/policy?merchant=demo-store&locale=en", headers=aws.auth()).json_body
    assert policy["returns"]["default"]["window_days"] == 45
    assert policy["returns"]["final_sale_categories"] == ["gift cards", "outlet"]
    assert "original_packaging" in [c["value"] for c in policy["general"]["conditions"]]
    preview = html(get(aws, f"{BASE}/settings/return-policy", cookie))
    assert "45 days of delivery" in preview and "45 gün" in preview


def test_a_policy_without_any_resolution_is_refused_at_that_field(aws):
    cookie = sign_in(aws)
    page, fields = form_of(aws, cookie, "return-policy")
    for name in [name for name in fields if name.startswith("default_rule.resolutions.")]:
        del fields[name]
    response = post(aws, f"{BASE}/settings/return-policy", {"csrf_token": csrf(page), **fields}, cookie)
    assert response.status_code == 400 and 'id="default_rule-resolutions-error"' in html(response)


def test_loyalty_saves_through_the_api_settings(aws):
    cookie = sign_in(aws)
    response = save(aws, cookie, "loyalty", enabled="on", points_per_unit="2", review_bonus="75", expiry_months="")
    assert response.status_code == 303, html(response)[:800]
    stored = aws.client.get("/v1/settings/loyalty", headers=aws.auth()).json_body
    assert stored["enabled"] is True and stored["points_per_unit"] == "2" and stored["review_bonus"] == 75
    assert stored["expiry_months"] is None
    bad = save(aws, cookie, "loyalty", point_value="-1")
    assert bad.status_code == 400 and 'id="point_value-error"' in html(bad)


def test_webhooks_save_shows_the_new_secret_whole_once_then_masked(aws):
    cookie = sign_in(aws)
    response = save(aws, cookie, "webhooks", returns_url="https://shop.example/hooks/returns")
    assert response.status_code == 200, html(response)[:800]
    from postpurchase.services import merchant_store
    from postpurchase.storage.merchants import secrets_of

    merchant = merchant_store().get("demo-store")
    secret = secrets_of(merchant).webhook_secret
    assert merchant.webhooks.returns_url == "https://shop.example/hooks/returns" and secret
    # The save rotated the secret: its answer (no-store) is the one place staff read it whole ...
    assert secret in html(response)
    assert "no-store" in {k.lower(): v for k, v in response.headers.items()}.get("cache-control", "")
    # ... the page afterwards shows it shortened only.
    later = html(get(aws, f"{BASE}/settings/webhooks", cookie))
    assert secret not in later and secret[-4:] in later
    bad = save(aws, cookie, "webhooks", feedback_url="http://127.0.0.1/x")
    assert bad.status_code == 400 and 'id="feedback_url-error"' in html(bad)


def test_a_save_needs_the_form_token_and_our_origin(aws):
    cookie = sign_in(aws)
    page, fields = form_of(aws, cookie, "messaging")
    fields["quiet_hours.start_hour"] = "5"
    assert post(aws, f"{BASE}/settings/messaging", fields, cookie).status_code == 403
    assert post(aws, f"{BASE}/settings/messaging", {**fields, "csrf_token": csrf(page)}, cookie,
                origin="https://evil.example").status_code == 403
    assert aws.client.get("/v1/settings/messaging", headers=aws.auth()).json_body["quiet_hours"]["start_hour"] == 21
