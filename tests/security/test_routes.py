"""Every route of the Chalice app, attacked: no credentials, another tenant's key on this tenant's
ids, a customer token of another order or shop, and hostile ids. ROUTES must name every route
of `app.routes`, so a new route without its attacks fails `test_every_route_is_attacked`."""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pytest

from conftest import A, A_EMAIL, B, HOST, body_text, gateway

# Kinds: merchant (API key), customer (API key or the order's link token), public (no key),
# page (HTML), webhook (signed by the storefront or carrier).


@dataclass(frozen=True)
class Route:
    kind: str
    body: dict | None = None  # a valid body (JSON or form), for write routes
    b_key_ok: bool = False  # B's key on this route reads or writes B's own data only (no ids of A in it)


SHIPMENT = {"carrier": "fedex", "tracking_number": "794698760140", "items": [{"sku": "MUG-1", "quantity": 1}]}
RETURN = {"items": [{"sku": "MUG-1", "quantity": 1}], "reason": "damaged", "resolution": "refund"}

ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/v1/orders"): Route("merchant", b_key_ok=True),
    ("GET", "/v1/orders/{order_id}"): Route("merchant"),
    ("POST", "/v1/orders/{order_id}/shipments"): Route("merchant", SHIPMENT),
    ("GET", "/v1/orders/{order_id}/tracking"): Route("customer"),
    ("GET", "/v1/returns/policy"): Route("merchant", b_key_ok=True),
    ("PUT", "/v1/returns/policy"): Route("merchant", b_key_ok=True),
    ("GET", "/v1/orders/{order_id}/returns"): Route("customer"),
    ("POST", "/v1/orders/{order_id}/returns"): Route("customer", RETURN),
    ("GET", "/v1/orders/{order_id}/returns/{rma_id}"): Route("customer"),
    ("POST", "/v1/orders/{order_id}/returns/{rma_id}/transitions"): Route("customer", {"action": "receive"}),
    ("POST", "/v1/order-access"): Route("public"),
    ("PUT", "/v1/settings/webhooks"): Route("merchant", b_key_ok=True),
    ("POST", "/v1/feedback/{token}"): Route("public", {"rating": 5}),
    ("GET", "/v1/feedback"): Route("merchant", b_key_ok=True),
    ("GET", "/v1/settings/messaging"): Route("merchant", b_key_ok=True),
    ("PUT", "/v1/settings/messaging"): Route("merchant", b_key_ok=True),
    ("POST", "/v1/campaigns"): Route("merchant", b_key_ok=True),
    ("GET", "/v1/campaigns/{campaign_id}"): Route("merchant"),
    ("GET", "/v1/coupons/{code}"): Route("merchant"),
    ("POST", "/v1/coupons/{code}/redeem"): Route("merchant", {"order_id": "1001", "order_total": "80.00",
                                                            "currency": "USD"}),
    ("PUT", "/v1/settings/referrals"): Route("merchant", b_key_ok=True),
    ("GET", "/v1/referrals"): Route("merchant", b_key_ok=True),
    ("POST", "/v1/referrals/{referral_id}/decision"): Route("merchant", {"decision": "approve"}),
    ("GET", "/v1/customers/{customer_id}/referral"): Route("merchant"),
    ("GET", "/v1/customers/{customer_id}/loyalty"): Route("merchant"),
    ("POST", "/v1/customers/{customer_id}/loyalty/redemptions"): Route("merchant", {"points": 10, "currency": "USD"}),
    ("GET", "/v1/settings/loyalty"): Route("merchant", b_key_ok=True),
    ("PUT", "/v1/settings/loyalty"): Route("merchant", b_key_ok=True),
    ("GET", "/v1/support/faq"): Route("merchant", b_key_ok=True),
    ("PUT", "/v1/support/faq"): Route("merchant", {"entries": []}, b_key_ok=True),
    ("POST", "/v1/support/messages"): Route("merchant", {"email": "x@example.com", "text": "hello"}, b_key_ok=True),
    ("GET", "/v1/support/conversations"): Route("merchant", b_key_ok=True),
    ("GET", "/v1/support/conversations/{conversation_id}"): Route("merchant"),
    ("POST", "/v1/support/conversations/{conversation_id}/replies"): Route("merchant", {"text": "hello"}),
    ("POST", "/v1/support/conversations/{conversation_id}/status"): Route("merchant", {"status": "resolved"}),
    ("GET", "/v1/support/metrics"): Route("merchant", b_key_ok=True),
    ("GET", "/pages/{merchant_id}/csat/{token}"): Route("page"),
    ("PUT", "/v1/catalog"): Route("merchant", b_key_ok=True),
    ("GET", "/v1/catalog"): Route("merchant", b_key_ok=True),
    ("GET", "/v1/customers/{customer_id}/recommendations"): Route("merchant"),
    ("PUT", "/v1/settings/recommendations"): Route("merchant", b_key_ok=True),
    ("GET", "/v1/settings/recommendations"): Route("merchant", b_key_ok=True),
    ("GET", "/pages/{merchant_id}/orders/{order_id}"): Route("page"),
    ("POST", "/pages/{merchant_id}/orders/{order_id}/returns"): Route("page", {"sku": "MUG-1", "quantity": "1",
                                                                               "reason": "damaged"}),
    ("POST", "/pages/{merchant_id}/orders/{order_id}/returns/{rma_id}/cancel"): Route("page", {}),
    ("POST", "/pages/{merchant_id}/orders/{order_id}/messages"): Route("page", {"message": "Where is my order?"}),
    ("GET", "/pages/{merchant_id}/lookup"): Route("page"),
    ("POST", "/pages/{merchant_id}/lookup"): Route("page", {"order_number": "1001", "email": "nobody@x.example"}),
    ("POST", "/pages/{merchant_id}/lookup/messages"): Route("page", {"contact_email": "nobody@x.example",
                                                                     "message": "Where is my order?"}),
    ("GET", "/pages/{merchant_id}/preferences"): Route("page"),
    ("POST", "/pages/{merchant_id}/preferences"): Route("page", {"customer": "c-1", "language": "ar"}),
    ("GET", "/pages/{merchant_id}/feedback/{token}"): Route("page"),
    ("POST", "/pages/{merchant_id}/feedback/{token}"): Route("page", {"rating": "5", "comment": "x"}),
    ("GET", "/pages/{merchant_id}/unsubscribe/{token}"): Route("page"),
    ("POST", "/pages/{merchant_id}/unsubscribe/{token}"): Route("page", {"List-Unsubscribe": "One-Click"}),
    ("GET", "/console/{merchant_id}"): Route("page"),
    ("GET", "/console/{merchant_id}/signin"): Route("page"),
    ("POST", "/console/{merchant_id}/signin"): Route("page", {"api_key": "not-a-key"}),
    ("POST", "/console/{merchant_id}/signout"): Route("page", {}),
    ("GET", "/console/{merchant_id}/returns"): Route("page"),
    ("GET", "/console/{merchant_id}/shipments"): Route("page"),
    ("GET", "/console/{merchant_id}/analytics"): Route("page"),
    ("GET", "/console/{merchant_id}/returns/{order_id}/{rma_id}"): Route("page"),
    ("POST", "/console/{merchant_id}/returns/{order_id}/{rma_id}"): Route("page", {"action": "approve"}),
    ("GET", "/console/{merchant_id}/messages"): Route("page"),
    ("GET", "/console/{merchant_id}/settings"): Route("page"),
    ("GET", "/console/{merchant_id}/settings/{section}"): Route("page"),
    ("POST", "/console/{merchant_id}/settings/{section}"): Route("page", {"quiet_start_hour": "21"}),
    ("POST", "/webhooks/shopify/{merchant_id}"): Route("webhook", {}),
    ("POST", "/webhooks/woocommerce/{merchant_id}"): Route("webhook", {}),
    ("POST", "/webhooks/easypost/{merchant_id}"): Route("webhook", {}),
    ("POST", "/webhooks/aftership/{merchant_id}"): Route("webhook", {}),
    ("GET", "/v1/surveys"): Route("merchant", b_key_ok=True),
    ("PUT", "/v1/surveys/{survey_id}"): Route("merchant", {
        "audience": ["first_order"], "timing": {"channel": "order_page"},
        "questions": [{"id": "nps", "kind": "nps", "text": {"en": "Recommend us?"}}]}, b_key_ok=True),
    ("GET", "/v1/surveys/{survey_id}/results"): Route("merchant"),
    ("GET", "/pages/{merchant_id}/surveys/{token}"): Route("page"),
    ("POST", "/pages/{merchant_id}/surveys/{token}"): Route("page", {"q_nps": "9"}),
    ("GET", "/v1/orders/{order_id}/insert.pdf"): Route("merchant"),
    ("POST", "/v1/inserts/batches"): Route("merchant", {"date": "2026-11-20"}, b_key_ok=True),
    ("GET", "/v1/inserts/batches/{batch_id}"): Route("merchant"),
    ("GET", "/openapi.json"): Route("public"),
    # Storefront reviews: public reads (no key), the merchant's moderation, the customer's photos.
    ("GET", "/v1/public/{merchant}/products/{sku}/reviews"): Route("public"),
    ("GET", "/v1/public/{merchant}/products/{sku}/reviews/summary"): Route("public"),
    ("GET", "/v1/public/{merchant}/products/{sku}/reviews/jsonld"): Route("public"),
    ("GET", "/v1/reviews/moderation"): Route("merchant", b_key_ok=True),
    ("POST", "/v1/reviews/{review_id}/publish"): Route("merchant", {}),
    ("POST", "/v1/reviews/{review_id}/hide"): Route("merchant", {}),
    ("PUT", "/v1/reviews/{review_id}/reply"): Route("merchant", {"text": "Thank you"}),
    ("POST", "/v1/feedback/{token}/photos"): Route("public", {"content_type": "image/jpeg"}),
    ("POST", "/v1/feedback/{token}/photos/{upload_id}"): Route("public", {}),
    ("GET", "/pages/{merchant_id}/feedback/{token}/photos/{upload_id}"): Route("page"),  # S3's upload redirect
}

# Ids that must never reach another partition, break a key, or give a 500.
# Ids that must never reach another partition, break a key, or give a 500 (as API Gateway hands
# them to the view: decoded).
HOSTILE_IDS = {
    "hash": "1001#x", "pipe": "1001|other-store", "slash": "1001/../2001", "percent": "100%", "percent-pair": "%41",
    "nul": "1001\x00", "unicode": "ü🙂١٠٠١", "rtl": "\u202e1001", "long": "9" * 3000, "long-unicode": "ü" * 1100,
    "dots": "..", "space": " ", "empty": "", "key-like": "ORDER#demo-store#1001", "other-key": "M#other-store#O#2001",
    "other-merchant-order": "other-store#O#2001", "crlf": "1001\r\nX-Injected: 1", "surrogate": "\ud800",
}


def path_of(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def a_values(world) -> dict[str, str]:
    from postpurchase.reviews.model import review_id

    return {"merchant_id": A, "token": world.feedback_token, "survey_id": "post-purchase", **world.ids,
            # the review routes' own names: A's shop and product, A's review of it, an upload id
            "merchant": A, "sku": "MUG-1", "review_id": review_id(world.ids["order_id"], "MUG-1"),
            "upload_id": "upload-1"}


def request(world, method: str, path: str, route: Route, headers: dict | None = None, body=None):
    aws = world.aws
    headers = dict(headers or {})
    if route.kind == "page":
        headers.setdefault("Host", HOST)
        headers.setdefault("Origin", f"https://{HOST}")
        if method == "POST":
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            body = urlencode(route.body or {}).encode() if body is None else body
    elif method in ("POST", "PUT"):
        headers.setdefault("Content-Type", "application/json")
        body = aws.encode(route.body or {}) if body is None else body
    return getattr(aws.client, method.lower())(path, headers=headers, body=body)


def a_markers(world) -> list[str]:
    """Strings only A's data holds: none may appear in an answer to B or to a stranger."""
    return [A_EMAIL, world.ids["rma_id"], world.ids["code"], "SBX-OK-1001", "Ayşe"]


def test_every_route_is_attacked(world):
    served = {(method, path) for path, methods in world.aws.api.app.routes.items() for method in methods}
    assert served - set(ROUTES) == set(), "routes without security cases: add them to ROUTES"
    assert set(ROUTES) - served == set(), "ROUTES names routes the app no longer serves"


CREDENTIALED = [key for key, route in ROUTES.items() if route.kind in ("merchant", "customer")]


def test_every_route_a_merchant_key_opens_documents_the_rate_limit():
    from postpurchase.openapi import openapi_document

    paths = openapi_document()["paths"]
    for method, template in CREDENTIALED:
        operation = paths[template][method.lower()]
        assert {"merchantKey": []} in operation["security"], (method, template)
        answer = operation["responses"]["429"]
        assert "rate_limited" in answer["description"], (method, template)
        assert "Retry-After" in answer["headers"], (method, template)
    for path, operations in paths.items():
        for method, operation in operations.items():
            if {"merchantKey": []} not in operation.get("security", []):
                assert "rate_limited" not in operation["responses"].get("429", {}).get("description", ""), path


@pytest.mark.parametrize("method,template", CREDENTIALED, ids=[f"{m} {p}" for m, p in CREDENTIALED])
def test_no_or_a_wrong_key_opens_nothing(world, attacks, method, template):
    route = ROUTES[(method, template)]
    path = path_of(template, a_values(world))
    for name, headers in {"no key": {}, "bad key": {"Authorization": "Bearer not-a-key"},
                          "basic": {"Authorization": "Basic ZGVtbzpkZW1v"},
                          "empty bearer": {"Authorization": "Bearer "},
                          "key with a suffix": {"Authorization": f"Bearer {world.a_key}x"},
                          "key prefix": {"Authorization": f"Bearer {world.a_key[:-1]}"}}.items():
        response = request(world, method, path, route, headers)
        attacks.check(f"{method} {template}: {name}", response, forbidden=a_markers(world))


# Survey ids are each merchant's own names: B's key on "post-purchase" creates B's own survey,
# never touching A's (tests/integration/test_surveys_api.py shows it), so that write is no attack.
ID_ROUTES = [key for key, route in ROUTES.items() if "{" in key[1] and route.kind in ("merchant", "customer")
             and key != ("PUT", "/v1/surveys/{survey_id}")]


@pytest.mark.parametrize("method,template", ID_ROUTES, ids=[f"{m} {p}" for m, p in ID_ROUTES])
def test_another_merchants_key_on_this_merchants_ids(world, attacks, method, template):
    route = ROUTES[(method, template)]
    response = request(world, method, path_of(template, a_values(world)), route, world.aws.auth(world.b_key))
    if "{customer_id}" in template and method == "GET":
        # Customer ids are each merchant's own: B asking about "c-1" sees B's c-1, who has nothing,
        # exactly what B sees of a customer nobody has.
        nobody = request(world, method, path_of(template, {**a_values(world), "customer_id": "c-nobody"}), route,
                         world.aws.auth(world.b_key))
        same = body_text(nobody).replace("c-nobody", world.ids["customer_id"]) == body_text(response)
        attacks.check(f"{method} {template}: B's key on A's customer", response, statuses=[200, 404],
                      forbidden=a_markers(world) + ([] if same else ["" + body_text(response)]))
        return
    attacks.check(f"{method} {template}: B's key on A's ids", response, forbidden=a_markers(world))


CUSTOMER_ROUTES = [key for key, route in ROUTES.items() if route.kind == "customer"]


@pytest.mark.parametrize("method,template", CUSTOMER_ROUTES, ids=[f"{m} {p}" for m, p in CUSTOMER_ROUTES])
def test_a_customer_token_opens_only_its_own_order(world, attacks, method, template):
    route = ROUTES[(method, template)]
    path = path_of(template, a_values(world))
    tokens = {"B's order token": world.b_token, "A's token of another order": world.a_token_other,
              "tampered": world.a_token[:-2] + ("AA" if world.a_token[-2:] != "AA" else "BB"),
              "truncated": world.a_token[: len(world.a_token) // 2], "empty": "", "reversed": world.a_token[::-1],
              "feedback token": world.feedback_token}
    for name, token in tokens.items():
        for merchant in (A, B):
            response = request(world, method, f"{path}?{urlencode({'merchant': merchant})}", route,
                               {"X-Order-Token": token} if token else {})
            attacks.check(f"{method} {template}: {name} for {merchant}", response, forbidden=a_markers(world))
    # A's own token with the shop named as B: B's partition holds no order 1001 of A.
    response = request(world, method, f"{path}?{urlencode({'merchant': B, 'token': world.a_token})}", route)
    attacks.check(f"{method} {template}: A's token as shop B", response, forbidden=a_markers(world))


B_KEY_ROUTES = [key for key, route in ROUTES.items() if route.b_key_ok and key[0] == "GET"]


@pytest.mark.parametrize("method,template", B_KEY_ROUTES, ids=[f"{m} {p}" for m, p in B_KEY_ROUTES])
def test_another_merchants_listings_hold_none_of_this_merchants_data(world, attacks, method, template):
    response = request(world, method, template, ROUTES[(method, template)], world.aws.auth(world.b_key))
    attacks.check(f"{method} {template}: B's own listing", response, forbidden=a_markers(world),
                  statuses=[200])


ANY_ID_ROUTES = [key for key in ROUTES if "{" in key[1]]


@pytest.mark.parametrize("method,template", ANY_ID_ROUTES, ids=[f"{m} {p}" for m, p in ANY_ID_ROUTES])
def test_hostile_ids_are_refused_without_a_500(world, attacks, method, template):
    route = ROUTES[(method, template)]
    names = [name for name in ("merchant_id", "order_id", "rma_id", "campaign_id", "code", "customer_id",
                               "referral_id", "token", "merchant", "review_id", "upload_id", "survey_id")
             if "{" + name + "}" in template]
    for param in names:
        for label, hostile in HOSTILE_IDS.items():
            headers = {} if route.kind in ("page", "webhook", "public") else world.aws.auth(world.a_key)
            body = None
            if route.kind == "page":
                headers.update({"Host": HOST, "Origin": f"https://{HOST}"})
                if method == "POST":
                    headers["Content-Type"] = "application/x-www-form-urlencoded"
                    body = urlencode(route.body or {}).encode()
            elif method in ("POST", "PUT"):
                headers.setdefault("Content-Type", "application/json")
                body = world.aws.encode(route.body or {})
            response = gateway(world, method, template, {**a_values(world), param: hostile}, headers=headers,
                               body=body)
            if param == "customer_id" and method == "GET" and response.status_code == 200:
                # A merchant's own customer namespace: an odd but storable id is a customer with nothing.
                nobody = gateway(world, method, template, {**a_values(world), param: "c-nobody"}, headers=headers)
                expected = json.loads(nobody.body)
                expected["customer_id"] = hostile
                attacks.check(f"{method} {template}: {param}={label}", response, statuses=[200],
                              forbidden=[] if json.loads(response.body) == expected else [body_text(response)])
                continue
            attacks.check(f"{method} {template}: {param}={label}", response, page=route.kind == "page",
                          forbidden=a_markers(world) if route.kind != "merchant" else ())
