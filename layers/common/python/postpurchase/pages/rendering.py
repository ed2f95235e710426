"""Render the customer pages (order, lookup, preferences, error) as full HTML5 documents.

The page models (``model.py``) hold raw values; this module turns them into template data:
money with Babel in the order's currency, dates and times in the customer's time zone, all in
the page's formatting locale (the page language with the customer's region, as the emails do).
Every sentence lives in the templates under ``messaging/templates/pages/`` and comes from the
email gettext catalogs (same extraction, same ``.po`` files, same Jinja2 environment), so no
customer-facing text is written here: values (statuses, reasons, error codes) go to the
templates, which put them into words.

Each ``render_*`` takes the response's CSP nonce (keyword ``nonce``): the page's only style is one
``<style nonce=...>`` element; there is no script, no external stylesheet or font, and no
``style=`` attribute (the policy would block it).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format, get_timezone_gmt
from babel.numbers import format_currency, format_decimal

from ..messaging import rendering as mail
from . import model

# Each language by its own name (autonyms are not translated: a reader looks for their own).
LANGUAGE_NAMES = {
    "en": "English",
    "id": "Bahasa Indonesia",
    "th": "ไทย",
    "tr": "Türkçe",
    "ar": "العربية",
    "ru": "Русский",
}
DEFAULT_BRAND_COLOR = "#1f6feb"
RESOLUTION_ORDER = ("refund", "store_credit", "exchange")
_HEX_COLOR = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
# A CSP nonce is a base64 value; anything else would not match the header (or could break out).
_NONCE = re.compile(r"[A-Za-z0-9+/_=-]{8,200}")
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")


# --- small helpers ------------------------------------------------------------------------------


def _path(merchant_id: str, *parts: str) -> str:
    return "/pages/" + "/".join(quote(part, safe="") for part in (merchant_id, *parts))


def _with_query(path: str, params: Iterable[tuple[str, str | None]]) -> str:
    query = urlencode([(name, value) for name, value in params if value])
    return f"{path}?{query}" if query else (path or "?")


def _check_nonce(nonce: str) -> str:
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise ValueError("nonce must be a base64 value (8-200 characters)")
    return nonce


def _hex_color(value: str | None) -> str:
    """A "#rrggbb" colour safe to put in the stylesheet; the default for anything else."""
    match = _HEX_COLOR.fullmatch((value or "").strip())
    if not match:
        return DEFAULT_BRAND_COLOR
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits.lower()}"


def _luminance(hex_color: str) -> float:
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _link_color(brand: str) -> str:
    """The brand colour for links when it reads on white (WCAG AA, 4.5:1); else near-black."""
    return brand if (1.05 / (_luminance(brand) + 0.05)) >= 4.5 else "#1f2328"


def _image_url(url: str | None) -> str | None:
    """Images only over https (the page's img-src allows https: and data: only)."""
    url = mail.web_url(url)
    return url if url and url.lower().startswith("https:") else None


def _local_url(url: str | None) -> str | None:
    """A same-site path ("/pages/...") or an http(s) URL; nothing else reaches an href."""
    if not url:
        return None
    url = url.strip()
    if url.startswith("/") and not url.startswith("//"):
        try:
            urlsplit(url)
        except ValueError:
            return None
        return url
    return mail.web_url(url)


def _squash(text: str | None) -> str | None:
    return " ".join((text or "").split()) or None


def _language_name(code: str) -> str:
    if code in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[code]
    try:
        locale = Locale.parse(code.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return code
    name = locale.get_display_name(locale) or code
    return name[:1].upper() + name[1:]


class _Format:
    """Numbers, money, dates and times in the page's formatting locale and the customer's zone."""

    def __init__(self, context: model.PageContext) -> None:
        self.language = mail.resolve_language(context.language, None)
        self.locale = mail.formatting_locale(self.language, context.locale)
        self.zone = mail.zone(context.timezone)
        self.zone_known = context.timezone is not None and self.zone is not dt_timezone.utc

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def money(self, amount: Decimal, currency: str) -> str:
        return format_currency(amount, currency, locale=self.locale)

    def _aware(self, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=dt_timezone.utc)

    def local_day(self, value: datetime) -> date:
        return self._aware(value).astimezone(self.zone).date()

    def day(self, value: date, width: str = "long") -> dict[str, str]:
        return {"text": format_date(value, format=width, locale=self.locale), "iso": value.isoformat()}

    def eta(self, value: datetime | None) -> dict[str, str] | None:
        """A delivery estimate is a day (carrier midnights stay that calendar day)."""
        if value is None:
            return None
        return self.day(mail.expected_date(value, self.zone), "full")

    def moment(self, value: datetime | None) -> dict[str, str] | None:
        """Date and time in the customer's zone, with the offset spelled out when the zone is unknown."""
        if value is None:
            return None
        local = self._aware(value).astimezone(self.zone)
        day_text = format_date(local, format="long", locale=self.locale)
        time_text = format_time(local, format="short", locale=self.locale)
        if not self.zone_known:
            time_text = f"{time_text} {get_timezone_gmt(local, width='long', locale=self.locale)}"
        both = (
            get_datetime_format("long", locale=self.locale)
            .replace("'", "")
            .replace("{0}", time_text)
            .replace("{1}", day_text)
        )
        return {"date": day_text, "time": time_text, "datetime": both, "iso": local.isoformat()}

    def country(self, code: str) -> str:
        return self.locale.territories.get(code, code)


# --- the frame every page shares ----------------------------------------------------------------


def _frame(
    context: model.PageContext,
    fmt: _Format,
    nonce: str,
    *,
    switch_path: str,
    switch_params: list[tuple[str, str | None]],
    notice: str | None = None,
    order_number: str | None = None,
    preferences_url: str | None = None,
) -> dict[str, Any]:
    shop = context.shop
    brand = _hex_color(shop.brand_color)
    offered = list(dict.fromkeys(context.languages)) or [fmt.language]
    if fmt.language not in offered:
        offered.append(fmt.language)
    languages = [
        {
            "code": code,
            "tag": code.replace("_", "-"),
            "name": _language_name(code),
            "href": _with_query(switch_path, [*switch_params, ("lang", code)]),
            "current": code == fmt.language,
        }
        for code in offered
    ]
    support_email = _squash(shop.support_email)
    return {
        "lang": fmt.language.replace("_", "-"),
        "dir": mail.text_direction(fmt.language),
        "nonce": _check_nonce(nonce),
        "shop": {
            "name": shop.name,
            "logo_url": _image_url(shop.logo_url),
            "website_url": mail.web_url(shop.website_url),
        },
        "colors": {"brand": brand, "on_brand": mail.contrast_text(brand), "link": _link_color(brand)},
        "languages": languages,
        "language": fmt.language,
        "support_email": support_email,
        "notice": notice,
        "order_number": order_number,
        "preferences_url": _local_url(preferences_url),
        "lookup_action": _path(shop.merchant_id, "lookup"),
        # The hidden fields every form of a linked page carries back.
        "hidden": [("token", context.token or ""), ("csrf_token", context.csrf_token or ""), ("lang", fmt.language)],
    }


def _render(template: str, language: str, data: dict[str, Any]) -> str:
    return mail.environment(language).get_template(template).render(data)


# --- order page ---------------------------------------------------------------------------------


def _item(fmt: _Format, item: model.Item, currency: str) -> dict[str, Any]:
    return {
        "sku": item.sku,
        "title": item.title,
        "variant_title": _squash(item.variant_title),
        "image_url": _image_url(item.image_url),
        "product_url": mail.web_url(item.product_url),
        "quantity": fmt.number(item.quantity),
        "unit_price": fmt.money(item.unit_price, currency),
        "line_total": fmt.money(item.line_total, currency),
    }


def _parcel(fmt: _Format, index: int, parcel: model.Parcel) -> dict[str, Any]:
    eta = fmt.eta(parcel.eta)
    original = fmt.eta(parcel.original_eta)
    if original is not None and eta is not None and original["iso"] == eta["iso"]:
        original = None  # not a change the customer can see
    return {
        "id": f"parcel-{index}",
        "number": fmt.number(index),
        "carrier": mail.carrier_name(parcel.carrier),
        "tracking_number": parcel.tracking_number.strip(),
        "tracking_url": mail.web_url(parcel.tracking_url),
        "status": parcel.status,
        "eta": eta,
        "original_eta": original,
        "late": parcel.is_late,
        "delivered": fmt.moment(parcel.delivered_at),
        "timeline": [
            {
                "when": fmt.moment(step.at),
                "status": step.status,
                "place": _squash(step.place),
                "description": _squash(step.description),
            }
            for step in parcel.timeline
        ],
        "contents": [
            {
                "title": item.title,
                "variant_title": _squash(item.variant_title),
                "image_url": _image_url(item.image_url),
                "quantity": fmt.number(item.quantity),
            }
            for item in parcel.items
        ],
    }


_FIELD_CONTROLS = {"reason": "return-reason", "resolution": "return-resolution", "comment": "return-comment"}


def _return_form(page: model.OrderPage, fmt: _Format) -> dict[str, Any]:
    """The return form's rows and errors: which control each error belongs to, and its anchor."""
    form = page.form
    rows = []
    for index, item in enumerate(page.returnables, start=1):
        rows.append(
            {
                "id": f"qty-{index}",
                "sku": item.sku,
                "name": f"qty.{item.sku}",
                "title": item.title,
                "variant_title": _squash(item.variant_title),
                "image_url": _image_url(item.image_url),
                "returnable": item.returnable and item.returnable_quantity > 0,
                "reason": item.reason,
                "max": item.returnable_quantity,
                "max_text": fmt.number(item.returnable_quantity),
                "value": max(0, int(form.quantities.get(item.sku, 0))),
                "last_day": fmt.day(item.last_day) if item.last_day else None,
                "error": None,
            }
        )
    in_form = {row["sku"]: row for row in rows if row["returnable"]}
    resolutions = {value for row in page.returnables if row.returnable for value in row.resolutions}

    errors: dict[str, dict[str, Any]] = {}  # control -> {code, max}
    summary: list[dict[str, Any]] = []
    group_error = None
    for field, code in form.errors.items():
        if field == "cancel":
            continue  # shown with the returns, not in this form
        if field.startswith("items.") and field[6:] in in_form:
            row = in_form[field[6:]]
            entry = {"code": code, "max": row["max_text"], "field": "item", "title": row["title"], "anchor": row["id"]}
            row["error"] = entry
        elif field in _FIELD_CONTROLS:
            entry = {"code": code, "max": None, "field": field, "title": None, "anchor": _FIELD_CONTROLS[field]}
            errors[field] = entry
        else:  # "items", or an item the form does not offer: the items as a whole
            title = None
            if field.startswith("items."):
                known = next((row for row in rows if row["sku"] == field[6:]), None)
                title = known["title"] if known else None
            entry = {"code": code, "max": None, "field": "items", "title": title, "anchor": "return-items"}
            if group_error is None:
                group_error = entry
        summary.append(entry)
    order = {"items": 0, "item": 0, "reason": 1, "resolution": 2, "comment": 3}
    summary.sort(key=lambda entry: order.get(entry["field"], 0))

    return {
        "action": _path(page.context.shop.merchant_id, "orders", page.order_id, "returns"),
        "rows": rows,
        "returnable_rows": [row for row in rows if row["returnable"]],
        "blocked_rows": [row for row in rows if not row["returnable"]],
        "reasons": list(dict.fromkeys(page.reasons)),
        "resolutions": [value for value in RESOLUTION_ORDER if value in resolutions],
        "reason": form.reason,
        "resolution": form.resolution,
        "comment": form.comment,
        "errors": errors,
        "group_error": group_error,
        "summary": summary,
        "cancel_error": form.errors.get("cancel"),
        "form_id": page.form_id,
    }


def _existing_return(page: model.OrderPage, fmt: _Format, rma: model.ExistingReturn) -> dict[str, Any]:
    return {
        "id": "return-" + re.sub(r"[^A-Za-z0-9_-]+", "-", rma.rma_id),
        "number": rma.rma_id,
        "status": rma.status,
        "requested": fmt.moment(rma.requested_at),
        "lines": [
            {
                "title": line.title,
                "quantity": fmt.number(line.quantity),
                "accepted": fmt.number(line.accepted_quantity) if line.accepted_quantity is not None else None,
                "reason": line.reason,
                "resolution": line.resolution,
            }
            for line in rma.lines
        ],
        # A deadline: the day it falls on where the customer is.
        "ship_by": fmt.day(fmt.local_day(rma.ship_by), "full") if rma.ship_by else None,
        "carrier": mail.carrier_name(rma.carrier) if rma.carrier else None,
        "tracking_number": _squash(rma.tracking_number),
        "label_url": mail.web_url(rma.label_url),
        "drop_off_code": _squash(rma.drop_off_code),
        "rejection_reason": _squash(rma.rejection_reason),
        "resolution": rma.resolution,
        "amount": fmt.money(rma.amount, page.currency) if rma.amount is not None else None,
        "history": [{"status": step.status, "when": fmt.moment(step.at), "by": step.by} for step in rma.history],
        "can_cancel": rma.can_cancel,
        "cancel_action": _path(page.context.shop.merchant_id, "orders", page.order_id, "returns", rma.rma_id, "cancel"),
    }


def _where(page: model.OrderPage) -> str:
    """Which answer "Where is my order?" gets."""
    if page.status == "cancelled":
        return "cancelled"
    if not page.parcels:
        return "not_shipped"
    if all(parcel.status == "delivered" for parcel in page.parcels):
        return "delivered"
    if any(parcel.is_late for parcel in page.parcels):
        return "late"
    return "on_its_way"


def _address(fmt: _Format, address: model.Address | None) -> list[str] | None:
    if address is None:
        return None
    lines = [line for line in (_squash(line) for line in address.lines) if line]
    # The build gives the country as its ISO code: the country's name in the page's language.
    if lines and _COUNTRY_CODE.fullmatch(lines[-1]):
        lines[-1] = fmt.country(lines[-1])
    return lines or None


def _paragraphs(text: str) -> list[list[str]]:
    """A merchant's plain-text answer as paragraphs of lines (blank lines split paragraphs)."""
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    return [[line.strip() for line in block.split("\n") if line.strip()] for block in blocks if block]


def render_order_page(page: model.OrderPage, *, nonce: str) -> str:
    context = page.context
    fmt = _Format(context)
    currency = page.currency
    frame = _frame(
        context,
        fmt,
        nonce,
        switch_path=_path(context.shop.merchant_id, "orders", page.order_id),
        switch_params=[("token", context.token)],
        notice=page.notice,
        order_number=page.order_number,
        preferences_url=page.preferences_url,
    )
    totals = page.totals
    discount = abs(totals.discount)
    faq = page.faq
    form = _return_form(page, fmt)
    data = {
        **frame,
        "order_number": page.order_number,
        "survey_url": _local_url(page.survey_url),
        "placed": fmt.moment(page.placed_at),
        "status": page.status,
        "cancelled": page.status == "cancelled",
        "customer_name": _squash(page.customer_name),
        "email": page.email,
        "address": _address(fmt, page.shipping_address),
        "financial_status": page.financial_status,
        "order_items": [_item(fmt, item, currency) for item in page.items],
        "totals": {
            "subtotal": fmt.money(totals.subtotal, currency),
            "shipping": fmt.money(totals.shipping, currency),
            "tax": fmt.money(totals.tax, currency),
            "discount": fmt.money(-discount, currency) if discount else None,
            "total": fmt.money(totals.total, currency),
        },
        "parcels": [_parcel(fmt, index, parcel) for index, parcel in enumerate(page.parcels, start=1)],
        "form": form,
        "contact": {"action": _path(context.shop.merchant_id, "orders", page.order_id, "messages"),
                    "text": page.contact.text, "error": page.contact.error, "form_id": page.form_id},
        "returns": [_existing_return(page, fmt, rma) for rma in page.returns],
        "faq": {
            "where": _where(page),
            "window_days": faq.window_days,
            "window_days_text": fmt.number(faq.window_days),
            "window_starts": faq.window_starts,
            "label_provided": faq.label_provided,
            "drop_off_options": list(faq.drop_off_options),
            "conditions": list(faq.conditions),
            "processing_days": faq.processing_days,
            "processing_days_text": fmt.number(faq.processing_days),
            "refund_days": faq.refund_days,
            "refund_days_text": fmt.number(faq.refund_days),
            "support_email": _squash(faq.support_email) or frame["support_email"],
            "entries": [{"id": item.entry_id, "lang": item.language,
                         "dir": "rtl" if item.language in ("ar",) else "ltr",
                         "question": item.question, "paragraphs": _paragraphs(item.answer)} for item in faq.entries],
        },
    }
    return _render("pages/order.html", fmt.language, data)


# --- lookup, preferences, error -----------------------------------------------------------------


def render_lookup_page(page: model.LookupPage, *, nonce: str) -> str:
    context = page.context
    fmt = _Format(context)
    frame = _frame(context, fmt, nonce, switch_path=_path(context.shop.merchant_id, "lookup"), switch_params=[],
                   notice=getattr(page, "notice", None))
    contact = getattr(page, "contact", None) or model.LookupContactForm()
    data = {
        **frame,
        "lookup": {"order_number": page.order_number, "email": page.email, "error": page.error},
        # The "message us" form (pages/lookup_contact.py); shown only with its anti-forgery pair.
        "lookup_contact": {"action": _path(context.shop.merchant_id, "lookup", "messages"),
                           "email": contact.email, "order_number": contact.order_number, "text": contact.text,
                           "errors": contact.errors, "form_nonce": contact.form_nonce,
                           "csrf_token": contact.csrf_token},
    }
    return _render("pages/lookup.html", fmt.language, data)


def render_preferences_page(page: model.PreferencesPage, *, nonce: str) -> str:
    context = page.context
    fmt = _Format(context)
    # The customer the link is for (the form posts it back); older models have no such field.
    customer_id = getattr(page, "customer_id", None)
    frame = _frame(
        context,
        fmt,
        nonce,
        switch_path=_path(context.shop.merchant_id, "preferences"),
        switch_params=[("customer", customer_id), ("token", context.token)],
        notice=page.notice,
    )
    offered = list(dict.fromkeys(context.languages)) or [fmt.language]
    chosen = page.language if page.language in offered else fmt.language
    data = {
        **frame,
        "hidden": [*frame["hidden"], *([("customer", customer_id)] if customer_id else [])],
        "preferences": {
            "action": _path(context.shop.merchant_id, "preferences"),
            "email": page.email,
            "kinds": [{"kind": kind.kind, "subscribed": kind.subscribed} for kind in page.kinds],
            "unsubscribed_all": page.unsubscribed_all,
            "languages": [
                {"code": code, "tag": code.replace("_", "-"), "name": _language_name(code), "selected": code == chosen}
                for code in offered
            ],
        },
    }
    return _render("pages/preferences.html", fmt.language, data)


def render_unsubscribe_page(page: model.UnsubscribePage, *, nonce: str) -> str:
    context = page.context
    fmt = _Format(context)
    # The link itself is the page's address: the language switcher reloads it with ?lang=.
    frame = _frame(context, fmt, nonce, switch_path=_local_url(page.action) or "", switch_params=[],
                   preferences_url=page.preferences_url)
    data = {**frame, "unsubscribe": {"action": _local_url(page.action), "email": page.email, "kind": page.kind,
                                     "done": page.done, "preferences_url": _local_url(page.preferences_url)}}
    return _render("pages/unsubscribe.html", fmt.language, data)


def render_error_page(page: model.ErrorPage, *, nonce: str) -> str:
    context = page.context
    fmt = _Format(context)
    # The error page has no address of its own: the switcher reloads the address it is shown at.
    frame = _frame(context, fmt, nonce, switch_path="", switch_params=[("token", context.token)])
    error = page.error if page.error in ("not_found", "invalid_link", "bad_request", "server_error") else "server_error"
    data = {**frame, "error": error, "lookup": {"order_number": "", "email": "", "error": None}}
    return _render("pages/error.html", fmt.language, data)


__all__ = ["render_order_page", "render_lookup_page", "render_preferences_page", "render_unsubscribe_page",
           "render_error_page"]
