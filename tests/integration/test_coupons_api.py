"""Coupons through the real API handler against moto: idempotent issue, single use (also under
parallel redemptions), the same 404 whatever the reason, tenant isolation, refusals, preview."""
from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest

MERCHANT = "demo-store"


def issue(aws, *, customer: str = "c-1", ref: str = "2026", merchant: str = MERCHANT, campaign: str = "birthday",
          **spec):
    from postpurchase import services
    from postpurchase.messaging.settings import OfferSpec

    offer = OfferSpec(**{"discount_type": "amount", "value": Decimal("10"), "min_spend": Decimal("50"), **spec})
    return services.coupon_issuer().issue(merchant, customer, offer, campaign=campaign, ref=ref, currency="USD",
                                          now=aws.clock.now())


def redeem(aws, code: str, order_id: str = "1001", total: str = "80.00", currency: str = "USD",
           api_key: str | None = None, **extra):
    return aws.client.post(f"/v1/coupons/{code}/redeem", headers=aws.auth(api_key),
                           body=aws.encode({"order_id": order_id, "order_total": total, "currency": currency,
                                            **extra}))


def reason_of(response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.body[:500])
    return response.json_body["error"]["reason"]


def test_issue_is_idempotent_on_campaign_and_ref(aws):
    first = issue(aws)
    again = issue(aws, value=Decimal("99"))  # a redelivery, even with changed settings: the same code
    other = issue(aws, ref="2027")
    assert again == first and other.code != first.code
    assert (first.discount_type, first.value, first.currency, first.min_spend) == ("amount", Decimal("10"), "USD",
                                                                                 Decimal("50"))
    assert first.expires_at == aws.now + timedelta(days=30)
    coupons = aws.items_of_type("coupon")
    assert len(coupons) == 2 and len(aws.items_of_type("coupon_issue")) == 2
    # Keys hold a digest, never a usable code.
    assert all(first.code not in item["pk"] and first.code.replace("-", "") not in item["pk"] for item in coupons)
    assert aws.item(f"M#{MERCHANT}#C#c-1", "CPN#birthday#2026")["code"] == first.code


def test_an_amount_without_currency_is_refused_at_issue(aws):
    from postpurchase import services
    from postpurchase.errors import InvalidInput
    from postpurchase.messaging.settings import OfferSpec

    with pytest.raises(InvalidInput):
        services.coupon_issuer().issue(MERCHANT, "c-1", OfferSpec(discount_type="amount", value=Decimal("5")),
                                       campaign="loyalty", ref="r-1", currency=None, now=aws.now)


def test_redeem_once_the_same_order_again_succeeds_another_order_is_refused(aws):
    code = issue(aws).code
    first = redeem(aws, code.lower().replace("-", " "))  # as a cashier types it
    assert first.status_code == 200, first.body
    assert first.json_body == {"code": code, "order_id": "1001", "discount_type": "amount", "value": "10",
                               "currency": "USD", "discount_amount": "10"}
    replay = redeem(aws, code)
    assert replay.status_code == 200 and replay.json_body == first.json_body
    assert reason_of(redeem(aws, code, order_id="1002"), 409) == "already_used"
    assert reason_of(aws.client.get(f"/v1/coupons/{code}", headers=aws.auth()), 409) == "already_used"


@pytest.fixture
def atomic_writes(monkeypatch):
    """DynamoDB applies each write (condition check included) atomically; moto's in-process
    backend checks and writes without a lock, so threads can interleave inside one write.
    Serialise moto's writes as DynamoDB would: what is left to race is our code."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def atomic(self, *args, __original=original, **kwargs):
            with lock:
                return __original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, atomic)


def test_concurrent_redemptions_of_one_code_exactly_one_wins(aws, atomic_writes):
    from postpurchase.errors import Conflict
    from postpurchase.rewards.service import RedeemIn, redeem_coupon
    from postpurchase.storage.coupons import DynamoCouponStore

    code = issue(aws).code
    store = DynamoCouponStore()
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        body = RedeemIn(order_id=f"order-{n}", order_total="80.00", currency="USD")
        barrier.wait()
        try:
            redeem_coupon(MERCHANT, code, body, aws.now, store=store)
            result = f"won:order-{n}"
        except Conflict as error:
            result = error.details["reason"]
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o.startswith("won:")]
    assert len(winners) == 1 and outcomes.count("already_used") == threads_count - 1, outcomes
    [coupon] = aws.items_of_type("coupon")
    assert coupon["state"] == "redeemed" and f"won:{coupon['redeemed_order_id']}" == winners[0]


def test_unknown_malformed_and_other_merchants_codes_answer_the_same_404(aws, other_store):
    theirs = issue(aws, merchant="other-store").code
    answers = [redeem(aws, code) for code in ("K7QM-3XPD-9TWA-R4HN", "not-a-code", theirs)]
    answers.append(aws.client.get(f"/v1/coupons/{theirs}", headers=aws.auth()))
    assert {a.status_code for a in answers} == {404}
    assert len({a.body for a in answers}) == 1
    assert answers[0].json_body == {"error": {"code": "not_found", "message": "no such coupon", "field": "code"}}
    # The owner can use it: only the other tenant is shut out.
    assert redeem(aws, theirs, api_key=other_store).status_code == 200


def test_merchant_key_required(aws):
    code = issue(aws).code
    assert redeem(aws, code, api_key="wrong-key").status_code == 401
    assert aws.client.get(f"/v1/coupons/{code}").status_code == 401


def test_refusals_name_their_reason(aws):
    code = issue(aws, customer="c-1").code
    assert reason_of(redeem(aws, code, total="49.99"), 422) == "min_spend_not_met"
    assert reason_of(redeem(aws, code, currency="EUR"), 422) == "currency_mismatch"
    assert reason_of(redeem(aws, code, customer_id="c-2"), 422) == "wrong_customer"
    assert redeem(aws, code, customer_id="c-1").status_code == 200


def test_an_expired_coupon_is_refused(aws):
    code = issue(aws).code
    aws.clock.advance(timedelta(days=30))
    response = redeem(aws, code)
    assert reason_of(response, 422) == "expired"
    assert response.json_body["error"]["expires_at"] == (aws.now + timedelta(days=30)).isoformat()


def test_bad_input_names_the_field(aws):
    code = issue(aws).code
    response = aws.client.post(f"/v1/coupons/{code}/redeem", headers=aws.auth(),
                               body=aws.encode({"order_id": "1001", "order_total": 80, "currency": "USD"}))
    assert response.status_code == 400 and response.json_body["error"]["field"] == "order_total"
    response = aws.client.get(f"/v1/coupons/{code}?order_total=abc", headers=aws.auth())
    assert response.status_code == 400 and response.json_body["error"]["field"] == "order_total"


def test_preview_checks_without_using_it(aws):
    code = issue(aws, discount_type="percent", value=Decimal("15"), min_spend=None).code
    preview = aws.client.get(f"/v1/coupons/{code}?order_total=80.00&currency=EUR", headers=aws.auth())
    assert preview.status_code == 200, preview.body
    body = preview.json_body
    assert (body["status"], body["discount_type"], body["value"], body["discount_amount"], body["campaign"]) == (
        "valid", "percent", "15", "12.00", "birthday")
    assert aws.items_of_type("coupon")[0]["state"] == "issued"
    assert redeem(aws, code).json_body["discount_amount"] == "12.00"


def test_failed_lookups_are_rate_limited_per_merchant(aws, monkeypatch, other_store):
    from postpurchase.rewards import service

    monkeypatch.setattr(service, "MISSED_LOOKUPS_PER_HOUR", 3)
    codes = ["K7QM-3XPD-9TWA-R4H2", "K7QM-3XPD-9TWA-R4H3", "K7QM-3XPD-9TWA-R4H4"]
    assert [redeem(aws, code).status_code for code in codes] == [404, 404, 404]
    assert redeem(aws, "K7QM-3XPD-9TWA-R4H5").status_code == 429
    assert redeem(aws, "K7QM-3XPD-9TWA-R4H5", api_key=other_store).status_code == 404  # per merchant
    aws.clock.advance(timedelta(hours=1))
    assert redeem(aws, "K7QM-3XPD-9TWA-R4H6").status_code == 404


@pytest.fixture
def dynamodb_calls(monkeypatch):
    """The DynamoDB operations made (PynamoDB and boto3 both go through botocore's client)."""
    from botocore.client import BaseClient

    calls: list[str] = []
    original = BaseClient._make_api_call

    def recording(self, operation, params):
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return calls


def test_a_redemption_is_one_read_and_one_conditional_write(aws, dynamodb_calls):
    code = issue(aws).code
    assert redeem(aws, "K7QM-3XPD-9TWA-R4HN").status_code == 404  # warms the merchant-key cache
    dynamodb_calls.clear()
    assert redeem(aws, code).status_code == 200
    assert dynamodb_calls == ["GetItem", "UpdateItem"]
    dynamodb_calls.clear()
    assert redeem(aws, code).status_code == 200  # the replay reads only
    assert dynamodb_calls == ["GetItem"]
