"""A merchant's return policy: versioned data, validated field by field.

A policy is immutable once stored. Editing it means storing a new `version`; each order records
the version in force when it was placed, and eligibility is always computed with that version,
so later edits never apply backwards.

No customer-facing text lives here: conditions, drop-off options and resolutions are enum
values whose wording comes from the message catalogs.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_serializer,
    field_validator,
)

from ..orders.models import Money
from ..validation import validate


class Resolution(StrEnum):
    REFUND = "refund"  # to the original payment method
    STORE_CREDIT = "store_credit"
    EXCHANGE = "exchange"  # for another variant


class ReturnReason(StrEnum):
    """Why the customer returns an item (fixed API values)."""

    CHANGED_MIND = "changed_mind"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    DOESNT_FIT = "doesnt_fit"
    NOT_AS_DESCRIBED = "not_as_described"
    OTHER = "other"


class Condition(StrEnum):
    """Condition rules a returned item must meet; the customer text comes from the catalogs."""

    UNWORN_WITH_TAGS = "unworn_with_tags"
    ORIGINAL_PACKAGING = "original_packaging"
    UNOPENED_HYGIENE = "unopened_hygiene"
    PROOF_OF_PURCHASE = "proof_of_purchase"


class DropOffOption(StrEnum):
    CARRIER_DROP_OFF = "carrier_drop_off"
    PICKUP = "pickup"
    IN_STORE = "in_store"


WindowStart = Literal["delivery", "fulfilment", "order"]

_PERCENT = re.compile(r"^\d{1,2}(\.\d{1,2})?$")
_CATEGORY = re.compile(r"^[^\x00-\x1f]{1,100}$")


def _percent(value: object) -> Decimal:
    # Strings only, like money: a JSON number has been through a float.
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not _PERCENT.match(value.strip()):
        raise ValueError('must be a decimal string such as "10" or "12.5"')
    try:
        return Decimal(value.strip())
    except InvalidOperation:  # pragma: no cover - the regex already excludes this
        raise ValueError('must be a decimal string such as "10" or "12.5"') from None


Percent = Annotated[Decimal, BeforeValidator(_percent), PlainSerializer(lambda d: str(d), return_type=str)]
Days = Annotated[int, Field(strict=True)]


def _category(name: object) -> str:
    if not isinstance(name, str):
        raise ValueError("category names must be strings")
    text = name.strip().lower()
    if not _CATEGORY.match(text):
        raise ValueError("category names must be 1-100 printable characters")
    return text


def _category_set(value: object) -> object:
    if isinstance(value, (list, tuple, set, frozenset)):
        names = [_category(name) for name in value]
        if len(set(names)) != len(names):
            raise ValueError("must not list a category twice")
        return set(names)
    return value


CategorySet = Annotated[set[str], BeforeValidator(_category_set)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class CategoryRule(_Model):
    """How returns work for one product category (or by default)."""

    window_days: Annotated[Days, Field(ge=0, le=365)]  # 0 = not returnable
    window_starts: WindowStart = "delivery"
    # Counting from delivery and no delivery scan exists: fulfilment + this many days.
    delivery_grace_days: Annotated[Days, Field(ge=0, le=60)] = 5
    resolutions: Annotated[frozenset[Resolution], Field(min_length=1)]
    restocking_fee_percent: Percent = Decimal("0")
    return_shipping_fee: Money = Decimal("0")  # 0 = free
    auto_approve: bool = False

    @field_validator("restocking_fee_percent")
    @classmethod
    def _fee_range(cls, value: Decimal) -> Decimal:
        if not Decimal("0") <= value <= Decimal("50"):
            raise ValueError("must be between 0 and 50")
        return value

    @field_validator("return_shipping_fee")
    @classmethod
    def _non_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("auto_approve")
    @classmethod
    def _not_for_closed_window(cls, value: bool, info: ValidationInfo) -> bool:
        # window_days is declared first, so it is in info.data when valid.
        if value and info.data.get("window_days") == 0:
            raise ValueError("must be false when window_days is 0 (not returnable)")
        return value

    @field_serializer("resolutions")
    def _sorted_resolutions(self, value: frozenset[Resolution]) -> list[str]:
        return sorted(item.value for item in value)

    @property
    def returnable(self) -> bool:
        return self.window_days > 0


class Logistics(_Model):
    """How returns travel and how long they take (the customer reads this part)."""

    drop_off_options: Annotated[list[DropOffOption], Field(min_length=1, max_length=len(DropOffOption))]
    label_provided: bool = True
    processing_days: Annotated[Days, Field(ge=1, le=60)] = 5  # from receipt to decision
    refund_days: Annotated[Days, Field(ge=1, le=60)] = 10  # from approval to money back

    @field_validator("drop_off_options")
    @classmethod
    def _unique(cls, value: list[DropOffOption]) -> list[DropOffOption]:
        if len(set(value)) != len(value):
            raise ValueError("must not list an option twice")
        return value


class ReturnPolicy(_Model):
    """One version of a merchant's return policy."""

    version: Annotated[Days, Field(ge=1)]
    effective_from: AwareDatetime
    default_rule: CategoryRule
    categories: Annotated[dict[str, CategoryRule], Field(max_length=200)] = {}
    final_sale_categories: CategorySet = set()
    # Declared after final_sale_categories: its validator checks the two don't overlap.
    non_returnable_categories: CategorySet = set()
    logistics: Logistics
    conditions: frozenset[Condition] = frozenset()

    @field_validator("categories", mode="before")
    @classmethod
    def _lower_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        lowered: dict[str, Any] = {}
        for name, rule in value.items():
            key = _category(name)
            if key in lowered:
                raise ValueError(f"category {key!r} is listed twice (names are case-insensitive)")
            lowered[key] = rule
        return lowered

    @field_validator("non_returnable_categories")
    @classmethod
    def _no_overlap(cls, value: set[str], info: ValidationInfo) -> set[str]:
        both = sorted(value & info.data.get("final_sale_categories", set()))
        if both:
            raise ValueError(f"{', '.join(both)} cannot be both final sale and non-returnable")
        return value

    @field_serializer("final_sale_categories", "non_returnable_categories", "conditions")
    def _sorted(self, value: set) -> list[str]:
        return sorted(str(item) for item in value)

    def rule_for(self, category: str | None) -> CategoryRule:
        """The rule for a product category (case-insensitive); the default rule otherwise."""
        if category is None:
            return self.default_rule
        return self.categories.get(category.strip().lower(), self.default_rule)

    def is_final_sale(self, category: str | None) -> bool:
        return category is not None and category.strip().lower() in self.final_sale_categories

    def is_non_returnable(self, category: str | None) -> bool:
        return category is not None and category.strip().lower() in self.non_returnable_categories


def policy_from_json(data: Any) -> ReturnPolicy:
    """A policy from its JSON object; raises InvalidInput naming the field ("categories.shoes.window_days")."""
    return validate(ReturnPolicy, data)


DEFAULT_POLICY = ReturnPolicy(
    version=1,
    effective_from=datetime(2024, 1, 1, tzinfo=timezone.utc),
    default_rule=CategoryRule(
        window_days=30,
        window_starts="delivery",
        delivery_grace_days=5,
        resolutions=frozenset(Resolution),
        restocking_fee_percent=Decimal("0"),
        return_shipping_fee=Decimal("0"),
        auto_approve=True,
    ),
    final_sale_categories={"clearance"},
    non_returnable_categories={"underwear", "gift_card"},
    logistics=Logistics(drop_off_options=[DropOffOption.CARRIER_DROP_OFF], label_provided=True),
    conditions=frozenset({Condition.UNWORN_WITH_TAGS, Condition.PROOF_OF_PURCHASE}),
)
