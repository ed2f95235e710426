"""The merchant's support FAQ through the real API handler against moto: PUT/GET, validation
naming the field, limits, tenant isolation, and the entries on the customer's order page in the
customer's language (falling back to the shop's default)."""
from __future__ import annotations

import html as html_lib
from datetime import timedelta
from urllib.parse import urlencode

import pytest

FAQ = {"entries": [
    {"entry_id": "gift-wrap",
     "question": {"en": "Do you offer gift wrapping?", "tr": "Hediye paketi yapıyor musunuz?",
                  "ar": "هل تقدمون تغليف الهدايا؟"},
     "answer": {"en": "Yes, add a note at checkout.\n\nWrapping is free.",
                "tr": "Evet, ödeme sırasında not ekleyin.\n\nPaketleme ücretsizdir.",
                "ar": "نعم، أضف ملاحظة عند الدفع."},
     "keywords": {"en": ["gift wrap*", "gift box"], "tr": ["hediye paketi"]}},
    {"entry_id": "warranty", "question": {"en": "Is there a warranty?"},
     "answer": {"en": "Two years on every mug <b>bold</b>."}},
]}


def put(aws, body, api_key=None):
    return aws.client.put("/v1/support/faq", headers=aws.auth(api_key), body=aws.encode(body))


def test_round_trip_and_the_stored_item(aws):
    empty = aws.client.get("/v1/support/faq", headers=aws.auth())
    assert empty.status_code == 200 and empty.json_body["entries"] == [] and empty.json_body["updated_at"] is None
    saved = put(aws, FAQ)
    assert saved.status_code == 200
    assert saved.json_body["entries"] == [
        {**FAQ["entries"][0]}, {**FAQ["entries"][1], "keywords": {}}]
    got = aws.client.get("/v1/support/faq", headers=aws.auth()).json_body
    assert got["entries"] == saved.json_body["entries"] and got["updated_at"].endswith("Z")
    item = aws.item("M#demo-store", "SUPPORT#FAQ")
    assert item["type"] == "support_faq" and "Hediye paketi" in item["document"]
    assert put(aws, {"entries": []}).json_body["entries"] == []        # a PUT replaces the whole FAQ


@pytest.mark.parametrize("body,field", [
    ({}, "entries"),
    ({"entries": {}}, "entries"),
    ({"entries": [], "extra": 1}, "extra"),
    ({"entries": ["x"]}, "entries[0]"),
    ({"entries": [{"question": {"en": "q"}, "answer": {"en": "a"}}]}, "entries[0].entry_id"),
    ({"entries": [{"entry_id": "a b", "question": {"en": "q"}, "answer": {"en": "a"}}]}, "entries[0].entry_id"),
    ({"entries": [{"entry_id": "a", "question": {"en": "q"}, "answer": {"en": "a"}},
                  {"entry_id": "a", "question": {"en": "q"}, "answer": {"en": "a"}}]}, "entries[1].entry_id"),
    ({"entries": [{"entry_id": "a", "question": {"fr": "q"}, "answer": {"fr": "a"}}]}, "entries[0].question.fr"),
    ({"entries": [{"entry_id": "a", "question": {"en": " "}, "answer": {"en": "a"}}]}, "entries[0].question.en"),
    ({"entries": [{"entry_id": "a", "question": {"en": "q", "tr": "s"}, "answer": {"en": "a"}}]},
     "entries[0].answer.tr"),
    ({"entries": [{"entry_id": "a", "question": {"en": "q" * 301}, "answer": {"en": "a"}}]}, "entries[0].question.en"),
    ({"entries": [{"entry_id": "a", "question": {"en": "q"}, "answer": {"en": "a" * 4001}}]}, "entries[0].answer.en"),
    ({"entries": [{"entry_id": "a", "question": {"en": "q"}, "answer": {"en": "a"}, "keywords": {"en": "x"}}]},
     "entries[0].keywords.en"),
    ({"entries": [{"entry_id": "a", "question": {"en": "q"}, "answer": {"en": "a"}, "keywords": {"en": [3]}}]},
     "entries[0].keywords.en[0]"),
    ({"entries": [{"entry_id": "a", "question": {"en": "q"}, "answer": {"en": "a"}, "colour": 1}]},
     "entries[0].colour"),
    ({"entries": [{"entry_id": f"e{i}", "question": {"en": "q"}, "answer": {"en": "a"}} for i in range(51)]},
     "entries"),
])
def test_bad_faq_is_refused_naming_the_field_and_nothing_is_stored(aws, body, field):
    assert put(aws, FAQ).status_code == 200
    response = put(aws, body)
    assert response.status_code == 400, response.json_body
    assert response.json_body["error"]["field"] == field
    assert len(aws.client.get("/v1/support/faq", headers=aws.auth()).json_body["entries"]) == 2


def test_not_json_and_no_key(aws):
    bad = aws.client.put("/v1/support/faq", headers=aws.auth(), body=b"{not json")
    assert bad.status_code == 400
    assert aws.client.get("/v1/support/faq").status_code == 401
    assert aws.client.put("/v1/support/faq", headers={"Content-Type": "application/json"},
                          body=aws.encode(FAQ)).status_code == 401


def test_a_merchant_sees_and_changes_only_its_own_faq(aws, other_store):
    assert put(aws, FAQ).status_code == 200
    theirs = aws.client.get("/v1/support/faq", headers=aws.auth(other_store)).json_body
    assert theirs["entries"] == []
    assert put(aws, {"entries": []}, other_store).status_code == 200
    assert len(aws.client.get("/v1/support/faq", headers=aws.auth()).json_body["entries"]) == 2


# --- the order page ---------------------------------------------------------------------------

HOST = "shop.example"


def _order_page(aws, lang=None, order_id="1001", **order_fields):
    from postpurchase.security.tokens import sign_order_token

    assert aws.post_order(aws.api_order(order_id, **order_fields)).status_code == 202
    aws.pump.drain()
    token = sign_order_token(aws.link_keys, "demo-store", order_id, aws.clock.now() + timedelta(days=30))
    query = {"token": token, **({"lang": lang} if lang else {})}
    response = aws.client.get(f"/pages/demo-store/orders/{order_id}?{urlencode(query)}", headers={"Host": HOST})
    assert response.status_code == 200
    return response.body.decode() if isinstance(response.body, bytes) else response.body


def _faq_section(page: str) -> str:
    start = page.index('id="faq"')
    return page[start:page.index("</section>", start)]


def test_the_order_page_shows_the_faq_in_the_customers_language(aws):
    assert put(aws, FAQ).status_code == 200
    section = _faq_section(_order_page(aws))          # the order's customer writes tr-TR
    assert '<details id="faq-gift-wrap" class="faq-entry" lang="tr" dir="ltr">' in section
    assert "Hediye paketi yapıyor musunuz?" in section
    assert "<p>Evet, ödeme sırasında not ekleyin.</p>" in section and "<p>Paketleme ücretsizdir.</p>" in section
    # no Turkish translation of the warranty: the shop's default (en) is shown, marked as English
    assert '<details id="faq-warranty" class="faq-entry" lang="en" dir="ltr">' in section
    assert html_lib.escape("Two years on every mug <b>bold</b>.", quote=False) in section and "<b>bold" not in section


def test_the_page_language_chosen_by_the_customer_wins_and_arabic_is_right_to_left(aws):
    assert put(aws, FAQ).status_code == 200
    section = _faq_section(_order_page(aws, lang="ar"))
    assert '<details id="faq-gift-wrap" class="faq-entry" lang="ar" dir="rtl">' in section
    assert "هل تقدمون تغليف الهدايا؟" in section


def test_an_entry_in_neither_language_is_left_out(aws):
    only_tr = {"entries": [{"entry_id": "kargo", "question": {"tr": "Kargo ücretli mi?"},
                            "answer": {"tr": "Hayır."}}]}
    assert put(aws, only_tr).status_code == 200
    assert "Kargo ücretli mi?" not in _faq_section(_order_page(aws, lang="ru"))


def test_no_faq_keeps_the_page_as_it_was(aws):
    section = _faq_section(_order_page(aws))
    assert "faq-entry" not in section and "<details>" in section


def test_the_faq_read_is_cached_so_the_page_stays_one_query(aws):
    from infra.aws_requests import count_aws_requests
    from postpurchase.security.tokens import sign_order_token

    assert put(aws, FAQ).status_code == 200
    _order_page(aws)
    token = sign_order_token(aws.link_keys, "demo-store", "1001", aws.clock.now() + timedelta(days=30))
    with count_aws_requests() as requests:
        response = aws.client.get(f"/pages/demo-store/orders/1001?{urlencode({'token': token})}",
                                  headers={"Host": HOST})
    assert response.status_code == 200 and dict(requests) == {("DynamoDB", "Query"): 1}
