"""A review's public id through the real handlers (moto): random and assigned once, the only id
any public or merchant output shows (never the order id), resolved for the merchant's routes with
one GetItem of its lookup item, merchant-scoped, erased with the review; and reviews saved before
public ids existed keep working (legacy ids resolve) until `reviews backfill-ids` gives them one."""
from __future__ import annotations

import re
from contextlib import contextmanager
from xml.etree import ElementTree as ET

import boto3
from infra.aws_requests import count_aws_requests
from test_admin_cli import cli  # noqa: F401 - the admin CLI fixture
from test_feedback_api import place, rate, token
from test_reviews_api import MERCHANT, _jpeg_with_gps, _upload, answer, public, review_of

ORDER = "7770001"  # distinctive: found in no other output by chance
PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")


def _feed_xml(aws) -> bytes:
    from infra.local.lambda_context import LambdaContext
    from infra.local.runtime import load_function_module

    feed = load_function_module("functions/review_feed", "fn_review_feed_ids_test")
    feed.lambda_handler({}, LambdaContext(function_name="ReviewFeedFunction"))
    return boto3.client("s3").get_object(Bucket=aws.refs["ReviewMediaBucket"],
                                         Key=f"public/feeds/{MERCHANT}/product_reviews.xml")["Body"].read()


def _text(response) -> str:
    return response.body.decode() if isinstance(response.body, bytes) else response.body


def _public_outputs(aws) -> dict[str, str]:
    return {"reviews": _text(public(aws)), "with_photos": _text(public(aws, sort="with_photos")),
            "jsonld": _text(public(aws, "/jsonld")), "feed": _feed_xml(aws).decode()}


def _legacy(order_id: str, sku: str = "MUG-1") -> str:
    from postpurchase.reviews.model import review_id

    return review_id(order_id, sku)


def test_no_public_output_names_the_order_and_every_one_names_the_same_random_id(aws):
    answer(aws, ORDER, 5, title="Lovely", comment="Keeps the tea hot.")
    link = token(aws, ORDER)
    assert aws.client.post(f"/v1/feedback/{link}/photos/{_upload(aws, link, _jpeg_with_gps())}").status_code == 201
    rid = review_of(ORDER)
    assert PUBLIC_ID.match(rid) and rid != _legacy(ORDER)
    outputs = _public_outputs(aws)
    for name, text in outputs.items():
        assert ORDER not in text, name
        assert _legacy(ORDER) not in text, name  # nor its reversible encoding
        assert rid in text or name == "jsonld", name  # JSON-LD's Review items carry no id
    [item] = public(aws).json_body["items"]
    assert item["review_id"] == rid and f"/{rid}/" in item["photos"][0]["url"]
    [review] = ET.fromstring(outputs["feed"].encode()).findall("reviews/review")
    assert review.findtext("review_id") == rid
    # The id is assigned once: the customer's edit and the merchant's reply keep it.
    assert rate(aws, token(aws, ORDER), {"rating": 4, "comment": "Still hot."}).status_code == 200
    assert aws.client.put(f"/v1/reviews/{rid}/reply", headers=aws.auth(), body=aws.encode({"text": "Thanks!"})) \
        .status_code == 200
    assert [r["review_id"] for r in public(aws).json_body["items"]] == [rid]
    # Two reviews never share one.
    answer(aws, "7770002", 5)
    assert review_of("7770002") != rid and PUBLIC_ID.match(review_of("7770002"))


def test_a_moderation_call_resolves_the_id_with_one_lookup_and_only_for_its_merchant(aws, other_store):
    from test_reviews_api import set_reviews

    set_reviews(aws, min_rating_to_publish=4)
    answer(aws, ORDER, 2, comment="Handle broke")
    [held] = aws.client.get("/v1/reviews/moderation", headers=aws.auth()).json_body["items"]
    rid = held["review_id"]
    assert PUBLIC_ID.match(rid) and held["order_id"] == ORDER  # the merchant's own view names its order
    assert aws.client.post(f"/v1/reviews/{rid}/publish", headers=aws.auth(other_store)).status_code == 404
    assert aws.client.put(f"/v1/reviews/{rid}/reply", headers=aws.auth(other_store),
                          body=aws.encode({"text": "x"})).status_code == 404
    with count_aws_requests() as requests:
        published = aws.client.post(f"/v1/reviews/{rid}/publish", headers=aws.auth())
    assert published.status_code == 200 and published.json_body["review_id"] == rid
    # The lookup item, then the review itself (version-checked save): two GetItems, one transaction.
    assert requests[("DynamoDB", "GetItem")] == 2 and requests[("DynamoDB", "TransactWriteItems")] == 1
    assert requests[("DynamoDB", "Query")] == 0 and requests[("DynamoDB", "Scan")] == 0
    assert [r["review_id"] for r in public(aws).json_body["items"]] == [rid]
    for bad in ("x" * 401, "not-an-id!", rid[:-1]):
        assert aws.client.post(f"/v1/reviews/{bad}/hide", headers=aws.auth()).status_code == 404


def test_another_merchants_review_id_is_not_found(aws, other_store):
    place(aws, "8880001", api_key=other_store)
    response = rate(aws, token(aws, "8880001", merchant="other-store"), {"rating": 5, "comment": "Fine"})
    assert response.status_code in (200, 201), response.body
    theirs = review_of("8880001", merchant="other-store")
    assert PUBLIC_ID.match(theirs)
    assert aws.client.post(f"/v1/reviews/{theirs}/hide", headers=aws.auth()).status_code == 404
    assert aws.client.post(f"/v1/reviews/{_legacy('8880001')}/hide", headers=aws.auth()).status_code == 404
    assert aws.client.post(f"/v1/reviews/{theirs}/hide", headers=aws.auth(other_store)).status_code == 200


def _lookup_items(merchant: str, rid: str) -> list:
    from postpurchase.storage import keys
    from postpurchase.storage.table import Record

    return list(Record.query(keys.review_lookup_pk(merchant, rid)))


def test_erasing_the_customer_deletes_the_lookup_item_too(aws):
    from postpurchase.storage.privacy import customer_ids_for, erase

    answer(aws, ORDER, 5, comment="Nice")
    rid = review_of(ORDER)
    assert [(type(item).__name__, item.order_id) for item in _lookup_items(MERCHANT, rid)] == [
        ("ReviewLookupRecord", ORDER)]
    erase(MERCHANT, customer_ids_for("c-1", "ayse.yilmaz@example.com"), [ORDER], aws.clock.now())
    assert _lookup_items(MERCHANT, rid) == []
    assert aws.client.post(f"/v1/reviews/{rid}/publish", headers=aws.auth()).status_code == 404


@contextmanager
def saved_as_before(monkeypatch):
    """Reviews saved as before public ids existed: no id, copies keyed by the legacy id, no lookup."""
    from postpurchase.reviews import service

    with monkeypatch.context() as patch:
        patch.setattr(service, "with_public_id", lambda review, new_id=None: review)
        yield patch


def _product_partition(merchant: str = MERCHANT, sku: str = "MUG-1") -> list[str]:
    from postpurchase.storage import keys
    from postpurchase.storage.table import Record

    return sorted(item.sk for item in Record.query(keys.product_reviews_pk(merchant, sku)))


def test_older_reviews_keep_working_and_the_backfill_gives_them_ids_once(aws, cli, monkeypatch):  # noqa: F811
    from postpurchase import services

    with saved_as_before(monkeypatch):
        answer(aws, ORDER, 5, title="Old", comment="An older review")
        link = token(aws, ORDER)
        upload_id = _upload(aws, link, _jpeg_with_gps())
        answer(aws, "7770003", 4, comment="Another older one")
        aws.client.post(f"/v1/reviews/{_legacy('7770003')}/hide", headers=aws.auth())
    old = services.review_store().get(MERCHANT, ORDER, "MUG-1")
    assert old.public_id is None and old.review_id == _legacy(ORDER)
    # The merchant's stored legacy ids still resolve.
    replied = aws.client.put(f"/v1/reviews/{_legacy('7770003')}/reply", headers=aws.auth(),
                             body=aws.encode({"text": "Sorry to hear"}))
    assert replied.status_code == 200, replied.body
    given = replied.json_body["review_id"]  # that write gave it its id
    assert PUBLIC_ID.match(given) and review_of("7770003") == given
    # A photo added to an older review is published under a public id, never the legacy one.
    photo = aws.client.post(f"/v1/feedback/{link}/photos/{upload_id}")
    assert photo.status_code == 201, photo.body
    rid = photo.json_body["review_id"]
    assert PUBLIC_ID.match(rid) and f"/{rid}/" in photo.json_body["photo"]["url"]

    # A review left untouched: the backfill is what gives it an id.
    with saved_as_before(monkeypatch):
        answer(aws, "7770004", 5, comment="Untouched since")
    untouched_before = _product_partition()
    assert any(_legacy("7770004") in sk for sk in untouched_before)
    assert _legacy("7770004") in _text(public(aws))  # the leak the backfill closes

    status, dry = cli("reviews", "backfill-ids", "--merchant", MERCHANT, "--dry-run")
    assert status == 0 and (dry["scanned"], dry["would_be_given_an_id"], dry["unchanged"]) == (3, 1, 2), dry
    assert services.review_store().get(MERCHANT, "7770004", "MUG-1").public_id is None  # nothing written
    status, done = cli("reviews", "backfill-ids", "--merchant", MERCHANT)
    assert status == 0 and done["given_an_id"] == 1, done
    backfilled = review_of("7770004")
    assert PUBLIC_ID.match(backfilled)
    after = _product_partition()
    assert len(after) == len(untouched_before) and not any(_legacy("7770004") in sk for sk in after)
    assert any(backfilled in sk for sk in after)  # the copies moved to the new id
    for name, text in _public_outputs(aws).items():
        for order_id in (ORDER, "7770003", "7770004"):
            assert order_id not in text and _legacy(order_id) not in text, name
    assert backfilled in _text(public(aws))
    assert aws.client.post(f"/v1/reviews/{backfilled}/hide", headers=aws.auth()).status_code == 200
    assert aws.client.post(f"/v1/reviews/{_legacy('7770004')}/publish", headers=aws.auth()).json_body["review_id"] \
        == backfilled  # the legacy id still resolves, and answers with the public one

    status, again = cli("reviews", "backfill-ids")  # every merchant; idempotent
    assert status == 0 and again["unchanged"] == 3 and "given_an_id" not in again, again
    assert review_of("7770004") == backfilled


def test_the_backfill_moves_photos_published_under_the_legacy_id(aws, cli, monkeypatch):  # noqa: F811
    from postpurchase.reviews import views

    with saved_as_before(monkeypatch) as patch:
        answer(aws, ORDER, 5, comment="With a photo")
        link = token(aws, ORDER)
        # As photo_attach published before: the review keeps no id while its photo is added.
        patch.setattr(views.service, "give_public_id", lambda review: review)
        assert aws.client.post(f"/v1/feedback/{link}/photos/{_upload(aws, link, _jpeg_with_gps())}").status_code \
            == 201
    bucket = aws.refs["ReviewMediaBucket"]
    s3 = boto3.client("s3")

    def published() -> list[str]:
        contents = s3.list_objects_v2(Bucket=bucket, Prefix="public/reviews/").get("Contents", [])
        return [o["Key"] for o in contents]

    [before] = published()
    assert f"/{_legacy(ORDER)}/" in before
    status, done = cli("reviews", "backfill-ids")
    assert status == 0 and (done["given_an_id"], done["photos_moved"]) == (1, 1), done
    rid = review_of(ORDER)
    [moved] = published()
    assert moved == before.replace(f"/{_legacy(ORDER)}/", f"/{rid}/")
    assert s3.head_object(Bucket=bucket, Key=moved)["ContentType"] == "image/jpeg"
    [item] = public(aws, sort="with_photos").json_body["items"]
    assert item["photos"][0]["url"].endswith(moved) and item["review_id"] == rid
