"""Order numbers, tracking numbers and addresses found in what customers write, in every script."""
import pytest

from postpurchase.support.references import References, find_references, tracking_carrier


@pytest.mark.parametrize("text,orders", [
    ("Where is #1001?", ("1001",)),
    ("my order 1001 hasn't arrived", ("1001",)),
    ("Order no. A-1002 and order number: 1003", ("A-1002", "1003")),
    ("order #1004", ("1004",)),
    ("pesanan 1001 belum sampai kak", ("1001",)),
    ("no pesanan saya 1005", ("1005",)),
    ("sipariş 1001 nerede", ("1001",)),
    ("SİPARİŞ NO: 1006", ("1006",)),
    ("1007 numaralı siparişim: sipariş numaram 1007", ("1007",)),
    ("1015 nolu siparişim nerede", ("1015",)),
    ("заказ 1001 не пришёл", ("1001",)),
    ("номер заказа № 1008", ("1008",)),
    ("Заказ №1009", ("1009",)),
    ("طلب ١٠٠١ وين؟", ("1001",)),
    ("رقم الطلب ۱۰۰۲", ("1002",)),
    ("\u200fطلبي رقم ١٠١٠\u200f", ("1010",)),
    ("คำสั่งซื้อ 1001 ยังไม่ถึง", ("1001",)),
    ("คำสั่งซื้อ ๑๐๑๑ ค่ะ", ("1011",)),
    ("เลขที่คำสั่งซื้อ #1012", ("1012",)),
    ("ออเดอร์1013ส่งยังคะ", ("1013",)),
    ("ｏｒｄｅｒ　＃１０１４", ("1014",)),
])
def test_order_numbers_in_every_language_and_script(text, orders):
    assert find_references(text).order_numbers == orders


@pytest.mark.parametrize("text", [
    "I ordered 3 mugs in 2025", "my order arrived on 12/05", "order of 2 items", "orders are late", "#1",
    "call me at 081234567890",
])
def test_no_order_number_where_there_is_none(text):
    assert find_references(text).order_numbers == ()


@pytest.mark.parametrize("text,number,carrier", [
    ("UPS 1Z999AA10123456784 where?", "1Z999AA10123456784", "ups"),
    ("ups: 1Z 999 AA1 01 2345 6784", "1Z999AA10123456784", "ups"),
    ("USPS 9400111899223100123456", "9400111899223100123456", "usps"),
    ("usps tracking 9400 1000 0000 0000 0000 00", "9400100000000000000000", "usps"),
    ("9205590164917312751089 is the USPS number", "9205590164917312751089", "usps"),
    ("fedex 123456789012", "123456789012", "fedex"),
    ("FedEx 612999123456789", "612999123456789", "fedex"),
    ("DHL 1234567890", "1234567890", "dhl"),
    ("resi JD014600003828520 belum update", "JD014600003828520", "dhl_ecommerce"),
    ("JJD0099999999 dhl parcel", "JJD0099999999", "dhl_ecommerce"),
    ("трек RR123456789CN не обновляется", "RR123456789CN", "upu_s10"),
    ("Почта России 80081234567890", "80081234567890", "russian_post"),
    ("resi: JP1234567890 (J&T)", "JP1234567890", None),
    ("takip no: YK123456789TR", "YK123456789TR", "upu_s10"),
    ("เลขพัสดุ TH0123456789AB ค่ะ", "TH0123456789AB", None),
    ("เลขพัสดุ ๑๒๓๔๕๖๗๘๙๐", "1234567890", "dhl"),
    ("رقم التتبع: ١٢٣٤٥٦٧٨٩٠١٢", "123456789012", "fedex"),
    ("tracking number is KER1234567890", "KER1234567890", None),
])
def test_tracking_numbers_by_carrier_format_and_after_a_tracking_word(text, number, carrier):
    refs = find_references(text)
    assert refs.tracking_numbers == (number,), refs
    assert tracking_carrier(number) == carrier


def test_several_references_at_once_and_no_double_counting():
    refs = find_references("Order #1001: UPS 1Z999AA10123456784, second box fedex 123456789012 and dhl 1234567890. "
                           "Reply to Ayse.Yilmaz@Example.COM or ayse.yilmaz@example.com")
    assert refs == References(("1001",), ("1Z999AA10123456784", "123456789012", "1234567890"),
                              ("ayse.yilmaz@example.com",))


def test_phone_numbers_and_order_numbers_are_not_tracking_numbers():
    refs = find_references("order 1234567890, my phone +6281234567890 or 081234567890")
    assert refs.order_numbers == ("1234567890",)
    assert refs.tracking_numbers == ()


@pytest.mark.parametrize("text,emails", [
    ("write to ayse@example.com.", ("ayse@example.com",)),
    ("почта: ivan.petrov@mail.ru", ("ivan.petrov@mail.ru",)),
    ("อีเมล somchai@example.co.th ค่ะ", ("somchai@example.co.th",)),
    ("بريدي ahmed+shop@example.ae", ("ahmed+shop@example.ae",)),
    ("not an address: a@b, @example.com", ()),
])
def test_email_addresses(text, emails):
    assert find_references(text).emails == emails


def test_empty_text():
    refs = find_references("")
    assert not refs and refs == References((), (), ())
