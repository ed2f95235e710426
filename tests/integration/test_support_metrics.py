"""Support metrics against moto: counters move in the conversation's own transaction, a replayed
write counts nothing, and GET /v1/support/metrics reads the window in one Query."""
from __future__ import annotations

from datetime import timedelta

import pytest

from infra.aws_requests import count_aws_requests

MERCHANT = "demo-store"


def conversation(aws, cid: str, intent: str, at):
    from postpurchase.support import model

    c = model.start(conversation_id=cid, merchant_id=MERCHANT, channel=model.Channel.API, now=at,
                    customer_email="ayse@example.com")
    return model.customer_wrote(c, now=at, intent=intent, confidence=0.9)


def save(previous, current, receipt=None):
    from postpurchase.storage.support import DynamoSupportStore, Write

    saved = DynamoSupportStore().get(MERCHANT, current.conversation_id) if previous is not None else None
    DynamoSupportStore().record(Write(conversation=current, previous=previous, receipt=receipt,
                                      previous_revision=saved.revision if saved else None))
    return DynamoSupportStore().get(MERCHANT, current.conversation_id)


def test_counts_follow_the_conversations_and_the_api_reads_them_in_one_query(aws):
    from postpurchase.storage.support import AlreadyRecorded
    from postpurchase.support import model

    start = aws.clock.now() - timedelta(days=6)
    wismo = conversation(aws, "c-wismo", "where_is_my_order", start)
    stored = save(None, wismo, receipt="api:1")
    answered = save(stored, model.auto_replied(stored, now=start + timedelta(minutes=2)))
    damaged = save(None, conversation(aws, "c-damaged", "damaged_wrong_item", start + timedelta(hours=1)))
    human = save(damaged, model.merchant_replied(damaged, now=start + timedelta(hours=3)))
    # The same inbound message again: its receipt refuses the write, nothing is counted twice.
    with pytest.raises(AlreadyRecorded):
        save(None, conversation(aws, "c-wismo-2", "where_is_my_order", start), receipt="api:1")
    assert answered.first_response_at and human.first_response_at

    assert aws.client.get("/v1/support/metrics", headers=aws.auth()).status_code == 200  # warm caches
    with count_aws_requests() as requests:
        response = aws.client.get("/v1/support/metrics?days=30", headers=aws.auth())
    assert response.status_code == 200, response.json_body
    assert dict(requests) == {("DynamoDB", "Query"): 1}
    doc = response.json_body
    assert doc["conversations"] == 2
    assert doc["wismo"] == {"count": 1, "share": 0.5}
    assert doc["automated"]["count"] == 1 and doc["automated"]["share"] == 0.5  # six days old: settled
    assert doc["first_response"]["count"] == 2
    assert doc["first_response"]["median_seconds_at_most"] == 300
    assert doc["first_response"]["p90_seconds_at_most"] == 7200  # two hours exactly: the 2 h bucket


@pytest.mark.parametrize("days", ["0", "abc", "367", "-1"])
def test_bad_days_is_a_400_naming_the_field(aws, days):
    response = aws.client.get(f"/v1/support/metrics?days={days}", headers=aws.auth())
    assert response.status_code == 400
    assert response.json_body["error"]["field"] == "days" if "error" in response.json_body else \
        response.json_body.get("field") == "days"


def test_another_merchants_counters_are_not_read(aws):
    from postpurchase.storage.support_metrics import SupportStatsRecord, day_sk, stats_pk

    SupportStatsRecord(stats_pk("other-store"), day_sk(aws.clock.now().date()), conversations=9).save()
    assert aws.client.get("/v1/support/metrics", headers=aws.auth()).json_body["conversations"] == 0
    assert aws.client.get("/v1/support/metrics").status_code == 401
