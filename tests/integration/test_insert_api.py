"""`GET /v1/orders/{order_id}/insert.pdf` through the Chalice app against moto: the merchant's
own order as a PDF (read back with poppler), another merchant's order and an unknown one as the
same 404, a bad size as 400 naming `size`, no key as 401."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing: run make browser")
PDF = {"Accept": "application/pdf"}


def get_insert(aws, order_id: str, *, api_key: str | None = None, query: str = "", headers: dict | None = None):
    sent = {**aws.auth(api_key), **PDF, **(headers or {})}
    sent.pop("Content-Type", None)
    return aws.client.get(f"/v1/orders/{order_id}/insert.pdf{query}", headers=sent)


def error_of(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.body[:300])
    error = response.json_body["error"]  # JSON, not a PDF
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    return error


def pdf_info(pdf: bytes, tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "insert.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return info, text


@pytest.fixture
def orders(aws, other_store):
    """demo-store's order 1001 (Turkish customer) and other-store's order 2001."""
    assert aws.post_order(aws.api_order("1001")).status_code == 202
    assert aws.post_order(aws.api_order("2001"), api_key=other_store).status_code == 202
    aws.pump.drain()
    return other_store


@poppler
@pytest.mark.parametrize("size, width", [("a6", "297.64"), ("a4", "595.28"), ("letter", "612")])
def test_the_merchants_order_prints_as_one_pdf_page(aws, orders, size, width, tmp_path):
    response = get_insert(aws, "1001", query=f"?size={size}")
    assert response.status_code == 200, response.body[:300]
    assert response.headers["Content-Type"] == "application/pdf"
    assert f'filename="insert-1001-{size}.pdf"' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.body.startswith(b"%PDF-")
    info, text = pdf_info(response.body, tmp_path)
    assert "Pages:           1" in info and f"Page size:       {width}" in info
    # In the customer's language (tr-TR), with the stored order's items and number.
    assert "Teşekkürler, Ayşe!" in text and "Ceramic mug" in text and "1001" in text
    # The QR codes are links: the signed order page and the rating page of the first item.
    assert b"https://shop.test/pages/demo-store/orders/1001?token=" in response.body
    assert b"https://shop.test/pages/demo-store/feedback/" in response.body


def test_the_size_defaults_to_a6(aws, orders):
    response = get_insert(aws, "1001")
    assert response.status_code == 200
    assert 'filename="insert-1001-a6.pdf"' in response.headers["Content-Disposition"]


def test_an_unknown_order_and_another_merchants_order_are_the_same_404(aws, orders):
    unknown = error_of(get_insert(aws, "no-such-order"), 404, "not_found", "order_id")
    theirs = error_of(get_insert(aws, "2001"), 404, "not_found", "order_id")
    assert theirs["message"].replace("2001", "X") == unknown["message"].replace("no-such-order", "X")
    # And the other way round: other-store cannot print demo-store's order.
    error_of(get_insert(aws, "1001", api_key=orders), 404, "not_found", "order_id")
    assert get_insert(aws, "2001", api_key=orders).status_code == 200


@pytest.mark.parametrize("size", ["a5", "A4 ", "", "letter;", "x" * 500])
def test_a_bad_size_is_400_naming_size(aws, orders, size):
    from urllib.parse import quote

    response = get_insert(aws, "1001", query=f"?size={quote(size)}")
    if size == "A4 ":
        assert response.status_code == 200  # case and spaces do not matter
        return
    error = error_of(response, 400, "validation_error", "size")
    assert "a6" in error["message"]


def test_a_bad_size_is_refused_before_any_read(aws, orders):
    """Even for an order that does not exist: the size is checked first."""
    error_of(get_insert(aws, "no-such-order", query="?size=a5"), 400, "validation_error", "size")


def test_without_a_key_401(aws, orders):
    for headers in ({}, {"Authorization": "Bearer not-a-key"}):
        response = aws.client.get("/v1/orders/1001/insert.pdf", headers={**PDF, **headers})
        error_of(response, 401, "unauthorized")


def test_a_request_that_does_not_accept_a_pdf_is_told_so(aws, orders):
    """API Gateway decodes the base64 body only for a request accepting application/pdf; Chalice
    refuses the others (400) instead of sending base64 text as if it were the PDF."""
    headers = aws.auth()
    response = aws.client.get("/v1/orders/1001/insert.pdf", headers={**headers, "Accept": "application/json"})
    assert response.status_code == 400 and not response.body.startswith(b"%PDF")
    assert get_insert(aws, "1001", headers={"Accept": "application/pdf, */*"}).status_code == 200
