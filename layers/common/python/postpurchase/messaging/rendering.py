"""Render a customer email (subject, HTML, plain text) from an EmailRequest.

Text comes from the gettext catalogs under ``locale/`` (see ``catalogs.py``); every sentence
lives in the templates under ``templates/``. The text language is the first of the request's
locale, its language, the merchant's default locale and ``en`` that has a catalog. Money and
dates are formatted with Babel in the customer's own locale and time zone, whichever language
the text is in.

Imported only by the email sender: jinja2, babel and css_inline load with this module.
"""
from __future__ import annotations

import gettext
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import css_inline
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format, get_timezone_gmt
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from . import catalogs
from .requests import EmailRequest, MerchantBranding, OfferNotice, ReturnNotice, ShipmentNotice, SupportReply

logger = logging.getLogger(__name__)

TEMPLATES_DIR = catalogs.TEMPLATES_DIR
# Read at call time (tests point it at a temporary directory).
LOCALE_DIR = catalogs.LOCALE_DIR
FALLBACK_LANGUAGE = catalogs.SOURCE_LANGUAGE

_TEMPLATES = {
    "order_confirmation": (
        "order_confirmation_subject.txt",
        "order_confirmation.html",
        "order_confirmation.txt",
    ),
    # One family for every parcel notice; the request's variant picks headline and paragraphs.
    "shipment_notice": (
        "shipment_notice_subject.txt",
        "shipment_notice.html",
        "shipment_notice.txt",
    ),
    # One family for every return (RMA) notice; the variant is the step the customer hears about.
    "return_update": (
        "return_update_subject.txt",
        "return_update.html",
        "return_update.txt",
    ),
    # The review request and its reminder: one family, one row of one-tap ratings per item.
    "review_request": ("review_request_subject.txt", "review_request.html", "review_request.txt"),
    "review_reminder": ("review_request_subject.txt", "review_request.html", "review_request.txt"),
    # Customer-level marketing (no order): the kind picks the wording.
    "birthday_offer": ("customer_message_subject.txt", "customer_message.html", "customer_message.txt"),
    "anniversary": ("customer_message_subject.txt", "customer_message.html", "customer_message.txt"),
    "win_back": ("customer_message_subject.txt", "customer_message.html", "customer_message.txt"),
    "campaign": ("customer_message_subject.txt", "customer_message.html", "customer_message.txt"),
    "points_expiring": ("customer_message_subject.txt", "customer_message.html", "customer_message.txt"),
    # A post-purchase survey: its first question as one-click scores, then the survey page.
    "survey": ("survey_subject.txt", "survey.html", "survey.txt"),
    # An answer in a support conversation; the variant says what it answers with.
    "support_reply": ("support_reply_subject.txt", "support_reply.html", "support_reply.txt"),
    # A resolved conversation's one-click CSAT survey, threaded under it (support/csat.py).
    "support_csat": ("support_csat_subject.txt", "support_csat.html", "support_csat.txt"),
    # A customer's message forwarded to the merchant's helpdesk: merchant-facing English (support/forward.py).
    "support_forward": ("support_forward_subject.txt", "support_forward.html", "support_forward.txt"),
}

# The five one-tap answers of a review request, worst to best (the labels are in the templates).
RATINGS = (1, 2, 3, 4, 5)

# How carriers spell their own names (brand names are not translated). Keys are our carrier
# slugs (postpurchase.tracking.carriers.base.normalise_carrier); other values show as given.
CARRIER_NAMES = {
    "usps": "USPS",
    "ups": "UPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "dhl_express": "DHL Express",
    "dhl_ecommerce": "DHL eCommerce",
    "royal_mail": "Royal Mail",
    "parcelforce": "Parcelforce",
    "evri": "Evri",
    "dpd": "DPD",
    "dpd_uk": "DPD",
    "gls": "GLS",
    "tnt": "TNT",
    "postnl": "PostNL",
    "canada_post": "Canada Post",
    "purolator": "Purolator",
    "australia_post": "Australia Post",
    "ontrac": "OnTrac",
    "lasership": "LaserShip",
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


# --- locales -----------------------------------------------------------------------------


_candidates = catalogs.candidates


def _babel_locale(*tags: str | None) -> Locale | None:
    for tag in tags:
        for candidate in _candidates(tag):
            try:
                return Locale.parse(candidate)
            except (ValueError, TypeError, UnknownLocaleError):
                continue
    return None


def formatting_locale(language: str, *tags: str | None) -> Locale:
    """Numbers, money, dates and country names in the language the text is in, with the
    customer's region where CLDR knows the pair (en-DE, ar-SA): "Placed on 20 Kasım" inside
    an English sentence reads as a mistake."""
    for tag in tags:
        parts = [part for part in re.split(r"[-_]", tag or "") if part]
        territories = [part.upper() for part in parts[1:] if len(part) == 2 and part.isalpha()]
        if territories:
            try:
                return Locale.parse(f"{language}_{territories[0]}")
            except (ValueError, UnknownLocaleError):
                pass
    return _babel_locale(language) or Locale.parse(FALLBACK_LANGUAGE)


def text_direction(locale: str) -> str:
    """"rtl" for right-to-left scripts (ar, he, fa, ...), otherwise "ltr"."""
    parsed = _babel_locale(locale)
    if parsed is not None and parsed.character_order == "right-to-left":
        return "rtl"
    return "ltr"


def resolve_language(requested: str | None, default: str | None, locale_dir: Path | None = None) -> str:
    """The catalog to write in: full tag, then its language, then the merchant's, then en."""
    return catalogs.resolve_language(requested, default, Path(locale_dir) if locale_dir is not None else LOCALE_DIR)


# --- translations and environments -------------------------------------------------------


def _new_environment(translations: gettext.NullTranslations) -> Environment:
    # trim_blocks / lstrip_blocks / trimmed must match babel.cfg (extraction sees the same text).
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        auto_reload=False,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return env


_env_lock = threading.Lock()
_environments: dict[tuple[Path, str], Environment] = {}


def _environment(language: str) -> Environment:
    """One Environment (and so one compiled copy of each template) per language per process."""
    locale_dir = LOCALE_DIR
    key = (locale_dir, language)
    env = _environments.get(key)
    if env is None:
        with _env_lock:
            env = _environments.get(key)
            if env is None:
                env = _new_environment(catalogs.translations(language, locale_dir))
                _environments[key] = env
    return env


# --- view model ----------------------------------------------------------------------------


def _web_url(url: str | None) -> str | None:
    """Only http(s) URLs reach an href/src; anything else (javascript:, data:) is dropped."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def _contrast_text(hex_color: str) -> str:
    """Black or white, whichever reads better on the brand colour (WCAG relative luminance)."""
    try:
        channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    except (ValueError, IndexError):
        return "#ffffff"
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#111111" if luminance > 0.179 else "#ffffff"


def _zone(name: str | None) -> ZoneInfo | timezone:
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("unknown time zone %r; using UTC", name)
    return timezone.utc


def _carrier_name(carrier: str) -> str | None:
    """"royal_mail" -> "Royal Mail"; None when the carrier is not known at all."""
    name = carrier.strip()
    if not name or name.lower() == "unknown":
        return None
    known = CARRIER_NAMES.get(re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_"))
    if known:
        return known
    if name.islower() and "_" in name:  # an unlisted slug: "poste_italiane" -> "Poste Italiane"
        return name.replace("_", " ").title()
    return name


def _expected_date(value: datetime, zone: ZoneInfo | timezone) -> date:
    """The day a delivery estimate means. Carriers give dates, which arrive as midnight (in UTC
    or their own offset): that calendar day, not the evening before west of Greenwich."""
    if value.tzinfo is None or value.timetz().replace(tzinfo=None) == time(0, 0):
        return value.date()
    return value.astimezone(zone).date()


def _shipment_context(
    request: EmailRequest, shipment: ShipmentNotice, fmt_locale: Locale, items: list[dict[str, Any]]
) -> dict[str, Any]:
    zone = _zone(request.timezone)
    zone_known = request.timezone is not None and not isinstance(zone, timezone)

    def day(value: datetime | None) -> str | None:
        if value is None:
            return None
        return format_date(_expected_date(value, zone), format="full", locale=fmt_locale)

    def moment(value: datetime | None) -> dict[str, str] | None:
        """Date and time in the customer's zone ("November 21, 2026, 2:05 AM"), with the
        offset spelled out only when we don't know the customer's zone."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        local = value.astimezone(zone)
        day_text = format_date(local, format="long", locale=fmt_locale)
        time_text = format_time(local, format="short", locale=fmt_locale)
        if not zone_known:
            time_text = f"{time_text} {get_timezone_gmt(local, width='long', locale=fmt_locale)}"
        both = (
            get_datetime_format("long", locale=fmt_locale)
            .replace("'", "")
            .replace("{0}", time_text)
            .replace("{1}", day_text)
        )
        return {"date": day_text, "time": time_text, "datetime": both}

    # The parcel's items, titled from the order; an empty list means the whole order.
    by_sku = {item.sku: shown for item, shown in zip(request.order.items, items)}
    parcel: list[dict[str, Any]] = []
    for entry in shipment.items:
        sku = str(entry.get("sku") or "").strip()
        if not sku:
            continue
        shown = by_sku.get(sku) or {"title": sku, "variant_title": None, "image_url": None}
        quantity = entry.get("quantity")
        parcel.append(
            {
                "title": shown["title"],
                "variant_title": shown["variant_title"],
                "image_url": shown["image_url"],
                "quantity": format_decimal(quantity, locale=fmt_locale) if quantity else shown.get("quantity"),
            }
        )
    if not parcel:
        parcel = [
            {key: item[key] for key in ("title", "variant_title", "image_url", "quantity")} for item in items
        ]

    latest = None
    if shipment.latest is not None:
        entry = shipment.latest
        description = " ".join(entry.description.split()) or None
        location = " ".join((entry.location or "").split()) or None
        latest = {"when": moment(entry.occurred_at), "description": description, "location": location}

    original_eta = shipment.original_eta
    if original_eta is not None and shipment.eta is not None and day(original_eta) == day(shipment.eta):
        original_eta = None  # not a change the customer can see

    return {
        "carrier": _carrier_name(shipment.carrier),
        "tracking_number": shipment.tracking_number,
        "tracking_url": _web_url(shipment.tracking_url),
        "eta": day(shipment.eta),
        "original_eta": day(original_eta),
        "eta_is_late": shipment.eta_is_late,
        "delivered": moment(shipment.delivered_at),
        "signed_by": " ".join((shipment.signed_by or "").split()) or None,
        "contents": parcel,  # not "items": a dict's .items() would shadow it in Jinja
        "latest": latest,
    }


def _return_context(
    request: EmailRequest,
    notice: ReturnNotice,
    fmt_locale: Locale,
    items: list[dict[str, Any]],
    money: Callable[[Decimal], str],
) -> dict[str, Any]:
    """The RMA as template data: values, not words (reasons, resolutions, drop-off options and
    conditions are put into words by the templates), lines titled from the order."""
    by_sku = {item.sku: shown for item, shown in zip(request.order.items, items)}

    def number(value: int | None) -> str | None:
        return None if value is None else format_decimal(value, locale=fmt_locale)

    lines = []
    for line in notice.lines:
        shown = by_sku.get(line.sku) or {"title": line.sku, "variant_title": None, "image_url": None}
        lines.append(
            {
                "title": shown["title"],
                "variant_title": shown["variant_title"],
                "image_url": shown["image_url"],
                "quantity": number(line.quantity),
                "accepted": number(line.accepted_quantity),
                "reason": line.reason,
                "resolution": line.resolution,
            }
        )

    ship_by = None
    if notice.ship_by is not None:  # a deadline: the day it falls on where the customer is
        value = notice.ship_by if notice.ship_by.tzinfo else notice.ship_by.replace(tzinfo=timezone.utc)
        ship_by = format_date(value.astimezone(_zone(request.timezone)).date(), format="full", locale=fmt_locale)

    def parcel(carrier: str | None, tracking_number: str | None) -> dict[str, str | None] | None:
        carrier_name = _carrier_name(carrier) if carrier else None
        tracking_number = (tracking_number or "").strip() or None
        if not (carrier_name or tracking_number):
            return None
        return {"carrier": carrier_name, "tracking_number": tracking_number}

    def code(value: str | None) -> str | None:
        return " ".join((value or "").split()) or None

    return {
        "number": notice.rma_id,
        "lines": lines,
        "resolutions": sorted({line.resolution for line in notice.lines}),
        "partial": notice.inspection_outcome == "partially_accepted",
        "ship_by": ship_by,
        "label_provided": notice.label_provided,
        "label": parcel(notice.carrier, notice.tracking_number),
        "label_url": _web_url(notice.label_url),
        "drop_off_code": code(notice.drop_off_code),
        "drop_off_options": list(notice.drop_off_options),
        "conditions": list(notice.conditions),
        "processing_days": notice.processing_days,
        "processing_days_text": number(notice.processing_days),
        "refund_days": notice.refund_days,
        "refund_days_text": number(notice.refund_days),
        "rejection_reason": " ".join((notice.rejection_reason or "").split()) or None,
        "amount": money(notice.amount) if notice.amount is not None else None,
        "credit_code": code(notice.credit_code),
        "exchange": parcel(notice.exchange_carrier, notice.exchange_tracking_number),
    }


def _local_day(value: datetime, zone: ZoneInfo | timezone, fmt_locale: Locale) -> str:
    """The calendar day of an instant where the customer is ("30 November 2026")."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return format_date(value.astimezone(zone).date(), format="long", locale=fmt_locale)


def _with_query(url: str, **params: object) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def _offer_context(offer: OfferNotice, fmt_locale: Locale, zone: ZoneInfo | timezone,
                   default_currency: str | None) -> dict[str, Any]:
    """The coupon as values: either "percent" or "amount" is set, both already localized."""
    currency = offer.currency or default_currency

    def money(amount: Decimal) -> str:
        if currency:
            return format_currency(amount, currency, locale=fmt_locale)
        return format_decimal(amount, locale=fmt_locale)

    percent = None
    amount = None
    if offer.discount_type == "percent":
        percent = format_percent(offer.value / 100, format=None, locale=fmt_locale, decimal_quantization=False)
    else:
        amount = money(offer.value)
    return {
        "code": " ".join(offer.code.split()),
        "percent": percent,
        "amount": amount,
        "worth": percent or amount,
        "min_spend": money(offer.min_spend) if offer.min_spend else None,
        "expires": _local_day(offer.expires_at, zone, fmt_locale) if offer.expires_at else None,
    }


def _marketing_context(request: EmailRequest, fmt_locale: Locale, currency: str | None) -> dict[str, Any]:
    """What the lifecycle emails and the richer confirmations add: offer, referral, products,
    ratings, points, campaign. Absent data is None / empty, never an error."""
    zone = _zone(request.timezone)

    def money(amount: Decimal, code: str | None) -> str | None:
        code = code or currency
        return format_currency(amount, code, locale=fmt_locale) if code else format_decimal(amount, locale=fmt_locale)

    referral = None
    if request.referral is not None and request.referral.code.strip():
        invite = request.referral
        friend = _offer_context(invite.friend_offer, fmt_locale, zone, currency) if invite.friend_offer else None
        referral = {"code": " ".join(invite.code.split()), "share_url": _web_url(invite.share_url),
                    "friend_offer": friend}
    products = [
        {
            "title": card.title,
            "price": money(card.price, card.currency) if card.price is not None else None,
            "image_url": _web_url(card.image_url),
            "url": _web_url(card.product_url),
        }
        for card in request.products
    ]
    reviews = []
    for item in request.review_items:
        url = _web_url(item.rating_url)
        reviews.append(
            {
                "title": item.title,
                "image_url": _web_url(item.image_url),
                "ratings": [{"value": value, "value_text": format_decimal(value, locale=fmt_locale),
                             "url": _with_query(url, rating=value) if url else None} for value in RATINGS],
                "more_url": url,
            }
        )
    points = None
    if request.points is not None:
        points = {
            "expiring": format_decimal(request.points.expiring_points, locale=fmt_locale),
            "balance": format_decimal(request.points.balance, locale=fmt_locale),
            "expires": _local_day(request.points.expires_at, zone, fmt_locale),
        }
    campaign = None
    if request.campaign is not None:
        campaign = {"occasion": request.campaign.occasion, "shop_url": _web_url(request.campaign.shop_url)}
    survey = None
    if request.survey is not None:
        notice, language = request.survey, str(fmt_locale.language)
        # The links open the survey page in the email's language.
        page_url, in_language = _web_url(notice.page_url), (lambda url: _with_query(url, lang=language) if url else None)
        survey = {"kind": notice.kind, "page_url": in_language(page_url),
                  "question": notice.text.get(language) or notice.text.get(notice.default_language) or "",
                  "scores": [{"value": s.value, "value_text": format_decimal(s.value, locale=fmt_locale),
                              "url": in_language(_web_url(s.url))} for s in notice.scores]}
    return {
        "survey": survey,
        "offer": _offer_context(request.offer, fmt_locale, zone, currency) if request.offer else None,
        "referral": referral,
        "products": products,
        "reviews": reviews,
        "points": points,
        "campaign": campaign,
        "marketing": request.is_marketing,
        "unsubscribe_url": _web_url(request.unsubscribe_url) if request.is_marketing else None,
        "preferences_url": _web_url(request.preferences_url) if request.is_marketing else None,
    }


def _context(request: EmailRequest, merchant: MerchantBranding, language: str) -> dict[str, Any]:
    order = request.order
    customer = request.recipient_customer
    fmt_locale = formatting_locale(language, request.locale, merchant.default_locale)
    currency = order.currency if order is not None else None
    direction = text_direction(language)
    start, end = ("right", "left") if direction == "rtl" else ("left", "right")

    context: dict[str, Any] = {
        "kind": request.kind,
        "variant": request.variant,
        "lang": language.replace("_", "-"),
        "dir": direction,
        "start": start,
        "end": end,
        "shop": merchant.name,
        "brand_color": merchant.brand_color,
        "button_text_color": _contrast_text(merchant.brand_color),
        "logo_url": _web_url(merchant.logo_url),
        "website_url": _web_url(merchant.website_url),
        "support_email": merchant.support_email or merchant.reply_to or merchant.from_email,
        "first_name": (customer.first_name or "").strip() or None,
        "order_page_url": request.order_page_url,
        "order_number": None,
    }
    context.update(_marketing_context(request, fmt_locale, currency))
    if order is None:
        if request.support is not None:
            context["support"] = _support_context(request, request.support, fmt_locale, [], None)
        return context

    def money(amount: Decimal) -> str:
        return format_currency(amount, currency, locale=fmt_locale)

    placed: datetime = order.placed_at.astimezone(_zone(request.timezone))

    items = [
        {
            "title": item.title,
            "variant_title": item.variant_title,
            "quantity": format_decimal(item.quantity, locale=fmt_locale),
            "unit_price": money(item.price),
            "line_total": money(item.price * item.quantity),
            "image_url": _web_url(item.image_url),
        }
        for item in order.items
    ]
    totals = order.totals
    discount = abs(totals.discount)

    address = None
    if order.shipping_address is not None:
        a = order.shipping_address
        country = fmt_locale.territories.get(a.country_code, a.country_code)
        region = " ".join(part for part in (a.province, a.zip) if part)
        lines = [a.name, a.address1, a.address2, ", ".join(p for p in (a.city, region) if p), country]
        address = {"lines": [line for line in lines if line]}

    context.update({
        "order_number": order.display_number,
        "placed_on": format_date(placed.date(), format="long", locale=fmt_locale),
        "items": items,
        "totals": {
            "subtotal": money(totals.subtotal),
            "shipping": money(totals.shipping),
            "tax": money(totals.tax),
            "discount": money(-discount) if discount else None,
            "total": money(totals.total),
        },
        "address": address,
    })
    if request.shipment is not None:
        context["shipment"] = _shipment_context(request, request.shipment, fmt_locale, items)
    if request.return_notice is not None:
        context["rma"] = _return_context(request, request.return_notice, fmt_locale, items, money)
    if request.support is not None:
        context["support"] = _support_context(request, request.support, fmt_locale, items, money)
    return context


def _support_context(request: EmailRequest, support: SupportReply, fmt_locale: Locale, items: list[dict[str, Any]],
                     money: Callable[[Decimal], str] | None) -> dict[str, Any]:
    """A support answer as template data: the parcels and the RMA as the notices show them, the
    return window's last days in the customer's zone, the merchant's words as paragraphs."""
    zone = _zone(request.timezone)
    by_sku = {item.sku: shown for item, shown in zip(request.order.items, items)} if request.order else {}
    shipments = [_shipment_context(request, shipment, fmt_locale, items) | {"status": shipment.status}
                 for shipment in support.shipments] if request.order is not None else []
    returnable = [{"title": (by_sku.get(entry.sku) or {"title": entry.sku})["title"],
                   "last_day": _local_day(entry.last_day, zone, fmt_locale) if entry.last_day else None}
                  for entry in support.return_items if entry.returnable]
    refund = None
    if support.refund is not None and request.order is not None and money is not None:
        refund = _return_context(request, support.refund, fmt_locale, items, money) | {"status": support.refund.status}
    paragraphs = [" ".join(block.split()) for block in re.split(r"\n\s*\n", support.text or "") if block.strip()]
    subject = _clean_subject(support.subject or "")
    if subject[:3].casefold() == "re:":
        subject = subject[3:].strip()
    language = str(fmt_locale.language)
    csat = [{"value": score.value, "value_text": format_decimal(score.value, locale=fmt_locale),
             "url": _with_query(url, lang=language) if "lang=" not in url else url}
            for score in support.csat_scores if (url := _web_url(score.url))]
    return {"shipments": shipments, "returnable": returnable, "start_return_url": _web_url(support.start_return_url),
            "refund": refund, "paragraphs": paragraphs, "subject": subject,
            "author_name": " ".join((support.author_name or "").split()) or None, "csat": csat,
            "text": support.text or "", "reply_to": support.reply_to, "reply_to_name": support.reply_to_name,
            "conversation_url": _web_url(support.conversation_url),
            "answer_by": _local_day(support.answer_by, zone, fmt_locale) if support.answer_by else None}


# --- rendering ----------------------------------------------------------------------------

_BLANK_LINES = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _clean_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)) + "\n"


def _clean_subject(text: str) -> str:
    # One header line: no CR/LF (header injection) and no runs of spaces.
    return " ".join(_CONTROL.sub(" ", text).split())


def render_email(request: EmailRequest, merchant: MerchantBranding) -> RenderedEmail:
    subject_name, html_name, text_name = _TEMPLATES[request.kind]
    if request.kind == "shipment_notice" and request.shipment is None:
        raise ValueError("a shipment_notice request needs its shipment")
    if request.kind == "return_update" and request.return_notice is None:
        raise ValueError("a return_update request needs its return_notice")
    if request.kind in ("order_confirmation", "shipment_notice", "return_update", "review_request",
                        "review_reminder") and request.order is None:
        raise ValueError(f"a {request.kind} request needs its order")
    if request.kind == "points_expiring" and request.points is None:
        raise ValueError("a points_expiring request needs its points")
    if request.kind == "campaign" and request.campaign is None:
        raise ValueError("a campaign request needs its campaign")
    if request.kind == "survey" and request.survey is None:
        raise ValueError("a survey request needs its survey")
    if request.kind in ("support_reply", "support_csat", "support_forward") and request.support is None:
        raise ValueError(f"a {request.kind} request needs its support reply")
    if request.kind == "support_csat" and not request.support.csat_scores:  # type: ignore[union-attr]
        raise ValueError("a support_csat request needs its score links")
    language = resolve_language(request.locale, merchant.default_locale)
    env = _environment(language)
    context = _context(request, merchant, language)

    subject = _clean_subject(env.get_template(subject_name).render(context))
    context["subject"] = subject
    html = env.get_template(html_name).render(context)
    html = css_inline.inline(html, keep_at_rules=True, load_remote_stylesheets=False)
    text = _clean_text(env.get_template(text_name).render(context))
    return RenderedEmail(subject=subject, html=html, text=text)


# --- shared with the customer pages (postpurchase.pages.rendering) -------------------------
# The pages use the same templates directory, catalogs and formatting rules as the emails.


def environment(language: str) -> Environment:
    """The cached Jinja2 environment for ``language`` (gettext, autoescape, StrictUndefined)."""
    return _environment(language)


def web_url(url: str | None) -> str | None:
    """``url`` when it is http(s), else None (javascript:, data: and the like never reach a page)."""
    return _web_url(url)


def contrast_text(hex_color: str) -> str:
    """Black or white, whichever reads better on ``hex_color`` ("#rrggbb")."""
    return _contrast_text(hex_color)


def zone(name: str | None) -> ZoneInfo | timezone:
    """The customer's time zone; UTC when unknown."""
    return _zone(name)


def carrier_name(carrier: str) -> str | None:
    """How the carrier spells its name ("royal_mail" -> "Royal Mail"); None when unknown."""
    return _carrier_name(carrier)


def expected_date(value: datetime, tz: ZoneInfo | timezone) -> date:
    """The calendar day a delivery estimate means in ``tz`` (carrier midnights stay that day)."""
    return _expected_date(value, tz)


__all__ = [
    "RenderedEmail",
    "render_email",
    "text_direction",
    "resolve_language",
    "formatting_locale",
    "environment",
    "web_url",
    "contrast_text",
    "zone",
    "carrier_name",
    "expected_date",
    "CARRIER_NAMES",
]
