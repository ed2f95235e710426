"""A customer's support data in their GDPR export and erasure (storage/privacy.py) against moto:
conversations, messages, Message-ID pointers, receipts and CSAT answers are exported and then
deleted, with the raw mail and attachments in the support mail bucket; another customer's stay,
the merchant's support counters stay; a second erasure changes nothing."""
from __future__ import annotations

import json

from tests.integration.test_admin_cli import cli  # noqa: F401  (fixture)
from tests.integration.test_support_inbound import CUSTOMER, MERCHANT, email_bytes, mail  # noqa: F401  (fixture)

OTHER = "other.customer@example.com"
NEVER = "never.ordered@example.com"
WISMO = "Where is my order? Ayşe writing, it is late"
DAMAGE = "My mug from order 1001 arrived broken, photo attached. Ayşe"
PHOTO = b"\xff\xd8\xff\xe0fake-jpeg-of-a-broken-mug"


def api_message(aws, email: str, text: str, **fields) -> dict:
    response = aws.client.post("/v1/support/messages", headers=aws.auth(),
                               body=aws.encode({"email": email, "text": text, **fields}))
    assert response.status_code == 201, response.body
    return response.json_body


def support_history(mail) -> dict:
    """The customer's WISMO (answered, resolved, rated 4), their emailed damage report with a photo,
    and two other people's messages (one by email, so it has S3 objects too)."""
    from postpurchase.support import csat

    aws = mail.aws
    asked = api_message(aws, CUSTOMER, WISMO, order_id="1001")
    assert asked["auto_answered"] is True
    assert mail.receive(email_bytes(DAMAGE, attachment=PHOTO, subject="Broken mug"), "damage") == ["recorded"]
    assert mail.receive(email_bytes("Hello, a question from the other customer", sender=OTHER,
                                    message_id="<o1@mail.example>", subject="Question"), "other") == ["recorded"]
    api_message(aws, NEVER, "A question before I buy: do you ship to Jakarta?")
    cid = asked["conversation_id"]
    assert aws.client.post(f"/v1/support/conversations/{cid}/status", headers=aws.auth(),
                           body=aws.encode({"status": "resolved"})).status_code == 200
    from postpurchase.services import support_store

    resolved = support_store().get(MERCHANT, cid)
    token = csat.score_urls(resolved, aws.clock.now())[4].split("/csat/", 1)[1].split("?", 1)[0]
    assert csat.click(MERCHANT, token, "4", aws.clock.now()) == ("recorded", 4)
    aws.pump.drain()
    return {"wismo": cid}


def mentions(aws, *needles: str) -> list[dict]:
    return [item for item in aws.table_items()
            if any(n.casefold() in json.dumps(item, default=str, ensure_ascii=False).casefold() for n in needles)]


def objects(mail) -> dict[str, bytes]:
    listed = mail.s3.list_objects_v2(Bucket=mail.bucket).get("Contents", [])
    return {o["Key"]: mail.s3.get_object(Bucket=mail.bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_the_export_holds_the_customers_conversations_messages_and_csat(mail):
    from postpurchase.storage.privacy import customer_ids_for, export, find

    support_history(mail)
    found = find(MERCHANT, customer_ids_for("c-1", None), [])
    document = export(found, mail.aws.clock.now())
    items = document["items"]
    assert len(items["support_conversation"]) == 2 and len(items["support_customer"]) == 2
    texts = [m["document"]["text"] for m in items["support_message"]]
    # the two questions, the automated answer and the CSAT survey sent on resolution
    assert WISMO in texts and DAMAGE in texts and len(texts) == 4
    assert sum("csat_survey" in m["document"]["flags"] for m in items["support_message"]) == 1
    assert {c["document"]["customer_email"] for c in items["support_conversation"]} == {CUSTOMER}
    assert [c["score"] for c in items["support_csat"]] == [4]
    assert len(items["support_receipt"]) == 2 and len(items["support_thread"]) >= 2
    [emailed] = [m["document"] for m in items["support_message"] if m["document"]["text"] == DAMAGE]
    assert emailed["raw_key"] == "inbound/damage" and emailed["attachments"][0].startswith("attachments/")
    rendered = json.dumps(document, ensure_ascii=False)
    assert OTHER not in rendered and NEVER not in rendered and "Jakarta" not in rendered

    # Someone who only ever wrote to support is found by the address alone.
    by_address = export(find(MERCHANT, customer_ids_for(None, NEVER), [], emails=[NEVER]), mail.aws.clock.now())
    [conversation] = by_address["items"]["support_conversation"]
    assert conversation["document"]["customer_email"] == NEVER and by_address["order_ids"] == []


def test_erasure_deletes_support_data_and_mail_objects_keeps_counters_and_is_idempotent(mail):
    from postpurchase.storage.privacy import customer_ids_for, erase

    aws = mail.aws
    support_history(mail)
    stored = objects(mail)
    mine = {key for key, body in stored.items() if key == "inbound/damage" or body == PHOTO}
    assert len(mine) == 2 and "inbound/other" in stored
    metrics_before = aws.client.get("/v1/support/metrics", headers=aws.auth()).json_body

    result = erase(MERCHANT, customer_ids_for("c-1", CUSTOMER), [], aws.clock.now(), emails=[CUSTOMER])
    assert result["actions"]["erase_support_message"]["support_message"] == 4  # incl. the CSAT survey
    assert mentions(aws, CUSTOMER, WISMO, DAMAGE, "Broken mug", "q1@mail.example") == []
    assert [t for t in ("support_conversation", "support_message", "support_csat", "support_customer")
            if any(i for i in aws.items_of_type(t) if CUSTOMER in json.dumps(i, default=str))] == []
    left = objects(mail)
    assert not mine & set(left) and PHOTO not in left.values()
    assert "inbound/other" in left  # another customer's mail stays
    assert mentions(aws, OTHER) and mentions(aws, NEVER)  # their conversations too
    assert aws.items_of_type("support_stats")  # the merchant's counters name nobody: kept
    metrics_after = aws.client.get("/v1/support/metrics", headers=aws.auth()).json_body
    assert metrics_after["conversations"] == metrics_before["conversations"]
    assert metrics_after["csat"] == metrics_before["csat"]

    snapshot = [i for i in aws.table_items() if i.get("type") != "privacy_erasure"]
    again = erase(MERCHANT, customer_ids_for("c-1", CUSTOMER), [], aws.clock.now(), emails=[CUSTOMER])
    assert "erase_support_message" not in again["actions"]
    assert [i for i in aws.table_items() if i.get("type") != "privacy_erasure"] == snapshot
    assert objects(mail) == left


def test_the_cli_erases_someone_known_only_by_their_address(mail, cli):  # noqa: F811
    support_history(mail)
    status, dry = cli("customers", "erase", "--merchant", MERCHANT, "--email", NEVER)
    assert status == 0 and dry["would"]["delete"]["support_conversation"] == 1
    status, erased = cli("customers", "erase", "--merchant", MERCHANT, "--email", NEVER, "--yes")
    assert status == 0 and mentions(mail.aws, NEVER, "Jakarta") == []
    assert mentions(mail.aws, CUSTOMER)  # nobody else's data went with it


def test_the_cli_finds_the_support_mail_bucket_in_the_stack(mail, cli, monkeypatch):  # noqa: F811
    from postpurchase import config

    support_history(mail)
    monkeypatch.delenv("SUPPORT_MAIL_BUCKET")  # the operator's shell: only the stack names the bucket
    config.reset()
    status, erased = cli("customers", "erase", "--merchant", MERCHANT, "--customer", "c-1", "--email", CUSTOMER,
                         "--yes")
    assert status == 0, erased
    assert "inbound/damage" not in objects(mail) and PHOTO not in objects(mail).values()
    assert mentions(mail.aws, CUSTOMER, DAMAGE) == []
