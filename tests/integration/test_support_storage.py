"""Support conversations on the table (moto): one-Query thread, list by status, Message-ID
lookup, receipts against redelivery, revision checks against lost updates."""
from datetime import datetime, timedelta, timezone

import pytest

from postpurchase.support import model
from postpurchase.support.model import Author, Channel, Direction, Status, SupportMessage

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def store():
    from postpurchase.storage.support import DynamoSupportStore

    return DynamoSupportStore()


def first_write(conversation_id: str, at: datetime, identity: str, merchant: str = "demo-store"):
    from postpurchase.storage.support import StoredMessage, Write

    conversation = model.customer_wrote(model.start(conversation_id=conversation_id, merchant_id=merchant,
                                                    channel=Channel.EMAIL, now=at, customer_email="a@b.example"),
                                        now=at)
    message = SupportMessage(message_id="m1", conversation_id=conversation_id, merchant_id=merchant,
                             direction=Direction.IN, author=Author.CUSTOMER, text="where is my order?",
                             created_at=at, email_message_id=f"<{conversation_id}@mail.example>")
    return Write(conversation, None, messages=(StoredMessage(message),),
                 thread_ids=((message.email_message_id, "in"),), receipt=identity, receipt_message_id="m1")


def test_a_thread_is_one_partition_and_a_message_id_finds_it(aws):
    store().record(first_write("c1", NOW, "s3://mail/1"))
    conversation, messages = store().thread("demo-store", "c1")
    assert conversation.status is Status.OPEN and conversation.revision == 1
    assert [stored.message.text for stored in messages] == ["where is my order?"]
    assert store().conversations_for("demo-store", ["<c1@mail.example>", "<other@x>"]) == {"<c1@mail.example>": "c1"}
    assert store().conversations_for("other-store", ["<c1@mail.example>"]) == {}
    assert store().thread("other-store", "c1") is None


def test_a_redelivered_message_is_found_by_its_receipt(aws):
    from postpurchase.storage.support import AlreadyRecorded

    store().record(first_write("c1", NOW, "s3://mail/1"))
    with pytest.raises(AlreadyRecorded):
        store().record(first_write("c1", NOW, "s3://mail/1"))
    assert store().receipt("demo-store", "s3://mail/1") == ("c1", "m1")


def test_a_stale_revision_loses(aws):
    from postpurchase.storage.support import StaleConversation, Write

    store().record(first_write("c1", NOW, "s3://mail/1"))
    current = store().get("demo-store", "c1")
    store().record(Write(model.resolve(current, now=NOW), previous_revision=current.revision))
    with pytest.raises(StaleConversation):
        store().record(Write(model.assign(current, "ayse", now=NOW), previous_revision=current.revision))


def test_the_list_by_status_is_newest_first_and_pages(aws):
    from postpurchase.errors import InvalidInput
    from postpurchase.storage.support import Write

    for n in range(3):
        store().record(first_write(f"c{n}", NOW + timedelta(minutes=n), f"s3://mail/{n}"))
    resolved = store().get("demo-store", "c1")
    store().record(Write(model.resolve(resolved, now=NOW + timedelta(hours=1)), previous_revision=resolved.revision))
    first, cursor = store().page("demo-store", "open", limit=1, cursor=None)
    assert [c.conversation_id for c in first] == ["c2"] and cursor
    second, _ = store().page("demo-store", "open", limit=1, cursor=cursor)
    assert [c.conversation_id for c in second] == ["c0"]
    assert [c.conversation_id for c in store().page("demo-store", "resolved", limit=10, cursor=None)[0]] == ["c1"]
    with pytest.raises(InvalidInput) as error:
        store().page("demo-store", "resolved", limit=1, cursor=cursor)  # another partition's cursor
    assert error.value.field == "cursor"
