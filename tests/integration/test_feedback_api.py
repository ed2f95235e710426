"""Feedback capture through the real handlers (Chalice client, moto): the token-authorised POST,
the merchant's listing, the signed webhook, the effects' ports and the rating page."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from test_returns_api import Receiver, allow_http_webhooks  # the merchant's webhook endpoint on localhost

from infra.aws_requests import count_aws_requests

MERCHANT = "demo-store"
HOST = "shop.example"


def place(aws, order_id: str = "1001", api_key: str | None = None, **fields) -> None:
    assert aws.post_order(aws.api_order(order_id, **fields), api_key=api_key).status_code == 202
    aws.pump.drain()


def token(aws, order_id: str = "1001", sku: str = "MUG-1", merchant: str = MERCHANT, days: int = 60) -> str:
    from postpurchase.security.tokens import sign_claims

    return sign_claims(aws.link_keys, "feedback", [merchant, order_id, sku], aws.clock.now() + timedelta(days=days))


def rate(aws, link: str, body: dict | bytes):
    return aws.client.post(f"/v1/feedback/{link}", headers={"Content-Type": "application/json"},
                           body=body if isinstance(body, bytes) else aws.encode(body))



def listing(aws, api_key: str | None = None, **query):
    path = f"/v1/feedback?{urlencode(query)}" if query else "/v1/feedback"
    return aws.client.get(path, headers=aws.auth(api_key))


@pytest.fixture
def receiver(aws, monkeypatch):
    allow_http_webhooks(monkeypatch)
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


class FakeSchedule:
    def __init__(self) -> None:
        self.cancelled: list[tuple] = []

    def cancel(self, merchant_id, scope, scope_id, kind, ref, reason, now):
        self.cancelled.append((merchant_id, scope, scope_id, kind, ref, reason))


class FakeCoupons:
    def __init__(self) -> None:
        self.issued: dict[tuple, object] = {}
        self.calls = 0

    def issue(self, merchant_id, customer_id, spec, *, campaign, ref, currency, now):
        from postpurchase.messaging.requests import OfferNotice

        self.calls += 1
        key = (merchant_id, campaign, ref)
        self.issued.setdefault(key, OfferNotice(code=f"THANKS{len(self.issued) + 1:03d}",
                                                discount_type=spec.discount_type, value=spec.value,
                                                currency=currency, expires_at=now + timedelta(days=spec.valid_days)))
        return self.issued[key]


class FakeLoyalty:
    def __init__(self) -> None:
        self.bonuses: list[tuple] = []

    def award_review_bonus(self, merchant_id, customer_id, order_id, sku, now):
        self.bonuses.append((merchant_id, customer_id, order_id, sku))


@pytest.fixture
def ports(monkeypatch):
    """The other capabilities' ports, faked (their storage is built by other engineers)."""
    from postpurchase import services
    from postpurchase.messaging.settings import MessagingSettings, OfferSpec
    from postpurchase.storage import merchants

    fakes = type("Fakes", (), {})()
    fakes.schedule, fakes.coupons, fakes.loyalty = FakeSchedule(), FakeCoupons(), FakeLoyalty()
    for name, fake in (("message_schedule", fakes.schedule), ("coupon_issuer", fakes.coupons),
                       ("loyalty", fakes.loyalty)):
        factory = lambda fake=fake: fake  # noqa: E731
        factory.cache_clear = lambda: None  # services.reset() clears every factory
        monkeypatch.setattr(services, name, factory)
    offer = MessagingSettings(feedback_thank_you=OfferSpec(discount_type="percent", value=Decimal(10)))
    monkeypatch.setattr(merchants, "messaging_settings", lambda merchant_id: offer, raising=False)
    return fakes


# --- POST /v1/feedback/{token} ---------------------------------------------------------------------


def test_a_rating_is_stored_once_per_item_and_a_second_answer_updates_it(aws):
    place(aws)
    link = token(aws)
    with count_aws_requests() as requests:
        first = rate(aws, link, {"rating": 5})
    assert first.status_code == 201, first.body
    # No webhook configured: one read (order + answer + its storefront review), one transaction for
    # the answer, one for its review (the review, its public copies and the product's counters), and
    # the conditional cancel of the review reminder. (The messaging settings were cached by the
    # order's confirmation.)
    assert dict(requests) == {("DynamoDB", "BatchGetItem"): 1, ("DynamoDB", "TransactWriteItems"): 2,
                              ("DynamoDB", "UpdateItem"): 1}
    body = first.json_body
    assert (body["order_id"], body["sku"], body["product_title"], body["rating"], body["comment"], body["version"],
            body["source"]) == ("1001", "MUG-1", "Ceramic mug", 5, None, 1, "api")

    aws.clock.advance(timedelta(hours=1))
    second = rate(aws, link, {"rating": 2, "comment": "  chipped on arrival  "})
    assert second.status_code == 200, second.body
    assert (second.json_body["rating"], second.json_body["comment"], second.json_body["version"]) == (2, "chipped on arrival", 2)
    assert second.json_body["submitted_at"] == body["submitted_at"] != second.json_body["updated_at"]

    again = rate(aws, link, {"rating": 2})  # the comment left out is kept; nothing changes
    assert again.status_code == 200 and again.json_body["version"] == 2
    assert again.json_body["comment"] == "chipped on arrival"

    stored = [item for item in aws.items_of_type("feedback")]
    assert [(item["pk"], item["sk"]) for item in stored] == [("M#demo-store#O#1001", "FEEDBACK#MUG-1")]
    document = json.loads(stored[0]["document"])
    assert [(change["rating"], change["comment"]) for change in document["history"]] == [(5, None)]
    assert len(aws.items_of_type("feedback_listing")) == 1  # the listing copy moved, not duplicated


@pytest.mark.parametrize("case", ["forged", "expired", "other_shop", "unknown_item", "garbage"])
def test_invalid_links_are_404_and_store_nothing(aws, case):
    place(aws)
    link = {"forged": token(aws)[:-2] + ("AA" if not token(aws).endswith("AA") else "BB"),
            "expired": token(aws, days=1),
            "other_shop": token(aws, merchant="other-store"),
            "unknown_item": token(aws, sku="NOPE-1"),
            "garbage": "not-a-token"}[case]
    if case == "expired":
        aws.clock.advance(timedelta(days=2))
    response = rate(aws, link, {"rating": 4})
    assert response.status_code == 404, response.body
    assert response.json_body["error"]["code"] == "not_found" and response.json_body["error"]["field"] == "token"
    assert aws.items_of_type("feedback") == []


@pytest.mark.parametrize("body, status, field", [
    ({"rating": 0}, 422, "rating"), ({"rating": 6}, 422, "rating"), ({"rating": "great"}, 422, "rating"),
    ({}, 422, "rating"), ({"rating": 4, "comment": "x" * 2001}, 422, "comment"),
    ({"rating": 4, "stars": 5}, 400, "stars"), (b"[1]", 400, None), (b"{nope", 400, None)])
def test_bad_input_names_the_field(aws, body, status, field):
    place(aws)
    response = rate(aws, token(aws), body)
    assert response.status_code == status, response.body
    assert response.json_body["error"].get("field") == field
    assert aws.items_of_type("feedback") == []


def test_effects_reminder_cancelled_coupon_issued_once_loyalty_bonus(aws, ports):
    place(aws)
    link = token(aws)
    first = rate(aws, link, {"rating": 5})
    second = rate(aws, link, {"rating": 4, "comment": "good"})
    assert first.status_code == 201 and second.status_code == 200
    assert first.json_body["thank_you_coupon"]["code"] == second.json_body["thank_you_coupon"]["code"] == "THANKS001"
    assert first.json_body["thank_you_coupon"]["value"] == "10"
    assert len(ports.coupons.issued) == 1
    assert [key[1:] for key in ports.coupons.issued] == [("feedback", "1001:MUG-1")]
    assert ports.schedule.cancelled[0] == (MERCHANT, "order", "1001", "review_reminder", "1001", "answered")
    assert ports.loyalty.bonuses[0] == (MERCHANT, "c-1", "1001", "MUG-1")


def test_concurrent_first_answers_make_one_answer(aws):
    """Two answers racing on the same item: the loser re-reads and updates, never duplicates."""
    from postpurchase import clock
    from postpurchase.feedback import views

    place(aws)
    link = token(aws)
    store = views.PORTS.store
    original = store.load
    raced = {"done": False}

    def load_then_race(merchant_id, order_id, sku):
        loaded = original(merchant_id, order_id, sku)
        if not raced["done"]:
            raced["done"] = True
            views.record(link, 1, "first", "api", clock.now())  # lands between our read and our write
        return loaded

    store.load = load_then_race
    try:
        result = views.record(link, 5, None, "page", clock.now())
    finally:
        store.load = original
    assert (result.feedback.rating, result.feedback.version, result.created) == (5, 2, False)
    assert len(aws.items_of_type("feedback")) == 1 and len(aws.items_of_type("feedback_listing")) == 1


# --- GET /v1/feedback ----------------------------------------------------------------------------


def test_the_merchant_lists_answers_newest_first_page_by_page_and_never_another_merchants(aws, other_store):
    for order_id in ("2001", "2002", "2003"):
        place(aws, order_id)
    place(aws, "9001", api_key=other_store)
    for order_id in ("2001", "2002", "2003"):
        assert rate(aws, token(aws, order_id), {"rating": 4, "comment": f"about {order_id}"}).status_code == 201
        aws.clock.advance(timedelta(minutes=5))
    assert rate(aws, token(aws, "9001", merchant="other-store"), {"rating": 1}).status_code == 201
    aws.clock.advance(timedelta(minutes=5))
    assert rate(aws, token(aws, "2001"), {"rating": 5}).status_code == 200  # changed: now the newest

    with count_aws_requests() as requests:
        page1 = listing(aws, limit="2")
    assert page1.status_code == 200, page1.body
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    assert [item["order_id"] for item in page1.json_body["items"]] == ["2001", "2003"]
    first = page1.json_body["items"][0]
    assert (first["sku"], first["product_title"], first["rating"], first["comment"]) == ("MUG-1", "Ceramic mug", 5,
                                                                                         "about 2001")
    assert "submitted_at" in first
    page2 = listing(aws, limit="2", cursor=page1.json_body["next_cursor"])
    assert [item["order_id"] for item in page2.json_body["items"]] == ["2002"]
    assert page2.json_body["next_cursor"] is None

    since = (aws.clock.now() - timedelta(minutes=11)).isoformat()  # after 2002, before 2003
    assert [i["order_id"] for i in listing(aws, since=since).json_body["items"]] == ["2001", "2003"]

    theirs = listing(aws, api_key=other_store)
    assert [item["order_id"] for item in theirs.json_body["items"]] == ["9001"]
    # Another merchant's cursor only pages within the caller's own answers.
    borrowed = listing(aws, api_key=other_store, limit="1", cursor=page1.json_body["next_cursor"])
    assert all(item["order_id"] == "9001" for item in borrowed.json_body["items"])
    # Merchant B's token cannot answer for merchant A's order, nor A's for B's.
    assert rate(aws, token(aws, "2002", merchant="other-store"), {"rating": 5}).status_code == 404
    assert rate(aws, token(aws, "9001"), {"rating": 5}).status_code == 404


@pytest.mark.parametrize("query, field", [({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"),
                                          ({"limit": "x"}, "limit"), ({"since": "yesterday"}, "since"),
                                          ({"since": "2026-11-20T10:00:00"}, "since"), ({"cursor": "%%%"}, "cursor")])
def test_bad_listing_parameters_name_the_field(aws, query, field):
    response = listing(aws, **query)
    assert response.status_code == 400, response.body
    assert response.json_body["error"]["field"] == field


def test_listing_needs_the_merchant_key(aws):
    assert aws.client.get("/v1/feedback").status_code == 401
    assert listing(aws, api_key="wrong").status_code == 401


# --- the merchant's webhook --------------------------------------------------------------------------


def configure(aws, url: str) -> str:
    response = aws.client.put("/v1/settings/webhooks", headers=aws.auth(), body=aws.encode({"feedback_url": url}))
    assert response.status_code == 200, response.body
    assert response.json_body["feedback_url"] == url and response.json_body["returns_url"] is None
    return response.json_body["secret"]


def test_each_answer_version_is_posted_signed_once(aws, receiver):
    from postpurchase.returns.handoff import verify_signature

    secret = configure(aws, receiver.url)
    place(aws)
    link = token(aws)
    assert rate(aws, link, {"rating": 5}).status_code == 201
    assert rate(aws, link, {"rating": 5}).status_code == 200  # the same answer: no second delivery
    aws.pump.drain()
    [(headers, body)] = receiver.requests
    assert verify_signature(secret, headers["x-postpurchase-signature"], body, aws.clock.now())
    assert headers["x-postpurchase-delivery"] == "1001:MUG-1:1"
    event = json.loads(body)
    assert (event["type"], event["merchant_id"], event["order_id"], event["sku"], event["rating"],
            event["event_id"]) == ("FeedbackSubmitted", MERCHANT, "1001", "MUG-1", 5, "1001:MUG-1:1")

    assert rate(aws, link, {"rating": 3, "comment": "meh"}).status_code == 200
    aws.pump.drain()
    assert [h["x-postpurchase-delivery"] for h, _ in receiver.requests] == ["1001:MUG-1:1", "1001:MUG-1:2"]
    assert aws.queue_depth("ReturnEventsDLQ") == 0


def test_a_503_from_the_merchant_is_retried_until_it_answers(aws, receiver):
    configure(aws, receiver.url)
    place(aws)
    receiver.status = 503
    assert rate(aws, token(aws), {"rating": 4}).status_code == 201
    assert aws.pump_queue("ReturnEventsQueue") == 1
    assert len(receiver.requests) == 1 and aws.queue_depth("ReturnEventsQueue") == 1  # kept for a retry
    receiver.status = 200
    aws.clock.advance(timedelta(minutes=10))
    aws.pump.drain()
    assert len(receiver.requests) == 2
    assert receiver.requests[0][1] == receiver.requests[1][1]
    assert receiver.requests[0][0]["x-postpurchase-delivery"] == receiver.requests[1][0]["x-postpurchase-delivery"]
    assert aws.queue_depth("ReturnEventsQueue") == 0 and aws.queue_depth("ReturnEventsDLQ") == 0


def test_setting_the_feedback_url_keeps_the_returns_url(aws):
    put = aws.client.put("/v1/settings/webhooks", headers=aws.auth(),
                         body=aws.encode({"returns_url": "https://merchant.example/returns"}))
    assert put.status_code == 200
    both = aws.client.put("/v1/settings/webhooks", headers=aws.auth(),
                          body=aws.encode({"feedback_url": "https://merchant.example/feedback"}))
    assert both.json_body["returns_url"] == "https://merchant.example/returns"
    assert both.json_body["feedback_url"] == "https://merchant.example/feedback"
    plain = aws.client.put("/v1/settings/webhooks", headers=aws.auth(),
                           body=aws.encode({"feedback_url": "http://merchant.example/feedback"}))
    assert plain.status_code == 400 and plain.json_body["error"]["field"] == "feedback_url"


# --- the rating page -----------------------------------------------------------------------------------


def page_get(aws, link: str, **query):
    path = f"/pages/{MERCHANT}/feedback/{link}"
    return aws.client.get(f"{path}?{urlencode(query)}" if query else path, headers={"Host": HOST})


def page_post(aws, link: str, fields: dict, origin: str | None = f"https://{HOST}"):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": HOST}
    if origin:
        headers["Origin"] = origin
    return aws.client.post(f"/pages/{MERCHANT}/feedback/{link}", headers=headers, body=urlencode(fields).encode())


def html(response) -> str:
    return response.body.decode() if isinstance(response.body, bytes) else response.body


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert match, name
    return match.group(1)


def test_one_tap_records_the_rating_and_offers_the_comment_form_in_arabic(aws, ports):
    place(aws)
    link = token(aws)
    with count_aws_requests() as requests:
        response = page_get(aws, link, rating="5", lang="ar")
    assert response.status_code == 200, html(response)
    # The answer's transaction and its storefront review's (reviews/).
    assert dict(requests) == {("DynamoDB", "BatchGetItem"): 1, ("DynamoDB", "TransactWriteItems"): 2}
    page = html(response)
    assert '<html lang="ar" dir="rtl">' in page
    assert "شكرًا لك! تم حفظ رأيك." in page and "ما رأيك في" in page
    assert 'id="rating-5" name="rating" value="5" checked' in page
    assert "THANKS001" in page and 'id="thank-you-coupon"' in page
    headers = {name.lower(): value for name, value in response.headers.items()}
    nonce = re.search(r"'nonce-([^']+)'", headers["content-security-policy"]).group(1)
    assert f'<style nonce="{nonce}">' in page and "<script" not in page
    assert headers["cache-control"] == "no-store" and headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    # Labels for every smiley (the faces themselves are decoration).
    assert page.count('<span aria-hidden="true">') == 5 and "راضٍ جدًا" in page
    # A second tap (a reload) changes nothing.
    assert page_get(aws, link, rating="5", lang="ar").status_code == 200
    [stored] = aws.items_of_type("feedback")
    assert int(stored["version"]) == 1


def test_the_form_adds_a_comment_in_turkish_and_checks_its_origin_and_form_token(aws, ports):
    place(aws)
    link = token(aws)
    bad_tap = page_get(aws, link, rating="9")
    assert bad_tap.status_code == 422 and "Lütfen 1 ile 5 arasında bir puan seçin." in html(bad_tap)
    page = html(page_get(aws, link))  # the customer's locale is tr-TR
    assert '<html lang="tr" dir="ltr">' in page and "Puanınız" in page
    assert aws.items_of_type("feedback") == []  # no rating in the link: nothing recorded
    fields = {"token": field(page, "token"), "csrf_token": field(page, "csrf_token"), "lang": "tr", "rating": "4",
              "comment": "  Güzel kupa  "}

    assert page_post(aws, link, fields, origin="https://evil.example").status_code == 403
    assert page_post(aws, link, {**fields, "csrf_token": "forged"}).status_code == 403
    assert page_post(aws, token(aws, sku="NOPE"), fields).status_code == 403  # form token of another link
    assert aws.items_of_type("feedback") == []

    bad = page_post(aws, link, {**fields, "rating": "9"})
    assert bad.status_code == 422 and "Lütfen 1 ile 5 arasında bir puan seçin." in html(bad)
    assert aws.items_of_type("feedback") == []

    done = page_post(aws, link, fields)
    assert done.status_code == 200, html(done)
    assert "Teşekkürler! Görüşünüz kaydedildi." in html(done) and "Güzel kupa</textarea>" in html(done)
    [stored] = aws.items_of_type("feedback")
    document = json.loads(stored["document"])
    assert (document["rating"], document["comment"], document["source"]) == (4, "Güzel kupa", "page")


def test_an_invalid_rating_link_gets_the_friendly_error_page(aws):
    place(aws)
    for link in ("garbage", token(aws, merchant="other-store")):
        response = page_get(aws, link, rating="4")
        assert response.status_code == 404
        assert "<html" in html(response) and "Traceback" not in html(response)
    assert aws.items_of_type("feedback") == []
