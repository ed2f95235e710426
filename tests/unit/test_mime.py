"""The MIME message keeps every character of a multilingual subject and sender name."""
from datetime import datetime, timezone
from email import message_from_bytes
from email.policy import default

from hypothesis import given, settings
from hypothesis import strategies as st

from postpurchase.messaging.mime import build_mime
from postpurchase.messaging.requests import EmailRequest, MerchantBranding
from postpurchase.orders.models import Order

WORDS = ["hoş", "numaralı", "siparişiniz", "onaylandı", "Demo", "Store", "заказ", "подтверждён", "คำสั่งซื้อ",
         "ของคุณ", "طلبك", "تم", "تأكيد", "Pesanan", "Anda", "#1001", "A-1002", "!", "—"]
ORDER = Order.model_validate({
    "order_id": "1001", "placed_at": "2026-11-20T10:00:00Z", "currency": "USD",
    "customer": {"email": "ayse@example.com"},
    "items": [{"sku": "S", "title": "T", "quantity": 1, "price": "1.00"}],
    "totals": {"subtotal": "1.00", "total": "1.00"}})
REQUEST = EmailRequest(kind="order_confirmation", merchant_id="m", ref="1001", recipient="ayse@example.com",
                       order=ORDER, order_page_url="https://shop.test/o", requested_at=ORDER.placed_at)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=30), st.sampled_from(["Démo Störe", "متجر", "Магазин"]))
def test_subject_and_sender_survive_encoding_exactly(words, shop):
    subject = " ".join(words)
    merchant = MerchantBranding(merchant_id="m", name=shop, from_email="orders@shop.test")
    raw = build_mime(REQUEST, merchant, subject=subject, html="<p>x</p>", text="x",
                     now=datetime(2026, 11, 20, tzinfo=timezone.utc))
    parsed = message_from_bytes(raw, policy=default)
    assert str(parsed["Subject"]) == subject
    assert parsed["From"].addresses[0].display_name == shop
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_the_subject_that_lost_its_space():
    merchant = MerchantBranding(merchant_id="m", name="Demo Store", from_email="orders@shop.test")
    subject = "Demo Store ailesine hoş geldiniz! 1001 numaralı siparişiniz onaylandı"
    raw = build_mime(REQUEST, merchant, subject=subject, html="<p>x</p>", text="x",
                     now=datetime(2026, 11, 20, tzinfo=timezone.utc))
    assert str(message_from_bytes(raw, policy=default)["Subject"]) == subject
