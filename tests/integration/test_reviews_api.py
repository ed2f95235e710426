"""Storefront reviews through the real handlers (Chalice client, moto): the review follows the
customer's answer, moderation (threshold, content rules, publish/hide/reply by the merchant),
photos through S3 (EXIF stripped, fakes refused), the public reads (one Query each, ETag) and the
daily Google reviews feed."""
from __future__ import annotations

import io
import json
from datetime import timedelta
from urllib.parse import quote, urlencode
from xml.etree import ElementTree as ET

import pytest

from infra.aws_requests import count_aws_requests
from test_feedback_api import place, rate, token

MERCHANT = "demo-store"


def public(aws, path: str = "", headers: dict | None = None, **query):
    url = f"/v1/public/{MERCHANT}/products/MUG-1/reviews{path}"
    return aws.client.get(f"{url}?{urlencode(query)}" if query else url, headers=headers or {})


def set_reviews(aws, **reviews) -> None:
    from postpurchase.storage import merchants

    response = aws.client.put("/v1/settings/messaging", headers=aws.auth(), body=aws.encode({"reviews": reviews}))
    assert response.status_code == 200, response.body
    merchants._messaging.clear()


def review_of(order_id: str, sku: str = "MUG-1", merchant: str = MERCHANT) -> str:
    """The review's public id (what the merchant's API and every output name it by)."""
    from postpurchase import services

    review = services.review_store().get(merchant, order_id, sku)
    return review.review_id if review else "bm90LWEtcmV2aWV3"


def answer(aws, order_id: str, rating: int, **fields) -> dict:
    place(aws, order_id)
    aws.clock.advance(timedelta(minutes=1))
    response = rate(aws, token(aws, order_id), {"rating": rating, **fields})
    assert response.status_code in (200, 201), response.body
    return response.json_body


def test_a_rated_item_becomes_a_public_review_with_a_display_name_only(aws):
    answer(aws, "1001", 5, title="Lovely mug", comment="Keeps the tea hot.")
    with count_aws_requests() as requests:
        listing = public(aws)
    assert listing.status_code == 200, listing.body
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    [review] = listing.json_body["items"]
    assert (review["rating"], review["title"], review["body"], review["author"], review["verified_buyer"]) == (
        5, "Lovely mug", "Keeps the tea hot.", "Ayşe Y.", True)
    text = listing.body if isinstance(listing.body, str) else listing.body.decode()
    for private in ("ayse.yilmaz@example.com", "c-1", "Yılmaz", "1001"):
        assert private not in text
    assert listing.headers["Cache-Control"].startswith("public, max-age=")
    again = public(aws, headers={"If-None-Match": listing.headers["ETag"]})
    assert again.status_code == 304
    with count_aws_requests() as requests:
        summary = public(aws, "/summary")
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    assert summary.json_body["count"] == 1 and summary.json_body["average"] == 5
    assert summary.json_body["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}


def test_the_client_cannot_set_verified_buyer_or_post_unknown_fields(aws):
    place(aws, "1001")
    response = rate(aws, token(aws, "1001"), {"rating": 5, "verified_buyer": False})
    assert response.status_code == 400 and response.json_body["error"]["field"] == "verified_buyer"


def test_sorts_are_one_query_each_and_negative_reviews_publish_like_positive_ones(aws):
    # Answered in this order (a minute apart): ids do not sort like times.
    for order_id, rating in (("2003", 3), ("2001", 1), ("2004", 5), ("2002", 4)):
        answer(aws, order_id, rating, comment=f"rated {rating}")
    newest = [r["rating"] for r in public(aws, sort="newest").json_body["items"]]
    assert newest == [4, 5, 1, 3]
    with count_aws_requests() as requests:
        highest = public(aws, sort="highest").json_body["items"]
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    assert [r["rating"] for r in highest] == [5, 4, 3, 1]
    assert public(aws, sort="with_photos").json_body["items"] == []
    summary = public(aws, "/summary").json_body
    assert (summary["count"], summary["average"]) == (4, 3.25)
    # Paged with a cursor, in order, nothing twice.
    first = public(aws, sort="highest", limit="2").json_body
    second = public(aws, sort="highest", limit="2", cursor=first["next_cursor"]).json_body
    assert [r["rating"] for r in first["items"] + second["items"]] == [5, 4, 3, 1]
    assert public(aws, sort="random").json_body["error"]["field"] == "sort"
    assert public(aws, sort="newest", cursor=first["next_cursor"]).json_body["error"]["field"] == "cursor"


def test_below_the_threshold_or_with_a_link_waits_for_the_merchant_who_publishes_hides_and_replies(aws):
    set_reviews(aws, min_rating_to_publish=4)
    answer(aws, "3001", 2, comment="Handle broke")
    answer(aws, "3002", 5, comment="Cheaper at www.other-shop.com")
    answer(aws, "3003", 5, comment="Perfect")
    assert [r["body"] for r in public(aws).json_body["items"]] == ["Perfect"]
    queue = aws.client.get("/v1/reviews/moderation", headers=aws.auth()).json_body["items"]
    assert [(r["order_id"], r["held_for"]) for r in queue] == [("3001", ["below_threshold"]), ("3002", ["link"])]

    published = aws.client.post(f"/v1/reviews/{review_of('3001')}/publish", headers=aws.auth())
    assert published.status_code == 200 and published.json_body["status"] == "published"
    again = aws.client.post(f"/v1/reviews/{review_of('3001')}/publish", headers=aws.auth())
    assert again.status_code == 200
    summary = public(aws, "/summary").json_body
    assert (summary["count"], summary["distribution"]["2"]) == (2, 1)  # the repeat counted nothing
    assert [r["order_id"] for r in aws.client.get("/v1/reviews/moderation", headers=aws.auth()).json_body["items"]] \
        == ["3002"]

    hidden = aws.client.post(f"/v1/reviews/{review_of('3003')}/hide", headers=aws.auth())
    assert hidden.status_code == 200 and hidden.json_body["status"] == "hidden"
    aws.client.post(f"/v1/reviews/{review_of('3003')}/hide", headers=aws.auth())
    assert [r["body"] for r in public(aws).json_body["items"]] == ["Handle broke"]
    assert public(aws, "/summary").json_body["count"] == 1
    unhidden = aws.client.post(f"/v1/reviews/{review_of('3003')}/publish", headers=aws.auth())
    assert unhidden.json_body["status"] == "published" and public(aws, "/summary").json_body["count"] == 2

    reply = aws.client.put(f"/v1/reviews/{review_of('3001')}/reply", headers=aws.auth(),
                           body=aws.encode({"text": "Sorry! A new one is on its way."}))
    assert reply.status_code == 200
    item = next(r for r in public(aws).json_body["items"] if r["body"] == "Handle broke")
    assert item["reply"]["text"] == "Sorry! A new one is on its way."
    edit = aws.client.put(f"/v1/reviews/{review_of('3001')}/reply", headers=aws.auth(),
                          body=aws.encode({"text": "x", "body": "All good!"}))
    assert edit.status_code == 400 and edit.json_body["error"]["field"] == "body"
    assert next(r for r in public(aws).json_body["items"] if r["rating"] == 2)["body"] == "Handle broke"


def test_another_merchant_cannot_moderate_and_a_hidden_review_stays_hidden_after_an_edit(aws, other_store):
    answer(aws, "4001", 5, comment="Great")
    refused = aws.client.post(f"/v1/reviews/{review_of('4001')}/hide", headers=aws.auth(other_store))
    assert refused.status_code == 404
    assert public(aws, "/summary").json_body["count"] == 1
    assert aws.client.get("/v1/reviews/moderation", headers=aws.auth(other_store)).json_body["items"] == []
    aws.client.post(f"/v1/reviews/{review_of('4001')}/hide", headers=aws.auth())
    assert rate(aws, token(aws, "4001"), {"rating": 4, "comment": "Still great"}).status_code == 200
    assert public(aws).json_body["items"] == [] and public(aws, "/summary").json_body["count"] == 0
    assert aws.client.post(f"/v1/reviews/{review_of('9999')}/publish", headers=aws.auth()).status_code == 404
    assert aws.client.post("/v1/reviews/not-an-id!/publish", headers=aws.auth()).status_code == 404


def test_a_customer_edit_that_breaks_a_rule_takes_the_review_back_to_the_queue(aws):
    answer(aws, "5001", 4, comment="Nice")
    assert public(aws, "/summary").json_body["count"] == 1
    assert rate(aws, token(aws, "5001"), {"rating": 4, "comment": "Call me on +90 532 123 45 67"}).status_code == 200
    assert public(aws, "/summary").json_body["count"] == 0
    [held] = aws.client.get("/v1/reviews/moderation", headers=aws.auth()).json_body["items"]
    assert held["held_for"] == ["phone"]


def _jpeg_with_gps() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (41.0, 0.0, 0.0)}  # GPS info
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _upload(aws, link: str, data: bytes, content_type: str = "image/jpeg") -> str:
    import boto3

    ticket = aws.client.post(f"/v1/feedback/{link}/photos", headers={"Content-Type": "application/json"},
                             body=aws.encode({"content_type": content_type}))
    assert ticket.status_code == 201, ticket.body
    fields = ticket.json_body["fields"]
    policy = json.loads(__import__("base64").b64decode(fields["policy"]))
    assert {"Content-Type": content_type} in policy["conditions"]
    assert ["content-length-range", 1, ticket.json_body["max_bytes"]] in policy["conditions"]
    # What the browser's POST would store (moto does not check POST policies).
    boto3.client("s3").put_object(Bucket=aws.refs["ReviewMediaBucket"], Key=fields["key"], Body=data,
                                  ContentType=content_type)
    return ticket.json_body["upload_id"]


def test_a_photo_is_published_without_exif_and_a_fake_one_never(aws):
    import boto3
    from PIL import Image

    answer(aws, "6001", 5, comment="See the colour")
    link = token(aws, "6001")
    upload_id = _upload(aws, link, _jpeg_with_gps())
    attached = aws.client.post(f"/v1/feedback/{link}/photos/{upload_id}")
    assert attached.status_code == 201, attached.body
    s3 = boto3.client("s3")
    bucket = aws.refs["ReviewMediaBucket"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert not [k for k in keys if k.startswith("uploads/")], "the upload is deleted"
    [published] = [k for k in keys if k.startswith("public/reviews/")]
    data = s3.get_object(Bucket=bucket, Key=published)["Body"].read()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info
    assert b"SecretCam" not in data
    assert aws.client.post(f"/v1/feedback/{link}/photos/{upload_id}").status_code in (200, 422)
    [with_photos] = public(aws, sort="with_photos").json_body["items"]
    assert with_photos["photos"][0]["url"].endswith(published)

    fake = _upload(aws, link, b"<?php echo 'not an image'; ?>")
    refused = aws.client.post(f"/v1/feedback/{link}/photos/{fake}")
    assert refused.status_code == 422 and refused.json_body["error"]["field"] == "photo"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert [k for k in keys if k.startswith("public/reviews/")] == [published]
    assert not [k for k in keys if k.startswith("uploads/")]
    assert len(public(aws, sort="with_photos").json_body["items"][0]["photos"]) == 1
    wrong_type = aws.client.post(f"/v1/feedback/{link}/photos", headers={"Content-Type": "application/json"},
                                 body=aws.encode({"content_type": "image/svg+xml"}))
    assert wrong_type.status_code == 422 and wrong_type.json_body["error"]["field"] == "content_type"


def test_photos_need_a_rating_first(aws):
    place(aws, "6101")
    response = aws.client.post(f"/v1/feedback/{token(aws, '6101')}/photos", headers={"Content-Type": "application/json"},
                               body=aws.encode({"content_type": "image/png"}))
    assert response.status_code == 409 and response.json_body["error"]["field"] == "rating"


def test_jsonld_is_a_product_with_one_aggregate_rating_in_one_query(aws):
    answer(aws, "7001", 4, title="Good", comment="Solid mug")
    answer(aws, "7002", 2, comment="Too small")
    with count_aws_requests() as requests:
        response = public(aws, "/jsonld")
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    document = response.json_body
    assert (document["@type"], document["sku"], document["name"]) == ("Product", "MUG-1", "Ceramic mug")
    assert document["aggregateRating"] == {"@type": "AggregateRating", "ratingValue": 3.0, "reviewCount": 2,
                                           "bestRating": 5, "worstRating": 1}
    assert [r["reviewBody"] for r in document["review"]] == ["Too small", "Solid mug"]
    assert all(r["author"] == {"@type": "Person", "name": "Ayşe Y."} for r in document["review"])


def test_hostile_or_unknown_products_read_as_empty(aws):
    answer(aws, "7101", 5)
    for sku in ("MUG-1#x", "other-store#O#2001", "../MUG-1"):
        response = aws.client.get(f"/v1/public/{MERCHANT}/products/{quote(sku, safe='')}/reviews")
        assert response.status_code == 200 and response.json_body["items"] == []
    assert aws.client.get("/v1/public/Bad%23Shop/products/MUG-1/reviews").status_code == 400


def test_the_daily_feed_is_google_product_reviews_2_4_and_leaves_hidden_reviews_out(aws):
    import boto3

    from infra.local.lambda_context import LambdaContext
    from infra.local.runtime import load_function_module

    answer(aws, "8001", 5, title="Great", comment="Love it")
    answer(aws, "8002", 1, comment="Broke")
    aws.client.post(f"/v1/reviews/{review_of('8002')}/hide", headers=aws.auth())
    feed_function = load_function_module("functions/review_feed", "fn_review_feed_test")
    result = feed_function.lambda_handler({}, LambdaContext(function_name="ReviewFeedFunction"))
    assert result == {"feeds": 1, "reviews": 1}
    body = boto3.client("s3").get_object(Bucket=aws.refs["ReviewMediaBucket"],
                                         Key=f"public/feeds/{MERCHANT}/product_reviews.xml")["Body"].read()
    root = ET.fromstring(body)
    assert root.tag == "feed" and root.findtext("version") == "2.4"
    assert root.findtext("publisher/name")
    [review] = root.findall("reviews/review")
    assert review.findtext("review_id") == review_of("8001")
    assert review.findtext("reviewer/name") == "Ayşe Y."
    assert review.findtext("content") == "Love it"
    assert review.find("review_url").get("type") in ("singleton", "group")
    overall = review.find("ratings/overall")
    assert (overall.text, overall.get("min"), overall.get("max")) == ("5", "1", "5")
    assert review.findtext("products/product/product_ids/skus/sku") == "MUG-1"
    assert b"ayse.yilmaz@example.com" not in body


def test_the_rating_page_collects_the_title_and_says_what_is_published_in_the_customers_language(aws):
    from test_feedback_api import field, html, page_get, page_post

    place(aws, "9101")
    link = token(aws, "9101")
    page = html(page_get(aws, link))  # the customer's locale is tr-TR
    assert "Değerlendirmenizin başlığı (isteğe bağlı)" in page
    assert "<bdi>Ayşe Y.</bdi> adıyla bir değerlendirme" in page and "E-posta adresiniz asla gösterilmez." in page
    fields = {"token": field(page, "token"), "csrf_token": field(page, "csrf_token"), "rating": "5",
              "title": "Harika kupa", "comment": "Çayı sıcak tutuyor."}
    too_long = page_post(aws, link, {**fields, "title": "x" * 151})
    assert too_long.status_code == 422 and "Başlığınız çok uzun." in html(too_long)
    assert public(aws).json_body["items"] == []
    done = page_post(aws, link, fields)
    assert done.status_code == 200, html(done)
    assert 'value="Harika kupa"' in html(done)
    [review] = public(aws).json_body["items"]
    assert (review["title"], review["body"], review["author"]) == ("Harika kupa", "Çayı sıcak tutuyor.", "Ayşe Y.")
    # A later one-tap from the email keeps the title and the text.
    assert page_get(aws, link, rating="4").status_code == 200
    [review] = public(aws).json_body["items"]
    assert (review["rating"], review["title"], review["body"]) == (4, "Harika kupa", "Çayı sıcak tutuyor.")


def test_erasing_the_customer_takes_the_review_its_count_and_its_photos_off_the_storefront(aws):
    import boto3

    from postpurchase.storage.privacy import customer_ids_for, erase

    answer(aws, "9201", 5, title="Lovely", comment="Lovely mug")
    link = token(aws, "9201")
    upload_id = _upload(aws, link, _jpeg_with_gps())
    assert aws.client.post(f"/v1/feedback/{link}/photos/{upload_id}").status_code == 201
    assert public(aws, "/summary").json_body["count"] == 1
    result = erase(MERCHANT, customer_ids_for("c-1", "ayse.yilmaz@example.com"), ["9201"], aws.clock.now())
    assert result["actions"]["erase_review"] == {"review": 1}
    assert public(aws).json_body["items"] == [] and public(aws, "/summary").json_body["count"] == 0
    assert public(aws, sort="with_photos").json_body["items"] == []
    assert public(aws, "/jsonld").json_body.get("aggregateRating") is None
    contents = boto3.client("s3").list_objects_v2(Bucket=aws.refs["ReviewMediaBucket"]).get("Contents", [])
    assert not [o["Key"] for o in contents if o["Key"].startswith("public/reviews/")]
    again = erase(MERCHANT, customer_ids_for("c-1", "ayse.yilmaz@example.com"), ["9201"], aws.clock.now())
    assert "erase_review" not in again["actions"]  # idempotent: nothing left to erase
    assert public(aws, "/summary").json_body["count"] == 0
