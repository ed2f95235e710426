"""Support conversation rules: whose turn it is, resolving, reopening, the auto-reply limit."""
from datetime import datetime, timedelta, timezone

import pytest

from postpurchase.errors import NotAllowed
from postpurchase.support import model
from postpurchase.support.model import Channel, Status

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def fresh(**kwargs):
    return model.start(conversation_id="c1", merchant_id="m1", channel=Channel.EMAIL, now=NOW,
                       customer_email="a@b.example", **kwargs)


def test_a_new_conversation_is_open_and_waits_for_a_human():
    conversation = model.customer_wrote(fresh(), now=NOW, intent="other", confidence=0.2)
    assert conversation.status is Status.OPEN
    assert conversation.needs_human and conversation.messages == 1
    assert conversation.last_customer_message_at == NOW


def test_a_merchant_reply_hands_the_turn_to_the_customer_and_records_the_first_response():
    later = NOW + timedelta(hours=2)
    conversation = model.merchant_replied(model.customer_wrote(fresh(), now=NOW), now=later)
    assert conversation.status is Status.WAITING_ON_CUSTOMER
    assert conversation.first_response_at == later == conversation.first_human_response_at
    again = model.merchant_replied(conversation, now=later + timedelta(hours=1))
    assert again.first_response_at == later  # the first one stays


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.WAITING_ON_CUSTOMER])
def test_a_customer_reply_reopens(status):
    conversation = model.change_status(model.customer_wrote(fresh(), now=NOW), status.value, now=NOW)
    assert conversation.status is status
    reopened = model.customer_wrote(conversation, now=NOW + timedelta(days=3))
    assert reopened.status is Status.OPEN and reopened.resolved_at is None


def test_resolve_is_idempotent_and_a_merchant_reply_keeps_it_resolved():
    resolved = model.resolve(model.customer_wrote(fresh(), now=NOW), now=NOW + timedelta(hours=1))
    assert resolved.resolved_at == NOW + timedelta(hours=1)
    assert model.resolve(resolved, now=NOW + timedelta(days=1)) is resolved
    assert model.merchant_replied(resolved, now=NOW + timedelta(days=1)).status is Status.RESOLVED


def test_at_most_one_auto_reply_a_day():
    conversation = model.auto_replied(model.customer_wrote(fresh(), now=NOW), now=NOW)
    assert conversation.status is Status.WAITING_ON_CUSTOMER and conversation.first_response_at == NOW
    assert model.may_auto_reply(conversation, now=NOW + timedelta(hours=23), automated=None) == "auto_reply_today"
    assert model.may_auto_reply(conversation, now=NOW + timedelta(hours=24), automated=None) is None


def test_never_an_auto_reply_to_automated_mail_or_without_a_recipient():
    conversation = fresh()
    assert model.may_auto_reply(conversation, now=NOW, automated="auto-submitted") == "automated:auto-submitted"
    anonymous = model.start(conversation_id="c2", merchant_id="m1", channel=Channel.EMAIL, now=NOW)
    assert model.may_auto_reply(anonymous, now=NOW, automated=None) == "no_recipient"


def test_assign_checks_the_name_and_unassigns_with_none():
    conversation = model.assign(fresh(), " ayse ", now=NOW)
    assert conversation.assignee == "ayse"
    assert model.assign(conversation, None, now=NOW).assignee is None
    with pytest.raises(NotAllowed) as error:
        model.assign(conversation, "x" * 201, now=NOW)
    assert error.value.field == "assignee"


def test_an_unknown_status_names_the_field():
    with pytest.raises(NotAllowed) as error:
        model.change_status(fresh(), "closed", now=NOW)
    assert error.value.field == "status"


def test_conversation_ids_sort_by_time_and_are_stable():
    first = model.conversation_id_for(NOW, "s3://inbound/a")
    assert first == model.conversation_id_for(NOW, "s3://inbound/a")
    assert first != model.conversation_id_for(NOW, "s3://inbound/b")
    assert model.conversation_id_for(NOW + timedelta(seconds=1), "x") > first
