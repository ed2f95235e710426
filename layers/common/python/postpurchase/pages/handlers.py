"""The customer pages' requests: check the link, load (one Query), act, render or redirect.

Every answer is HTML with a strict Content-Security-Policy (no script; styles by nonce), no
caching and no referrer to other sites (the link token is in the URL). Forms carry the link token and a form
token bound to it, and a POST from another origin is refused. A bad or expired link gets the
lookup page, never a stack trace.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from ..config import settings
from ..errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound, TooManyAttempts, Unauthorized
from ..messaging.preferences import MARKETING_KINDS, updated
from ..observability import logger
from ..returns.policy import Resolution, ReturnReason
from ..security.tokens import (
    Keyring,
    form_token,
    sign_customer_token,
    verify_customer_token,
    verify_form_token,
    verify_order_token,
)
from . import build, model

MAX_FORM_BYTES = 16_384


@dataclass(frozen=True)
class PageResponse:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def _keys() -> Keyring:
    from ..services import link_keys

    return link_keys()


def _headers(nonce: str | None = None, form_actions: tuple[str, ...] = (),
             images: tuple[str, ...] = ()) -> dict[str, str]:
    """`form_actions` and `images`: origins a page also posts a form to (the rating page's photo
    upload, straight to S3) or shows images from, beyond its own."""
    style = f"'nonce-{nonce}'" if nonce else "'none'"
    also_post = "".join(f" {origin}" for origin in form_actions)
    also_show = "".join(f" {origin}" for origin in images)
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (f"default-src 'none'; style-src {style}; img-src https: data:{also_show}; "
                                    f"form-action 'self'{also_post}; base-uri 'none'; frame-ancestors 'none'"),
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",  # the token never leaves for another site; our forms keep their Origin
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def _html(status: int, render: Callable[..., str], page: Any, *, form_actions: tuple[str, ...] = (),
          images: tuple[str, ...] = ()) -> PageResponse:
    nonce = secrets.token_urlsafe(16)
    return PageResponse(status, render(page, nonce=nonce), _headers(nonce, form_actions, images))


def _redirect(location: str) -> PageResponse:
    return PageResponse(303, "", {**_headers(), "Location": location})


def page_path(merchant_id: str, *parts: str) -> str:
    return "/pages/" + "/".join(quote(part, safe="") for part in (merchant_id, *parts))


def _with_query(path: str, **params: str | None) -> str:
    query = urlencode({name: value for name, value in params.items() if value})
    return f"{path}?{query}" if query else path


# --- context ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shopper:
    """The merchant's branding and the language a page is shown in."""

    branding: Any
    language: str


def _shopper(merchant_id: str, requested: str | None, customer_locale: str | None = None) -> Shopper:
    from ..messaging.rendering import resolve_language
    from ..services import merchant_store

    merchant = merchant_store().get(merchant_id)
    if merchant is None:
        raise NotFound("no such shop", field="merchant_id")
    language = resolve_language(requested or customer_locale, merchant.branding.default_locale)
    return Shopper(merchant.branding, language)


def _context(shopper: Shopper, now: datetime, *, locale: str | None = None, timezone: str | None = None,
             token: str | None = None, subject: str | None = None) -> model.PageContext:
    csrf = form_token(_keys(), shopper.branding.merchant_id, subject or "", token) \
        if token else None
    return model.PageContext(shop=build.shop(shopper.branding), language=shopper.language, locale=locale,
                             timezone=timezone, languages=build.LANGUAGES, now=now, token=token, csrf_token=csrf)


def _error(merchant_id: str, error: str, status: int, lang: str | None, now: datetime) -> PageResponse:
    from .rendering import render_error_page

    try:
        shopper = _shopper(merchant_id, lang)
    except NotFound:
        shopper = Shopper(_unknown_shop(merchant_id), "en")
    return _html(status, render_error_page, model.ErrorPage(context=_context(shopper, now), error=error))


def _render_error(*args: Any, **kwargs: Any) -> Any:
    from .rendering import render_error_page

    return render_error_page(*args, **kwargs)


def _unknown_shop(merchant_id: str) -> Any:
    from ..messaging.requests import MerchantBranding

    # A path's shop name that no merchant could have (too long, '#', spaces) still gets the 404 page.
    shown = merchant_id if _possible_shop(merchant_id) else "unknown"
    return MerchantBranding(merchant_id=shown, name="—", from_email="no-reply@example.invalid")


def _possible_shop(merchant_id: str) -> bool:
    """Could a merchant have this id? (API Gateway decodes paths: anything may arrive, even a lone
    surrogate that no table key can hold.)"""
    from ..orders.models import _IDENTIFIER

    try:
        (merchant_id or "").encode("utf-8")
    except UnicodeEncodeError:
        return False
    return bool(_IDENTIFIER.match(merchant_id or ""))


def _lookup(merchant_id: str, now: datetime, *, lang: str | None, error: str | None = None, status: int = 200,
            order_number: str = "", email: str = "", contact: model.LookupContactForm | None = None,
            notice: str | None = None) -> PageResponse:
    from .lookup_contact import with_token
    from .rendering import render_lookup_page

    try:
        shopper = _shopper(merchant_id, lang)
    except NotFound:
        return _error(merchant_id, "not_found", 404, lang, now)
    # The contact form gets a fresh anti-forgery pair on every render (pages/lookup_contact.py).
    contact = with_token(contact or model.LookupContactForm(), now, _keys(), merchant_id)
    page = model.LookupPage(context=_context(shopper, now), order_number=order_number, email=email, error=error,
                            contact=contact, notice=notice)
    return _html(status, render_lookup_page, page)


def _form(raw_body: bytes | None) -> dict[str, str]:
    raw = raw_body or b""
    if len(raw) > MAX_FORM_BYTES:
        raise InvalidInput("form too large", field="body")
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=200))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("malformed form", field="body") from None


def _same_origin(headers: Mapping[str, str], host: str | None) -> bool:
    """A browser names the page a POST came from; refuse other sites (login-less CSRF defence)."""
    from ..security.signatures import header

    origin = header(headers, "Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == (host or "")


# --- order page ----------------------------------------------------------------------------------


def _load_order(merchant_id: str, order_id: str, now: datetime):
    from ..returns.service import order_returns
    from ..services import order_store, policy_store

    loaded = order_store().order_page(merchant_id, order_id)
    if loaded is None:
        return None
    view, tracked = loaded
    return view, tracked, order_returns(view, policy_store(), merchant_id, now)


def _faq_entries(merchant_id: str) -> tuple:
    """The merchant's FAQ (one GetItem, cached per container; see storage/faq.py)."""
    from ..services import faq_store

    return faq_store().entries(merchant_id)


def _link_ok(merchant_id: str, order_id: str, token: str | None, now: datetime) -> bool:
    return bool(token) and verify_order_token(_keys(), merchant_id, order_id, token or "", now)


def order_page(merchant_id: str, order_id: str, query: Mapping[str, str], now: datetime, *,
               form: model.ReturnForm | None = None, status: int = 200,
               contact: model.ContactForm | None = None) -> PageResponse:
    from .rendering import render_order_page

    token, lang = query.get("token"), query.get("lang")
    if not _link_ok(merchant_id, order_id, token, now):
        return _lookup(merchant_id, now, lang=lang, error="invalid_link", status=401)
    loaded = _load_order(merchant_id, order_id, now)
    if loaded is None:
        return _error(merchant_id, "not_found", 404, lang, now)
    view, tracked, returns = loaded
    customer = view.order.customer
    shopper = _shopper(merchant_id, lang, customer.locale)
    context = _context(shopper, now, locale=customer.locale, timezone=customer.timezone, token=token,
                       subject=f"order:{order_id}")
    notice = query.get("notice") if query.get("notice") in ("return_requested", "return_cancelled",
                                                             "message_sent") else None
    page = build.order_page(context, returns, view.status, tracked, shopper.branding, form=form, notice=notice,
                            form_id=secrets.token_urlsafe(12),
                            preferences_url=preferences_link(merchant_id, customer.customer_id(), now, lang),
                            faq_entries=_faq_entries(merchant_id), contact=contact)
    from ..surveys.invitation import order_page_survey_path

    survey_url = order_page_survey_path(merchant_id, view, now, shopper.language)
    if survey_url:
        page = page.model_copy(update={"survey_url": survey_url})
    return _html(status, render_order_page, page)


def _form_access(merchant_id: str, order_id: str, form: Mapping[str, str], headers: Mapping[str, str],
                 host: str | None, now: datetime) -> str | None:
    """The link token when the form is genuine (our page, this order, unexpired); else None."""
    token = form.get("token")
    if not _link_ok(merchant_id, order_id, token, now) or not _same_origin(headers, host):
        return None
    if not verify_form_token(_keys(), merchant_id, f"order:{order_id}", token or "",
                             form.get("csrf_token")):
        return None
    return token


def _signed_form(merchant_id: str, order_id: str, raw_body: bytes | None, headers: Mapping[str, str],
                 host: str | None, now: datetime) -> "tuple[Mapping[str, str], str | None, str] | PageResponse":
    """An order page form's (fields, language, link token), or the lookup page (403) when the
    form is not genuine: every form posted from the order page starts here."""
    form = _form(raw_body)
    lang = form.get("lang")
    token = _form_access(merchant_id, order_id, form, headers, host, now)
    if token is None:
        return _lookup(merchant_id, now, lang=lang, error="invalid_link", status=403)
    return form, lang, token


_FIELD_CODES = {"window_closed": "window_closed", "already_returned": "already_returned",
                "exceeds_returnable": "too_many", "final_sale": "not_returnable", "non_returnable": "not_returnable",
                "not_yet_shipped": "not_returnable", "not_in_order": "invalid", "resolution_not_offered": "not_allowed"}


def _return_form(form: Mapping[str, str]) -> model.ReturnForm:
    quantities: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name, value in form.items():
        if not name.startswith("qty."):
            continue
        sku = name[4:]
        text = value.strip() or "0"
        if not text.isdigit() or len(text) > 6:
            errors[f"items.{sku}"] = "invalid"
            continue
        if int(text):
            quantities[sku] = int(text)
    reason, resolution = form.get("reason") or None, form.get("resolution") or None
    if not quantities and not errors:
        errors["items"] = "no_items"
    if reason not in {r.value for r in ReturnReason}:
        errors["reason"] = "required" if not reason else "invalid"
    if resolution not in {r.value for r in Resolution}:
        errors["resolution"] = "required" if not resolution else "invalid"
    comment = form.get("comment", "")
    if len(comment) > 1000:
        errors["comment"] = "invalid"
    return model.ReturnForm(quantities=quantities, reason=reason, resolution=resolution, comment=comment[:1000],
                            errors=errors)


def submit_return(merchant_id: str, order_id: str, raw_body: bytes | None, headers: Mapping[str, str],
                  host: str | None, now: datetime) -> PageResponse:
    from ..returns.requests import ReturnRequestIn
    from ..returns.views import create_return
    from ..security.order_access import OrderAccess

    signed = _signed_form(merchant_id, order_id, raw_body, headers, host, now)
    if isinstance(signed, PageResponse):
        return signed
    form, lang, token = signed
    entered = _return_form(form)
    query = {"token": token, "lang": lang or ""}
    if entered.errors:
        return order_page(merchant_id, order_id, query, now, form=entered, status=422)
    body = ReturnRequestIn(items=[{"sku": sku, "quantity": quantity} for sku, quantity in entered.quantities.items()],
                           reason=entered.reason, resolution=entered.resolution, comment=entered.comment)
    try:
        # The form's own id makes a double click (or a resubmitted page) one return, not two.
        create_return(OrderAccess(merchant_id, order_id, "link"), body, form.get("form_id") or None, now)
    except (NotAllowed, Conflict, InvalidInput) as refused:
        skus = list(entered.quantities)
        field = refused.field or ""
        code = _FIELD_CODES.get(str(refused.details.get("reason")), "not_allowed")
        if field.startswith("items[") and "]" in field:
            index = int(field[6:field.index("]")])
            key = f"items.{skus[index]}" if index < len(skus) else "items"
        else:
            key = "items"
        form_with_error = entered.model_copy(update={"errors": {key: code}})
        return order_page(merchant_id, order_id, query, now, form=form_with_error, status=refused.status)
    return _redirect(_with_query(page_path(merchant_id, "orders", order_id), token=token, lang=lang,
                                 notice="return_requested"))


def cancel_return(merchant_id: str, order_id: str, rma_id: str, raw_body: bytes | None, headers: Mapping[str, str],
                  host: str | None, now: datetime) -> PageResponse:
    from ..returns.requests import ReturnCommandIn
    from ..returns.views import step
    from ..security.order_access import OrderAccess

    signed = _signed_form(merchant_id, order_id, raw_body, headers, host, now)
    if isinstance(signed, PageResponse):
        return signed
    form, lang, token = signed
    try:
        step(OrderAccess(merchant_id, order_id, "link"), rma_id, ReturnCommandIn(action="cancel"), now)
    except DomainError as refused:
        logger.info("return cancel refused", extra={"code": refused.code})
        return order_page(merchant_id, order_id, {"token": token, "lang": lang or ""}, now,
                          form=model.ReturnForm(errors={"cancel": "not_allowed"}), status=refused.status)
    return _redirect(_with_query(page_path(merchant_id, "orders", order_id), token=token, lang=lang,
                                 notice="return_cancelled"))


MAX_CONTACT_TEXT = 4000


def submit_contact(merchant_id: str, order_id: str, raw_body: bytes | None, headers: Mapping[str, str],
                   host: str | None, now: datetime) -> PageResponse:
    """The order page's "message us" form: a support message about this order, from its customer
    (the signed link vouches for both). The form's id makes a double submit one message."""
    from ..support.model import Channel
    from ..support.service import Incoming, receive_message

    signed = _signed_form(merchant_id, order_id, raw_body, headers, host, now)
    if isinstance(signed, PageResponse):
        return signed
    form, lang, token = signed
    text = (form.get("message") or "").strip()
    query = {"token": token, "lang": lang or ""}
    if not text or len(text) > MAX_CONTACT_TEXT:
        entered = model.ContactForm(text=text[:MAX_CONTACT_TEXT], error="required" if not text else "invalid")
        return order_page(merchant_id, order_id, query, now, contact=entered, status=422)
    from ..services import order_store

    order = order_store().get_order(merchant_id, order_id)
    if order is None:
        return _error(merchant_id, "not_found", 404, lang, now)
    customer = order.customer
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part) or None
    identity = f"form\x1f{order_id}\x1f{form.get('form_id') or text}"
    receive_message(Incoming(merchant_id=merchant_id, channel=Channel.FORM, identity=identity, text=text,
                             email=order.recipient, name=name, order_id=order_id,
                             language=lang if lang in build.LANGUAGES else None), now)
    return _redirect(_with_query(page_path(merchant_id, "orders", order_id), token=token, lang=lang,
                                 notice="message_sent"))


# --- lookup ------------------------------------------------------------------------------------


def lookup_page(merchant_id: str, query: Mapping[str, str], now: datetime) -> PageResponse:
    notice = "message_sent" if query.get("notice") == "message_sent" else None
    return _lookup(merchant_id, now, lang=query.get("lang"), notice=notice)


def submit_lookup_contact(merchant_id: str, raw_body: bytes | None, headers: Mapping[str, str], host: str | None,
                          client: str, now: datetime) -> PageResponse:
    """The lookup page's "message us" form (pages/lookup_contact.py): one answer for every sender."""
    from ..services import attempt_limiter
    from . import lookup_contact

    form = _form(raw_body)
    lang = form.get("lang")
    language = lang if lang in build.LANGUAGES else None
    contact = lookup_contact.entered(form)
    genuine = lookup_contact.genuine(form, now, _keys(), merchant_id)
    if not _same_origin(headers, host) or genuine is False:
        return _lookup(merchant_id, now, lang=lang, error="invalid_link", status=403)
    if genuine is None:
        expired = contact.model_copy(update={"errors": {**contact.errors, "form": "expired"}})
        return _lookup(merchant_id, now, lang=lang, contact=expired, status=400)
    if contact.errors:
        return _lookup(merchant_id, now, lang=lang, contact=contact, status=400)
    if not lookup_contact.allowed(merchant_id, client, contact.email, now, attempt_limiter()):
        limited = contact.model_copy(update={"errors": {"form": "too_many_attempts"}})
        return _lookup(merchant_id, now, lang=lang, contact=limited, status=429)
    lookup_contact.send(merchant_id, contact, form["form_nonce"], language, now)
    return _redirect(_with_query(page_path(merchant_id, "lookup"), lang=lang, notice="message_sent") + "#contact")


def submit_lookup(merchant_id: str, raw_body: bytes | None, headers: Mapping[str, str], host: str | None,
                  client: str, now: datetime) -> PageResponse:
    from ..security.order_access import open_by_email
    from ..security.tokens import sign_order_token
    from ..services import attempt_limiter, order_numbers

    form = _form(raw_body)
    lang = form.get("lang")
    number, email = form.get("order_number", "").strip(), form.get("email", "").strip()
    if not _same_origin(headers, host):
        return _lookup(merchant_id, now, lang=lang, error="invalid_link", status=403)
    try:
        access = open_by_email(merchant_id, number, email, client, numbers=order_numbers(),
                               limiter=attempt_limiter(), now=now)
    except TooManyAttempts:
        return _lookup(merchant_id, now, lang=lang, error="too_many_attempts", status=429, order_number=number,
                       email=email)
    except (NotFound, InvalidInput):
        return _lookup(merchant_id, now, lang=lang, error="not_found", status=404, order_number=number, email=email)
    token = sign_order_token(_keys(), merchant_id, access.order_id, now + timedelta(days=1))
    return _redirect(_with_query(page_path(merchant_id, "orders", access.order_id), token=token, lang=lang))


# --- preferences -------------------------------------------------------------------------------


def preferences_link(merchant_id: str, customer_id: str, now: datetime, lang: str | None = None) -> str:
    config = settings()
    token = sign_customer_token(_keys(), merchant_id, customer_id,
                                now + timedelta(days=config.order_link_ttl_days))
    return _with_query(page_path(merchant_id, "preferences"), customer=customer_id, token=token, lang=lang)


def _customer_ok(merchant_id: str, customer_id: str | None, token: str | None, now: datetime) -> bool:
    return bool(customer_id and token) and verify_customer_token(_keys(), merchant_id,
                                                                 customer_id or "", token or "", now)


def preferences_page(merchant_id: str, query: Mapping[str, str], now: datetime, *,
                     notice: str | None = None) -> PageResponse:
    from ..services import customer_store
    from .rendering import render_preferences_page

    customer_id, token, lang = query.get("customer"), query.get("token"), query.get("lang")
    if not _customer_ok(merchant_id, customer_id, token, now):
        return _lookup(merchant_id, now, lang=lang, error="invalid_link", status=401)
    profile = customer_store().profile(merchant_id, customer_id or "")
    if profile is None:
        return _error(merchant_id, "not_found", 404, lang, now)
    preferences = profile.preferences
    shopper = _shopper(merchant_id, lang or preferences.language, profile.locale)
    context = _context(shopper, now, locale=profile.locale, timezone=profile.timezone, token=token,
                       subject=f"customer:{customer_id}")
    page = model.PreferencesPage(
        context=context, order_id="", customer_id=customer_id, email=profile.email,
        kinds=[model.PreferenceKind(kind=kind, subscribed=kind not in preferences.unsubscribed)
               for kind in MARKETING_KINDS],
        unsubscribed_all=preferences.all_marketing_off, language=preferences.language,
        notice=notice or (query.get("notice") if query.get("notice") == "preferences_saved" else None))
    return _html(200, render_preferences_page, page)


def submit_preferences(merchant_id: str, query: Mapping[str, str], raw_body: bytes | None,
                       headers: Mapping[str, str], host: str | None, now: datetime) -> PageResponse:
    from ..services import customer_store

    form = _form(raw_body)
    customer_id = form.get("customer") or query.get("customer")
    token, lang = form.get("token"), form.get("lang")
    genuine = (_customer_ok(merchant_id, customer_id, token, now) and _same_origin(headers, host)
               and verify_form_token(_keys(), merchant_id, f"customer:{customer_id}",
                                     token or "", form.get("csrf_token")))
    if not genuine:
        return _lookup(merchant_id, now, lang=lang, error="invalid_link", status=403)
    store = customer_store()
    profile = store.profile(merchant_id, customer_id or "")
    if profile is None:
        return _error(merchant_id, "not_found", 404, lang, now)
    language = form.get("language") or None
    if language not in (None, *build.LANGUAGES):
        language = None
    subscribed = {kind for kind in MARKETING_KINDS if form.get(f"kind.{kind}")}
    choice = updated(profile.preferences, subscribed=subscribed, all_off=bool(form.get("all")), language=language,
                     source="preferences_page", now=now)
    store.save_preferences(merchant_id, customer_id or "", choice, now)
    return _redirect(_with_query(page_path(merchant_id, "preferences"), customer=customer_id, token=token,
                                 lang=language or lang, notice="preferences_saved"))


# --- one-click unsubscribe (RFC 8058) -----------------------------------------------------------


def _one_click(raw_body: bytes | None) -> bool:
    """The RFC 8058 body: "List-Unsubscribe=One-Click", form-encoded (or as a multipart field)."""
    raw = raw_body or b""
    if len(raw) > MAX_FORM_BYTES:
        return False
    if _form(raw).get("List-Unsubscribe") == "One-Click":
        return True
    return b'name="List-Unsubscribe"' in raw and b"One-Click" in raw  # multipart/form-data


def _unsubscribe_target(merchant_id: str, token: str, now: datetime):
    """(customer id, kind, profile) of a genuine link for this shop, else None (one GetItem)."""
    from ..messaging.links import read_unsubscribe_token
    from ..services import customer_store

    claims = read_unsubscribe_token(token, now)
    if claims is None or claims[0] != merchant_id:
        return None
    _merchant, customer_id, kind = claims
    profile = customer_store().profile(merchant_id, customer_id)
    return (customer_id, kind, profile) if profile is not None else None


def _unsubscribe_view(merchant_id: str, token: str, customer_id: str, kind: str, profile, lang: str | None,
                      done: bool, now: datetime) -> PageResponse:
    from .rendering import render_unsubscribe_page

    shopper = _shopper(merchant_id, lang or profile.preferences.language, profile.locale)
    page = model.UnsubscribePage(
        context=_context(shopper, now, locale=profile.locale, timezone=profile.timezone), email=profile.email,
        kind=kind if kind in MARKETING_KINDS else "all", done=done,
        action=page_path(merchant_id, "unsubscribe", token),
        preferences_url=preferences_link(merchant_id, customer_id, now, lang=shopper.language))
    return _html(200, render_unsubscribe_page, page)


def unsubscribe_page(merchant_id: str, token: str, query: Mapping[str, str], now: datetime) -> PageResponse:
    """GET on the List-Unsubscribe link: a page whose button POSTs the one-click form (changes nothing)."""
    lang = query.get("lang")
    target = _unsubscribe_target(merchant_id, token, now)
    if target is None:
        return _error(merchant_id, "not_found", 404, lang, now)
    customer_id, kind, profile = target
    done = not any(profile.preferences.allows(k) for k in (MARKETING_KINDS if kind not in MARKETING_KINDS else (kind,)))
    return _unsubscribe_view(merchant_id, token, customer_id, kind, profile, lang, done, now)


def unsubscribe(merchant_id: str, token: str, query: Mapping[str, str], raw_body: bytes | None,
                now: datetime) -> PageResponse:
    """POST on the List-Unsubscribe link (RFC 8058 one-click, from the mail provider or our button):
    turns the token's kind off, or all marketing for "all" (or a kind that cannot be turned off
    alone). Consent records the time and source "list_unsubscribe". GetItem + UpdateItem."""
    from ..services import customer_store

    lang = query.get("lang")
    if not _one_click(raw_body):
        return _error(merchant_id, "bad_request", 400, lang, now)
    target = _unsubscribe_target(merchant_id, token, now)
    if target is None:
        return _error(merchant_id, "not_found", 404, lang, now)
    customer_id, kind, profile = target
    current = profile.preferences
    kind = "review_request" if kind in ("review_reminder", "survey", "support_csat") else kind
    subscribed = {k for k in MARKETING_KINDS if k not in current.unsubscribed and k != kind}
    choice = updated(current, subscribed=subscribed, all_off=current.all_marketing_off or kind not in MARKETING_KINDS,
                     language=current.language, source="list_unsubscribe", now=now)
    customer_store().save_preferences(merchant_id, customer_id, choice, now)
    from ..analytics.recording import count_unsubscribe

    count_unsubscribe(merchant_id, customer_id, kind, not current.all_marketing_off and kind not in current.unsubscribed,
                      now)
    logger.info("unsubscribed", extra={"kind": kind, "all_marketing": choice.all_marketing_off})
    return _unsubscribe_view(merchant_id, token, customer_id, kind, profile, lang, True, now)


def safely(merchant_id: str, lang: str | None, now: datetime, handle: Callable[[], PageResponse]) -> PageResponse:
    """Any failure becomes the friendly error page (logged), never a stack trace."""
    if not _possible_shop(merchant_id):  # no store lookup with it: no merchant has it
        shopper = Shopper(_unknown_shop(merchant_id), "en")
        return _html(404, _render_error, model.ErrorPage(context=_context(shopper, now), error="not_found"))
    try:
        return handle()
    except Unauthorized:
        return _lookup(merchant_id, now, lang=lang, error="invalid_link", status=401)
    except NotFound:
        return _error(merchant_id, "not_found", 404, lang, now)
    except DomainError as error:
        logger.info("page request refused", extra={"code": error.code, "field": error.field})
        return _error(merchant_id, "bad_request", error.status if error.status < 500 else 400, lang, now)
    except Exception:
        logger.exception("page failed")
        try:
            return _error(merchant_id, "server_error", 500, lang, now)
        except Exception:
            return PageResponse(500, "<!doctype html><title>Error</title><p>Something went wrong.</p>",
                                _headers())
