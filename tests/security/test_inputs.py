"""Hostile bodies on every JSON write route, forged and replayed webhooks, forged and expired
links. Each answer must be a 4xx in our error shape (pages: a 4xx page without a stack trace),
and nothing may be stored or queued (the `attacks` fixture compares the table and queues)."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from conftest import A, B, HOST, gateway
from test_routes import ROUTES, a_markers, a_values, path_of

MAX_BODY = 262_144
BOMBS = ["1e999999999", "1E+999999999", "-0e-99999999", "NaN", "Infinity", "-Infinity", "9" * 5000,
         "1e-999999999", "0x10"]
# As raw JSON number tokens too (Python's json reads NaN/Infinity, and 1e999999999 as a float).
# (A raw -0e-99999999 is the float -0.0, read as the harmless zero, so only its string form is a bomb.)
RAW_BOMBS = ["1e999999999", "1E+999999999", "NaN", "Infinity", "-Infinity", "9" * 5000]

STRUCTURAL = {
    "oversized": lambda: b'{"x": "' + b"a" * (MAX_BODY + 10) + b'"}',
    "deeply nested": lambda: b"[" * 100_000 + b"]" * 100_000,
    "deeply nested object": lambda: b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "invalid utf-8": lambda: b'{"x": "\xff\xfe\xc0\xaf"}',
    "lone surrogate": lambda: b'{"x": "\\ud800", "items": "\\udfff"}',
    "array": lambda: b"[]",
    "string": lambda: b'"x"',
    "null": lambda: b"null",
    "number bomb": lambda: b"1e999999999",
    "truncated": lambda: b'{"a": ',
    "duplicate keys": lambda: b'{"a": 1, "a": {"$gt": ""}}',
    "bom": lambda: b"\xef\xbb\xbf[]",
}

# Valid bodies of the JSON write routes whose numbers we bomb (order_id fresh so a mistaken
# acceptance stores something the snapshot sees).
def order_body(aws):
    return aws.api_order("9001")


BODIES = {
    ("POST", "/v1/orders"): order_body,
    ("POST", "/v1/orders/{order_id}/shipments"): lambda aws: {"carrier": "fedex", "tracking_number": "794698760140",
                                                             "items": [{"sku": "MUG-1", "quantity": 1}]},
    ("POST", "/v1/orders/{order_id}/returns"): lambda aws: {"items": [{"sku": "MUG-1", "quantity": 1}],
                                                           "reason": "damaged", "resolution": "refund"},
    ("POST", "/v1/coupons/{code}/redeem"): lambda aws: {"order_id": "1001", "order_total": "80.00", "currency": "USD"},
    ("POST", "/v1/customers/{customer_id}/loyalty/redemptions"): lambda aws: {"points": 10, "currency": "USD"},
    ("PUT", "/v1/settings/loyalty"): lambda aws: {"points_per_unit": "1", "review_bonus": 20, "birthday_bonus": 100,
                                                  "expiry_months": 12, "notice_days": 14, "min_redemption": 10,
                                                  "point_value": "0.05", "code_valid_days": 60},
    ("PUT", "/v1/settings/referrals"): lambda aws: {"referrer_reward": {"discount_type": "amount", "value": "10",
                                                                        "valid_days": 60},
                                                    "friend_reward": {"discount_type": "percent", "value": "15"},
                                                    "monthly_cap": 5},
    ("POST", "/v1/campaigns"): lambda aws: {"campaign_id": "camp-bomb", "occasion": "valentines_day",
                                            "send_on": "2027-02-14", "local_hour": 10,
                                            "segment": {"categories": ["home"]}, "shop_url": "https://d.example/v",
                                            "offer": {"discount_type": "percent", "value": "15"}},
    ("PUT", "/v1/catalog"): lambda aws: {"products": [{"product_id": "p-bomb", "sku": "PB-1", "title": "Bomb",
                                                       "category": "case", "price": "20.00", "currency": "USD"}]},
    ("PUT", "/v1/settings/recommendations"): lambda aws: {"categories": {"phone": {"case": 1}}},
    ("PUT", "/v1/settings/messaging"): lambda aws: {"default_review_delay_days": 9},
}
NOT_NUMBERS = {"zip", "order_id", "order_number", "tracking_number", "sku", "product_id", "campaign_id", "id"}

JSON_WRITES = [key for key in ROUTES if key[0] in ("POST", "PUT") and ROUTES[key].kind in ("merchant", "customer",
                                                                                         "public")]


def headers_of(world, route_key):
    kind = ROUTES[route_key].kind
    base = {"Content-Type": "application/json"}
    return base if kind == "public" else {**base, **world.aws.auth(world.a_key)}


def send(world, key, body: bytes):
    method, template = key
    values = a_values(world)
    return gateway(world, method, template, values, headers=headers_of(world, key), body=body)


@pytest.mark.parametrize("method,template", JSON_WRITES, ids=[f"{m} {p}" for m, p in JSON_WRITES])
def test_malformed_bodies_are_refused(world, attacks, method, template):
    for name, make in STRUCTURAL.items():
        attacks.check(f"{method} {template}: {name}", send(world, (method, template), make()))


def numeric_paths(value, path=()):
    """Paths to the numbers (and number-like strings) of a body, ids excluded."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in NOT_NUMBERS:
                yield from numeric_paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from numeric_paths(item, path + (index,))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path
    elif isinstance(value, str):
        try:
            float(value)
            yield path
        except ValueError:
            pass


def replaced(body, path, new):
    body = json.loads(json.dumps(body))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return body


BOMB_ROUTES = list(BODIES)


@pytest.mark.parametrize("method,template", BOMB_ROUTES, ids=[f"{m} {p}" for m, p in BOMB_ROUTES])
def test_number_bombs_in_every_money_and_quantity_field(world, attacks, method, template):
    valid = BODIES[(method, template)](world.aws)
    paths = list(numeric_paths(valid))
    assert paths, "a body without numbers bombs nothing"
    for path in paths:
        where = ".".join(map(str, path))
        for bomb in BOMBS:
            attacks.check(f"{method} {template}: {where}={bomb[:20]!r}",
                          send(world, (method, template), world.aws.encode(replaced(valid, path, bomb))))
        for bomb in RAW_BOMBS:
            text = json.dumps(replaced(valid, path, "__BOMB__")).replace('"__BOMB__"', bomb)
            attacks.check(f"{method} {template}: {where}={bomb[:20]} (raw)", send(world, (method, template),
                                                                                  text.encode()))
        # (Integer fields take true and "1_000" as 1 and 1000, pydantic's documented coercion: not bombs.)
        for label, wrong in {"null": None, "object": {"$gt": ""}, "list": [[1]], "negative": "-5",
                             "unicode digits": "١٢"}.items():
            if label == "null" and path[-1] not in ("quantity", "price", "points", "order_total", "value"):
                continue  # optional fields may be null
            attacks.check(f"{method} {template}: {where}={label}",
                          send(world, (method, template), world.aws.encode(replaced(valid, path, wrong))))


def test_ten_thousand_line_items_and_unicode_in_odd_places(world, attacks):
    key = ("POST", "/v1/orders")
    many = order_body(world.aws)
    many["items"] = many["items"] * 10_000
    attacks.check("10,000 line items", send(world, key, world.aws.encode(many)))
    for field, value in {"currency": "ÜSD", "email": "a\u202e@moc.example", "placed_at": "２０２６-11-20T10:00:00Z",
                         "order_id": "٩٠٠١#x"}.items():
        attacks.check(f"order {field}={value!r}", send(world, key, world.aws.encode({**order_body(world.aws),
                                                                                       field: value})))
    wrong = {**order_body(world.aws), "items": {"sku": "MUG-1"}}
    attacks.check("items as an object", send(world, key, world.aws.encode(wrong)))


# ------------------------------------------------------------------------------ webhooks


def shopify_headers(body: bytes, signature: str | None, webhook_id: str = "sec-wh-1"):
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
               "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Shop-Domain": "demo-store.myshopify.com"}
    if signature is not None:
        headers["X-Shopify-Hmac-Sha256"] = signature
    return headers


def woo_headers(body: bytes, signature: str | None, delivery: str = "sec-dl-1"):
    headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": "order.created",
               "X-WC-Webhook-Delivery-ID": delivery, "X-WC-Webhook-Source": "https://matjar.example/"}
    if signature is not None:
        headers["X-WC-Webhook-Signature"] = signature
    return headers


def easypost_headers(body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hmac-Signature"] = signature
    return headers


def aftership_headers(body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["aftership-hmac-sha256"] = signature
    return headers


def easypost_sign(body: bytes, secret: str) -> str:
    from postpurchase.tracking.carriers.easypost import sign

    return sign(body, secret)


WEBHOOKS = {
    "shopify": (shopify_headers, lambda aws: aws.encode(aws.shopify_order(id=990001)), lambda aws, b, s: aws.sign(b, s),
                "demo-shopify-secret", "other-shopify-secret"),
    "woocommerce": (woo_headers, lambda aws: aws.encode(aws.woocommerce_order(id=990002)),
                    lambda aws, b, s: aws.sign(b, s), "demo-woo-secret", "other-woo-secret"),
    "easypost": (easypost_headers, lambda aws: aws.encode(json.loads(
        (integration_events() / "easypost" / "webhook_tracker_updated.json").read_text())),
        lambda aws, b, s: easypost_sign(b, s), "demo-easypost-secret", "other-easypost-secret"),
    "aftership": (aftership_headers, lambda aws: aws.encode(json.loads(
        (integration_events() / "aftership" / "webhook_tracking_update.json").read_text())),
        lambda aws, b, s: aws.sign(b, s), "demo-aftership-secret", "other-aftership-secret"),
}


def integration_events():
    from infra.local.runtime import REPO_ROOT

    return REPO_ROOT / "events" / "carriers"


@pytest.mark.parametrize("source", list(WEBHOOKS))
def test_forged_webhooks_are_refused(world, attacks, source):
    make_headers, make_body, sign, _secret, other_secret = WEBHOOKS[source]
    aws = world.aws
    body = make_body(aws)
    other_body = body.replace(b"}", b', "x": 1}', 1)
    resource = f"/webhooks/{source}/{{merchant_id}}"
    forged = {
        "no signature": (body, None, A),
        "empty signature": (body, "", A),
        "garbage signature": (body, "not-base64!!", A),
        "signature of another body": (body, sign(aws, other_body, "anything"), A),
        "another merchant's secret": (body, sign(aws, body, other_secret), A),
        "a guessed secret": (body, sign(aws, body, "secret"), A),
        "B's signature sent to A": (body, sign(aws, body, other_secret), A),
        "unknown merchant": (body, sign(aws, body, other_secret), "no-such-shop"),
        "signature for an empty secret": (body, sign(aws, body, ""), A),
        "hex instead of base64": (body, "0" * 64, A),
    }
    for name, (payload, signature, merchant) in forged.items():
        response = gateway(world, "POST", resource, {"merchant_id": merchant},
                           headers=make_headers(payload, signature), body=payload)
        attacks.check(f"{source}: {name}", response)


def test_a_replayed_shopify_delivery_changes_nothing(world):
    """The first delivery is genuine (stored once); the same delivery again, re-signed or not,
    must store nothing more and queue nothing."""
    aws = world.aws
    body = aws.encode(aws.shopify_order(id=990010))
    first = gateway(world, "POST", "/webhooks/shopify/{merchant_id}", {"merchant_id": A},
                    headers=shopify_headers(body, aws.sign(body, aws.credentials.shopify_secret), "replay-1"),
                    body=body)
    assert first.status_code in (200, 202), first.body
    aws.pump.drain()
    before = world.snapshot()
    from conftest import Attacks

    attacks = Attacks(world)
    for attempt in range(3):
        again = gateway(world, "POST", "/webhooks/shopify/{merchant_id}", {"merchant_id": A},
                        headers=shopify_headers(body, aws.sign(body, aws.credentials.shopify_secret), "replay-1"),
                        body=body)
        aws.pump.drain()
        attacks.check(f"shopify replay {attempt}", again, statuses=[200, 202])  # acknowledged, ignored
    if world.snapshot() != before:
        attacks.failures.append("a replayed delivery stored something")
    attacks.verify()


# ------------------------------------------------------------------------------ links


def tampered(token: str) -> dict[str, str]:
    flip = "A" if token[-1] != "A" else "B"
    middle = len(token) // 2
    return {"last char": token[:-1] + flip, "middle char": token[:middle] + ("x" if token[middle] != "x" else "y")
            + token[middle + 1:], "truncated": token[:-4], "doubled": token + token, "empty-ish": ".",
            "swapped halves": token[middle:] + token[:middle], "upper": token.upper()}


def page(world, method, template, values, *, query=None, form=None, origin=True):
    headers = {"Host": HOST}
    if origin:
        headers["Origin"] = f"https://{HOST}"
    body = None
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form or {}).encode()
    return gateway(world, method, template, values, headers=headers, body=body, query=query)


def test_forged_unsubscribe_and_feedback_links_change_nothing(world, attacks):
    for kind, template, form in (("unsubscribe", "/pages/{merchant_id}/unsubscribe/{token}",
                                  {"List-Unsubscribe": "One-Click"}),
                                 ("feedback", "/pages/{merchant_id}/feedback/{token}", {"rating": "1"})):
        genuine = world.unsubscribe_token if kind == "unsubscribe" else world.feedback_token
        for name, token in tampered(genuine).items():
            for method in ("GET", "POST"):
                response = page(world, method, template, {"merchant_id": A, "token": token},
                                query={"rating": "1"} if kind == "feedback" else None, form=form)
                attacks.check(f"{kind} {method}: {name}", response, page=True, forbidden=a_markers(world))
        # A's genuine link under B's shop name.
        for method in ("GET", "POST"):
            response = page(world, method, template, {"merchant_id": B, "token": genuine}, form=form,
                            query={"rating": "1"} if kind == "feedback" else None)
            attacks.check(f"{kind} {method}: A's link as shop B", response, page=True, forbidden=a_markers(world))
    for name, token in tampered(world.feedback_token).items():
        response = gateway(world, "POST", "/v1/feedback/{token}", {"token": token},
                           headers={"Content-Type": "application/json"}, body=b'{"rating": 1}')
        attacks.check(f"feedback API: {name}", response)


def test_forged_order_page_and_preferences_links_open_nothing(world, attacks):
    template = "/pages/{merchant_id}/orders/{order_id}"
    for name, token in {**tampered(world.a_token), "B's order token": world.b_token,
                        "token of order 1002": world.a_token_other, "feedback token": world.feedback_token}.items():
        response = page(world, "GET", template, {"merchant_id": A, "order_id": "1001"}, query={"token": token})
        attacks.check(f"order page: {name}", response, page=True, forbidden=a_markers(world))
        response = page(world, "POST", template + "/returns", {"merchant_id": A, "order_id": "1001"},
                        form={"token": token, "sku": "MUG-1", "quantity": "1", "reason": "damaged"})
        attacks.check(f"order page return: {name}", response, page=True, forbidden=a_markers(world))
    genuine = page(world, "GET", template, {"merchant_id": A, "order_id": "1001"}, query={"token": world.a_token})
    assert genuine.status_code == 200  # the attacks above fail on the token, not on the route
    import re

    text = genuine.body.decode()
    found = re.search(r'href="[^"]*/pages/demo-store/preferences\?([^"]+)"', text)
    assert found, "the order page links the preferences page"
    from urllib.parse import parse_qs

    query = {k: v[0] for k, v in parse_qs(found.group(1).replace("&amp;", "&")).items()}
    for name, token in tampered(query["token"]).items():
        response = page(world, "GET", "/pages/{merchant_id}/preferences", {"merchant_id": A},
                        query={**query, "token": token})
        attacks.check(f"preferences page: {name}", response, page=True, forbidden=a_markers(world))
        response = page(world, "POST", "/pages/{merchant_id}/preferences", {"merchant_id": A},
                        form={"customer": query["customer"], "token": token, "language": "ar"})
        attacks.check(f"preferences save: {name}", response, page=True)
    other = page(world, "GET", "/pages/{merchant_id}/preferences", {"merchant_id": A},
                 query={**query, "customer": "c-b-1"})
    attacks.check("preferences of another customer with c-1's token", other, page=True)


def test_expired_links_open_nothing(world, attacks):
    """On the simulated clock: a year and more later every link of the seed has expired."""
    clock = world.aws.clock
    clock.advance(timedelta(days=800))
    try:
        for name, response in {
            "order page": page(world, "GET", "/pages/{merchant_id}/orders/{order_id}",
                               {"merchant_id": A, "order_id": "1001"}, query={"token": world.a_token}),
            "unsubscribe": page(world, "POST", "/pages/{merchant_id}/unsubscribe/{token}",
                                {"merchant_id": A, "token": world.unsubscribe_token},
                                form={"List-Unsubscribe": "One-Click"}),
            "feedback page": page(world, "GET", "/pages/{merchant_id}/feedback/{token}",
                                  {"merchant_id": A, "token": world.feedback_token}, query={"rating": "1"}),
        }.items():
            attacks.check(f"expired {name}", response, page=True, forbidden=a_markers(world))
        for name, response in {
            "order API": gateway(world, "GET", "/v1/orders/{order_id}/returns", {"order_id": "1001"},
                                 headers={"X-Order-Token": world.a_token}, query={"merchant": A}),
            "feedback API": gateway(world, "POST", "/v1/feedback/{token}", {"token": world.feedback_token},
                                    headers={"Content-Type": "application/json"}, body=b'{"rating": 1}'),
        }.items():
            attacks.check(f"expired {name}", response, forbidden=a_markers(world))
    finally:
        clock.advance(timedelta(days=-800))
