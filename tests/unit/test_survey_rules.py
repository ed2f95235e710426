"""Surveys' pure rules: definitions and their validation, option order, answers and second
answers, counters, results (NPS, CSAT), the order page's choice and the detractor follow-up."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from postpurchase.errors import Conflict, InvalidInput
from postpurchase.surveys import invitation, rules
from postpurchase.surveys.followup import DetractorFollowUp, follow_up_detractor
from postpurchase.surveys.model import kind_changes, parse_survey

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


def body(**changes):
    data = {
        "audience": ["first_order", "repeat_customer"],
        "timing": {"channel": "email", "days_after": 3},
        "questions": [
            {"id": "nps", "kind": "nps", "text": {"en": "Would you recommend us?", "tr": "Bizi önerir misiniz?"}},
            {"id": "csat", "kind": "csat", "text": {"en": "How satisfied are you?"}},
            {"id": "heard", "kind": "single_choice", "text": {"en": "How did you hear about us?"}, "other": True,
             "options": [{"id": "instagram", "text": {"en": "Instagram"}}, {"id": "friend", "text": {"en": "A friend"}},
                         {"id": "search", "text": {"en": "Search"}}, {"id": "ad", "text": {"en": "An ad"}}]},
        ],
        "community_url": "https://community.example/join",
    }
    data.update(changes)
    return data


def survey(**changes):
    return parse_survey("demo-store", "post-purchase", body(**changes), default_language="en-US")


# --- definitions ------------------------------------------------------------------------------


def test_a_valid_definition_names_the_languages_that_fall_back_to_the_default():
    parsed = survey()
    assert parsed.default_language == "en" and parsed.version == 1
    # Turkish is given for one question only: every language but English shows English somewhere.
    assert parsed.fallback_languages == ["id", "th", "tr", "ar", "ru"]
    full = parse_survey("demo-store", "s", body(questions=[
        {"id": "nps", "kind": "nps", "text": {lang: "?" for lang in ("en", "id", "th", "tr", "ar", "ru")}}]),
        default_language="en")
    assert full.fallback_languages == []


@pytest.mark.parametrize("changes, field", [
    ({"questions": [{"id": "nps", "kind": "nps", "text": {"tr": "Önerir misiniz?"}}]}, "questions[0].text.en"),
    ({"questions": [{"id": "nps", "kind": "nps", "text": {"en": "x", "fr": "y"}}]}, "questions[0].text.fr"),
    ({"questions": [{"id": "nps", "kind": "nps", "text": {"en": "  "}}]}, "questions[0].text.en"),
    ({"questions": [{"id": "a", "kind": "nps", "text": {"en": "x"}}, {"id": "a", "kind": "csat", "text": {"en": "y"}}]},
     "questions[1].id"),
    ({"questions": [{"id": "c", "kind": "single_choice", "text": {"en": "x"}, "options": [{"id": "a", "text": {"en": "A"}}]}]},
     "questions[0]"),
    ({"questions": [{"id": "c", "kind": "single_choice", "text": {"en": "x"},
                     "options": [{"id": "other", "text": {"en": "A"}}, {"id": "b", "text": {"en": "B"}}]}]},
     "questions[0].options[0].id"),
    ({"questions": [{"id": "c", "kind": "single_choice", "text": {"en": "x"},
                     "options": [{"id": "a", "text": {"en": "A"}}, {"id": "b", "text": {"tr": "B"}}]}]},
     "questions[0].options[1].text.en"),
    ({"questions": [{"id": "n", "kind": "nps", "text": {"en": "x"}, "options": [{"id": "a", "text": {"en": "A"}}]}]},
     "questions[0]"),
    ({"questions": [{"id": "n", "kind": "stars", "text": {"en": "x"}}]}, "questions[0].kind"),
    ({"questions": []}, "questions"),
    ({"timing": {"channel": "email"}}, "timing"),
    ({"timing": {"channel": "order_page", "days_after": 2}}, "timing"),
    ({"timing": {"channel": "email", "days_after": 91}}, "timing.days_after"),
    ({"audience": []}, "audience"),
    ({"audience": ["vip"]}, "audience[0]"),
    ({"audience": ["first_order", "first_order"]}, "audience"),
    ({"community_url": "http://community.example"}, "community_url"),
    ({"colour": "red"}, "colour"),
])
def test_a_bad_definition_names_the_field(changes, field):
    with pytest.raises(InvalidInput) as refused:
        survey(**changes)
    assert refused.value.field == field


def test_a_bad_survey_id_is_named():
    with pytest.raises(InvalidInput) as refused:
        parse_survey("demo-store", "Bad Id", body(), default_language="en")
    assert refused.value.field == "survey_id"


def test_a_question_id_keeps_its_kind_across_versions():
    first = survey()
    second = parse_survey("demo-store", "post-purchase", body(questions=[
        {"id": "nps", "kind": "csat", "text": {"en": "x"}}]), default_language="en", previous=first)
    assert second.version == 2 and kind_changes(first, second) == "nps"
    assert kind_changes(first, survey()) is None and kind_changes(None, first) is None


# --- option order -----------------------------------------------------------------------------


def test_options_are_shuffled_per_respondent_stable_on_reload_and_other_comes_last():
    question = survey().question("heard")
    orders = {tuple(rules.option_order(question, f"c-{n}", "post-purchase")) for n in range(40)}
    assert len(orders) > 5  # respondents see different orders
    for order in orders:
        assert order[-1] == "other" and sorted(order[:-1]) == ["ad", "friend", "instagram", "search"]
    assert rules.option_order(question, "c-1", "post-purchase") == rules.option_order(question, "c-1",
                                                                                      "post-purchase")
    fixed = question.model_copy(update={"randomize": False})
    assert rules.option_order(fixed, "c-1", "post-purchase") == ["instagram", "friend", "search", "ad", "other"]


# --- answers ------------------------------------------------------------------------------------


def test_answers_are_checked_against_their_question():
    s = survey()
    assert rules.parse_answer(s.question("nps"), "10") == rules.Answer("nps", "10")
    assert rules.parse_answer(s.question("nps"), 0) == rules.Answer("nps", "0")
    assert rules.parse_answer(s.question("csat"), "4").value == "4"
    assert rules.parse_answer(s.question("heard"), "friend") == rules.Answer("heard", "friend")
    assert rules.parse_answer(s.question("heard"), "other", " TikTok ") == rules.Answer("heard", "other", "TikTok")
    for question, value, other, field in [("nps", "11", None, "nps"), ("nps", "-1", None, "nps"),
                                          ("nps", True, None, "nps"), ("csat", "0", None, "csat"),
                                          ("csat", "٤", None, "csat"), ("heard", "radio", None, "heard"),
                                          ("heard", "other", "  ", "heard.other_text"),
                                          ("heard", "other", "x" * 501, "heard.other_text")]:
        with pytest.raises(InvalidInput) as refused:
            rules.parse_answer(s.question(question), value, other)
        assert refused.value.field == field


def stored(value: str, at: datetime = NOW, other: str | None = None) -> rules.StoredAnswer:
    return rules.StoredAnswer("nps", value, other, "1001", at, at)


def test_a_second_answer_updates_within_the_window_and_is_refused_after_it():
    answer = rules.Answer("nps", "9")
    assert rules.second_answer(None, answer, NOW) == "new"
    assert rules.second_answer(stored("9"), answer, NOW + timedelta(days=30)) == "same"  # a repeated click
    assert rules.second_answer(stored("3"), answer, NOW + timedelta(days=6)) == "change"
    with pytest.raises(Conflict) as refused:
        rules.second_answer(stored("3"), answer, NOW + rules.CHANGE_WINDOW)
    assert refused.value.field == "nps"


def test_counter_changes_count_an_answer_once_and_move_it_on_a_change():
    assert rules.counter_deltas(None, rules.Answer("nps", "9")) == {"n": 1, "c_9": 1}
    assert rules.counter_deltas(stored("3"), rules.Answer("nps", "9")) == {"c_9": 1, "c_3": -1}
    assert rules.counter_deltas(stored("other", other="a"), rules.Answer("nps", "other", "b")) == {}


# --- results --------------------------------------------------------------------------------------


def test_results_compute_nps_csat_and_option_counts_from_counters():
    s = survey()
    counters = {"nps": {"n": 5, "c_10": 2, "c_9": 1, "c_8": 1, "c_2": 1},
                "csat": {"n": 4, "c_5": 1, "c_4": 2, "c_2": 1},
                "heard": {"n": 3, "c_friend": 2, "c_other": 1}}
    nps, csat, heard = rules.results(s, counters)["questions"]
    assert (nps["responses"], nps["promoters"], nps["passives"], nps["detractors"], nps["nps"]) == (5, 3, 1, 1, 40.0)
    assert nps["counts"]["10"] == 2 and nps["counts"]["0"] == 0 and len(nps["counts"]) == 11
    assert (csat["average"], csat["satisfied_percent"]) == (3.75, 75.0) and len(csat["counts"]) == 5
    assert [(o["option_id"], o["count"]) for o in heard["options"]] == [
        ("instagram", 0), ("friend", 2), ("search", 0), ("ad", 0), ("other", 1)]
    empty = rules.results(s, {})["questions"]
    assert empty[0]["nps"] is None and empty[1]["average"] is None and empty[1]["satisfied_percent"] is None
    turkish = rules.results(s, {}, "tr")["questions"]
    assert turkish[0]["text"] == "Bizi önerir misiniz?" and turkish[1]["text"] == "How satisfied are you?"


@pytest.mark.parametrize("score, kind", [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"),
                                         (9, "promoter"), (10, "promoter")])
def test_nps_segments(score, kind):
    assert rules.segment(score) == kind


# --- who is asked ---------------------------------------------------------------------------------


def test_the_order_page_offers_the_survey_of_the_customers_audience_after_purchase():
    page = survey(timing={"channel": "order_page"}, audience=["first_order"])
    returns = parse_survey("demo-store", "returns", body(timing={"channel": "order_page"}, audience=["after_return"]),
                           default_language="en")
    placed = NOW - timedelta(hours=1)
    pick = lambda **kw: invitation.pick([page, returns], placed_at=placed, now=NOW, cancelled=False,  # noqa: E731
                                        **kw)
    assert pick(is_first_order=True, had_return=False) is page
    assert pick(is_first_order=False, had_return=False) is None  # a repeat customer: not this survey's audience
    assert pick(is_first_order=True, had_return=True) is returns
    assert invitation.pick([page], is_first_order=True, had_return=False, placed_at=placed, cancelled=True,
                           now=NOW) is None
    assert invitation.pick([page], is_first_order=True, had_return=False, placed_at=NOW - timedelta(days=31),
                           cancelled=False, now=NOW) is None
    email = survey()
    assert invitation.pick([email], is_first_order=True, had_return=False, placed_at=placed, cancelled=False,
                           now=NOW) is None
    assert invitation.pick([page.model_copy(update={"active": False})], is_first_order=True, had_return=False,
                           placed_at=placed, cancelled=False, now=NOW) is None


# --- the detractor follow-up ----------------------------------------------------------------------


class FakeFollowUpPorts:
    def __init__(self, webhook: bool = True) -> None:
        self.kept: dict = {}
        self.queued: list = []
        self.notified: list = []
        self.conversations: list = []
        self.webhook = webhook

    def keep_message(self, follow_up):
        key = (follow_up.survey_id, follow_up.customer_id)
        if key in self.kept:
            return False
        self.kept[key] = follow_up.message
        return True

    def wants_webhook(self, merchant_id):
        return self.webhook

    def enqueue(self, message):
        self.queued.append(message)

    def mark_notified(self, follow_up):
        self.notified.append(follow_up.customer_id)

    def open_conversation(self, follow_up):
        self.conversations.append((follow_up.survey_id, follow_up.customer_id, follow_up.message))


def test_a_detractor_message_is_kept_once_and_sent_to_the_merchant_once():
    ports = FakeFollowUpPorts()
    follow_up = DetractorFollowUp("demo-store", "post-purchase", "c-1", "1001", 3, "The mug arrived broken", NOW)
    assert follow_up_detractor(follow_up, ports) == "webhook_queued"
    [message] = ports.queued
    assert message.delivery_id == "survey:post-purchase:c-1" and message.order_id == "1001"
    assert message.body == {"event_id": "survey:post-purchase:c-1", "type": "survey.detractor",
                            "merchant_id": "demo-store", "survey_id": "post-purchase", "customer_id": "c-1",
                            "order_id": "1001", "score": 3, "message": "The mug arrived broken",
                            "submitted_at": NOW.isoformat()}
    assert follow_up_detractor(follow_up, ports, notified=True) == "already_sent" and len(ports.queued) == 1
    # Kept but the queueing crashed before it was marked: a retry queues it again (same delivery id).
    assert follow_up_detractor(follow_up, ports, notified=False) == "webhook_queued" and len(ports.queued) == 2
    quiet = FakeFollowUpPorts(webhook=False)
    assert follow_up_detractor(follow_up, quiet) == "kept" and quiet.queued == [] and quiet.kept
    # Support hears of it every time (its conversation is idempotent on the respondent), webhook or not.
    assert ports.conversations == [("post-purchase", "c-1", "The mug arrived broken")] * 3
    assert quiet.conversations == [("post-purchase", "c-1", "The mug arrived broken")]


def test_a_detractor_message_must_say_something():
    assert rules.clean_message("  It broke  ") == "It broke"
    for bad in ("", "   ", None, "x" * 2001):
        with pytest.raises(InvalidInput) as refused:
            rules.clean_message(bad)
        assert refused.value.field == "message"


# --- recording (service.record with an in-memory store) -------------------------------------------


class MemoryAnswers:
    """The AnswerStore port in memory; `conflicts` makes the next N writes lose a race."""

    def __init__(self, conflicts: int = 0) -> None:
        self.answers: dict = {}
        self.counters: dict = {}
        self.conflicts = conflicts
        self.writes = 0

    def respondent(self, merchant_id, survey_id, customer_id):
        return dict(self.answers), None

    def record_answer(self, merchant_id, survey_id, customer_id, order_id, question_id, value, other_text, existing,
                      deltas, now):
        from postpurchase.surveys.service import StaleAnswer

        if self.conflicts:
            self.conflicts -= 1
            raise StaleAnswer(question_id)
        self.writes += 1
        self.answers[question_id] = rules.StoredAnswer(question_id, value, other_text, order_id,
                                                       existing.answered_at if existing else now, now,
                                                       (existing.version + 1) if existing else 1)
        for name, delta in deltas.items():
            self.counters[(question_id, name)] = self.counters.get((question_id, name), 0) + delta


def test_recording_counts_once_retries_a_lost_race_and_gives_up_with_a_409():
    from postpurchase.surveys.service import Respondent, parse_answers, record

    s = survey()
    who = Respondent("demo-store", s.survey_id, "c-1", "1001", "MUG-1")
    store = MemoryAnswers(conflicts=1)
    answers = parse_answers(s, {"nps": ("9", None), "heard": ("other", "TikTok")})
    after = record(store, s, who, answers, NOW)
    assert {q: a.value for q, a in after.items()} == {"nps": "9", "heard": "other"} and store.writes == 2
    record(store, s, who, answers, NOW + timedelta(minutes=1))  # the same form again
    assert store.writes == 2 and store.counters[("nps", "n")] == 1 and store.counters[("nps", "c_9")] == 1
    with pytest.raises(InvalidInput) as unknown:
        parse_answers(s, {"colour": ("red", None)})
    assert unknown.value.field == "colour"
    with pytest.raises(Conflict):
        record(MemoryAnswers(conflicts=5), s, who, answers, NOW)
