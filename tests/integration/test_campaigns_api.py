"""Messaging settings, campaigns and one-click unsubscribe through the real handlers against moto.

The scheduled-message store (services.message_schedule, the scheduler capability) is replaced
by an in-memory fake that keeps one message per identity, as the MessageSchedule port promises.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

MERCHANT = "demo-store"
# NOW is 2026-11-20T10:00Z; Valentine's Day 2027 is ahead.
CAMPAIGN = {"campaign_id": "vday-2027", "occasion": "valentines_day", "send_on": "2027-02-14", "local_hour": 10,
            "segment": {"categories": ["flowers"]}, "shop_url": "https://demo-store.example/vday",
            "offer": {"discount_type": "percent", "value": "15"}}


class FakeSchedule:
    """The real schedule, watched: records the campaign messages (the calendar's own kinds that
    orders schedule - anniversary, win-back - go through unrecorded)."""

    def __init__(self, real) -> None:
        self.real = real
        self.messages: dict[tuple, object] = {}
        self.calls = 0

    def schedule(self, message, now) -> None:
        if message.kind == "campaign":
            self.calls += 1
            self.messages[(message.merchant_id, message.scope, message.scope_id, message.kind, message.ref)] = message
        self.real.schedule(message, now)

    def cancel(self, merchant_id, scope, scope_id, kind, ref, reason, now) -> None:
        assert kind != "campaign", "campaigns never cancel"
        self.real.cancel(merchant_id, scope, scope_id, kind, ref, reason, now)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def schedule(aws, monkeypatch) -> FakeSchedule:
    from postpurchase import services

    fake = FakeSchedule(services.message_schedule())
    factory = lambda: fake  # noqa: E731
    factory.cache_clear = lambda: None  # services.reset() clears every factory
    monkeypatch.setattr(services, "message_schedule", factory, raising=False)
    return fake


def error_of(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.body[:600])
    error = response.json_body["error"]
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error.get("field") == field, error
    return error


def place(aws, order_id: str, customer_id: str, *, timezone_name: str | None, locale: str = "en-US",
          category: str = "flowers", placed_at: datetime | None = None) -> None:
    order = aws.api_order(order_id, placed_at=placed_at or aws.clock.now())
    order["email"] = f"{customer_id}@example.com"
    order["customer"] = {"id": customer_id, "email": f"{customer_id}@example.com", "locale": locale,
                         **({"timezone": timezone_name} if timezone_name else {})}
    order["items"][0]["category"] = category
    assert aws.post_order(order).status_code == 202
    assert aws.pump_queue("OrderEventsQueue") == 1


def create(aws, body: dict | None = None):
    return aws.client.post("/v1/campaigns", headers=aws.auth(), body=aws.encode(body or CAMPAIGN))


def campaign_of(aws, campaign_id: str = "vday-2027") -> dict:
    response = aws.client.get(f"/v1/campaigns/{campaign_id}", headers=aws.auth())
    assert response.status_code == 200, response.body
    return response.json_body


# ------------------------------------------------------------------------------ settings


def test_messaging_settings_default_then_round_trip(aws):
    response = aws.client.get("/v1/settings/messaging", headers=aws.auth())
    assert response.status_code == 200
    assert response.json_body["default_review_delay_days"] == 7 and response.json_body["birthday_offer"] is None
    body = {"review_delay_days": {"furniture": 21}, "win_back_days": None,
            "birthday_offer": {"discount_type": "percent", "value": "20"},
            "quiet_hours": {"start_hour": 22, "end_hour": 8}}
    response = aws.client.put("/v1/settings/messaging", headers=aws.auth(), body=aws.encode(body))
    assert response.status_code == 200, response.body
    stored = aws.client.get("/v1/settings/messaging", headers=aws.auth()).json_body
    assert stored["review_delay_days"] == {"furniture": 21} and stored["win_back_days"] is None
    assert stored["birthday_offer"]["value"] == "20" and stored["quiet_hours"] == {"start_hour": 22, "end_hour": 8}
    from postpurchase.storage.merchants import messaging_settings

    assert messaging_settings(MERCHANT).review_delay_for(["furniture", "home"]) == 21


def test_saving_branding_keeps_the_messaging_settings(aws):
    from dataclasses import replace

    from postpurchase.services import merchant_store
    from postpurchase.storage.merchants import messaging_settings

    assert aws.client.put("/v1/settings/messaging", headers=aws.auth(),
                          body=aws.encode({"anniversary": False})).status_code == 200
    store = merchant_store()
    store.save(replace(store.get(MERCHANT)), aws.clock.now())  # e.g. PUT /v1/settings/webhooks
    assert messaging_settings(MERCHANT).anniversary is False
    assert store.get(MERCHANT) is not None


@pytest.mark.parametrize("body, field", [
    ({"default_review_delay_days": 0}, "default_review_delay_days"),
    ({"review_delay_days": {"home": 500}}, "review_delay_days.home"),
    ({"birthday_offer": {"discount_type": "percent", "value": "150"}}, "birthday_offer"),
    ({"quiet_hours": {"start_hour": 25}}, "quiet_hours.start_hour"),
    ({"no_such_setting": True}, "no_such_setting"),
    ({"confirmation_rules": [{"variant": "loud"}]}, "confirmation_rules[0].variant"),
])
def test_messaging_settings_validation_names_the_field(aws, body, field):
    response = aws.client.put("/v1/settings/messaging", headers=aws.auth(), body=aws.encode(body))
    error_of(response, 400, "validation_error", field)
    assert aws.client.get("/v1/settings/messaging", headers=aws.auth()).json_body["default_review_delay_days"] == 7


def test_messaging_settings_need_the_merchant_key(aws):
    assert aws.client.get("/v1/settings/messaging").status_code == 401
    response = aws.client.put("/v1/settings/messaging", headers={"Content-Type": "application/json"},
                              body=aws.encode({}))
    assert response.status_code == 401


# ------------------------------------------------------------------------------ campaigns


def test_campaign_fans_out_over_pages_to_exactly_the_segment_at_local_time(aws, schedule, monkeypatch):
    from postpurchase.messaging import campaign_fanout

    monkeypatch.setattr(campaign_fanout, "PAGE_SIZE", 2)
    zones = {"c-01": "Europe/Istanbul", "c-02": "America/New_York", "c-03": None, "c-04": "Asia/Bangkok",
             "c-05": "Australia/Sydney", "c-06": "Europe/Berlin", "c-07": "America/Los_Angeles"}
    for n, (customer_id, tz) in enumerate(zones.items()):
        # c-03 and c-06 bought home goods only: not in the segment.
        place(aws, f"20{n}", customer_id, timezone_name=tz,
              category="home" if customer_id in ("c-03", "c-06") else "flowers")
    # A second order of c-01 (home) adds a category, and must not list the customer twice.
    place(aws, "299", "c-01", timezone_name="Europe/Istanbul", category="home")

    response = create(aws)
    assert response.status_code == 202, response.body
    assert response.json_body["status"] == "fanning_out"
    assert aws.queue_depth("CampaignQueue") == 1
    pages = 0
    while aws.queue_depth("CampaignQueue"):
        pages += aws.pump_queue("CampaignQueue")
    assert pages == 4  # 7 customers, 2 a page: 2 + 2 + 2 + 1

    expected = {"c-01": datetime(2027, 2, 14, 7, 0, tzinfo=timezone.utc),
                "c-02": datetime(2027, 2, 14, 15, 0, tzinfo=timezone.utc),
                "c-04": datetime(2027, 2, 14, 3, 0, tzinfo=timezone.utc),
                "c-05": datetime(2027, 2, 13, 23, 0, tzinfo=timezone.utc),
                "c-07": datetime(2027, 2, 14, 18, 0, tzinfo=timezone.utc)}
    assert {key[2]: message.due_at for key, message in schedule.messages.items()} == expected
    assert schedule.calls == 5  # exactly one schedule() per matching customer
    message = schedule.messages[(MERCHANT, "customer", "c-02", "campaign", "vday-2027")]
    assert message.expires_at == expected["c-02"] + timedelta(days=2)
    assert message.data == {"campaign_id": "vday-2027", "occasion": "valentines_day",
                            "shop_url": "https://demo-store.example/vday", "offer_discount_type": "percent",
                            "offer_value": "15", "offer_valid_days": "30"}
    document = campaign_of(aws)
    assert document["status"] == "scheduled"
    assert document["counts"] == {"scheduled": 5, "skipped": 2, "pages": 4}


def test_a_redelivered_page_neither_schedules_nor_counts_twice(aws, schedule, monkeypatch):
    from postpurchase.messaging import campaign_fanout

    monkeypatch.setattr(campaign_fanout, "PAGE_SIZE", 2)
    for n in range(3):
        place(aws, f"30{n}", f"c-{n}", timezone_name="Europe/Istanbul")
    assert create(aws).status_code == 202
    [first_page] = aws.take("CampaignQueue")
    for _ in range(2):  # SQS delivers page 0 twice
        result = aws.invoke(aws_module(aws), aws.sqs_event([first_page], "CampaignQueue"))
        assert aws.failed_ids(result) == []
    next_pages = aws.take("CampaignQueue")
    assert len(next_pages) == 2 and len(set(next_pages)) == 1  # the same page 1, twice
    for body in next_pages:
        aws.invoke(aws_module(aws), aws.sqs_event([body], "CampaignQueue"))
    assert aws.take("CampaignQueue") == []
    assert len(schedule.messages) == 3
    document = campaign_of(aws)
    assert document["counts"] == {"scheduled": 3, "skipped": 0, "pages": 2}
    assert document["status"] == "scheduled"


def aws_module(aws):
    """functions/campaign_fanout/app.py as the fixture loaded it (the CampaignQueue consumer)."""
    import sys

    return sys.modules[aws.consumers["CampaignQueue"].handler.__module__]


def test_create_is_idempotent_and_a_different_body_conflicts(aws, schedule):
    place(aws, "401", "c-1", timezone_name="Europe/Istanbul")
    first = create(aws)
    assert first.status_code == 202
    again = create(aws)
    assert again.status_code == 202 and again.json_body == first.json_body
    changed = create(aws, {**CAMPAIGN, "local_hour": 11})
    error_of(changed, 409, "conflict", "campaign_id")
    while aws.queue_depth("CampaignQueue"):
        aws.pump_queue("CampaignQueue")
    assert len(schedule.messages) == 1
    # Once fanned out, the same body answers the finished campaign and starts nothing new.
    done = create(aws)
    assert done.status_code == 202 and done.json_body["status"] == "scheduled"
    assert aws.queue_depth("CampaignQueue") == 0


def test_campaign_validation(aws):
    error_of(create(aws, {**CAMPAIGN, "send_on": "2026-11-01"}), 422, "not_allowed", "send_on")
    error_of(create(aws, {**CAMPAIGN, "occasion": "easter"}), 400, "validation_error", "occasion")
    error_of(create(aws, {**CAMPAIGN, "segment": {"min_orders": 3, "max_orders": 1}}), 400, "validation_error",
             "segment")
    error_of(create(aws, {**CAMPAIGN, "send_on": "14/02/2027"}), 400, "validation_error", "send_on")
    error_of(aws.client.get("/v1/campaigns/nope", headers=aws.auth()), 404, "not_found", "campaign_id")
    assert aws.queue_depth("CampaignQueue") == 0


def test_campaigns_belong_to_their_merchant(aws, other_store):
    assert create(aws).status_code == 202
    response = aws.client.get("/v1/campaigns/vday-2027", headers=aws.auth(other_store))
    assert response.status_code == 404


def test_order_reaction_keeps_categories_and_the_newest_order_time(aws):
    place(aws, "501", "c-1", timezone_name=None, category="flowers")
    later = aws.clock.now()
    place(aws, "500", "c-1", timezone_name=None, category="home", placed_at=later - timedelta(days=30))
    profile = aws.item(f"M#{MERCHANT}#C#c-1", "PROFILE")
    assert set(profile["bought_categories"]) == {"flowers", "home"}
    assert profile["last_order_at"].startswith(later.strftime("%Y-%m-%dT%H:%M"))
    assert (profile["gsi1pk"], profile["gsi1sk"]) == (f"M#{MERCHANT}#CUSTOMERS", "c-1")
    assert int(profile["order_count"]) == 2


# ------------------------------------------------------------------------------ unsubscribe


def unsubscribe_path(aws, customer_id: str = "c-1", kind: str = "campaign", now: datetime | None = None) -> str:
    from postpurchase.messaging.links import unsubscribe_url

    url = unsubscribe_url(MERCHANT, customer_id, kind, now or aws.clock.now())
    return url.removeprefix(aws.public_base_url)


ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


def preferences(aws, customer_id: str = "c-1"):
    from postpurchase.services import customer_store

    return customer_store().profile(MERCHANT, customer_id).preferences


def test_one_click_post_turns_the_kind_off_with_time_and_source(aws):
    place(aws, "601", "c-1", timezone_name=None)
    path = unsubscribe_path(aws)
    aws.clock.advance(timedelta(hours=1))
    response = aws.client.post(path, headers=ONE_CLICK, body=b"List-Unsubscribe=One-Click")
    assert response.status_code == 200, response.body
    choice = preferences(aws)
    assert choice.unsubscribed == frozenset({"campaign"}) and not choice.all_marketing_off
    assert (choice.source, choice.updated_at) == ("list_unsubscribe", aws.clock.now())
    assert not choice.allows("campaign") and choice.allows("review_request") and choice.allows("order_confirmation")
    # Again (a provider retry): the same outcome.
    assert aws.client.post(path, headers=ONE_CLICK, body=b"List-Unsubscribe=One-Click").status_code == 200
    assert preferences(aws).unsubscribed == frozenset({"campaign"})


def test_one_click_all_turns_all_marketing_off(aws):
    place(aws, "602", "c-1", timezone_name=None)
    response = aws.client.post(unsubscribe_path(aws, kind="all"), headers=ONE_CLICK,
                               body=b"List-Unsubscribe=One-Click")
    assert response.status_code == 200
    choice = preferences(aws)
    assert choice.all_marketing_off and not choice.allows("birthday_offer") and choice.allows("shipment_notice")


def test_get_shows_a_button_that_posts_and_changes_nothing(aws):
    place(aws, "603", "c-1", timezone_name=None, locale="tr-TR")
    path = unsubscribe_path(aws)
    response = aws.client.get(path)
    assert response.status_code == 200
    page = response.body.decode()
    assert 'lang="tr"' in page and "Abonelikten çık" in page
    assert f'action="{path}"' in page and 'name="List-Unsubscribe" value="One-Click"' in page
    assert preferences(aws).allows("campaign") and preferences(aws).source is None
    english = aws.client.get(f"{path}?lang=en").body.decode()
    assert "Stop sending these emails to" in english and "News and special offers" in english


def test_a_forged_or_expired_token_changes_nothing(aws):
    place(aws, "604", "c-1", timezone_name=None)
    genuine = unsubscribe_path(aws)
    prefix, token = genuine.rsplit("/", 1)
    forged_tokens = [token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "not-a-token"]
    from postpurchase.security.tokens import Keyring, sign_claims

    # Another key under the keyring's own key id.
    forged_tokens.append(sign_claims(Keyring.single("another-secret-0123456789abcdef-0123", aws.link_keys.active),
                                     "unsubscribe",
                                     [MERCHANT, "c-1", "all"], aws.clock.now() + timedelta(days=1)))
    # A genuine token of another shop does not work here either.
    forged_tokens.append(sign_claims(aws.link_keys, "unsubscribe", ["other-store", "c-1", "all"],
                                     aws.clock.now() + timedelta(days=1)))
    # A token of another purpose (a feedback link) is not an unsubscribe token.
    forged_tokens.append(sign_claims(aws.link_keys, "feedback", [MERCHANT, "c-1", "all"],
                                     aws.clock.now() + timedelta(days=1)))
    for forged in forged_tokens:
        response = aws.client.post(f"{prefix}/{forged}", headers=ONE_CLICK, body=b"List-Unsubscribe=One-Click")
        assert response.status_code == 404, forged
        assert aws.client.get(f"{prefix}/{forged}").status_code == 404
    aws.clock.advance(timedelta(days=401))  # past the link's lifetime
    assert aws.client.post(genuine, headers=ONE_CLICK, body=b"List-Unsubscribe=One-Click").status_code == 404
    choice = preferences(aws)
    assert choice.unsubscribed == frozenset() and not choice.all_marketing_off and choice.source is None


def test_a_post_without_the_one_click_body_changes_nothing(aws):
    place(aws, "605", "c-1", timezone_name=None)
    response = aws.client.post(unsubscribe_path(aws), headers=ONE_CLICK, body=b"something=else")
    assert response.status_code == 400
    assert preferences(aws).allows("campaign")


def test_unknown_customer_gets_404(aws):
    response = aws.client.post(unsubscribe_path(aws, customer_id="ghost"), headers=ONE_CLICK,
                               body=b"List-Unsubscribe=One-Click")
    assert response.status_code == 404


def test_the_sample_fan_out_event_is_processed_without_failures(aws, schedule):
    from infra.sample_events import EVENTS

    place(aws, "701", "c-1", timezone_name="Europe/Istanbul")
    assert create(aws).status_code == 202
    aws.take("CampaignQueue")
    event = json.loads((EVENTS / "campaign_fanout_page.json").read_text(encoding="utf-8"))
    assert aws.invoke(aws_module(aws), event) == {"batchItemFailures": []}
    assert list(schedule.messages) == [(MERCHANT, "customer", "c-1", "campaign", "vday-2027")]


def test_a_poison_fan_out_message_fails_alone(aws, schedule):
    event = aws.sqs_event(['{"type": "CampaignFanOut"}'], "CampaignQueue")
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    with pytest.raises(BatchProcessingError):  # every record of the batch failed: Lambda retries it, then the DLQ
        aws.invoke(aws_module(aws), event)
