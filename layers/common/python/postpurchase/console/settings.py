"""The console's settings forms (pure: no AWS): what each form shows, and the body a posted form
becomes for the very call the API makes.

- messaging: quiet hours, the frequency cap and the support forward address -> `MessagingSettings` (PUT /v1/settings/messaging
  takes the same model; the other messaging settings are kept as stored); the sender name and
  the shop's default language -> `MerchantBranding` (no /v1 route: the admin CLI's merchant
  settings);
- return-policy: the default rule, the final-sale and non-returnable categories, logistics and
  conditions -> the policy JSON PUT /v1/returns/policy publishes (per-category rules kept);
- loyalty: -> `LoyaltySettings` (PUT /v1/settings/loyalty; tiers and multipliers kept);
- webhooks: the two URLs -> `WebhookSettingsIn` (PUT /v1/settings/webhooks).

Form fields are named by the API field they set (`quiet_hours.start_hour`,
`default_rule.window_days`), so an `InvalidInput` from the model names the input it belongs to.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..errors import InvalidInput

SECTIONS = ("messaging", "return-policy", "loyalty", "webhooks")
WINDOW_STARTS = ("delivery", "fulfilment", "order")
RESOLUTIONS = ("refund", "store_credit", "exchange")
DROP_OFF_OPTIONS = ("carrier_drop_off", "pickup", "in_store")
CONDITIONS = ("unworn_with_tags", "original_packaging", "unopened_hygiene", "proof_of_purchase")
MAX_CATEGORIES_TEXT = 5000


def _text(form: Mapping[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def _whole(form: Mapping[str, str], name: str, *, optional: bool = False) -> int | None:
    text = _text(form, name)
    if not text and optional:
        return None
    if not text.isdigit() or len(text) > 9:
        raise InvalidInput(f"{name} must be a whole number", field=name)
    return int(text)


def _checked(form: Mapping[str, str], prefix: str, values: tuple[str, ...]) -> list[str]:
    return [value for value in values if form.get(f"{prefix}.{value}") == "on"]


def _categories(form: Mapping[str, str], name: str) -> list[str]:
    text = _text(form, name)
    if len(text) > MAX_CATEGORIES_TEXT:
        raise InvalidInput(f"{name} is too long", field=name)
    return list(dict.fromkeys(part.strip() for part in text.replace("\n", ",").split(",") if part.strip()))


# --- messaging -----------------------------------------------------------------------------------


def messaging_values(settings: Any, branding: Any) -> dict[str, str]:
    return {"quiet_hours.start_hour": str(settings.quiet_hours.start_hour),
            "quiet_hours.end_hour": str(settings.quiet_hours.end_hour),
            "frequency_cap.max_messages": str(settings.frequency_cap.max_messages),
            "frequency_cap.per_days": str(settings.frequency_cap.per_days),
            "name": branding.name, "default_locale": branding.default_locale,
            "support_forward_address": settings.support_forward_address or ""}


def messaging_from_form(form: Mapping[str, str], settings: Any, branding: Any, languages: tuple[str, ...]):
    """(MessagingSettings, MerchantBranding) from the form; InvalidInput naming the input."""
    from ..messaging.requests import MerchantBranding
    from ..messaging.settings import MessagingSettings
    from ..validation import validate

    body = settings.model_dump(mode="json")
    body["quiet_hours"] = {"start_hour": _whole(form, "quiet_hours.start_hour"),
                           "end_hour": _whole(form, "quiet_hours.end_hour")}
    body["frequency_cap"] = {"max_messages": _whole(form, "frequency_cap.max_messages"),
                             "per_days": _whole(form, "frequency_cap.per_days")}
    if "support_forward_address" in form:  # empty: no forward
        body["support_forward_address"] = _text(form, "support_forward_address") or None
    messaging = validate(MessagingSettings, body)
    language = _text(form, "default_locale")
    if language not in languages:
        raise InvalidInput("default_locale must be one of the shop's languages", field="default_locale")
    name = _text(form, "name")
    if not name:
        raise InvalidInput("name is required", field="name")
    branding_body = {**branding.model_dump(mode="json"), "name": name, "default_locale": language}
    return messaging, validate(MerchantBranding, branding_body)


# --- return policy -------------------------------------------------------------------------------


def policy_values(policy: Any) -> dict[str, Any]:
    rule, logistics = policy.default_rule, policy.logistics
    values: dict[str, Any] = {
        "default_rule.window_days": str(rule.window_days), "default_rule.window_starts": rule.window_starts,
        "default_rule.restocking_fee_percent": f"{rule.restocking_fee_percent.normalize():f}",
        "default_rule.return_shipping_fee": f"{rule.return_shipping_fee:f}",
        "final_sale_categories": ", ".join(sorted(policy.final_sale_categories)),
        "non_returnable_categories": ", ".join(sorted(policy.non_returnable_categories)),
        "logistics.processing_days": str(logistics.processing_days),
        "logistics.refund_days": str(logistics.refund_days),
        "logistics.label_provided": "on" if logistics.label_provided else "",
    }
    values.update({f"default_rule.resolutions.{r.value}": "on" for r in rule.resolutions})
    values.update({f"logistics.drop_off_options.{o.value}": "on" for o in logistics.drop_off_options})
    values.update({f"conditions.{c.value}": "on" for c in policy.conditions})
    return values


def policy_from_form(form: Mapping[str, str], current: Any) -> dict[str, Any]:
    """The policy JSON (without version and effective_from) that PUT /v1/returns/policy takes."""
    document = current.model_dump(mode="json", exclude={"version", "effective_from"})
    rule = document["default_rule"]
    rule.update({"window_days": _whole(form, "default_rule.window_days"),
                 "window_starts": _text(form, "default_rule.window_starts"),
                 "resolutions": _checked(form, "default_rule.resolutions", RESOLUTIONS),
                 "restocking_fee_percent": _text(form, "default_rule.restocking_fee_percent") or "0",
                 "return_shipping_fee": _text(form, "default_rule.return_shipping_fee") or "0"})
    document["final_sale_categories"] = _categories(form, "final_sale_categories")
    document["non_returnable_categories"] = _categories(form, "non_returnable_categories")
    document["logistics"] = {"drop_off_options": _checked(form, "logistics.drop_off_options", DROP_OFF_OPTIONS),
                             "label_provided": form.get("logistics.label_provided") == "on",
                             "processing_days": _whole(form, "logistics.processing_days"),
                             "refund_days": _whole(form, "logistics.refund_days")}
    document["conditions"] = _checked(form, "conditions", CONDITIONS)
    return document


# --- loyalty -------------------------------------------------------------------------------------


def loyalty_values(document: Mapping[str, Any]) -> dict[str, str]:
    return {"enabled": "on" if document.get("enabled") else "",
            **{name: "" if document.get(name) is None else str(document[name])
               for name in ("points_per_unit", "point_value", "min_redemption", "review_bonus", "birthday_bonus",
                            "expiry_months")}}


def loyalty_from_form(form: Mapping[str, str], document: Mapping[str, Any]):
    from ..rewards.loyalty import LoyaltySettings
    from ..validation import validate

    body = dict(document)
    body.update({"enabled": form.get("enabled") == "on",
                 "points_per_unit": _text(form, "points_per_unit"), "point_value": _text(form, "point_value"),
                 "min_redemption": _whole(form, "min_redemption"), "review_bonus": _whole(form, "review_bonus"),
                 "birthday_bonus": _whole(form, "birthday_bonus"),
                 "expiry_months": _whole(form, "expiry_months", optional=True)})
    return validate(LoyaltySettings, body)


# --- webhooks ------------------------------------------------------------------------------------


def webhook_values(webhooks: Any) -> dict[str, str]:
    return {"returns_url": webhooks.returns_url or "", "feedback_url": webhooks.feedback_url or ""}


def webhooks_from_form(form: Mapping[str, str]):
    from ..storage.merchants import WebhookSettingsIn
    from ..validation import validate

    return validate(WebhookSettingsIn, {name: _text(form, name) or None for name in ("returns_url", "feedback_url")})


def masked(secret: str | None) -> str | None:
    """A signing secret as the console shows it: its start and its last four characters."""
    if not secret:
        return None
    return f"{secret[:8]}…{secret[-4:]}" if len(secret) > 16 else "…"
