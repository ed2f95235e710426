"""Inbound support mail: real-looking raw messages (events/support/*.eml) parsed to what support needs."""
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postpurchase.support.inbound_mail import InboundMail, parse_inbound_mail
from postpurchase.support.intents import Intent, detect_intent, needs_human
from postpurchase.support.mail_text import html_to_text, strip_quoted
from postpurchase.support.references import find_references

FIXTURES = Path(__file__).resolve().parents[2] / "events" / "support"
OWN = ("shop.test",)


def parse(name: str, **kwargs) -> InboundMail:
    return parse_inbound_mail((FIXTURES / name).read_bytes(), own_domains=OWN, **kwargs)


def test_gmail_reply_in_turkish_iso_8859_9():
    mail = parse("gmail_reply_tr_iso-8859-9.eml")
    assert mail.from_address == "ayse.yilmaz@example.com" and mail.from_name == "Ayşe Yılmaz"
    assert mail.subject == "Re: Siparişiniz kargoya verildi"
    assert mail.message_id == "<CAF=k3Yx+8Qn@mail.gmail.com>"
    assert mail.in_reply_to == "<0102018c2@eu-west-1.amazonses.com>"
    assert mail.references == ("<0102018c1@eu-west-1.amazonses.com>", "<0102018c2@eu-west-1.amazonses.com>")
    assert mail.to_addresses == ("support@shop.test",) and mail.language == "tr-TR"
    assert mail.text == "Merhaba,\n\n1001 numaralı siparişim hala gelmedi. Kargom nerede?\n\nAyşe"
    assert "tarihinde şunu yazdı:" in mail.full_text and "Ayşe Yılmaz\nİstanbul" in mail.full_text
    assert mail.automated is None and mail.problems == () and mail.sent_at.utcoffset().total_seconds() == 3 * 3600
    match = detect_intent(mail.text, mail.language)
    assert match.intent is Intent.WHERE_IS_MY_ORDER and not needs_human(match)
    assert find_references(mail.text).order_numbers == ("1001",)
    assert find_references(mail.text).tracking_numbers == ()       # the tracking number was in the quoted part


def test_outlook_html_only_arabic_windows_1256_cuts_the_history():
    mail = parse("outlook_html_only_ar_windows-1256.eml")
    assert mail.from_name == "أحمد" and mail.subject == "RE: تم شحن طلبك" and mail.language == "ar-AE"
    assert mail.text == "مرحبا،\nوصلني المنتج مكسور. طلب رقم 1002\nأحمد"
    assert "تم شحن طلبك اليوم" in mail.full_text and "p{margin:0}" not in mail.full_text
    match = detect_intent(mail.text)
    assert match.intent is Intent.DAMAGED_WRONG_ITEM and needs_human(match)


def test_russian_koi8_r_with_attachments_named_in_rfc_2231_and_encoded_words():
    mail = parse("mixed_attachments_ru_koi8-r.eml")
    assert mail.from_name == "Иван Петров" and mail.subject == "Посылка повреждена"
    assert mail.cc_addresses == ("ivan.home@example.ru",)
    assert mail.text == "Здравствуйте!\n\nПосылка пришла повреждённая, фото во вложении. Заказ 1003.\n\nС уважением,\nИван"
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("фото коробки.jpg", "image/jpeg"), ("чек.pdf", "application/pdf")]
    assert mail.attachments[0].content.startswith(b"\xff\xd8") and mail.attachments[1].content.startswith(b"%PDF")
    assert detect_intent(mail.text).intent is Intent.DAMAGED_WRONG_ITEM


def test_thai_tis_620_plain_reply():
    mail = parse("plain_th_tis-620.eml")
    assert mail.subject == "ยังไม่ได้ของ" and mail.from_name is None
    assert mail.text == "สวัสดีค่ะ สั่งไปนานแล้วยังไม่ได้ของเลยค่ะ คำสั่งซื้อ ๑๐๐๔"
    assert find_references(mail.text).order_numbers == ("1004",)
    assert detect_intent(mail.text).intent is Intent.WHERE_IS_MY_ORDER


def test_nested_apple_mail_prefers_the_plain_alternative_and_keeps_only_real_attachments():
    mail = parse("nested_id_utf-8.eml")
    assert mail.text == ("Halo kak,\n\npesanan 1004 saya belum sampai, resi JD014600003828520 tidak update. "
                         "Tolong dicek ya.\n\nTerima kasih")
    assert mail.to_addresses == ("support@shop.test", "cs@shop.test")
    assert [a.filename for a in mail.attachments] == ["logo.png", "resi.png"]
    refs = find_references(mail.text)
    assert refs.order_numbers == ("1004",) and refs.tracking_numbers == ("JD014600003828520",)
    assert detect_intent(mail.text).language == "id"


def test_outlook_plain_original_message_separator():
    mail = parse("outlook_plain_en.eml")
    assert mail.from_name == "Smith, John" and mail.from_address == "john.smith@example.com"
    assert mail.text == "Hi, can I change the delivery address for order 1005? We moved.\n\nJohn"
    match = detect_intent(mail.text)
    assert match.intent is Intent.CANCEL_CHANGE and needs_human(match)


def test_gb2312_is_read_as_gb18030():
    mail = parse("gb2312_plain.eml")
    assert mail.subject == "我的订单在哪里" and mail.text.endswith("我的订单在哪里？镕") and mail.problems == ()


def test_unknown_charset_is_decoded_with_replacement_and_flagged():
    mail = parse("unknown_charset.eml")
    assert mail.problems == ("unknown_charset",)
    assert mail.text.startswith("Where is my order 1001? Caf\ufffd")


@pytest.mark.parametrize("name,reason", [
    ("out_of_office.eml", "auto-submitted"),
    ("delivery_status_report.eml", "null-return-path"),
    ("newsletter_bulk.eml", "precedence"),
    ("our_own_message.eml", "our-own-message"),
])
def test_automated_mail_is_flagged(name, reason):
    assert parse(name).automated == reason


def test_every_reason_is_listed():
    assert parse("out_of_office.eml").automated_reasons == ("auto-submitted", "x-auto-response-suppress")
    dsn = parse("delivery_status_report.eml")
    assert dsn.automated_reasons == ("null-return-path", "delivery-status-report")
    assert [a.content_type for a in dsn.attachments] == ["message/delivery-status", "text/rfc822-headers"]


def _mail(headers: str, body: str = "Where is my order?") -> bytes:
    return (f"From: Customer <customer@example.com>\r\nTo: support@shop.test\r\nSubject: hi\r\n"
            f"Message-ID: <x1@example.com>\r\n{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


@pytest.mark.parametrize("headers,reason", [
    ("Auto-Submitted: auto-generated\r\n", "auto-submitted"),
    ("Auto-Submitted: auto-replied; owner-email=x@example.com\r\n", "auto-submitted"),
    ("Auto-Submitted: no\r\n", None),
    ("Auto-Submitted: No\r\n", None),
    ("X-Autoreply: yes\r\n", "auto-submitted"),
    ("Precedence: list\r\n", "precedence"),
    ("Precedence: junk\r\n", "precedence"),
    ("Precedence: first-class\r\n", None),
    ("List-Id: <customers.lists.example.com>\r\n", "precedence"),
    ("X-Auto-Response-Suppress: OOF, AutoReply\r\n", "x-auto-response-suppress"),
    ("Return-Path: <>\r\n", "null-return-path"),
    ("Return-Path: < >\r\n", "null-return-path"),
    ("Return-Path: <customer@example.com>\r\n", None),
])
def test_loop_headers(headers, reason):
    assert parse_inbound_mail(_mail(headers)).automated == reason


@pytest.mark.parametrize("raw,own", [
    (_mail("").replace(b"customer@example.com>", b"orders@mail.shop.test>"), OWN),   # a subdomain of ours
    (_mail("").replace(b"<x1@example.com>", b"<0102@shop.test>"), OWN),             # our Message-ID
    (_mail("").replace(b"customer@example.com>", b"Support@SHOP.TEST>"), OWN),       # any case
])
def test_our_own_messages(raw, own):
    assert parse_inbound_mail(raw, own_domains=own).automated == "our-own-message"


def test_a_lookalike_domain_is_not_ours():
    raw = _mail("").replace(b"customer@example.com>", b"x@evilshop.test>")
    assert parse_inbound_mail(raw, own_domains=OWN).automated is None


def test_truncated_mail_keeps_what_arrived_and_is_flagged():
    mail = parse("truncated.eml")
    assert "malformed_mime" in mail.problems
    assert mail.text == "My parcel arrived damaged, see the photo."
    assert mail.attachments[0].filename == "damage.jpg"


def test_no_sender():
    mail = parse("no_sender.eml")
    assert mail.problems == ("no_sender",) and mail.from_address is None and mail.text == "Where is my order?"


@pytest.mark.parametrize("from_header", ["From: \r\n", "From: not an address\r\n", "From: <@>\r\n",
                                         "From: =?utf-8?q?broken\r\n"])
def test_unusable_from_headers(from_header):
    raw = _mail("").replace(b"From: Customer <customer@example.com>\r\n", from_header.encode())
    mail = parse_inbound_mail(raw)
    assert "no_sender" in mail.problems and mail.from_address is None


def test_too_large_reads_only_the_headers():
    raw = _mail("", "x" * 2000)
    mail = parse_inbound_mail(raw, max_bytes=500)
    assert mail.problems == ("too_large",) and mail.text == "" and mail.size == len(raw)
    assert mail.from_address == "customer@example.com" and mail.message_id == "<x1@example.com>"


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe\xfa" * 100, b"garbage without headers",
                                 b"From: a@b.c\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all",
                                 b"Content-Type: text/plain; charset=\"\r\n\r\nx",
                                 b"From: a@b.c\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!"])
def test_garbage_never_raises(raw):
    mail = parse_inbound_mail(raw)
    assert isinstance(mail, InboundMail)
    assert mail.problems


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw):
    assert isinstance(parse_inbound_mail(raw), InboundMail)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([b"From: a@b.c\r\n", b"Content-Type: multipart/mixed; boundary=b\r\n", b"\r\n",
                                 b"--b\r\n", b"--b--\r\n", b"Content-Transfer-Encoding: base64\r\n", b"=?utf-8?b?\xff?=",
                                 b"Content-Type: text/html; charset=x\r\n", b"<div class=gmail_quote>", b"> q\r\n",
                                 b"Content-Type: message/rfc822\r\n"]), max_size=40))
def test_mime_shaped_garbage_never_raises(parts):
    assert isinstance(parse_inbound_mail(b"".join(parts)), InboundMail)


@pytest.mark.parametrize("text,expected", [
    ("Where?\n\nOn Mon, Dec 7, 2026 at 10:00 AM Demo Store <support@shop.test> wrote:\n> old", "Where?"),
    ("Where?\n\nOn Mon, Dec 7, 2026 at 10:00 AM Demo Store <\nsupport@shop.test> wrote:\n> old", "Where?"),
    ("Di mana?\n\nPada Sen, 7 Des 2026 pukul 10.00 Demo Store <s@shop.test> menulis:\n> lama", "Di mana?"),
    ("Nerede?\n\n7 Ara 2026 Pzt 10:00 tarihinde Demo Store <s@shop.test> şunu yazdı:\n> eski", "Nerede?"),
    ("Где?\n\nпн, 7 дек. 2026 г. в 10:00, Demo Store <s@shop.test>:\n> старое", "Где?"),
    ("Где?\n\nDemo Store пишет:\n> старое", "Где?"),
    ("وين؟\n\nفي الإثنين، ٧ ديسمبر ٢٠٢٦ ١٠:٠٠ ص كتب Demo Store <s@shop.test>:\n> قديم", "وين؟"),
    ("อยู่ไหน\n\nเมื่อ จ. 7 ธ.ค. 2026 เวลา 10:00 Demo Store <s@shop.test> เขียนว่า:\n> เก่า", "อยู่ไหน"),
    ("Where?\n\n-----Original Message-----\nFrom: x", "Where?"),
    ("Nerede?\n\n-----Özgün İleti-----\nKimden: x", "Nerede?"),
    ("Где?\n\n-----Исходное сообщение-----\nОт: x", "Где?"),
    ("Where?\n\n________________________________\nFrom: Demo Store <s@shop.test>\nSent: Monday\nTo: me\n\nold", "Where?"),
    ("Di mana?\n\nDari: Demo Store\nDikirim: Senin\n\nlama", "Di mana?"),
    ("وين؟\n\nمن: Demo Store\nتاريخ الإرسال: الاثنين\n\nقديم", "وين؟"),
    ("Answer one\n> question one\nAnswer two\n> question two", "Answer one\nAnswer two"),
    ("Where?\n-- \nAyse\n+90 555", "Where?"),
    ("Where?\n\nSent from my iPhone", "Where?"),
    ("Di mana?\n\nDikirim dari iPhone saya", "Di mana?"),
    ("From now on I use this address: Sent to me is fine", "From now on I use this address: Sent to me is fine"),
])
def test_quoted_history_and_signatures_in_six_languages(text, expected):
    assert strip_quoted(text) == expected


def test_html_conversion_keeps_structure_and_drops_quotes_only_when_asked():
    html = ("<html><head><title>t</title><style>.a{}</style></head><body><p>Hello&nbsp;there,</p>"
            "<ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>"
            "<blockquote type=\"cite\">old</blockquote><div class=\"gmail_signature\">sig</div>"
            "<script>alert(1)</script></body></html>")
    assert html_to_text(html, skip_quotes=True) == "Hello there,\n\n- one\n- two\n\na b"
    assert "old" in html_to_text(html) and "alert" not in html_to_text(html)
