"""A review's public id, pure: assigned once when the review is first made, random, never the
order's encoding; kept through edits and moderation; older reviews get one at their next change."""
from __future__ import annotations

import re

from postpurchase.reviews import service
from postpurchase.reviews.model import looks_like_review_id, review_id, with_public_id

from test_review_rules import DEFAULTS, NOW, ORDER, feedback

PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")


def test_a_new_review_gets_a_random_public_id_that_names_no_order():
    first = service.from_feedback(None, feedback(5), ORDER, DEFAULTS, NOW)
    second = service.from_feedback(None, feedback(5), ORDER, DEFAULTS, NOW)
    assert PUBLIC_ID.match(first.public_id) and first.review_id == first.public_id
    assert first.public_id != second.public_id  # random, not derived from (order, sku)
    assert first.review_id != review_id("1001", "MUG-1")


def test_edits_and_moderation_keep_the_id():
    review = service.from_feedback(None, feedback(5), ORDER, DEFAULTS, NOW)
    edited = service.from_feedback(review, feedback(2, comment="Broke"), ORDER, DEFAULTS, NOW)
    steps = (service.hide(edited, NOW), service.publish(edited, NOW), service.reply(edited, "Sorry", NOW),
             service.give_public_id(edited), with_public_id(edited, "another-one"))
    assert {edited.public_id, *(step.public_id for step in steps)} == {review.public_id}
    assert service.give_public_id(edited) is edited  # nothing to save


def test_an_older_review_shows_its_legacy_id_until_its_next_change_gives_it_one():
    legacy = service.from_feedback(None, feedback(5), ORDER, DEFAULTS, NOW).model_copy(update={"public_id": None})
    assert legacy.review_id == review_id("1001", "MUG-1")
    given = service.give_public_id(legacy)
    assert PUBLIC_ID.match(given.public_id) and given.version == legacy.version + 1
    edited = service.from_feedback(legacy, feedback(4, comment="Fine"), ORDER, DEFAULTS, NOW)
    assert PUBLIC_ID.match(edited.public_id)
    assert service.from_feedback(legacy, feedback(5), ORDER, DEFAULTS, NOW) is legacy  # no change, no write


class _Store:
    """In memory, like DynamoReviewStore.get/save (version-checked)."""

    def __init__(self, review):
        self.review, self.saves = review, 0

    def get(self, merchant_id, order_id, sku):
        return self.review

    def save(self, review, previous):
        assert previous == self.review
        self.review, self.saves = review, self.saves + 1


def test_any_change_of_an_older_review_gives_it_an_id():
    legacy = service.from_feedback(None, feedback(5), ORDER, DEFAULTS, NOW).model_copy(update={"public_id": None})
    store = _Store(legacy)
    replied = service.change(store, "m", "1001", "MUG-1", lambda review: service.reply(review, "Thanks", NOW), NOW)
    assert PUBLIC_ID.match(replied.public_id) and store.review.public_id == replied.public_id
    again = service.change(store, "m", "1001", "MUG-1", lambda review: service.reply(review, "Thanks", NOW), NOW)
    assert (again.public_id, store.saves) == (replied.public_id, 1)


def test_route_ids_are_checked_before_any_read():
    assert looks_like_review_id("Ab-_09xYzAb-_09x")
    for bad in ("", "x" * 401, "a/b", "a#b", "a b", "ü"):
        assert not looks_like_review_id(bad)
