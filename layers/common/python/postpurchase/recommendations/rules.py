"""The merchant's recommendation rules (`PUT /v1/settings/recommendations`); pure."""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from .catalog import Category, normalise_category

Weight = Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]


def _accessories(value: Any) -> Any:
    """["case", "headset"] is {"case": 1, "headset": 1}."""
    if isinstance(value, list):
        return {item: 1.0 for item in value}
    return value


class RecommendationRules(BaseModel):
    """category -> accessory categories (with weights), and how the two signals are combined.

    See `postpurchase.recommendations.scoring.recommend` for the formula these numbers enter.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: Annotated[dict[Category, Annotated[dict[Category, Weight], BeforeValidator(_accessories),
                                                   Field(max_length=50)]],
                          Field(max_length=500)] = {}
    rule_weight: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = 1.0
    copurchase_weight: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = 1.0
    # How much a past purchase counts next to the order being confirmed (which counts 1).
    history_weight: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.5
    # Pairs seen fewer times than this are noise, not a signal.
    min_copurchase: Annotated[int, Field(ge=1, le=1000)] = 1
    max_per_category: Annotated[int, Field(ge=1, le=50)] = 2
    # Each product already picked from a category multiplies the next one's score by this.
    diversity_penalty: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.5

    @field_validator("categories", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {normalise_category(key): accessories for key, accessories in value.items()}
        return value

    def accessories(self, category: str | None) -> dict[str, float]:
        if not category:
            return {}
        return self.categories.get(str(normalise_category(category)), {})


DEFAULT_RULES = RecommendationRules()
