"""Return policy as versioned data: validation with the field at fault (postpurchase.returns.policy)."""
from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from postpurchase.errors import InvalidInput
from postpurchase.returns.policy import (
    DEFAULT_POLICY,
    Condition,
    DropOffOption,
    Resolution,
    ReturnPolicy,
    ReturnReason,
    policy_from_json,
)


def valid() -> dict:
    return {
        "version": 3,
        "effective_from": "2025-03-01T00:00:00+03:00",
        "default_rule": {
            "window_days": 30,
            "window_starts": "delivery",
            "delivery_grace_days": 5,
            "resolutions": ["refund", "store_credit", "exchange"],
            "restocking_fee_percent": "0",
            "return_shipping_fee": "0",
            "auto_approve": True,
        },
        "categories": {
            "Shoes": {
                "window_days": 60,
                "window_starts": "fulfilment",
                "resolutions": ["exchange"],
                "restocking_fee_percent": "12.5",
                "return_shipping_fee": "4.95",
            },
        },
        "final_sale_categories": ["Clearance"],
        "non_returnable_categories": ["underwear", "gift_card"],
        "logistics": {
            "drop_off_options": ["carrier_drop_off", "pickup", "in_store"],
            "label_provided": False,
            "processing_days": 3,
            "refund_days": 7,
        },
        "conditions": ["unworn_with_tags", "original_packaging"],
    }


def refused(data: dict) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        policy_from_json(data)
    return caught.value


def test_a_valid_policy_parses_with_lower_cased_categories():
    policy = policy_from_json(valid())
    assert policy.version == 3
    shoes = policy.rule_for("SHOES")
    assert shoes.window_days == 60 and shoes.window_starts == "fulfilment"
    assert shoes.resolutions == {Resolution.EXCHANGE}
    assert shoes.restocking_fee_percent == Decimal("12.5")
    assert shoes.return_shipping_fee == Decimal("4.95")
    assert shoes.auto_approve is False
    assert policy.final_sale_categories == {"clearance"}
    assert policy.is_final_sale("Clearance") and policy.is_non_returnable("Gift_Card")
    assert policy.logistics.drop_off_options == [DropOffOption.CARRIER_DROP_OFF, DropOffOption.PICKUP, DropOffOption.IN_STORE]
    assert policy.conditions == {Condition.UNWORN_WITH_TAGS, Condition.ORIGINAL_PACKAGING}


def test_rule_for_falls_back_to_the_default_rule():
    policy = policy_from_json(valid())
    assert policy.rule_for(None) is policy.default_rule
    assert policy.rule_for("hats") is policy.default_rule


def test_round_trips_through_json():
    policy = policy_from_json(valid())
    dumped = policy.model_dump(mode="json")
    assert dumped["categories"]["shoes"]["restocking_fee_percent"] == "12.5"
    assert dumped["default_rule"]["resolutions"] == ["exchange", "refund", "store_credit"]
    assert policy_from_json(dumped) == policy
    assert policy_from_json(DEFAULT_POLICY.model_dump(mode="json")) == DEFAULT_POLICY


def test_default_policy_is_a_general_store_policy():
    rule = DEFAULT_POLICY.default_rule
    assert DEFAULT_POLICY.version == 1
    assert (rule.window_days, rule.window_starts, rule.delivery_grace_days) == (30, "delivery", 5)
    assert rule.resolutions == set(Resolution)
    assert rule.return_shipping_fee == 0 and rule.auto_approve
    assert DEFAULT_POLICY.non_returnable_categories == {"underwear", "gift_card"}
    assert DEFAULT_POLICY.final_sale_categories == {"clearance"}


def test_policies_are_immutable():
    with pytest.raises(Exception):
        DEFAULT_POLICY.version = 2  # type: ignore[misc]


def test_return_reasons_are_the_fixed_api_values():
    assert {r.value for r in ReturnReason} == {
        "changed_mind", "damaged", "wrong_item", "doesnt_fit", "not_as_described", "other",
    }


def mutate(path: str, value) -> dict:
    data = copy.deepcopy(valid())
    *parents, last = path.split(".")
    target = data
    for part in parents:
        target = target[part]
    target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("categories.Shoes.window_days", 366, "categories.shoes.window_days"),
        ("categories.Shoes.window_days", -1, "categories.shoes.window_days"),
        ("categories.Shoes.window_days", "30", "categories.shoes.window_days"),
        ("categories.Shoes.window_starts", "payment", "categories.shoes.window_starts"),
        ("categories.Shoes.delivery_grace_days", 61, "categories.shoes.delivery_grace_days"),
        ("categories.Shoes.resolutions", [], "categories.shoes.resolutions"),
        ("categories.Shoes.resolutions", ["cash"], "categories.shoes.resolutions[0]"),
        ("categories.Shoes.restocking_fee_percent", "50.01", "categories.shoes.restocking_fee_percent"),
        ("categories.Shoes.restocking_fee_percent", 10, "categories.shoes.restocking_fee_percent"),
        ("categories.Shoes.restocking_fee_percent", "-1", "categories.shoes.restocking_fee_percent"),
        ("categories.Shoes.return_shipping_fee", "-0.01", "categories.shoes.return_shipping_fee"),
        ("categories.Shoes.return_shipping_fee", 4.95, "categories.shoes.return_shipping_fee"),
        ("categories.Shoes.colour", "red", "categories.shoes.colour"),
        ("default_rule.resolutions", ["refund", "refund!"], "default_rule.resolutions[1]"),
        ("version", 0, "version"),
        ("effective_from", "2025-03-01T00:00:00", "effective_from"),
        ("logistics.processing_days", 0, "logistics.processing_days"),
        ("logistics.refund_days", 61, "logistics.refund_days"),
        ("logistics.drop_off_options", [], "logistics.drop_off_options"),
        ("logistics.drop_off_options", ["pickup", "pickup"], "logistics.drop_off_options"),
        ("logistics.drop_off_options", ["teleport"], "logistics.drop_off_options[0]"),
        ("conditions", ["smells_nice"], "conditions[0]"),
        ("general_rules", ["Be nice"], "general_rules"),
        ("final_sale_categories", ["a", "A"], "final_sale_categories"),
    ],
)
def test_invalid_policies_name_the_field_at_fault(path, value, field):
    error = refused(mutate(path, value))
    assert error.field == field
    assert error.message.startswith(field + ":")


def test_a_category_cannot_be_both_final_sale_and_non_returnable():
    error = refused(mutate("non_returnable_categories", ["underwear", "CLEARANCE"]))
    assert error.field == "non_returnable_categories"
    assert "clearance" in error.message


def test_a_closed_window_cannot_auto_approve():
    data = mutate("categories.Shoes.window_days", 0)
    data["categories"]["Shoes"]["auto_approve"] = True
    error = refused(data)
    assert error.field == "categories.shoes.auto_approve"
    data["categories"]["Shoes"]["auto_approve"] = False
    assert policy_from_json(data).rule_for("shoes").returnable is False


def test_category_names_are_case_insensitive_and_unique():
    data = valid()
    data["categories"]["shoes"] = data["categories"]["Shoes"]
    error = refused(data)
    assert error.field == "categories"


def test_a_missing_required_field_is_named():
    data = valid()
    del data["logistics"]
    assert refused(data).field == "logistics"
    data = valid()
    del data["default_rule"]["resolutions"]
    assert refused(data).field == "default_rule.resolutions"


def test_not_an_object_is_refused():
    assert isinstance(refused([]), InvalidInput)  # type: ignore[arg-type]


def test_constructing_in_python_validates_too():
    with pytest.raises(ValueError):
        ReturnPolicy.model_validate({**valid(), "version": -5})
