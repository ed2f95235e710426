"""Photos from the HTML rating page, no script (moto): once rated, the page shows a form posting
the file straight to S3 (presigned POST fields as hidden inputs, CSP form-action allowing the
bucket), S3 redirects to our page (moto honours success_action_redirect with a 303), which cleans
the upload exactly as the API does (real type, EXIF stripped, size, at most MAX_PHOTOS) and
redirects back to the rating page with the outcome shown in the customer's language."""
from __future__ import annotations

import base64
import html as htmllib
import io
import json
import re
from urllib.parse import urlsplit

import boto3
import requests

from test_feedback_api import HOST, html, page_get, page_post, place, token
from test_feedback_api import field as form_field
from test_reviews_api import MERCHANT, _jpeg_with_gps, _upload, public

ORDER = "9301"  # the sample customer: locale tr-TR


def _rated(aws, order_id: str = ORDER) -> str:
    place(aws, order_id)
    link = token(aws, order_id)
    assert page_get(aws, link, rating="5").status_code == 200
    return link


def _upload_form(page: str) -> tuple[str, dict[str, str]]:
    match = re.search(r'<form method="post" action="([^"]+)" enctype="multipart/form-data"', page)
    assert match, "no upload form"
    start = match.end()
    block = page[start:page.index("</form>", start)]
    fields = {htmllib.unescape(name): htmllib.unescape(value)
              for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', block)}
    return htmllib.unescape(match.group(1)), fields


def _post_to_s3(url: str, fields: dict[str, str], data: bytes, filename: str = "photo.jpg") -> str:
    """What the browser does with the form: a multipart POST to S3 (moto), file last; S3's redirect."""
    answer = requests.post(url, data=fields, files={"file": (filename, data, "image/jpeg")}, allow_redirects=False,
                           timeout=10)
    assert answer.status_code == 303, answer.text
    return answer.headers["Location"]


def _follow(aws, location: str):
    """Our redirect target, as the browser would request it (through the Chalice client)."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == "https://shop.test"  # PUBLIC_BASE_URL: our own pages
    return aws.client.get(f"{parts.path}?{parts.query}", headers={"Host": HOST})


def _page_after(aws, redirect) -> str:
    assert redirect.status_code == 303, html(redirect)
    location = redirect.headers["Location"]
    assert location.startswith(f"/pages/{MERCHANT}/feedback/")
    return html(aws.client.get(location, headers={"Host": HOST}))


def test_the_rating_page_uploads_a_photo_straight_to_s3_and_lists_it_without_exif(aws):
    from PIL import Image

    link = _rated(aws)
    response = page_get(aws, link)
    page = html(response)
    url, fields = _upload_form(page)
    # Limits shown in the customer's language (tr), the file input last in the form.
    assert ("En fazla 8 MB boyutunda bir JPEG, PNG veya WebP görseli; değerlendirme başına en fazla 4 fotoğraf."
            in page)
    assert "Eklenen fotoğraflar: 0 / 4." in page
    assert 'accept="image/jpeg,image/png,image/webp" required' in page
    # The browser may post there: the CSP names the bucket's origin, and still no script.
    csp = response.headers["Content-Security-Policy"]
    bucket_origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    assert f"form-action 'self' {bucket_origin};" in csp and "script-src" not in csp and "<script" not in page
    policy = json.loads(base64.b64decode(fields["policy"]))
    redirect = fields["success_action_redirect"]
    assert redirect.startswith(f"https://shop.test/pages/{MERCHANT}/feedback/{link}/photos/")
    assert {"success_action_redirect": redirect} in policy["conditions"]
    assert any(c[:2] == ["content-length-range", 1] for c in policy["conditions"] if isinstance(c, list))
    assert fields["key"].startswith(f"uploads/{MERCHANT}/") and ORDER not in fields["key"]

    location = _post_to_s3(url, fields, _jpeg_with_gps())
    assert "key=" in location  # S3 appends the bucket and key; the upload id is in our own path
    shown = _page_after(aws, _follow(aws, location))
    assert "Teşekkürler! Fotoğrafınız değerlendirmenize eklendi." in shown
    assert "Eklenen fotoğraflar: 1 / 4." in shown
    [src] = re.findall(r'<ul class="photo-list" id="photo-list">\s*<li><img src="([^"]+)"', shown)
    [item] = public(aws, sort="with_photos").json_body["items"]
    assert item["photos"][0]["url"] == htmllib.unescape(src)
    bucket = aws.refs["ReviewMediaBucket"]
    s3 = boto3.client("s3")
    key = next(k["Key"] for k in s3.list_objects_v2(Bucket=bucket, Prefix="public/reviews/")["Contents"])
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and not image.getexif()
    assert b"SecretCam" not in data
    assert not s3.list_objects_v2(Bucket=bucket, Prefix="uploads/").get("Contents")  # the upload is gone
    # A reload of S3's redirect changes nothing and says the same.
    again = _page_after(aws, _follow(aws, location))
    assert "Eklenen fotoğraflar: 1 / 4." in again and "photo-error" not in again


def test_a_bad_or_missing_file_is_refused_on_the_page_in_the_customers_language(aws):
    link = _rated(aws)
    url, fields = _upload_form(html(page_get(aws, link)))
    shown = _page_after(aws, _follow(aws, _post_to_s3(url, fields, b"<?php echo 'x'; ?>", "photo.php")))
    assert "Bu dosya okuyabildiğimiz bir JPEG, PNG veya WebP fotoğrafı değil." in shown
    assert 'id="photo-error"' in shown and "Eklenen fotoğraflar: 0 / 4." in shown
    assert public(aws).json_body["items"][0]["photos"] == []
    s3 = boto3.client("s3")
    bucket = aws.refs["ReviewMediaBucket"]
    assert not s3.list_objects_v2(Bucket=bucket, Prefix="public/reviews/").get("Contents")
    assert not s3.list_objects_v2(Bucket=bucket, Prefix="uploads/").get("Contents")

    # Over the size limit (S3's form policy lets it through so that we can say so here).
    url, fields = _upload_form(html(page_get(aws, link)))
    boto3.client("s3").put_object(Bucket=bucket, Key=fields["key"], Body=b"\xff" * (8 * 1024 * 1024 + 1))
    shown = _page_after(aws, _follow(aws, fields["success_action_redirect"]))
    assert "Bu fotoğraf çok büyük. Lütfen en fazla 8 MB boyutunda bir fotoğraf seçin." in shown

    # No upload at all behind the redirect, and in Arabic when the page was opened in Arabic.
    ar_page = html(page_get(aws, link, lang="ar"))
    assert 'dir="rtl"' in ar_page and "صورة بصيغة JPEG أو PNG أو WebP" in ar_page
    _, fields = _upload_form(ar_page)
    assert fields["success_action_redirect"].endswith("?lang=ar")
    shown = _page_after(aws, _follow(aws, fields["success_action_redirect"]))
    assert "لم نتلقَّ أي صورة. يُرجى اختيار ملف والمحاولة مرة أخرى." in shown


def test_the_form_goes_once_the_review_has_its_photos_and_needs_a_rating_first(aws):
    place(aws, "9302")
    link = token(aws, "9302")
    unrated = html(page_get(aws, link))
    assert 'id="review-photos"' not in unrated and "multipart/form-data" not in unrated
    assert page_get(aws, link, rating="4").status_code == 200
    for _ in range(4):
        upload_id = _upload(aws, link, _jpeg_with_gps())
        assert aws.client.post(f"/v1/feedback/{link}/photos/{upload_id}").status_code == 201
    full = page_get(aws, link)
    page = html(full)
    assert "Eklenen fotoğraflar: 4 / 4." in page and page.count('<li><img src="') == 4
    assert "multipart/form-data" not in page and "form-action 'self';" in full.headers["Content-Security-Policy"]
    # A form rendered before the last photo: its upload is refused, deleted, and said so.
    from postpurchase.reviews.views import _upload_key

    bucket = aws.refs["ReviewMediaBucket"]
    boto3.client("s3").put_object(Bucket=bucket, Key=_upload_key(MERCHANT, "9302", "MUG-1", "late-one"),
                                  Body=_jpeg_with_gps())
    redirect = f"/pages/{MERCHANT}/feedback/{link}/photos/late-one"
    shown = _page_after(aws, aws.client.get(redirect, headers={"Host": HOST}))
    assert "Değerlendirmenizde zaten 4 fotoğraf var" in shown
    assert len(public(aws, sort="with_photos").json_body["items"][0]["photos"]) == 4
    assert not boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="uploads/").get("Contents")


def test_the_redirect_target_refuses_a_forged_link_or_hostile_upload_id(aws):
    link = _rated(aws)
    forged = aws.client.get(f"/pages/{MERCHANT}/feedback/{link[:-2]}xx/photos/abc", headers={"Host": HOST})
    assert forged.status_code == 404
    other_shop = aws.client.get(f"/pages/other-store/feedback/{link}/photos/abc", headers={"Host": HOST})
    assert other_shop.status_code == 404
    for hostile in ("..%2F..%2Fpublic%2Fx", "a" * 65, "x%00", "a%23b"):
        refused = aws.client.get(f"/pages/{MERCHANT}/feedback/{link}/photos/{hostile}", headers={"Host": HOST})
        assert refused.status_code == 404, hostile
    # A well-formed id with nothing uploaded behind it: said on the page.
    shown = _page_after(aws, aws.client.get(f"/pages/{MERCHANT}/feedback/{link}/photos/never-uploaded",
                                            headers={"Host": HOST}))
    assert "Fotoğraf bize ulaşmadı." in shown


def test_the_comment_form_after_rating_keeps_the_photo_part(aws):
    link = _rated(aws)
    page = html(page_get(aws, link))
    fields = {"token": form_field(page, "token"), "csrf_token": form_field(page, "csrf_token"), "rating": "4",
              "comment": "Güzel"}
    done = page_post(aws, link, fields)
    assert done.status_code == 200 and 'id="review-photos"' in html(done)
    assert "form-action 'self' https://" in done.headers["Content-Security-Policy"]


def test_the_page_with_its_upload_form_is_still_one_read(aws):
    from infra.aws_requests import count_aws_requests

    link = _rated(aws)
    with count_aws_requests() as requests_made:
        response = page_get(aws, link)
    assert 'class="photo-form"' in html(response)
    # The order, the answer and the review in one BatchGetItem; the form is signed locally.
    assert dict(requests_made) == {("DynamoDB", "BatchGetItem"): 1}
