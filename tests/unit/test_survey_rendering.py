"""The survey email and page in every language (no AWS): the translated words, RTL Arabic, one
signed link per score, escaped merchant text, the follow-ups and the community invitation."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from postpurchase.messaging.rendering import render_email
from postpurchase.messaging.requests import EmailRequest, MerchantBranding, SurveyNotice, SurveyScore
from postpurchase.pages import model
from postpurchase.pages.survey_model import ChoiceView, QuestionView, SurveyPage
from postpurchase.pages.survey_rendering import render_survey_page

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
NONCE = "abcdefghijklmnop"
MERCHANT = MerchantBranding(merchant_id="demo-store", name="Demo Store", from_email="shop@demo.example")
# The email's heading in each language (from the catalogs, not the merchant).
HEADINGS = {"en": "Tell us what you think", "id": "Beri tahu kami pendapat Anda",
            "th": "บอกความคิดเห็นของคุณให้เราทราบ", "tr": "Düşüncelerinizi bizimle paylaşın",
            "ar": "أخبرنا برأيك", "ru": "Поделитесь своим мнением"}
SUBJECTS = {"en": "A quick question from Demo Store", "id": "Pertanyaan singkat dari Demo Store",
            "th": "คำถามสั้น ๆ จาก Demo Store", "tr": "Demo Store size kısa bir soru soruyor",
            "ar": "سؤال سريع من Demo Store", "ru": "Короткий вопрос от Demo Store"}


def request(locale: str, kind: str = "nps") -> EmailRequest:
    values = range(0, 11) if kind == "nps" else range(1, 6)
    notice = SurveyNotice(survey_id="s", kind=kind, default_language="en",
                          text={"en": "Recommend <us>?", "tr": "Bizi önerir misiniz?"},
                          scores=[SurveyScore(value=v, url=f"https://api.example/pages/demo-store/surveys/t{v}")
                                  for v in values],
                          page_url="https://api.example/pages/demo-store/surveys/page")
    return EmailRequest(kind="survey", merchant_id="demo-store", ref="survey-s", recipient="a@example.com",
                        locale=locale, requested_at=NOW, survey=notice,
                        order={"order_id": "1001", "placed_at": "2026-11-20T10:00:00Z", "currency": "USD",
                               "customer": {"email": "a@example.com", "first_name": "Ayşe"},
                               "items": [{"sku": "MUG-1", "title": "Mug", "quantity": 1, "price": "5.00"}],
                               "totals": {"subtotal": "5.00", "shipping": "0", "tax": "0", "total": "5.00"}},
                        unsubscribe_url="https://api.example/u", preferences_url="https://api.example/p")


@pytest.mark.parametrize("language", list(HEADINGS))
def test_the_survey_email_in_every_language(language):
    email = render_email(request(language), MERCHANT)
    assert email.subject == SUBJECTS[language]
    assert HEADINGS[language] in email.html and HEADINGS[language] in email.text
    links = re.findall(r'href="(https://api\.example/pages/demo-store/surveys/[^"]+)"', email.html)
    # Each score its own link, opening the page in the email's language.
    assert links == [f"https://api.example/pages/demo-store/surveys/t{v}?lang={language}" for v in range(11)] + [
        f"https://api.example/pages/demo-store/surveys/page?lang={language}"]
    for v in (0, 10):
        assert f"https://api.example/pages/demo-store/surveys/t{v}?lang={language}" in email.text
    # The merchant's question: in the language given, else the default language, always escaped.
    if language == "tr":
        assert "Bizi önerir misiniz?" in email.html
    else:
        assert "Recommend &lt;us&gt;?" in email.html and "<us>" not in email.html
    if language == "ar":
        assert 'dir="rtl"' in email.html


def test_a_csat_email_has_five_scores_and_its_own_scale():
    email = render_email(request("ru", "csat"), MERCHANT)
    assert len(re.findall(r'/surveys/t\d', email.html)) == 5
    assert "1 — совсем не доволен, 5 — очень доволен" in email.text


def test_a_survey_email_without_its_survey_is_refused():
    with pytest.raises(ValueError):
        render_email(request("en").model_copy(update={"survey": None}), MERCHANT)


def page(language: str, **fields) -> str:
    context = model.PageContext(shop=model.Shop(merchant_id="demo-store", name="Demo Store"), language=language,
                                languages=["en", "tr", "ar"], now=NOW, token="tok", csrf_token="csrf-1")
    questions = [QuestionView(id="nps", kind="nps", text="Recommend <us>?",
                              choices=[ChoiceView(value=str(v), checked=v == 8) for v in range(11)]),
                 QuestionView(id="heard", kind="single_choice", text="Heard?", error="other_missing",
                              choices=[ChoiceView(value="friend", label="A friend"), ChoiceView(value="other")])]
    return render_survey_page(SurveyPage(context=context, action="/pages/demo-store/surveys/tok",
                                         **{"questions": questions, **fields}), nonce=NONCE)


def test_the_page_in_arabic_is_right_to_left_with_the_form_tokens_and_escaped_questions():
    html = page("ar")
    assert '<html lang="ar" dir="rtl">' in html and "أخبرنا برأيك" in html
    assert "<bdi>Recommend &lt;us&gt;?</bdi>" in html
    assert 'id="q-nps-8" name="q_nps" value="8" checked' in html and html.count(" checked") == 1
    assert "أخرى" in html and "يُرجى وصف إجابتك." in html  # "other" and its error, translated
    assert 'name="csrf_token" value="csrf-1"' in html and 'action="/pages/demo-store/surveys/tok"' in html
    assert f'<style nonce="{NONCE}">' in html and "<script" not in html and "style=" not in html


def test_follow_ups_promoter_detractor_and_the_community():
    promoter = page("tr", thanked=True, promoter_review_url="https://api.example/pages/demo-store/feedback/x",
                    referral_code="AYSE-1234", referral_url="https://demo.example/r/AYSE-1234")
    assert "Teşekkürler! Yanıtlarınız kaydedildi." in promoter and "Değerlendirme yazın" in promoter
    assert 'href="https://api.example/pages/demo-store/feedback/x"' in promoter and "AYSE-1234" in promoter
    detractor = page("ru", detractor_box=True, message_error="required")
    assert "Нам жаль это слышать. Расскажите, что пошло не так:" in detractor
    assert "Пожалуйста, напишите хотя бы несколько слов." in detractor and 'name="message"' in detractor
    finished = page("id", questions=[], finished=True, community_url="https://community.example/join")
    assert "Bergabunglah dengan komunitas kami" in finished and 'href="https://community.example/join"' in finished
    assert 'name="q_nps"' not in finished
    hostile = page("en", questions=[], finished=True, community_url="javascript:alert(1)")
    assert "javascript:" not in hostile
