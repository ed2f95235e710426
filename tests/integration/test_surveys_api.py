"""Post-purchase surveys through the real handlers on moto: the merchant API (definitions,
results from counters), one-click answers from the email, the survey page (form, promoter and
detractor follow-ups, community), the signed `survey.detractor` webhook, the email scheduled
after delivery through the communication calendar, and the order page's invitation."""
from __future__ import annotations

import html as html_lib
import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

import pytest

from test_returns_api import Receiver, allow_http_webhooks

from infra.aws_requests import count_aws_requests
from infra.local.runtime import load_function_module

M = "demo-store"
HOST = "shop.example"
SID = "post-purchase"


def definition(**changes) -> dict:
    data = {
        "audience": ["first_order", "repeat_customer"],
        "timing": {"channel": "email", "days_after": 3},
        "questions": [
            {"id": "nps", "kind": "nps", "text": {"en": "How likely are you to recommend us to a friend?",
                                                  "tr": "Bizi bir arkadaşınıza önerme olasılığınız nedir?"}},
            {"id": "csat", "kind": "csat", "text": {"en": "How satisfied are you with your order?"}},
            {"id": "heard", "kind": "single_choice", "text": {"en": "How did you hear about us?"}, "other": True,
             "options": [{"id": "instagram", "text": {"en": "Instagram"}},
                         {"id": "friend", "text": {"en": "A friend", "tr": "Bir arkadaş"}},
                         {"id": "search", "text": {"en": "A search engine"}}]},
        ],
        "community_url": "https://community.demo-store.example/join",
    }
    data.update(changes)
    return data


def put(aws, body: dict | bytes, survey_id: str = SID, api_key: str | None = None):
    return aws.client.put(f"/v1/surveys/{survey_id}", headers=aws.auth(api_key),
                          body=body if isinstance(body, bytes) else aws.encode(body))


def results(aws, survey_id: str = SID, api_key: str | None = None, **query):
    path = f"/v1/surveys/{survey_id}/results" + (f"?{urlencode(query)}" if query else "")
    return aws.client.get(path, headers=aws.auth(api_key))


def question(aws, question_id: str, survey_id: str = SID) -> dict:
    response = results(aws, survey_id)
    assert response.status_code == 200, response.body
    return next(q for q in response.json_body["questions"] if q["question_id"] == question_id)


def respondent(customer: str = "c-1", order: str = "1001", sku: str = "MUG-1", survey_id: str = SID):
    from postpurchase.surveys.service import Respondent

    return Respondent(M, survey_id, customer, order, sku)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def click(aws, who, question_id: str, value: str, **query):
    from postpurchase.surveys.links import answer_url

    url = path_of(answer_url(who, question_id, value, aws.clock.now()))
    return aws.client.get(url + (f"?{urlencode(query)}" if query else ""), headers={"Host": HOST})


def open_page(aws, who, **query):
    from postpurchase.surveys.links import page_url

    url = path_of(page_url(who, aws.clock.now()))
    return aws.client.get(url + (f"?{urlencode(query)}" if query else ""), headers={"Host": HOST})


def text(response) -> str:
    return response.body.decode() if isinstance(response.body, bytes) else response.body


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    assert match, name
    return html_lib.unescape(match.group(1))


def action(page: str) -> str:
    match = re.search(r'<form method="post" action="([^"]+)"', page)
    assert match
    return html_lib.unescape(match.group(1))


def submit(aws, page: str, fields: dict, *, origin: str | None = f"https://{HOST}", csrf: str | None = None):
    body = {"token": field(page, "token"), "csrf_token": csrf or field(page, "csrf_token"),
            "lang": field(page, "lang"), **fields}
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": HOST}
    if origin:
        headers["Origin"] = origin
    return aws.client.post(action(page), headers=headers, body=urlencode(body).encode())


def place(aws, order_id: str = "1001", **fields) -> None:
    assert aws.post_order(aws.api_order(order_id, aws.clock.now(), **fields)).status_code == 202
    aws.pump_queue("OrderEventsQueue")
    aws.pump_queue("OutboundEmailQueue")


@pytest.fixture
def receiver(aws, monkeypatch):
    allow_http_webhooks(monkeypatch)
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


# --- definitions ------------------------------------------------------------------------------------


def test_a_merchant_defines_replaces_and_lists_surveys(aws):
    created = put(aws, definition())
    assert created.status_code == 201, created.body
    body = created.json_body
    assert (body["survey_id"], body["version"], body["default_language"], body["active"]) == (SID, 1, "en", True)
    assert body["fallback_languages"] == ["id", "th", "tr", "ar", "ru"]  # shown in English where not given
    assert "merchant_id" not in body
    replaced = put(aws, definition(active=False))
    assert replaced.status_code == 200 and replaced.json_body["version"] == 2
    listed = aws.client.get("/v1/surveys", headers=aws.auth())
    assert listed.status_code == 200
    assert [(s["survey_id"], s["version"], s["active"]) for s in listed.json_body["items"]] == [(SID, 2, False)]


@pytest.mark.parametrize("body, field_name", [
    (definition(questions=[{"id": "nps", "kind": "nps", "text": {"tr": "Önerir misiniz?"}}]), "questions[0].text.en"),
    (definition(timing={"channel": "email"}), "timing"),
    (definition(audience=["everyone"]), "audience[0]"),
    (definition(community_url="javascript:alert(1)"), "community_url"),
    ({"questions": "x"}, "audience"),
])
def test_a_bad_definition_is_a_400_naming_the_field(aws, body, field_name):
    response = put(aws, body)
    assert response.status_code == 400, response.body
    assert response.json_body["error"]["code"] == "validation_error"
    assert response.json_body["error"]["field"] == field_name


def test_bad_bodies_ids_and_kind_changes_are_refused_clearly(aws):
    assert put(aws, b"[1]").status_code == 400
    assert put(aws, b"{").json_body["error"]["code"] == "malformed_json"
    bad_id = put(aws, definition(), survey_id="Not%20OK")
    assert bad_id.status_code == 400 and bad_id.json_body["error"]["field"] == "survey_id"
    assert put(aws, definition()).status_code == 201
    changed = put(aws, definition(questions=[{"id": "nps", "kind": "csat", "text": {"en": "Happy?"}}]))
    assert changed.status_code == 409 and changed.json_body["error"]["field"] == "questions"


def test_surveys_need_the_merchant_key_and_stay_the_merchants_own(aws, other_store):
    assert aws.client.get("/v1/surveys").status_code == 401
    assert put(aws, definition(), api_key="wrong").status_code == 401
    assert put(aws, definition()).status_code == 201
    assert aws.client.get("/v1/surveys", headers=aws.auth(other_store)).json_body == {"items": []}
    assert results(aws, api_key=other_store).status_code == 404
    # The same survey id is another merchant's own survey: A's stays as it was.
    theirs = put(aws, definition(questions=[{"id": "q", "kind": "csat", "text": {"en": "Other shop?"}}]),
                 api_key=other_store)
    assert theirs.status_code == 201 and theirs.json_body["version"] == 1
    assert [q["question_id"] for q in results(aws).json_body["questions"]] == ["nps", "csat", "heard"]
    assert [q["question_id"] for q in results(aws, api_key=other_store).json_body["questions"]] == ["q"]
    assert results(aws, survey_id="nope").status_code == 404
    assert results(aws, lang="xx").json_body["error"]["field"] == "lang"


# --- one-click answers and results ------------------------------------------------------------------


def test_a_one_click_answer_is_recorded_once_and_the_page_shows_the_rest(aws):
    assert put(aws, definition()).status_code == 201
    who = respondent()
    first = click(aws, who, "nps", "9", lang="tr")
    assert first.status_code == 200, text(first)
    page = text(first)
    assert 'id="survey-thanks"' in page and 'lang="tr"' in page
    assert 'id="question-nps"' not in page and 'id="question-csat"' in page and 'id="question-heard"' in page
    assert "Bir arkadaş" in page and "Instagram" in page  # Turkish where given, English otherwise
    assert click(aws, who, "nps", "9").status_code == 200  # the same click again (a mail scanner, a reload)
    nps = question(aws, "nps")
    assert (nps["responses"], nps["counts"]["9"], nps["promoters"], nps["nps"]) == (1, 1, 1, 100.0)

    # A change of mind within the window moves the answer; it is still one response.
    aws.clock.advance(timedelta(days=2))
    assert click(aws, who, "nps", "3").status_code == 200
    nps = question(aws, "nps")
    assert (nps["responses"], nps["counts"]["9"], nps["counts"]["3"], nps["nps"]) == (1, 0, 1, -100.0)
    # After it the answer is final: the page still opens, nothing changes.
    aws.clock.advance(timedelta(days=6))
    assert click(aws, who, "nps", "10").status_code == 200
    assert question(aws, "nps")["counts"]["3"] == 1 and question(aws, "nps")["counts"]["10"] == 0


def test_results_come_from_counters_in_one_query(aws):
    assert put(aws, definition()).status_code == 201
    for n, score in enumerate(["10", "9", "8", "6", "0"]):
        assert click(aws, respondent(f"c-{n}", f"10{n}"), "nps", score).status_code == 200
    for n, score in enumerate(["5", "4", "2"]):
        assert click(aws, respondent(f"c-{n}", f"10{n}"), "csat", score).status_code == 200
    with count_aws_requests() as requests:
        response = results(aws)
    assert response.status_code == 200
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    nps, csat, heard = response.json_body["questions"]
    assert (nps["responses"], nps["promoters"], nps["passives"], nps["detractors"], nps["nps"]) == (5, 2, 1, 2, 0.0)
    assert (csat["responses"], csat["average"], csat["satisfied_percent"]) == (3, 3.67, 66.7)
    assert heard["responses"] == 0 and [o["count"] for o in heard["options"]] == [0, 0, 0, 0]


def test_the_page_form_records_answers_with_other_text_and_closes_with_the_community(aws):
    assert put(aws, definition()).status_code == 201
    who = respondent()
    page = text(open_page(aws, who))
    assert submit(aws, page, {"q_nps": "7"}, csrf="forged").status_code == 403
    assert submit(aws, page, {"q_nps": "7"}, origin="https://evil.example").status_code == 403
    missing = submit(aws, page, {"q_nps": "7", "q_heard": "other"})
    assert missing.status_code == 422 and 'id="error-heard"' in text(missing)
    assert question(aws, "nps")["responses"] == 0  # nothing stored from a refused form
    bad = submit(aws, page, {"q_nps": "12"})
    assert bad.status_code == 422 and 'id="error-nps"' in text(bad)
    nothing = submit(aws, page, {})
    assert nothing.status_code == 422 and 'id="error-nps"' in text(nothing)

    done = submit(aws, page, {"q_nps": "7", "q_csat": "4", "q_heard": "other", "q_heard_other": "A podcast"})
    assert done.status_code == 200, text(done)
    finished = text(done)
    assert 'id="survey-finished"' in finished and 'href="https://community.demo-store.example/join"' in finished
    assert 'id="survey-promoter"' not in finished and 'id="survey-detractor"' not in finished  # a passive
    assert question(aws, "heard")["options"][-1] == {"option_id": "other", "text": None, "count": 1}
    item = aws.item(f"M#{M}#SURVEY#{SID}#R#c-1", "A#heard")
    assert (item["value"], item["other_text"], item["order_id"]) == ("other", "A podcast", "1001")
    # The same form again: already answered, counted once.
    assert submit(aws, page, {"q_nps": "7"}).status_code == 200
    assert question(aws, "nps")["responses"] == 1


def test_a_forged_expired_or_other_shops_link_gets_the_error_page(aws, other_store):
    from postpurchase.security.tokens import sign_claims

    assert put(aws, definition()).status_code == 201
    assert aws.client.get(f"/pages/{M}/surveys/forged", headers={"Host": HOST}).status_code == 404
    other = sign_claims(aws.link_keys, "survey", ["other-store", SID, "c-1", "1001", ""],
                        aws.clock.now() + timedelta(days=1))
    assert aws.client.get(f"/pages/{M}/surveys/{other}", headers={"Host": HOST}).status_code == 404
    from postpurchase.surveys.links import answer_url

    who = respondent()
    url = path_of(answer_url(who, "nps", "9", aws.clock.now()))
    assert aws.client.get(url, headers={"Host": HOST}).status_code == 200
    aws.clock.advance(timedelta(days=61))
    assert aws.client.get(url, headers={"Host": HOST}).status_code == 404  # links expire
    assert put(aws, definition(active=False)).status_code == 200
    assert open_page(aws, who).status_code == 404  # a survey switched off is closed


# --- after the answer --------------------------------------------------------------------------------


def test_a_promoter_is_invited_to_review_and_to_refer(aws):
    assert put(aws, definition()).status_code == 201
    place(aws)  # the customer c-1 exists
    plain = text(click(aws, respondent("c-9", "1009"), "nps", "10"))
    assert 'id="survey-promoter"' in plain and f"/pages/{M}/feedback/" in plain
    assert 'class="code"' not in plain  # no referral programme: no code
    settings = aws.client.put("/v1/settings/referrals", headers=aws.auth(), body=aws.encode(
        {"friend_reward": {"discount_type": "percent", "value": "10"}}))
    assert settings.status_code == 200, settings.body
    page = text(click(aws, respondent(), "nps", "9"))
    code = re.search(r'<span class="code" lang="en" dir="ltr">([^<]+)</span>', page)
    assert code and 'id="survey-detractor"' not in page
    referral = aws.client.get("/v1/customers/c-1/referral", headers=aws.auth())
    assert referral.status_code == 200 and referral.json_body["code"] == code.group(1)


def configure_webhook(aws, url: str) -> str:
    response = aws.client.put("/v1/settings/webhooks", headers=aws.auth(), body=aws.encode({"feedback_url": url}))
    assert response.status_code == 200, response.body
    return response.json_body["secret"]


def test_a_detractor_says_what_went_wrong_and_the_merchant_gets_one_signed_webhook(aws, receiver):
    from postpurchase.returns.handoff import verify_signature

    secret = configure_webhook(aws, receiver.url)
    place(aws)
    assert put(aws, definition()).status_code == 201
    page = text(click(aws, respondent(), "nps", "2"))
    assert 'id="survey-detractor"' in page and 'id="survey-promoter"' not in page
    empty = submit(aws, page, {"message": "   "})
    assert empty.status_code == 422 and 'id="message-error"' in text(empty)
    sent = submit(aws, page, {"message": "The mug arrived broken."})
    assert sent.status_code == 200 and 'id="survey-detractor-sent"' in text(sent)
    assert submit(aws, page, {"message": "Second thoughts"}).status_code == 200  # kept once
    aws.pump_queue("ReturnEventsQueue")
    # The detractor's message also opens a support conversation, announced as support.conversation.created.
    [(headers, body)] = [(h, b) for h, b in receiver.requests if json.loads(b)["type"] == "survey.detractor"]
    assert [json.loads(b)["order_id"] for _, b in receiver.requests
            if json.loads(b)["type"] == "support.conversation.created"] == ["1001"]
    assert verify_signature(secret, headers["x-postpurchase-signature"], body, aws.clock.now())
    assert headers["x-postpurchase-delivery"] == f"survey:{SID}:c-1"
    event = json.loads(body)
    assert (event["type"], event["survey_id"], event["customer_id"], event["order_id"], event["score"],
            event["message"]) == ("survey.detractor", SID, "c-1", "1001", 2, "The mug arrived broken.")
    assert aws.queue_depth("ReturnEventsQueue") == 0 and aws.queue_depth("ReturnEventsDLQ") == 0
    # ... and the shop's staff have it as a support conversation with the order, once, for a person.
    from postpurchase.storage.support import DynamoSupportStore

    conversations, _ = DynamoSupportStore().page(aws.credentials.merchant_id, "open", limit=50, cursor=None)
    [conversation] = [c for c in conversations if c.order_id == "1001"]
    assert conversation.needs_human and conversation.intent == "damaged_wrong_item" and conversation.messages == 1
    assert conversation.customer_email == "ayse.yilmaz@example.com"


def test_a_redelivered_detractor_webhook_is_posted_once(aws, receiver):
    from postpurchase.surveys.followup import DetractorFollowUp
    from postpurchase.surveys.messages import DeliverSurveyWebhook

    configure_webhook(aws, receiver.url)
    follow_up = DetractorFollowUp(M, SID, "c-1", "1001", 4, "Late", aws.clock.now())
    message = DeliverSurveyWebhook(merchant_id=M, order_id="1001", survey_id=SID, customer_id="c-1",
                                   body=follow_up.webhook_body()).model_dump_json()
    aws.send("ReturnEventsQueue", message)
    aws.send("ReturnEventsQueue", message)  # SQS delivers at least once
    aws.send("ReturnEventsQueue", json.dumps({"type": "DeliverSurveyWebhook", "merchant_id": M}))  # poison
    for _ in range(8):
        aws.pump_queue("ReturnEventsQueue")
    assert len(receiver.requests) == 1
    assert aws.queue_depth("ReturnEventsDLQ") == 1  # only the poison message


# --- the email, through the communication calendar ---------------------------------------------------


def sweep(aws, scheduler) -> None:
    for _ in range(400):
        if aws.invoke(scheduler, {})["caught_up"]:
            return
    raise AssertionError("the scheduler never caught up")


def deliver(aws, order_id: str = "1001") -> None:
    from postpurchase import services
    from postpurchase.orders.reactions import after_order_delivered

    services.order_store().record_delivery(M, order_id, aws.clock.now())
    after_order_delivered(M, order_id, aws.clock.now(), aws.clock.now())


def test_the_survey_email_goes_days_after_delivery_and_its_scores_answer_in_one_click(aws):
    scheduler = load_function_module("functions/message_scheduler", "fn_message_scheduler")
    assert put(aws, definition()).status_code == 201
    place(aws)
    deliver(aws)
    item = aws.item(f"M#{M}#O#1001", f"SCHED#survey#survey-{SID}")
    # 3 days after delivery, on the local morning (10:00 in Istanbul, UTC+3).
    assert item["status"] == "pending" and item["due_at"].startswith("2026-11-23T07:00:00")
    aws.clock.set(datetime(2026, 11, 23, 7, 1, tzinfo=timezone.utc))
    sweep(aws, scheduler)
    aws.pump_queue("OutboundEmailQueue")
    [email] = [m for m in aws.sent_emails() if m["X-Postpurchase-Message"] == f"{M}/survey#survey-{SID}"]
    assert email["Subject"] == "Demo Store size kısa bir soru soruyor"  # the customer's language (tr-TR)
    assert email["List-Unsubscribe"]  # marketing mail: one-click unsubscribe
    html = email.get_body(("html",)).get_content()
    assert "Bizi bir arkadaşınıza önerme olasılığınız nedir?" in html
    links = re.findall(r'href="(https?://[^"]+/pages/demo-store/surveys/[^"]+)"', html)
    assert len(links) == 12  # 0..10, then the whole survey
    assert aws.item(f"M#{M}#O#1001", f"SCHED#survey#survey-{SID}")["status"] == "sent"

    answered = aws.client.get(path_of(html_lib.unescape(links[10])), headers={"Host": HOST})
    assert answered.status_code == 200 and 'id="survey-promoter"' in text(answered)
    assert 'lang="tr"' in text(answered)  # the page opens in the email's language
    assert question(aws, "nps")["counts"]["10"] == 1

    # The customer's next order: the survey was answered, so its email is cancelled, not sent.
    place(aws, "1002")
    deliver(aws, "1002")
    aws.clock.advance(timedelta(days=4))
    sweep(aws, scheduler)
    aws.pump_queue("OutboundEmailQueue")
    second = aws.item(f"M#{M}#O#1002", f"SCHED#survey#survey-{SID}")
    assert (second["status"], second["reason"]) == ("cancelled", "survey_closed_or_answered")
    assert len([m for m in aws.sent_emails() if m["X-Postpurchase-Message"] == f"{M}/survey#survey-{SID}"]) == 1


def test_a_cancelled_order_cancels_its_survey_email_and_other_audiences_get_none(aws):
    assert put(aws, definition(audience=["repeat_customer"])).status_code == 201
    place(aws)
    deliver(aws)
    assert aws.item(f"M#{M}#O#1001", f"SCHED#survey#survey-{SID}") is None  # a first order
    assert put(aws, definition(), survey_id="everyone").status_code == 201
    place(aws, "1002")
    deliver(aws, "1002")
    from postpurchase.orders.reactions import after_order_cancelled

    after_order_cancelled(M, "1002", aws.clock.now())
    for survey_id in (SID, "everyone"):
        item = aws.item(f"M#{M}#O#1002", f"SCHED#survey#survey-{survey_id}")
        assert (item["status"], item["reason"]) == ("cancelled", "order_cancelled")


# --- the order page ----------------------------------------------------------------------------------


def test_the_order_page_invites_to_an_order_page_survey_right_after_purchase(aws):
    from postpurchase.security.tokens import sign_order_token

    place(aws)
    token = sign_order_token(aws.link_keys, M, "1001", aws.clock.now() + timedelta(days=1))
    before = text(aws.client.get(f"/pages/{M}/orders/1001?token={token}", headers={"Host": HOST}))
    assert 'id="order-survey"' not in before
    assert put(aws, definition(timing={"channel": "order_page"}, audience=["first_order"])).status_code == 201
    with count_aws_requests() as requests:
        page = text(aws.client.get(f"/pages/{M}/orders/1001?token={token}", headers={"Host": HOST}))
    assert dict(requests).get(("DynamoDB", "Query"), 0) <= 2  # the order (+ the surveys, cached per container)
    link = re.search(r'<div class="card" id="order-survey">.*?href="([^"]+)"', page, re.S)
    assert link
    survey = aws.client.get(html_lib.unescape(link.group(1)), headers={"Host": HOST})
    assert survey.status_code == 200 and 'id="question-nps"' in text(survey)


# --- erasure (GDPR) ------------------------------------------------------------------------------


def test_erasing_a_customer_deletes_their_answers_and_message_but_keeps_the_counts(aws):
    from postpurchase.storage.privacy import erase

    assert put(aws, definition()).status_code == 201
    place(aws)
    page = text(click(aws, respondent(), "nps", "2"))
    assert submit(aws, page, {"message": "Broken, and I am Ayşe Yılmaz"}).status_code == 200
    assert click(aws, respondent("c-2", "1002"), "nps", "10").status_code == 200
    partition = f"M#{M}#SURVEY#{SID}#R#c-1"
    assert aws.item(partition, "A#nps") and aws.item(partition, "DETRACTOR")
    erase(M, ["c-1"], [], aws.clock.now())
    assert aws.item(partition, "A#nps") is None and aws.item(partition, "DETRACTOR") is None
    assert aws.item(f"M#{M}#SURVEY#{SID}#R#c-2", "A#nps")  # another customer's answer stays
    nps = question(aws, "nps")
    assert (nps["responses"], nps["detractors"], nps["promoters"]) == (2, 1, 1)  # the counts name nobody
