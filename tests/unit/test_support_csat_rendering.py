"""The CSAT survey of a resolved conversation as an email: five one-click scores, threaded under
the conversation, Auto-Submitted: auto-generated, in every language (Arabic right to left); and
the pure rule of who gets one."""
from __future__ import annotations

import email
from datetime import datetime, timedelta, timezone
from email import policy

import pytest

from postpurchase.messaging.mime import build_mime
from postpurchase.messaging.rendering import render_email
from postpurchase.messaging.requests import EmailRequest, SupportReply, SurveyScore
from postpurchase.messaging.preferences import Preferences
from postpurchase.support import model
from postpurchase.support.csat import survey_blocked
from tests.unit.test_rendering import make_merchant, make_order

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
LANGUAGES = ("en", "id", "th", "tr", "ar", "ru")
QUESTION = {"en": "How satisfied are you with the help you received?",
            "id": "Seberapa puas Anda dengan bantuan yang Anda terima?",
            "th": "คุณพอใจกับความช่วยเหลือที่ได้รับมากน้อยเพียงใด?",
            "tr": "Aldığınız yardımdan ne kadar memnunsunuz?",
            "ar": "ما مدى رضاك عن المساعدة التي تلقيتها؟",
            "ru": "Насколько вы довольны полученной помощью?"}


def csat_request(locale: str = "en", order: bool = True) -> EmailRequest:
    support = SupportReply(
        conversation_id="c1", message_id="<c1.s1@support.dukkan.example>", in_reply_to="<CAF=abc@mail.example>",
        references=["<CAF=abc@mail.example>", "<c1.r1@support.dukkan.example>"], automated=True,
        auto_submitted="auto-generated", reply_to="m-1@support.dukkan.example", subject="Where is my order?",
        csat_scores=[SurveyScore(value=n, url=f"https://shop.example/pages/m-1/csat/tok?score={n}") for n in range(1, 6)],
        answer_by=NOW + timedelta(days=7))
    fields = dict(kind="support_csat", merchant_id="m-1", ref="c1.s1", recipient="ayse@example.com", locale=locale,
                  requested_at=NOW, support=support)
    if order:
        fields["order"] = make_order()
    else:
        fields["customer"] = {"email": "ayse@example.com", "first_name": "Ayşe"}
    return EmailRequest(**fields)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_survey_renders_in_every_language_with_five_one_click_links(lang):
    rendered = render_email(csat_request(lang), make_merchant())
    for text in (rendered.text, rendered.html):
        assert QUESTION[lang] in text
        for n in range(1, 6):
            assert f"/pages/m-1/csat/tok?score={n}&amp;lang={lang}" in text or \
                f"/pages/m-1/csat/tok?score={n}&lang={lang}" in text
    assert "{{" not in rendered.html and "%(" not in rendered.text
    assert f'lang="{lang}"' in rendered.html
    assert ('dir="rtl"' in rendered.html) == (lang == "ar")


def test_the_english_survey_says_until_when_and_how_to_reopen():
    rendered = render_email(csat_request("en", order=False), make_merchant())
    assert rendered.subject == "How was the help from Dükkan?"
    assert "You can rate until December 2, 2026." in rendered.text
    assert "just reply to this email" in rendered.text.lower()
    assert "1 = very dissatisfied, 5 = very satisfied" in rendered.text


def test_the_survey_is_threaded_and_auto_generated():
    request = csat_request()
    rendered = render_email(request, make_merchant())
    raw = build_mime(request, make_merchant(), subject=rendered.subject, html=rendered.html, text=rendered.text, now=NOW)
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Message-ID"] == "<c1.s1@support.dukkan.example>"
    assert message["In-Reply-To"] == "<CAF=abc@mail.example>"
    assert message["References"] == "<CAF=abc@mail.example> <c1.r1@support.dukkan.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Reply-To"].addresses[0].addr_spec == "m-1@support.dukkan.example"


def test_a_request_without_scores_is_refused():
    request = csat_request()
    broken = request.model_copy(update={"support": request.support.model_copy(update={"csat_scores": []})})
    with pytest.raises(ValueError):
        render_email(broken, make_merchant())


def test_a_customer_who_turned_opinion_mail_off_gets_no_survey():
    assert Preferences(unsubscribed=frozenset({"review_request"})).allows("support_csat") is False
    assert Preferences(all_marketing_off=True).allows("support_csat") is False
    assert Preferences().allows("support_csat") is True


def _conversation(**fields) -> model.Conversation:
    base = model.start(conversation_id="c1", merchant_id="m-1", channel=model.Channel.API, now=NOW,
                       customer_email="ayse@example.com", source=fields.pop("source", model.Source.CUSTOMER))
    return base.model_copy(update=fields)


def test_who_gets_a_survey():
    wrote = model.customer_wrote(_conversation(), now=NOW, intent="other")
    assert survey_blocked(wrote) == "not_resolved"
    assert survey_blocked(model.resolve(wrote, now=NOW)) is None
    no_address = model.customer_wrote(_conversation(customer_email=None), now=NOW)
    assert survey_blocked(model.resolve(no_address, now=NOW)) == "no_recipient"
    proactive = _conversation(source=model.Source.PROACTIVE)
    assert survey_blocked(model.resolve(proactive, now=NOW)) == "customer_never_wrote"
    answered = model.customer_wrote(proactive, now=NOW + timedelta(hours=1))
    assert survey_blocked(model.resolve(answered, now=NOW + timedelta(hours=2))) is None
