"""Catalog and recommendations against moto: the API, Shopify product webhooks, learning from the
order-events consumer (once per order), exclusion of bought and returned products, tenants."""
from __future__ import annotations

import json
from datetime import timedelta

from infra.aws_requests import count_aws_requests

PRODUCTS = [
    {"product_id": "phone", "sku": "PH-1", "title": "Phone 15", "category": "Phone", "price": "700.00",
     "currency": "USD", "image_url": "https://demo-store.example/img/phone.jpg",
     "product_url": "https://demo-store.example/p/phone"},
    {"product_id": "case-a", "sku": "CA-1", "title": "Clear case", "category": "case", "price": "20.00",
     "currency": "USD"},
    {"product_id": "case-b", "skus": ["CB-1", "CB-2"], "title": "Leather case", "category": "case",
     "price": "35.00", "currency": "USD"},
    {"product_id": "headset", "sku": "HS-1", "title": "Headset", "category": "headset", "price": "80.00",
     "currency": "USD"},
    {"product_id": "charger", "sku": "CH-1", "title": "Charger", "category": "charger", "price": "15.00",
     "currency": "USD"},
    {"product_id": "mug", "sku": "MUG-1", "title": "Ceramic mug", "category": "home", "price": "12.50",
     "currency": "USD"},
]
RULES = {"categories": {"phone": {"case": 1, "headset": 0.8}}}


def put(aws, path, body, api_key=None):
    return aws.client.put(path, headers=aws.auth(api_key), body=aws.encode(body))


def get(aws, path, api_key=None):
    return aws.client.get(path, headers=aws.auth(api_key))


def setup_catalog(aws, api_key=None):
    assert put(aws, "/v1/catalog", {"products": PRODUCTS}, api_key).status_code == 200
    assert put(aws, "/v1/settings/recommendations", RULES, api_key).status_code == 200


def line(sku, price="10.00", quantity=1):
    return {"sku": sku, "title": sku, "quantity": quantity, "price": price}


def place(aws, order_id, customer_id, *skus, deliver=True):
    order = aws.api_order(order_id, customer={"id": customer_id, "email": f"{customer_id}@example.com"},
                          items=[line(sku) for sku in skus])
    assert aws.post_order(order).status_code == 202
    if deliver:
        aws.pump_queue("OrderEventsQueue")


def pair_count(aws, merchant, a, b):
    item = aws.item(f"M#{merchant}#COBUY#{a}", "COBUY") or {}
    return int(item.get(f"n:{b}", 0))


def recommendations(aws, customer_id, api_key=None, limit=None):
    path = f"/v1/customers/{customer_id}/recommendations" + (f"?limit={limit}" if limit else "")
    response = get(aws, path, api_key)
    assert response.status_code == 200, response.body
    return response.json_body


def test_catalog_put_validates_and_names_the_field(aws):
    bad = [dict(product, product_id=f"p-{index}") for index, product in enumerate(PRODUCTS[:4])]
    bad[3]["price"] = 12.5  # a JSON number: money must be a decimal string
    response = put(aws, "/v1/catalog", {"products": bad})
    assert response.status_code == 400
    assert response.json_body["error"]["field"] == "products[3].price"
    assert put(aws, "/v1/catalog", {"products": []}).json_body["error"]["field"] == "products"
    too_many = [dict(PRODUCTS[0], product_id=f"p-{index}") for index in range(501)]
    assert put(aws, "/v1/catalog", {"products": too_many}).json_body["error"]["field"] == "products"
    assert aws.client.put("/v1/catalog", headers={"Content-Type": "application/json"},
                          body=aws.encode({"products": PRODUCTS})).status_code == 401
    response = aws.client.put("/v1/catalog", headers=aws.auth(), body=b"{not json")
    assert response.status_code == 400 and response.json_body["error"]["code"] == "malformed_json"
    assert get(aws, "/v1/catalog").json_body["products"] == []  # nothing half-written


def test_catalog_put_upserts_and_get_pages_with_one_query(aws):
    setup_catalog(aws)
    changed = dict(PRODUCTS[1], title="Clear case v2", sku="CA-2")
    assert put(aws, "/v1/catalog", {"products": [changed]}).json_body == {"upserted": 1}
    seen, cursor = [], None
    while True:
        path = "/v1/catalog?limit=4" + (f"&cursor={cursor}" if cursor else "")
        with count_aws_requests() as requests:
            response = get(aws, path)
        assert response.status_code == 200
        assert requests[("DynamoDB", "Query")] == 1
        seen += response.json_body["products"]
        cursor = response.json_body["next_cursor"]
        if not cursor:
            break
    assert sorted(p["product_id"] for p in seen) == sorted(p["product_id"] for p in PRODUCTS)
    case = next(p for p in seen if p["product_id"] == "case-a")
    assert case["title"] == "Clear case v2" and case["skus"] == ["CA-2"]
    # The SKU mapping follows: CA-2 now resolves to case-a, the old CA-1 no longer does.
    assert aws.item("M#demo-store#SKU#CA-2", "PRODUCT")["product_id"] == "case-a"
    assert aws.item("M#demo-store#SKU#CA-1", "PRODUCT") is None
    assert get(aws, "/v1/catalog?limit=0").json_body["error"]["field"] == "limit"
    assert get(aws, "/v1/catalog?cursor=!!!").json_body["error"]["field"] == "cursor"


def test_rules_settings_round_trip_and_validation(aws):
    assert get(aws, "/v1/settings/recommendations").json_body["categories"] == {}
    response = put(aws, "/v1/settings/recommendations", {"categories": {"Phone": ["Case", "headset"]},
                                                         "max_per_category": 1})
    assert response.status_code == 200
    stored = get(aws, "/v1/settings/recommendations").json_body
    assert stored["categories"] == {"phone": {"case": 1.0, "headset": 1.0}} and stored["max_per_category"] == 1
    response = put(aws, "/v1/settings/recommendations", {"categories": {"phone": {"case": "lots"}}})
    assert response.status_code == 400 and response.json_body["error"]["field"] == "categories.phone.case"
    assert put(aws, "/v1/settings/recommendations", {"unknown": 1}).json_body["error"]["field"] == "unknown"


def test_shopify_product_webhooks_signed_upsert_update_and_delete(aws):
    create = (aws.storefront_json("shopify/products_create.json"))
    body = aws.encode(create)
    assert aws.shopify("products/create", body, "wh-p1", signature="bm9wZQ==").status_code == 401
    assert aws.shopify("products/create", body, "wh-p1", omit=["X-Shopify-Hmac-Sha256"]).status_code == 401
    assert get(aws, "/v1/catalog").json_body["products"] == []

    response = aws.shopify("products/create", body, "wh-p1")
    assert response.status_code == 200 and response.json_body["updated"] is True
    [stored] = get(aws, "/v1/catalog").json_body["products"]
    assert stored["product_id"] == "9012345678901234567" and stored["skus"] == ["CASE-P15-CLEAR", "CASE-P15-SMOKE"]
    assert stored["product_url"] == "https://demo-store.example/products/clear-magsafe-case-phone-15"  # website_url
    assert aws.item("M#demo-store#SKU#CASE-P15-SMOKE", "PRODUCT")["product_id"] == "9012345678901234567"

    update = aws.encode(aws.storefront_json("shopify/products_update.json"))
    assert aws.shopify("products/update", update, "wh-p2").json_body["updated"] is True
    # A redelivered (older) create after the update changes nothing.
    assert aws.shopify("products/create", body, "wh-p1").json_body["updated"] is False
    [stored] = get(aws, "/v1/catalog").json_body["products"]
    assert stored["title"].endswith("(2nd gen)") and stored["price"] == "21.00"
    assert stored["skus"] == ["CASE-P15-CLEAR"]
    assert aws.item("M#demo-store#SKU#CASE-P15-SMOKE", "PRODUCT") is None

    delete = aws.encode(aws.storefront_json("shopify/products_delete.json"))
    assert aws.shopify("products/delete", delete, "wh-p3").json_body["deleted"] is True
    assert aws.shopify("products/delete", delete, "wh-p3").json_body["deleted"] is False
    assert get(aws, "/v1/catalog").json_body["products"] == []
    assert aws.item("M#demo-store#SKU#CASE-P15-CLEAR", "PRODUCT") is None
    bad = dict(aws.storefront_json("shopify/products_create.json"), title=None)
    response = aws.shopify("products/create", aws.encode(bad), "wh-p4")
    assert response.status_code == 400 and response.json_body["error"]["field"] == "title"


def test_copurchases_learned_from_the_consumer_once_despite_redelivery(aws):
    setup_catalog(aws)
    place(aws, "2001", "c-2", "PH-1", "CH-1", deliver=False)
    [body] = aws.take("OrderEventsQueue")
    event = aws.sqs_event([body])
    assert aws.deliver(aws.order_events, event) == []
    assert pair_count(aws, "demo-store", "phone", "charger") == 1
    assert pair_count(aws, "demo-store", "charger", "phone") == 1
    # SQS delivers the same event again (and a batch may hold it twice): counted once.
    assert aws.deliver(aws.order_events, aws.sqs_event([body, body])) == []
    assert pair_count(aws, "demo-store", "phone", "charger") == 1
    assert aws.item("M#demo-store#O#2001", "RECS#LEARNED") is not None
    place(aws, "2002", "c-3", "PH-1", "CH-1", "CB-2")
    assert pair_count(aws, "demo-store", "phone", "charger") == 2
    assert pair_count(aws, "demo-store", "case-b", "phone") == 1  # a variant SKU counts for its product
    summary = aws.item("M#demo-store#C#c-3", "PURCHASES")
    assert summary["bought"] == {"phone", "charger", "case-b"}


def test_recommendations_combine_rules_and_copurchases_and_exclude_what_was_bought(aws):
    setup_catalog(aws)
    place(aws, "2001", "c-2", "PH-1", "CH-1")
    place(aws, "2002", "c-3", "PH-1", "CH-1")
    place(aws, "1001", "c-1", "PH-1", "CA-1")
    body = recommendations(aws, "c-1")
    products = body["products"]
    ids = [product["product_id"] for product in products]
    assert "phone" not in ids and "case-a" not in ids  # bought
    assert ids[0] == "charger"  # bought together with the phone by two customers
    assert products[0]["reasons"][0] == {"type": "bought_together", "product_id": "phone", "title": "Phone 15",
                                         "count": 2}
    assert set(ids) == {"charger", "case-b", "headset"}
    assert {"type": "rule", "category": "phone"} in products[ids.index("headset")]["reasons"]
    assert products[0]["price"] == "15.00" and products[0]["currency"] == "USD"
    assert len(recommendations(aws, "c-1", limit=1)["products"]) == 1
    assert get(aws, "/v1/customers/c-1/recommendations?limit=99").json_body["error"]["field"] == "limit"
    response = get(aws, f"/v1/customers/{'x' * 129}/recommendations")
    assert response.status_code == 400 and response.json_body["error"]["field"] == "customer_id"
    assert recommendations(aws, "nobody")["products"] == []  # no history, no order: nothing


def test_a_returned_product_is_not_suggested_and_no_longer_seeds(aws):
    from postpurchase.orders.reactions import after_return_resolved
    from postpurchase.returns.rma import ReturnRequest

    setup_catalog(aws)
    place(aws, "2001", "c-2", "MUG-1", "HS-1")
    place(aws, "1001", "c-1", "MUG-1")
    assert [p["product_id"] for p in recommendations(aws, "c-1")["products"]] == ["headset"]
    now = aws.now + timedelta(days=10)
    rma = ReturnRequest.model_validate({
        "rma_id": "R-1", "merchant_id": "demo-store", "order_id": "1001", "status": "resolved", "created_at": now,
        "lines": [{"sku": "MUG-1", "quantity": 1, "reason": "damaged", "resolution": "refund"}],
        "inspection": [{"sku": "MUG-1", "accepted_quantity": 1}],
        "history": [{"from_status": None, "to_status": "resolved", "at": now, "actor": {"kind": "merchant"},
                     "command": "resolve"}]})
    after_return_resolved("demo-store", "1001", rma, now)
    after_return_resolved("demo-store", "1001", rma, now)  # redelivered: a set ADD, no change
    assert aws.item("M#demo-store#C#c-1", "PURCHASES")["returned"] == {"mug"}
    assert recommendations(aws, "c-1")["products"] == []


def test_the_email_port_with_a_new_order_is_two_requests_warm_and_never_raises(aws):
    from postpurchase import services
    from postpurchase.orders.models import Order

    setup_catalog(aws)
    place(aws, "2001", "c-2", "PH-1", "HS-1")
    order = Order.model_validate(aws.api_order("3001", customer={"id": "c-9", "email": "c9@example.com"},
                                               items=[line("PH-1", "700.00")]))
    recommender = services.recommender()
    recommender.for_customer("demo-store", "c-9", order=order)  # loads the catalog into this container
    with count_aws_requests() as requests:
        cards = recommender.for_customer("demo-store", "c-9", order=order)
    assert dict(requests) == {("DynamoDB", "GetItem"): 1, ("DynamoDB", "BatchGetItem"): 1}
    assert [card.product_id for card in cards][:2] == ["headset", "case-a"]
    assert recommender.for_customer("demo-store", "never-seen") == []
    assert recommender.for_customer("unknown-merchant", "c-9", order=order) == []


def test_tenants_see_only_their_own_catalog_rules_and_counts(aws, other_store):
    setup_catalog(aws)
    place(aws, "2001", "c-2", "PH-1", "CH-1")
    place(aws, "1001", "c-1", "PH-1")
    assert get(aws, "/v1/catalog", other_store).json_body["products"] == []
    assert get(aws, "/v1/settings/recommendations", other_store).json_body["categories"] == {}
    assert recommendations(aws, "c-1", other_store)["products"] == []
    put(aws, "/v1/catalog", {"products": [dict(PRODUCTS[0], title="Other phone")]}, other_store)
    assert recommendations(aws, "c-1", other_store)["products"] == []
    mine = {p["product_id"]: p for p in get(aws, "/v1/catalog").json_body["products"]}
    assert mine["phone"]["title"] == "Phone 15"
    assert all(item["pk"].startswith("M#demo-store#") or item["pk"].startswith("M#other-store#")
               for item in aws.table_items() if item.get("type") in ("product", "product_sku", "copurchase",
                                                                      "purchases", "recs_learned"))
    assert json.dumps(recommendations(aws, "c-1")).count("charger") >= 1



def test_a_transaction_conflict_retries_the_event_and_counts_once(aws, monkeypatch):
    """Two orders counting the same product at once: DynamoDB cancels one transaction
    (TransactionConflict) -> RetryLater -> the message stays on the queue and is counted on its
    redelivery, once."""
    from postpurchase.errors import RetryLater
    from postpurchase.storage.recommendations import DynamoPurchaseStore

    setup_catalog(aws)
    place(aws, "2001", "c-2", "PH-1", "CH-1", deliver=False)
    [body] = aws.take("OrderEventsQueue")
    original = DynamoPurchaseStore.learn_order
    calls = []

    def conflicting(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RetryLater("co-purchases not counted: [None, None, 'TransactionConflict']")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoPurchaseStore, "learn_order", conflicting)
    event = aws.sqs_event([body])
    assert aws.deliver(aws.order_events, event) == [event["Records"][0]["messageId"]]
    assert pair_count(aws, "demo-store", "phone", "charger") == 0
    assert aws.deliver(aws.order_events, aws.sqs_event([body])) == []
    assert aws.deliver(aws.order_events, aws.sqs_event([body])) == []
    assert pair_count(aws, "demo-store", "phone", "charger") == 1 and len(calls) == 3
