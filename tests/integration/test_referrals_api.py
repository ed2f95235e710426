"""Referrals through the real handlers against moto: the customer's code and share link, referred
orders accepted / refused / flagged then decided by the merchant, rewards pending until the
return window closes, voided when the order is cancelled or fully returned."""
from __future__ import annotations

from datetime import timedelta

MERCHANT = "demo-store"
SETTINGS = {"referrer_reward": {"discount_type": "amount", "value": "10", "valid_days": 60},
            "friend_reward": {"discount_type": "percent", "value": "15"}, "monthly_cap": 5}
FRIEND_ADDRESS = {"name": "Can Demir", "address1": "Bağdat Caddesi 200", "city": "İstanbul", "zip": "34728",
                  "country_code": "TR"}
SHIPMENT = {"carrier": "fedex", "tracking_number": "794698760140", "items": [{"sku": "MUG-1", "quantity": 2}]}
# Default return policy: 30 days; the order's window closes 30 days after placed_at + 7 days in transit.
VESTING = timedelta(days=37)


def place(aws, order_id: str, customer_id: str, email: str, address: dict | None = None, **fields) -> None:
    order = aws.api_order(order_id, placed_at=aws.clock.now(), email=email,
                          customer={"id": customer_id, "email": email, "first_name": "X", "locale": "en"},
                          shipping_address=address or FRIEND_ADDRESS, **fields)
    response = aws.post_order(order)
    assert response.status_code == 202, response.body
    assert aws.pump_queue("OrderEventsQueue") == 1


def referral_code(aws, customer_id: str = "c-1", api_key: str | None = None):
    return aws.client.get(f"/v1/customers/{customer_id}/referral", headers=aws.auth(api_key))


def put_settings(aws, **changes) -> None:
    response = aws.client.put("/v1/settings/referrals", headers=aws.auth(), body=aws.encode({**SETTINGS, **changes}))
    assert response.status_code == 200, response.body


def referrals(aws, query: str = "", api_key: str | None = None) -> list[dict]:
    response = aws.client.get(f"/v1/referrals{query}", headers=aws.auth(api_key))
    assert response.status_code == 200, response.body
    return response.json_body["referrals"]


def referral(aws, order_id: str) -> dict:
    return next(r for r in referrals(aws) if r["order_id"] == order_id)


def decide(aws, referral_id: str, decision: str, api_key: str | None = None):
    return aws.client.post(f"/v1/referrals/{referral_id}/decision", headers=aws.auth(api_key),
                           body=aws.encode({"decision": decision}))


def redeem(aws, code: str, order_id: str, customer_id: str | None = None):
    body = {"order_id": order_id, "order_total": "100.00", "currency": "USD"}
    if customer_id:
        body["customer_id"] = customer_id
    return aws.client.post(f"/v1/coupons/{code}/redeem", headers=aws.auth(), body=aws.encode(body))


def referrer(aws) -> str:
    """Ayşe (c-1) has an order, then asks for her code."""
    place(aws, "1001", "c-1", "ayse.yilmaz@example.com", aws.api_order()["shipping_address"],
          payment_fingerprint="card-ayse")
    put_settings(aws)
    response = referral_code(aws)
    assert response.status_code == 200, response.body
    return response.json_body["code"]


# ------------------------------------------------------------------------------ code and link


def test_the_code_is_created_on_first_call_then_stable(aws):
    code = referrer(aws)
    again = referral_code(aws).json_body
    assert again == {"customer_id": "c-1", "code": code, "share_url": f"https://{_website(aws)}/?ref={code}"}
    assert code.startswith("RF-") and len(code) == 11
    assert len(aws.items_of_type("referral_code")) == 2  # code -> customer, customer -> code

    from postpurchase import services

    invite = services.referral_codes().invite_for(MERCHANT, "c-1", aws.now)
    assert invite.code == code and invite.friend_offer is not None and invite.friend_offer.value == 15


def _website(aws) -> str:
    from postpurchase.storage.merchants import DynamoMerchantStore

    return DynamoMerchantStore().get(MERCHANT).branding.website_url.removeprefix("https://")


def test_unknown_customers_and_other_merchants_get_404(aws, other_store):
    referrer(aws)
    assert referral_code(aws, "nobody").status_code == 404
    bad = referral_code(aws, "c" * 129)
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "customer_id"
    assert referral_code(aws, "c-1", api_key=other_store).status_code == 404


# ------------------------------------------------------------------------------ referred orders


def test_an_accepted_referral_rewards_both_sides_once_the_window_has_closed(aws):
    code = referrer(aws)
    place(aws, "2001", "c-2", "can.demir@example.com", referral_code=code.lower(), payment_fingerprint="card-can")

    found = referral(aws, "2001")
    assert (found["status"], found["reasons"], found["referrer_id"], found["friend_id"]) == (
        "accepted", [], "c-1", "c-2")
    assert found["vests_at"] == (aws.now + VESTING).isoformat()
    rewards = {r["side"]: r for r in found["rewards"]}
    assert set(rewards) == {"referrer", "friend"}
    assert (rewards["referrer"]["customer_id"], rewards["referrer"]["value"], rewards["referrer"]["currency"]) == (
        "c-1", "10", "USD")
    assert all(r["status"] == "pending" for r in rewards.values())

    friend_code = rewards["friend"]["code"]
    refused = redeem(aws, friend_code, "2002", "c-2")
    assert refused.status_code == 422 and refused.json_body["error"]["reason"] == "not_yet_valid"

    aws.clock.advance(VESTING)
    assert referral(aws, "2001")["rewards"][0]["status"] == "valid"
    assert redeem(aws, friend_code, "2002", "c-2").json_body["discount_amount"] == "15.00"
    assert redeem(aws, rewards["referrer"]["code"], "1002", "c-1").json_body["discount_amount"] == "10"


def test_a_redelivered_order_stores_one_referral_with_the_same_rewards(aws):
    from postpurchase.orders.models import Order
    from postpurchase.rewards import service
    from postpurchase.storage.orders import DynamoOrderStore

    code = referrer(aws)
    place(aws, "2001", "c-2", "can.demir@example.com", referral_code=code)
    before = referral(aws, "2001")
    order = Order.model_validate(aws.api_order("2001", placed_at=aws.now, email="can.demir@example.com",
                                               customer={"id": "c-2", "email": "can.demir@example.com"},
                                               shipping_address=FRIEND_ADDRESS, referral_code=code))
    recorded = DynamoOrderStore().record_order(MERCHANT, order, aws.now)
    assert not recorded.newly_recorded
    service.on_order_recorded(recorded, aws.now)
    assert referrals(aws) == [before]
    assert len(aws.items_of_type("coupon")) == 2


def test_self_referrals_and_existing_customers_are_refused(aws):
    code = referrer(aws)
    ayse_home = aws.api_order()["shipping_address"]
    place(aws, "2001", "c-2", "Ayse.Yilmaz+2@example.com", referral_code=code)  # same email, tagged
    place(aws, "2002", "c-3", "someone@example.com", {**ayse_home, "address1": "istiklal caddesi, 12"},
          referral_code=code)
    place(aws, "2003", "c-4", "other@example.com", referral_code=code, payment_fingerprint="card-ayse")
    place(aws, "2004", "c-5", "fifth@example.com")  # an order first, then with the code
    place(aws, "2005", "c-5", "fifth@example.com", referral_code=code)
    place(aws, "2006", "c-6", "sixth@example.com", referral_code="RF-2222ZZZZ")

    assert {r["order_id"]: (r["status"], r["reasons"]) for r in referrals(aws)} == {
        "2001": ("refused", ["self_referral_email"]),
        "2002": ("refused", ["self_referral_address"]),
        "2003": ("refused", ["self_referral_payment"]),
        "2005": ("refused", ["existing_customer"]),
        "2006": ("refused", ["unknown_code"]),
    }
    assert aws.items_of_type("coupon") == []
    assert [r["order_id"] for r in referrals(aws, "?status=accepted")] == []


def test_past_the_monthly_cap_it_is_flagged_then_the_merchant_decides(aws):
    code = referrer(aws)
    put_settings(aws, monthly_cap=1)
    place(aws, "2001", "c-2", "two@example.com", referral_code=code)
    place(aws, "2002", "c-3", "three@example.com", {**FRIEND_ADDRESS, "address1": "Elsewhere 1"},
          referral_code=code)
    place(aws, "2003", "c-4", "four@example.com", {**FRIEND_ADDRESS, "address1": "Elsewhere 2"},
          referral_code=code)

    flagged = referrals(aws, "?status=flagged")
    assert [(r["order_id"], r["reasons"], r["rewards"]) for r in flagged] == [
        ("2002", ["monthly_cap_reached"], []), ("2003", ["monthly_cap_reached"], [])]

    approved = decide(aws, "2002", "approve")
    assert approved.status_code == 200, approved.body
    body = approved.json_body
    assert (body["status"], body["decided_by"], len(body["rewards"])) == ("accepted", "merchant", 2)
    assert all(r["status"] == "pending" for r in body["rewards"])
    assert decide(aws, "2002", "approve").json_body == body  # the same decision again
    rejected = decide(aws, "2003", "reject").json_body
    assert (rejected["status"], rejected["reasons"]) == ("refused", ["monthly_cap_reached", "rejected_by_merchant"])

    conflict = decide(aws, "2001", "reject")  # accepted by the rules: nothing to decide
    assert conflict.status_code == 409 and conflict.json_body["error"]["reason"] == "not_flagged"
    assert decide(aws, "9999", "approve").status_code == 404
    bad = decide(aws, "2002", "maybe")
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "decision"
    assert referrals(aws, "?status=flagged") == []


def test_concurrent_referrals_cannot_pass_the_cap(aws):
    from postpurchase.storage.referrals import CapReached, DynamoReferralStore

    code = referrer(aws)
    put_settings(aws, monthly_cap=1)
    place(aws, "2001", "c-2", "two@example.com", referral_code=code)
    # A second acceptance judged before the first was counted still cannot store past the cap.
    store = DynamoReferralStore()
    stored, _ = store.get(MERCHANT, "2001")
    twin = stored.model_copy(update={"order_id": "2009", "referral_id": "2009"})
    try:
        store.add(twin, cap=(aws.now.strftime("%Y-%m"), 1))
        raise AssertionError("the cap let a second referral through")
    except CapReached:
        pass
    assert store.get(MERCHANT, "2009") is None


def test_a_referral_that_loses_the_race_for_the_last_place_waits_for_the_merchant(aws, monkeypatch):
    from postpurchase.storage.referrals import DynamoReferralStore

    code = referrer(aws)
    put_settings(aws, monthly_cap=1)
    place(aws, "2001", "c-2", "two@example.com", referral_code=code)
    # The second is judged as if the first were not counted yet (read before its write landed).
    monkeypatch.setattr(DynamoReferralStore, "accepted_in_month", lambda self, m, r, month: 0)
    place(aws, "2002", "c-3", "three@example.com", {**FRIEND_ADDRESS, "address1": "Elsewhere 1"},
          referral_code=code)

    found = referral(aws, "2002")
    assert (found["status"], found["reasons"], found["rewards"]) == ("flagged", ["monthly_cap_reached"], [])
    coupons = aws.items_of_type("coupon")
    assert sorted(c["state"] for c in coupons) == ["issued", "issued", "void", "void"]  # 2001's, 2002's voided
    approved = decide(aws, "2002", "approve").json_body
    assert approved["status"] == "accepted" and [r["status"] for r in approved["rewards"]] == ["pending", "pending"]


def test_cancelling_the_order_voids_its_rewards(aws):
    code = referrer(aws)
    place(aws, "2001", "c-2", "can.demir@example.com", referral_code=code)
    rewards = referral(aws, "2001")["rewards"]
    aws.send("OrderEventsQueue", {"type": "OrderCancelled", "event_id": "cancel-2001", "merchant_id": MERCHANT,
                                  "source": "api", "received_at": aws.now.isoformat(), "order_id": "2001",
                                  "cancelled_at": aws.now.isoformat()})
    assert aws.pump_queue("OrderEventsQueue") == 1

    found = referral(aws, "2001")
    assert (found["status"], found["void_reason"]) == ("void", "order_cancelled")
    assert [r["status"] for r in found["rewards"]] == ["void", "void"]
    aws.clock.advance(VESTING)
    refused = redeem(aws, rewards[0]["code"], "3001")
    assert refused.status_code == 409 and refused.json_body["error"]["reason"] == "void"


def test_a_fully_returned_order_voids_its_rewards_a_partial_return_does_not(aws):
    code = referrer(aws)
    place(aws, "2001", "c-2", "can.demir@example.com", referral_code=code)
    assert aws.post_shipment("2001", SHIPMENT).status_code == 201
    assert aws.pump_queue("OrderEventsQueue") == 1

    def return_units(quantity: int, accepted: int) -> None:
        asked = aws.client.post("/v1/orders/2001/returns", headers=aws.auth(), body=aws.encode(
            {"items": [{"sku": "MUG-1", "quantity": quantity}], "reason": "changed_mind", "resolution": "refund"}))
        assert asked.status_code == 201, asked.body
        rma_id = asked.json_body["rma_id"]
        for command in ({"action": "issue_label", "carrier": "ups", "tracking_number": f"1Z{quantity}",
                         "label_url": "https://labels.example/1.pdf"}, {"action": "receive"},
                        {"action": "inspect", "lines": [{"sku": "MUG-1", "accepted_quantity": accepted}]},
                        {"action": "resolve", "resolution": {"kind": "refund", "amount": "12.50"}}):
            response = aws.client.post(f"/v1/orders/2001/returns/{rma_id}/transitions", headers=aws.auth(),
                                       body=aws.encode(command))
            assert response.status_code == 200, (command, response.body)
        aws.pump.drain()

    return_units(1, 1)
    assert referral(aws, "2001")["status"] == "accepted"
    return_units(1, 1)
    found = referral(aws, "2001")
    assert (found["status"], found["void_reason"]) == ("void", "order_returned")
    assert {c["state"] for c in aws.items_of_type("coupon")} == {"void"}


def test_merchants_see_only_their_referrals(aws, other_store):
    code = referrer(aws)
    place(aws, "2001", "c-2", "can.demir@example.com", referral_code=code)
    assert referrals(aws, api_key=other_store) == []
    assert decide(aws, "2001", "approve", api_key=other_store).status_code == 404
    assert [r["order_id"] for r in referrals(aws)] == ["2001"]


def test_listing_pages_and_validates_its_query(aws):
    from postpurchase.storage import referrals as storage

    code = referrer(aws)
    for n in range(3):
        place(aws, f"20{n}", f"c-{n + 2}", f"f{n}@example.com", {**FRIEND_ADDRESS, "address1": f"Street {n}"},
              referral_code=code)
    first = aws.client.get("/v1/referrals", headers=aws.auth()).json_body
    assert len(first["referrals"]) == 3 and first["next"] is None
    store = storage.DynamoReferralStore()
    page, token = store.page(MERCHANT, None, None, limit=2)
    rest, end = store.page(MERCHANT, None, token, limit=2)
    assert [r.order_id for r in page + rest] == ["200", "201", "202"] and end is None
    bad = aws.client.get("/v1/referrals?status=maybe", headers=aws.auth())
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "status"
    bad = aws.client.get("/v1/referrals?next=garbage", headers=aws.auth())
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "next"


def test_settings_are_validated(aws):
    response = aws.client.put("/v1/settings/referrals", headers=aws.auth(), body=aws.encode(
        {"referrer_reward": {"discount_type": "percent", "value": "150"}}))
    assert response.status_code == 400 and response.json_body["error"]["field"].startswith("referrer_reward")
    response = aws.client.put("/v1/settings/referrals", headers=aws.auth(), body=aws.encode({"monthly_cap": 0}))
    assert response.status_code == 400 and response.json_body["error"]["field"] == "monthly_cap"


def test_the_merchants_listing_is_one_query(aws, monkeypatch):
    from botocore.client import BaseClient

    code = referrer(aws)
    place(aws, "2001", "c-2", "can.demir@example.com", referral_code=code)
    referrals(aws)  # the merchant key is cached from here on
    calls: list[str] = []
    original = BaseClient._make_api_call

    def recording(self, operation, params):
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    assert len(referrals(aws, "?status=accepted")) == 1
    assert calls == ["Query"]
