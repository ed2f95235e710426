"""Returns: the merchant's return policy (versioned data) and per-item eligibility."""
from __future__ import annotations

from .eligibility import IneligibleReason, ItemEligibility, ShipmentFacts, eligibility
from .policy import (
    DEFAULT_POLICY,
    CategoryRule,
    Condition,
    DropOffOption,
    Logistics,
    Resolution,
    ReturnPolicy,
    ReturnReason,
    WindowStart,
    policy_from_json,
)

__all__ = [
    "DEFAULT_POLICY",
    "CategoryRule",
    "Condition",
    "DropOffOption",
    "IneligibleReason",
    "ItemEligibility",
    "Logistics",
    "Resolution",
    "ReturnPolicy",
    "ReturnReason",
    "ShipmentFacts",
    "WindowStart",
    "eligibility",
    "policy_from_json",
]
