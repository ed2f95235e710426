"""The return policy as customers read it: `GET /v1/returns/policy` (and the answer to a PUT).

Three parts, each with the machine values and the sentences a storefront shows:
`returns` (the window, resolutions and fees of the default rule and of each category, the
final-sale and non-returnable categories), `logistics` (how the parcel travels, how long the
checks and the refund take) and `general` (the conditions an item must meet).

The sentences come from the email gettext catalogs (msgids listed in
messaging/templates/return_policy.txt, which is never rendered). Only the standard library's
gettext is used here: the API does not pay for Jinja2 or Babel at cold start.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Callable

from ..messaging import catalogs
from .policy import CategoryRule, Condition, DropOffOption, Resolution, ReturnPolicy

# Languages written right to left (of those the catalogs could hold).
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "sd", "ug", "yi", "dv", "ckb"})


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for a deferred msgid
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802
    return singular, plural


TITLES = {"returns": N_("Returns and refunds"), "logistics": N_("Sending your return"),
          "general": N_("Conditions")}
WINDOW = {
    "delivery": NP_("You can return items within %(num)s day of delivery.",
                    "You can return items within %(num)s days of delivery."),
    "fulfilment": NP_("You can return items within %(num)s day of dispatch.",
                      "You can return items within %(num)s days of dispatch."),
    "order": NP_("You can return items within %(num)s day of placing your order.",
                 "You can return items within %(num)s days of placing your order."),
}
NOT_RETURNABLE = N_("These items cannot be returned.")
RESOLUTIONS = {
    Resolution.REFUND: N_("Refund to your original payment method"),
    Resolution.STORE_CREDIT: N_("Store credit"),
    Resolution.EXCHANGE: N_("Exchange for another size or colour"),
}
NO_RESTOCKING_FEE = N_("No restocking fee is charged.")
RESTOCKING_FEE = N_("A restocking fee of %(percent)s is deducted from your refund.")
FREE_RETURN_SHIPPING = N_("Return shipping is free.")
RETURN_SHIPPING_FEE = N_("A return shipping fee of %(amount)s is deducted from your refund.")
FINAL_SALE = N_("Items sold as final sale cannot be returned or exchanged.")
NON_RETURNABLE = N_("Some items cannot be returned, for example for hygiene reasons.")
DROP_OFF = {
    DropOffOption.CARRIER_DROP_OFF: N_("Drop your parcel off at a carrier location"),
    DropOffOption.PICKUP: N_("Book a pickup from your address"),
    DropOffOption.IN_STORE: N_("Bring it back to one of our stores"),
}
LABEL_PROVIDED = N_("We provide a prepaid return label.")
LABEL_NOT_PROVIDED = N_("Please arrange the return shipment yourself.")
PROCESSING = NP_("We check your return within %(num)s day of receiving it.",
                 "We check your return within %(num)s days of receiving it.")
REFUND = NP_("Your refund arrives within %(num)s day of approval.",
             "Your refund arrives within %(num)s days of approval.")
CONDITIONS = {
    Condition.UNWORN_WITH_TAGS: N_("Items must be unworn and unwashed, with the original tags attached."),
    Condition.ORIGINAL_PACKAGING: N_("Items must be returned in their original packaging."),
    Condition.UNOPENED_HYGIENE: N_("Hygiene products must be unopened and sealed."),
    Condition.PROOF_OF_PURCHASE: N_("Please include proof of purchase, such as your order number."),
}


def msgids() -> set[str]:
    """Every msgid this module looks up (singulars for plural entries); tests compare with the .pot."""
    singles = [*TITLES.values(), NOT_RETURNABLE, *RESOLUTIONS.values(), NO_RESTOCKING_FEE, RESTOCKING_FEE,
               FREE_RETURN_SHIPPING, RETURN_SHIPPING_FEE, FINAL_SALE, NON_RETURNABLE, *DROP_OFF.values(),
               LABEL_PROVIDED, LABEL_NOT_PROVIDED, *CONDITIONS.values()]
    plurals = [*WINDOW.values(), PROCESSING, REFUND]
    return set(singles) | {singular for singular, _ in plurals}


# --- catalogs ------------------------------------------------------------------------------

translations = catalogs.translations


# --- the document --------------------------------------------------------------------------


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def _rule(rule: CategoryRule, text: Callable[[str], str], plural: Callable[[tuple[str, str], int], str]) -> dict:
    if rule.returnable:
        window = plural(WINDOW[rule.window_starts], rule.window_days)
    else:
        window = text(NOT_RETURNABLE)
    fees = [text(NO_RESTOCKING_FEE) if rule.restocking_fee_percent == 0
            else text(RESTOCKING_FEE) % {"percent": _percent(rule.restocking_fee_percent)},
            text(FREE_RETURN_SHIPPING) if rule.return_shipping_fee == 0
            else text(RETURN_SHIPPING_FEE) % {"amount": str(rule.return_shipping_fee)}]
    resolutions = sorted(rule.resolutions, key=list(Resolution).index)
    return {
        "returnable": rule.returnable,
        "window_days": rule.window_days,
        "window_starts": rule.window_starts,
        "window_text": window,
        "resolutions": [{"value": item.value, "text": text(RESOLUTIONS[item])} for item in resolutions]
        if rule.returnable else [],
        "restocking_fee_percent": str(rule.restocking_fee_percent),
        "return_shipping_fee": str(rule.return_shipping_fee),
        "fees_text": fees if rule.returnable else [],
    }


def policy_document(policy: ReturnPolicy, language_tag: str | None, default_language: str | None = None) -> dict:
    """The policy in the catalog language nearest `language_tag` (then `default_language`, then en)."""
    language = catalogs.resolve_language(language_tag, default_language)
    catalog = translations(language)

    def text(msgid: str) -> str:
        return catalog.gettext(msgid)

    def plural(msgids: tuple[str, str], n: int) -> str:
        return catalog.ngettext(msgids[0], msgids[1], n) % {"num": n}

    logistics = policy.logistics
    return {
        "version": policy.version,
        "effective_from": _iso(policy.effective_from),
        "language": language,
        "direction": "rtl" if language.split("_")[0].lower() in RTL_LANGUAGES else "ltr",
        "returns": {
            "title": text(TITLES["returns"]),
            "default": _rule(policy.default_rule, text, plural),
            "categories": {name: _rule(rule, text, plural) for name, rule in sorted(policy.categories.items())},
            "final_sale_categories": sorted(policy.final_sale_categories),
            "final_sale_text": text(FINAL_SALE) if policy.final_sale_categories else None,
            "non_returnable_categories": sorted(policy.non_returnable_categories),
            "non_returnable_text": text(NON_RETURNABLE) if policy.non_returnable_categories else None,
        },
        "logistics": {
            "title": text(TITLES["logistics"]),
            "drop_off_options": [{"value": option.value, "text": text(DROP_OFF[option])}
                                 for option in logistics.drop_off_options],
            "label_provided": logistics.label_provided,
            "label_text": text(LABEL_PROVIDED if logistics.label_provided else LABEL_NOT_PROVIDED),
            "processing_days": logistics.processing_days,
            "processing_text": plural(PROCESSING, logistics.processing_days),
            "refund_days": logistics.refund_days,
            "refund_text": plural(REFUND, logistics.refund_days),
        },
        "general": {
            "title": text(TITLES["general"]),
            "conditions": [{"value": condition.value, "text": text(CONDITIONS[condition])}
                           for condition in sorted(policy.conditions, key=list(Condition).index)],
        },
    }


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


# --- what the API views call ---------------------------------------------------------------


def _merchant_language(merchant_id: str) -> str | None:
    from ..services import merchant_store

    merchant = merchant_store().get(merchant_id)  # cached per container
    return merchant.branding.default_locale if merchant else None


def current_policy_document(merchant_id: str, language_tag: str | None) -> dict:
    """The policy in force for the merchant's customers (one Query once the merchant is cached)."""
    from ..services import policy_store

    return policy_document(policy_store().current(merchant_id), language_tag, _merchant_language(merchant_id))


def publish_policy(merchant_id: str, policy_data: Any, now: datetime, language_tag: str | None) -> dict:
    """Store the merchant's edited policy as the next version; the stored version as a document."""
    from ..services import policy_store

    policy = policy_store().publish(merchant_id, policy_data, now)
    return policy_document(policy, language_tag, _merchant_language(merchant_id))
