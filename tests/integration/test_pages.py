"""The customer's pages through the real API handler (Chalice test client, moto)."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from infra.aws_requests import count_aws_requests

HOST = "shop.example"


def shipped_order(aws, order_id: str = "1001", **fields) -> None:
    assert aws.post_order(aws.api_order(order_id, **fields)).status_code == 202
    aws.pump.drain()
    assert aws.post_shipment(order_id, {"carrier": "ups", "tracking_number": f"SBX-OK-{order_id}"}).status_code == 201
    aws.pump.drain()


def link(aws, order_id: str = "1001", days: int = 30) -> str:
    from postpurchase.security.tokens import sign_order_token

    return sign_order_token(aws.link_keys, "demo-store", order_id, aws.clock.now() + timedelta(days=days))


def get(aws, path: str, **query):
    return aws.client.get(f"{path}?{urlencode(query)}" if query else path, headers={"Host": HOST})


def post_form(aws, path: str, fields: dict, origin: str | None = f"https://{HOST}"):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": HOST}
    if origin:
        headers["Origin"] = origin
    return aws.client.post(path, headers=headers, body=urlencode(fields).encode())


def html(response) -> str:
    return response.body.decode() if isinstance(response.body, bytes) else response.body


def hidden(page: str, name: str, form_action: str | None = None) -> str:
    scope = page
    if form_action:
        start = page.index(f'action="{form_action}"')
        scope = page[start:page.index("</form>", start)]
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', scope) or \
        re.search(rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', scope)
    assert match, f"no {name} in the form"
    return match.group(1)


ORDER_PAGE = "/pages/demo-store/orders/1001"
RETURN_FORM = "/pages/demo-store/orders/1001/returns"


def return_fields(page: str, **overrides) -> dict:
    fields = {"token": hidden(page, "token", RETURN_FORM), "csrf_token": hidden(page, "csrf_token", RETURN_FORM),
              "lang": "en", "form_id": hidden(page, "form_id", RETURN_FORM), "qty.MUG-1": "1",
              "reason": "doesnt_fit", "resolution": "refund", "comment": ""}
    fields.update(overrides)
    return fields


def test_the_order_page_is_one_query_with_strict_headers(aws):
    shipped_order(aws)
    token = link(aws)
    get(aws, ORDER_PAGE, token=token)  # merchant settings and policy are cached per container
    with count_aws_requests() as requests:
        response = get(aws, ORDER_PAGE, token=token)
    assert response.status_code == 200
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    headers = {name.lower(): value for name, value in response.headers.items()}
    assert headers["content-type"].startswith("text/html")
    assert headers["cache-control"] == "no-store" and headers["referrer-policy"] == "same-origin"
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'nonce="{nonce}"' in html(response) and "<script" not in html(response)
    assert "SBX-OK-1001" in html(response) and "Ceramic mug" in html(response)


@pytest.mark.parametrize("token", ["", "garbage", "ffffffff.AAAA"])
def test_a_bad_link_gets_the_lookup_form_not_a_stack_trace(aws, token):
    shipped_order(aws)
    response = get(aws, ORDER_PAGE, token=token)
    assert response.status_code == 401
    assert 'name="order_number"' in html(response) and "Traceback" not in html(response)


def test_an_expired_link_and_another_orders_link_open_nothing(aws):
    shipped_order(aws)
    shipped_order(aws, "1002")
    assert get(aws, ORDER_PAGE, token=link(aws, "1002")).status_code == 401
    old = link(aws, days=1)
    aws.clock.advance(timedelta(days=2))
    assert get(aws, ORDER_PAGE, token=old).status_code == 401


def test_the_return_form_creates_one_return_and_redirects_to_the_page(aws):
    shipped_order(aws)
    page = html(get(aws, ORDER_PAGE, token=link(aws)))
    fields = return_fields(page)
    response = post_form(aws, RETURN_FORM, fields)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert urlsplit(location).path == ORDER_PAGE and parse_qs(urlsplit(location).query)["notice"] == ["return_requested"]
    # The same form submitted twice (a double click) is one return.
    assert post_form(aws, RETURN_FORM, fields).status_code == 303
    assert len(aws.items_of_type("return")) == 1
    shown = html(get(aws, ORDER_PAGE, **{k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}))
    assert re.search(r"R-[A-Z2-7]{10}", shown)


def test_a_form_from_another_site_or_without_its_form_token_is_refused(aws):
    shipped_order(aws)
    page = html(get(aws, ORDER_PAGE, token=link(aws)))
    assert post_form(aws, RETURN_FORM, return_fields(page), origin="https://evil.example").status_code == 403
    assert post_form(aws, RETURN_FORM, return_fields(page, csrf_token="forged")).status_code == 403
    assert post_form(aws, RETURN_FORM, return_fields(page, token=link(aws, "1002"))).status_code == 403
    assert aws.items_of_type("return") == []


@pytest.mark.parametrize("overrides, field", [
    ({"qty.MUG-1": "0"}, "items"),
    ({"reason": ""}, "reason"),
    ({"resolution": "cash"}, "resolution"),
    ({"qty.MUG-1": "5"}, "MUG-1"),
    ({"qty.MUG-1": "-1"}, "MUG-1"),
])
def test_a_bad_return_form_comes_back_with_the_error_at_the_field(aws, overrides, field):
    shipped_order(aws)
    page = html(get(aws, ORDER_PAGE, token=link(aws)))
    response = post_form(aws, RETURN_FORM, return_fields(page, **overrides))
    assert response.status_code in (400, 409, 422)
    assert 'aria-invalid="true"' in html(response)
    assert aws.items_of_type("return") == []


def test_the_customer_cancels_a_return_from_the_page(aws):
    shipped_order(aws)
    page = html(get(aws, ORDER_PAGE, token=link(aws)))
    assert post_form(aws, RETURN_FORM, return_fields(page)).status_code == 303
    page = html(get(aws, ORDER_PAGE, token=link(aws)))
    rma_id = re.search(r"R-[A-Z2-7]{10}", page).group(0)
    cancel = f"/pages/demo-store/orders/1001/returns/{rma_id}/cancel"
    fields = {"token": hidden(page, "token", cancel), "csrf_token": hidden(page, "csrf_token", cancel), "lang": "en"}
    # a forged or foreign cancel form is refused like every order page form, and changes nothing
    assert post_form(aws, cancel, fields, origin="https://evil.example").status_code == 403
    assert post_form(aws, cancel, {**fields, "csrf_token": "forged"}).status_code == 403
    assert aws.items_of_type("return")[0]["status"] != "cancelled"
    response = post_form(aws, cancel, fields)
    assert response.status_code == 303 and "notice=return_cancelled" in response.headers["Location"]
    assert aws.items_of_type("return")[0]["status"] == "cancelled"


def test_lookup_by_number_and_email_redirects_to_the_order_and_misses_look_alike(aws):
    shipped_order(aws)
    lookup = "/pages/demo-store/lookup"
    assert get(aws, lookup).status_code == 200
    wrong_email = post_form(aws, lookup, {"order_number": "1001", "email": "someone@example.com", "lang": "en"})
    wrong_number = post_form(aws, lookup, {"order_number": "9999", "email": "ayse.yilmaz@example.com",
                                           "lang": "en"})
    assert wrong_email.status_code == wrong_number.status_code == 404

    def without_values(text: str) -> str:
        return re.sub(r'value="[^"]*"', "", re.sub(r"'nonce-[^']+'|nonce=\"[^\"]+\"", "", text))

    assert without_values(html(wrong_email)) == without_values(html(wrong_number))
    found = post_form(aws, lookup, {"order_number": "#1001", "email": "AYSE.YILMAZ@example.com", "lang": "tr"})
    assert found.status_code == 303
    location = found.headers["Location"]
    assert urlsplit(location).path == ORDER_PAGE
    assert get(aws, ORDER_PAGE, **{k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
               ).status_code == 200


def test_lookups_are_rate_limited_even_with_the_right_email(aws):
    shipped_order(aws)
    lookup = "/pages/demo-store/lookup"
    for _ in range(10):
        post_form(aws, lookup, {"order_number": "1001", "email": "guess@example.com"})
    limited = post_form(aws, lookup, {"order_number": "1001", "email": "ayse.yilmaz@example.com"})
    assert limited.status_code == 429


def test_preferences_are_saved_with_time_and_source(aws):
    shipped_order(aws)
    page = html(get(aws, ORDER_PAGE, token=link(aws)))
    preferences_url = re.search(r'href="([^"]*/pages/demo-store/preferences\?[^"]+)"', page).group(1)
    query = {k: v[0] for k, v in parse_qs(urlsplit(preferences_url.replace("&amp;", "&")).query).items()}
    shown = get(aws, "/pages/demo-store/preferences", **query)
    assert shown.status_code == 200 and 'name="kind.review_request"' in html(shown)
    form = html(shown)
    fields = {"customer": query["customer"], "token": hidden(form, "token"), "csrf_token": hidden(form, "csrf_token"),
              "lang": "en", "kind.birthday_offer": "on", "language": "ar"}
    saved = post_form(aws, "/pages/demo-store/preferences", fields)
    assert saved.status_code == 303 and "notice=preferences_saved" in saved.headers["Location"]
    from postpurchase.services import customer_store

    preferences = customer_store().profile("demo-store", query["customer"]).preferences
    assert preferences.allows("birthday_offer") and not preferences.allows("review_request")
    assert preferences.allows("order_confirmation")  # transactional mail is never turned off
    assert preferences.language == "ar" and preferences.source == "preferences_page"
    assert preferences.updated_at == aws.clock.now()
    # A forged preferences token changes nothing.
    forged = dict(fields, token="ffffffff.forged")
    assert post_form(aws, "/pages/demo-store/preferences", forged).status_code == 403


def test_an_unknown_shop_is_a_friendly_404(aws):
    response = get(aws, "/pages/no-such-shop/orders/1001", token="x")
    assert response.status_code in (401, 404) and "Traceback" not in html(response)


def test_the_language_chosen_on_the_preferences_page_is_the_language_of_later_emails(aws):
    shipped_order(aws)  # Ayşe's locale is tr-TR
    page = html(get(aws, ORDER_PAGE, token=link(aws)))
    preferences_url = re.search(r'href="([^"]*/pages/demo-store/preferences\?[^"]+)"', page).group(1)
    query = {k: v[0] for k, v in parse_qs(urlsplit(preferences_url.replace("&amp;", "&")).query).items()}
    form = html(get(aws, "/pages/demo-store/preferences", **query))
    fields = {"customer": query["customer"], "token": hidden(form, "token"), "csrf_token": hidden(form, "csrf_token"),
              "language": "ar"}
    assert post_form(aws, "/pages/demo-store/preferences", fields).status_code == 303

    before = len(aws.sent_emails())
    page = html(get(aws, ORDER_PAGE, token=link(aws)))
    assert post_form(aws, RETURN_FORM, return_fields(page)).status_code == 303
    aws.pump.drain()
    subjects = [str(message["Subject"]) for message in aws.sent_emails()[before:]]
    assert subjects and all(re.search(r"[\u0600-\u06FF]", subject) for subject in subjects), subjects
