"""The pure decisions of support/service.py: when an automated answer may go out, and which
Message-IDs an answer threads under (no AWS: no store is touched)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from postpurchase.support import model
from postpurchase.support.intents import detect_intent
from postpurchase.support.model import Author, Channel, Direction, SupportMessage
from postpurchase.support.service import Incoming, _thread_headers, _why_not

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
ORDER = object()  # _why_not only asks whether an order was matched


def conversation(**fields):
    return model.start(conversation_id="c1", merchant_id="m-1", channel=Channel.EMAIL, now=NOW,
                       customer_email="a@example.com").model_copy(update=fields)


def incoming(**fields):
    return Incoming(**{"merchant_id": "m-1", "channel": Channel.EMAIL, "identity": "i", "text": "x", **fields})


WISMO = detect_intent("Where is my order? It hasn't arrived yet.", "en")


def test_a_clear_wismo_question_with_its_order_may_be_answered():
    assert WISMO.intent.value == "where_is_my_order"
    assert _why_not(conversation(), incoming(), WISMO, ORDER, NOW) is None


@pytest.mark.parametrize("text,why", [
    ("My order arrived broken, the mug is cracked.", "needs_human"),
    ("Please cancel my order.", "needs_human"),
    ("Do you sell gift cards?", "needs_human"),
    ("Thank you so much!", "no_reply_needed"),
])
def test_what_a_person_answers_or_nobody_needs_to(text, why):
    assert _why_not(conversation(), incoming(), detect_intent(text, "en"), ORDER, NOW) == why


def test_the_loop_rules_come_first():
    assert _why_not(conversation(), incoming(automated="precedence"), WISMO, ORDER, NOW) == "automated:precedence"
    assert _why_not(conversation(customer_email=None), incoming(), WISMO, ORDER, NOW) == "no_recipient"
    answered = conversation(last_auto_reply_at=NOW - timedelta(hours=23))
    assert _why_not(answered, incoming(), WISMO, ORDER, NOW) == "auto_reply_today"
    assert _why_not(conversation(last_auto_reply_at=NOW - timedelta(hours=24)), incoming(), WISMO, ORDER, NOW) is None
    assert _why_not(conversation(), incoming(problems=("malformed_mime",)), WISMO, ORDER, NOW) == "mail_problem"
    assert _why_not(conversation(), incoming(), WISMO, None, NOW) == "no_order_matched"


def message(n: int, mid: str | None) -> SupportMessage:
    return SupportMessage(message_id=f"m{n}", conversation_id="c1", merchant_id="m-1", direction=Direction.IN,
                          author=Author.CUSTOMER, created_at=NOW + timedelta(minutes=n), email_message_id=mid)


def test_an_answer_threads_under_the_newest_id_and_references_every_safe_one():
    history = [message(1, "<a@x.example>"), message(2, None), message(3, "<b c@x.example>"),
               message(4, "<d@x.example>")]
    in_reply_to, references = _thread_headers(history)
    assert in_reply_to == "<d@x.example>"
    assert references == ["<a@x.example>", "<d@x.example>"]  # an id that could break a header is left out
    assert _thread_headers([message(1, None)]) == (None, [])
