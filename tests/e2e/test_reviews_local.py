"""Storefront reviews on the local runtime over HTTP: a customer's rating becomes a public review,
read like a storefront reads it (no key, Cache-Control + ETag), and a photo goes up by a real
presigned S3 POST to the local S3 and comes back without its EXIF."""
from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

STOREFRONTS = Path(__file__).resolve().parents[2] / "events" / "storefronts"


def _get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _rating_token(order_id: str, sku: str) -> str:
    from infra.local.runtime import LOCAL_LINK_SECRET
    from postpurchase.security.tokens import Keyring, sign_claims

    return sign_claims(Keyring.single(LOCAL_LINK_SECRET, legacy=True), "feedback", ["demo-store", order_id, sku],
                       datetime.now(timezone.utc) + timedelta(days=30))


def _jpeg_with_exif() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (0, 90, 160)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_a_rating_is_a_public_cacheable_review_and_its_photo_loses_its_exif(local_api):
    import requests
    from PIL import Image

    order = json.loads((STOREFRONTS / "api" / "order.json").read_text(encoding="utf-8"))
    order.update(order_id=f"e2e-rv-{uuid.uuid4().hex[:8]}", placed_at=datetime.now(timezone.utc).isoformat())
    assert local_api.call("POST", "/v1/orders", order)[0] == 202
    local_api.emails_for(f"demo-store/order_confirmation#{order['order_id']}")
    token = _rating_token(order["order_id"], "MUG-1")
    status, answer = local_api.call("POST", f"/v1/feedback/{token}", {
        "rating": 4, "title": "Sağlam kupa", "comment": "Kulpu rahat."}, auth=False)
    assert status == 201, answer

    base = f"{local_api.base_url}/v1/public/demo-store/products/MUG-1/reviews"
    status, headers, body = _get(f"{base}?limit=50")
    assert status == 200 and headers["Cache-Control"].startswith("public, max-age=")
    mine = [r for r in json.loads(body)["items"] if r["title"] == "Sağlam kupa"]
    assert mine and mine[0]["author"] == "Ayşe Y." and mine[0]["verified_buyer"] is True
    assert b"ayse.yilmaz@example.com" not in body
    assert _get(f"{base}?limit=50", {"If-None-Match": headers["ETag"]})[0] == 304
    status, _, summary = _get(f"{base}/summary")
    assert status == 200 and json.loads(summary)["count"] >= 1

    ticket_status, ticket = local_api.call("POST", f"/v1/feedback/{token}/photos", {"content_type": "image/jpeg"},
                                           auth=False)
    assert ticket_status == 201, ticket
    # The browser's upload: a multipart POST straight to S3 (the local runtime's moto).
    upload = requests.post(ticket["url"], data=ticket["fields"],
                           files={"file": ("mug.jpg", _jpeg_with_exif(), "image/jpeg")}, timeout=30)
    assert upload.status_code in (200, 201, 204), upload.text
    status, attached = local_api.call("POST", f"/v1/feedback/{token}/photos/{ticket['upload_id']}", auth=False)
    assert status == 201, attached
    status, _, image_bytes = _get(attached["photo"]["url"])
    assert status == 200 and b"SecretCam" not in image_bytes
    with Image.open(io.BytesIO(image_bytes)) as image:
        assert image.format == "JPEG" and not image.getexif()
    status, _, with_photos = _get(f"{base}?sort=with_photos&limit=50")
    assert any(r["review_id"] == attached["review_id"] for r in json.loads(with_photos)["items"])
