"""The demo's survey step: the merchant defines a post-purchase survey, two customers answer it
from the email's one-click links (Ayşe a promoter, Dmitri a detractor who says what went wrong),
and the merchant reads the NPS from the counters."""
from __future__ import annotations

import html
import re
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

SURVEY_ID = "after-delivery"
SURVEY = {
    "audience": ["first_order", "repeat_customer"],
    "timing": {"channel": "email", "days_after": 3},
    "questions": [
        {"id": "nps", "kind": "nps", "text": {
            "en": "How likely are you to recommend Demo Store to a friend?",
            "tr": "Demo Store'u bir arkadaşınıza önerme olasılığınız nedir?",
            "ru": "Насколько вероятно, что вы порекомендуете Demo Store другу?"}},
        {"id": "heard", "kind": "single_choice", "other": True, "text": {
            "en": "How did you hear about us?", "tr": "Bizi nereden duydunuz?", "ru": "Как вы о нас узнали?"},
         "options": [{"id": "instagram", "text": {"en": "Instagram"}},
                     {"id": "friend", "text": {"en": "A friend", "tr": "Bir arkadaş", "ru": "От друга"}}]},
    ],
    "community_url": "https://community.demo-store.example/join",
}


def _get(demo, url: str) -> tuple[int, str]:
    parts = urlsplit(url)
    try:
        with urllib.request.urlopen(demo.base_url + parts.path + (f"?{parts.query}" if parts.query else ""),
                                    timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _post_form(demo, page: str, fields: dict) -> tuple[int, str]:
    def value(name: str) -> str:
        found = re.search(rf'name="{name}" value="([^"]*)"', page)
        return html.unescape(found.group(1)) if found else ""

    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page).group(1))
    body = urlencode({"token": value("token"), "csrf_token": value("csrf_token"), "lang": value("lang"),
                      **fields}).encode()
    request = urllib.request.Request(demo.base_url + action, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Origin": demo.base_url})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def surveys(demo) -> None:
    from infra.local.merchant_endpoint import MerchantEndpoint

    endpoint = MerchantEndpoint()  # the merchant's helpdesk: survey.detractor arrives here
    try:
        _surveys(demo, endpoint)
    finally:
        endpoint.stop()


def _surveys(demo, endpoint) -> None:
    from postpurchase.returns.handoff import verify_signature
    from postpurchase.surveys.links import answer_url
    from postpurchase.surveys.service import Respondent

    merchant = demo.runtime.credentials.merchant_id
    _, hook = demo.merchant("PUT", "/v1/settings/webhooks", {"feedback_url": endpoint.start()})
    demo.step("The merchant defines a post-purchase survey: NPS, then 'how did you hear about us?'")
    status, survey = demo.merchant("PUT", f"/v1/surveys/{SURVEY_ID}", SURVEY)
    demo.check("the survey is stored (text falls back to English where not given: "
               f"{', '.join(survey.get('fallback_languages', []))})", status == 201)

    demo.step("Two customers answer from the survey email's one-click score links")
    now = demo.clock.now()
    ayse = Respondent(merchant, SURVEY_ID, "c-ayse", "A-1004", "MUG-1")
    dmitri = Respondent(merchant, SURVEY_ID, "c-dmitri", "A-1002", "TEE-2")
    status, page = _get(demo, answer_url(ayse, "nps", "10", now))
    demo.check("Ayşe taps 10: a promoter, invited to review her mug", status == 200 and 'id="survey-promoter"' in page
               and "/feedback/" in page)
    _get(demo, answer_url(ayse, "nps", "10", now))  # the same tap again counts once
    status, page = _get(demo, answer_url(dmitri, "nps", "3", now))
    demo.check("Dmitri taps 3: a detractor, asked what went wrong (in Russian)",
               status == 200 and 'id="survey-detractor"' in page and 'lang="ru' in page)
    status, page = _post_form(demo, page, {"message": "Футболка пришла не того размера."})
    demo.check("his message is kept for the shop", status == 200 and 'id="survey-detractor-sent"' in page)
    demo.settle()
    # Only the survey's: the endpoint also receives other feedback webhooks (e.g. a rating's retry).
    posted = [d for d in endpoint.deliveries if d.status == 200 and (d.json or {}).get("type") == "survey.detractor"]
    others = sorted({(d.json or {}).get("type") for d in endpoint.deliveries} - {"survey.detractor"})
    if others:
        print(f"    (the endpoint also got: {', '.join(map(str, others))})")
    demo.check("the merchant got one signed survey.detractor webhook with his message",
               len(posted) == 1 and posted[0].json.get("type") == "survey.detractor"
               and posted[0].json.get("score") == 3 and "размера" in posted[0].json.get("message", "")
               and verify_signature(hook.get("secret"), posted[0].headers.get("x-postpurchase-signature"),
                                    posted[0].body, demo.clock.now()))

    status, results = demo.merchant("GET", f"/v1/surveys/{SURVEY_ID}/results")
    nps = next((q for q in results.get("questions", []) if q["question_id"] == "nps"), {})
    print(f"    NPS {nps.get('nps')}: {nps.get('promoters')} promoter(s), {nps.get('passives')} passive(s), "
          f"{nps.get('detractors')} detractor(s) of {nps.get('responses')} responses")
    demo.check("the NPS is read from the counters: (1 promoter - 1 detractor) / 2 = 0",
               status == 200 and nps.get("responses") == 2 and nps.get("nps") == 0.0)
