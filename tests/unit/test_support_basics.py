"""First checks of the support domain: one message per module, end to end."""
from postpurchase.support.inbound_mail import parse_inbound_mail
from postpurchase.support.intents import Intent, detect_intent, needs_human
from postpurchase.support.references import find_references


def test_where_is_my_order_is_answered_and_damaged_goes_to_a_human():
    wismo = detect_intent("Hi, where is my order #1001?")
    assert wismo.intent is Intent.WHERE_IS_MY_ORDER and not needs_human(wismo)
    damaged = detect_intent("The mug arrived broken")
    assert damaged.intent is Intent.DAMAGED_WRONG_ITEM and needs_human(damaged)


def test_order_number_in_arabic_indic_digits():
    assert find_references("وين طلب ١٠٠١؟").order_numbers == ("1001",)


def test_a_plain_reply_loses_its_quoted_history():
    raw = (b"From: Ayse <ayse@example.com>\r\nTo: support@shop.test\r\nSubject: Re: order\r\n"
           b"Message-ID: <m1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           b"Where is it?\r\n\r\nOn Mon, 7 Dec 2026 at 10:00, Demo Store <support@shop.test> wrote:\r\n> shipped\r\n")
    mail = parse_inbound_mail(raw)
    assert (mail.from_address, mail.text, mail.automated, mail.problems) == ("ayse@example.com", "Where is it?", None, ())
