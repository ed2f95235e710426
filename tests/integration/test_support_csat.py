"""CSAT one-click recording against moto: once per resolution, counters in the same transaction,
expired and withdrawn links refused with nothing recorded."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

MERCHANT = "demo-store"


def resolved_conversation(aws, cid="c-csat"):
    from postpurchase.storage.support import DynamoSupportStore, Write
    from postpurchase.support import model

    now = aws.clock.now()
    c = model.customer_wrote(model.start(conversation_id=cid, merchant_id=MERCHANT, channel=model.Channel.API,
                                         now=now, customer_email="ayse@example.com"), now=now, intent="other")
    store = DynamoSupportStore()
    store.record(Write(conversation=c, previous_revision=None))
    saved = store.get(MERCHANT, cid)
    done = model.resolve(saved, now=now + timedelta(hours=1))
    store.record(Write(conversation=done, previous_revision=saved.revision, previous=saved))
    return store.get(MERCHANT, cid)


def token_of(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return parsed.path.rsplit("/", 1)[1], parse_qs(parsed.query)["score"][0]


def test_a_click_records_the_score_once_and_counts_it(aws):
    from postpurchase.support import csat

    conversation = resolved_conversation(aws)
    urls = csat.score_urls(conversation, aws.clock.now())
    assert sorted(urls) == [1, 2, 3, 4, 5] and "/pages/demo-store/csat/" in urls[4]
    token, score = token_of(urls[4])
    assert csat.click(MERCHANT, token, score, aws.clock.now()) == ("recorded", 4)
    # The same click again, or another score: the first one stays.
    assert csat.click(MERCHANT, token, "1", aws.clock.now()) == ("already_recorded", 4)
    doc = aws.client.get("/v1/support/metrics", headers=aws.auth()).json_body
    assert doc["csat"] == {"count": 1, "average": 4.0, "scores": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}}


def test_expired_withdrawn_foreign_and_bad_clicks_record_nothing(aws):
    from postpurchase.storage.support import DynamoSupportStore, Write
    from postpurchase.support import csat, model

    conversation = resolved_conversation(aws)
    token, _ = token_of(csat.score_urls(conversation, aws.clock.now())[5])
    later = aws.clock.now() + timedelta(days=7, hours=2)
    assert csat.click(MERCHANT, token, "5", later) == ("expired", None)
    assert csat.click("other-store", token, "5", aws.clock.now()) == ("not_found", None)
    assert csat.click(MERCHANT, token + "x", "5", aws.clock.now()) == ("not_found", None)
    assert csat.click(MERCHANT, token, "9", aws.clock.now()) == ("bad_score", None)
    reopened = model.customer_wrote(conversation, now=aws.clock.now() + timedelta(hours=2))
    DynamoSupportStore().record(Write(conversation=reopened, previous_revision=conversation.revision,
                                      previous=conversation))
    assert csat.click(MERCHANT, token, "5", aws.clock.now() + timedelta(hours=3)) == ("withdrawn", None)
    assert aws.client.get("/v1/support/metrics", headers=aws.auth()).json_body["csat"]["count"] == 0


def test_the_page_thanks_in_the_customers_language_and_refuses_late_and_reopened_clicks(aws):
    from postpurchase.storage.support import DynamoSupportStore, Write
    from postpurchase.support import csat, model

    conversation = resolved_conversation(aws)
    conversation = conversation.model_copy(update={"language": "tr"})
    url = csat.score_urls(conversation, aws.clock.now())[5]
    path = url.removeprefix("https://shop.test")
    page = aws.client.get(path)
    assert page.status_code == 200, page.body
    body = page.body.decode() if isinstance(page.body, bytes) else page.body
    assert "Geri bildiriminiz için teşekkürler" in body and 'lang="tr"' in body
    assert aws.client.get(path.replace("score=5", "score=7")).status_code == 400
    assert aws.client.get(path.replace("/csat/", "/csat/x")).status_code == 404

    other = resolved_conversation(aws, "c-csat-2")
    late = csat.score_urls(other, aws.clock.now() - timedelta(days=8))[3].removeprefix("https://shop.test")
    expired = aws.client.get(late + "&lang=ar")
    assert expired.status_code == 410 and 'dir="rtl"' in expired.body.decode()
    reopened = model.customer_wrote(other, now=aws.clock.now())
    DynamoSupportStore().record(Write(conversation=reopened, previous_revision=other.revision, previous=other))
    fresh = csat.score_urls(other, aws.clock.now())[3].removeprefix("https://shop.test")
    assert aws.client.get(fresh).status_code == 409
    assert aws.client.get("/v1/support/metrics", headers=aws.auth()).json_body["csat"]["count"] == 1
