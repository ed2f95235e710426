"""The merchant console's requests: check the session, read (Queries on kept keys), act, render.

Answers carry the customer pages' headers (strict CSP with a style nonce, no script, no-store,
no framing). Every page but sign-in needs a session cookie of THIS merchant, else it answers
the sign-in page (401); every POST needs the form token bound to that session and a same-origin Origin.
Each step is `returns.views.step` as the merchant, the call the API's transitions route makes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping
from urllib.parse import quote, urlencode

from ..errors import DomainError, InvalidInput, NotFound, TooManyAttempts, Unauthorized
from ..observability import logger
from ..pages import build
from ..pages.handlers import PageResponse, _form, _headers, _possible_shop, _same_origin
from ..security.tokens import ConsoleSession
from . import rendering, session, views
from .rendering import Staff

SEARCH_MAX = 254
SEARCH_ORDERS_MAX = 10  # orders opened for one search (one Query each)
NOTICES = ("signed_out", "step_saved", "settings_saved")


@dataclass(frozen=True)
class Request:
    merchant_id: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    context: Mapping[str, Any]
    now: datetime
    raw_body: bytes | None = None
    client: str = ""

    def switch_target(self) -> tuple[str, list[tuple[str, str]]]:
        """This page's path and query without `lang`: the language links add their own."""
        path = str(self.context.get("path") or "")
        return path, [(name, value) for name, value in self.query.items() if name != "lang"]


def base_path(request: Request) -> str:
    """The console's own path prefix, as the browser sees it (an API stage prefix included)."""
    full = str(request.context.get("path") or "")
    prefix = full[:full.find("/console/")] if "/console/" in full else ""
    return f"{prefix}/console/{quote(request.merchant_id, safe='')}"


def _branding(merchant_id: str):
    from ..services import merchant_store

    merchant = merchant_store().get(merchant_id)
    if merchant is None:
        raise NotFound("no such shop", field="merchant_id")
    return merchant.branding


def _language(requested: str | None, default_locale: str | None) -> str:
    """A console language: the one asked for when we have it, else the shop's default."""
    from ..messaging.catalogs import resolve_language

    return requested if requested in build.LANGUAGES else resolve_language(default_locale, None)


def _html(status: int, render: Callable[..., str], *args: Any, cookie: str | None = None, **data: Any) -> PageResponse:
    import secrets

    nonce = secrets.token_urlsafe(16)
    headers = _headers(nonce)
    if cookie:
        headers["Set-Cookie"] = cookie
    return PageResponse(status, render(*args, nonce=nonce, **data), headers)


def _redirect(location: str, cookie: str | None = None) -> PageResponse:
    headers = {**_headers(), "Location": location}
    if cookie:
        headers["Set-Cookie"] = cookie
    return PageResponse(303, "", headers)


def _with_query(path: str, **params: str | None) -> str:
    query = urlencode({name: value for name, value in params.items() if value})
    return f"{path}?{query}" if query else path


# --- signing in and out ----------------------------------------------------------------------


def _signin_view(request: Request, status: int, error: str | None = None, language: str | None = None,
                 cookie: str | None = None) -> PageResponse:
    branding = _branding(request.merchant_id)
    lang = language or _language(request.query.get("lang"), branding.default_locale)
    # Its language links lead to the sign-in page itself: nothing of the address asked for is echoed.
    staff = Staff(branding, lang, base_path(request), None, (base_path(request) + "/signin", []), request.now)
    notice = request.query.get("notice") if request.query.get("notice") in NOTICES else None
    return _html(status, rendering.render_signin, staff, error=error, notice=notice, cookie=cookie)


def home(request: Request) -> PageResponse:
    signed_in = session.current(request.merchant_id, request.headers, request.now) is not None
    return _redirect(base_path(request) + ("/returns" if signed_in else "/signin"))


def signin_page(request: Request) -> PageResponse:
    if session.current(request.merchant_id, request.headers, request.now) is not None:
        return _redirect(base_path(request) + "/returns")
    return _signin_view(request, 200)


def submit_signin(request: Request) -> PageResponse:
    form = _form(request.raw_body)
    branding = _branding(request.merchant_id)
    lang = _language(form.get("lang"), branding.default_locale)
    if not _same_origin(request.headers, request.headers.get("host")):
        return _signin_view(request, 403, "forbidden", lang)
    try:
        staff_session, token = session.sign_in(request.merchant_id, form.get("api_key", ""), lang, request.client,
                                               request.now)
    except TooManyAttempts:
        return _signin_view(request, 429, "too_many_attempts", lang)
    except Unauthorized:
        return _signin_view(request, 401, "invalid_key", lang)
    logger.info("console sign-in", extra={"merchant_id": request.merchant_id})
    base = base_path(request)
    return _redirect(base + "/returns", session.set_cookie(base, token, staff_session, request.now))


def _authentic_post(request: Request, form: Mapping[str, str]) -> tuple[ConsoleSession, str] | None:
    signed_in = session.current(request.merchant_id, request.headers, request.now)
    if signed_in is None or not _same_origin(request.headers, request.headers.get("host")):
        return None
    return signed_in if session.csrf_ok(signed_in[1], request.merchant_id, form.get("csrf_token")) else None


def signout(request: Request) -> PageResponse:
    form = _form(request.raw_body)
    if _authentic_post(request, form) is None:
        return _signin_view(request, 403, "forbidden")
    base = base_path(request)
    return _redirect(base + "/signin?notice=signed_out", session.clear_cookie(base))


# --- the signed-in pages ---------------------------------------------------------------------


def _staff(request: Request) -> tuple[Staff, str | None] | None:
    """The signed-in staff member (language switched by ?lang=, re-issuing the cookie), or None."""
    signed_in = session.current(request.merchant_id, request.headers, request.now)
    if signed_in is None:
        return None
    current, token = signed_in
    cookie = None
    wanted = request.query.get("lang")
    if wanted in build.LANGUAGES and wanted != current.language:
        current, token = session.with_language(current, wanted)
        cookie = session.set_cookie(base_path(request), token, current, request.now)
    staff = Staff(_branding(request.merchant_id), _language(current.language, None), base_path(request),
                  session.csrf_token(token, request.merchant_id), request.switch_target(), request.now)
    return staff, cookie


def _to_signin(request: Request) -> PageResponse:
    """No session of this shop: the sign-in page in place (401); it leads to the returns."""
    return _signin_view(request, 401)


def _search(merchant_id: str, text: str, now: datetime) -> list:
    """RMAs matching an order id or number, an RMA id, a tracking number or an order email."""
    from ..returns.service import load
    from ..services import policy_store, return_queue, return_store, tracking_store

    queue = return_queue()
    text = text.strip()[:SEARCH_MAX]
    try:
        text.encode("utf-8")  # API Gateway decodes anything, even a lone surrogate no key can hold
    except UnicodeEncodeError:
        return []
    if "@" in text:
        order_ids = queue.orders_for_email(merchant_id, text)
    else:
        found = queue.order_for_rma(merchant_id, text.upper()) if text.upper().startswith("R-") else None
        order_ids = [found] if found else []
        if not order_ids:
            view = return_store().order_view(merchant_id, text)
            order_ids = [text] if view is not None else []
        if not order_ids:
            by_number = queue.order_for_number(merchant_id, text)
            order_ids = [by_number] if by_number else []
        if not order_ids:
            order_ids = list(dict.fromkeys(order for order, _ in
                                           tracking_store().shipments_for_tracking_number(merchant_id, text)))
    found_rmas = []
    for order_id in order_ids[:SEARCH_ORDERS_MAX]:
        try:
            returns = load(return_store(), policy_store(), merchant_id, order_id, now)
        except NotFound:
            continue
        found_rmas.extend(entry.rma for entry in returns.returns)
    return found_rmas


def returns_page(request: Request) -> PageResponse:
    from ..returns.queue import TABS
    from ..services import return_queue

    signed_in = _staff(request)
    if signed_in is None:
        return _to_signin(request)
    staff, cookie = signed_in
    text = (request.query.get("q") or "").strip()
    tab = request.query.get("tab") or "requested"
    if tab not in TABS:
        raise InvalidInput("unknown tab", field="tab")
    if text:
        found, next_cursor = _search(request.merchant_id, text, request.now), None
    else:
        page = return_queue().page(request.merchant_id, tab, request.now, request.query.get("next") or None)
        found, next_cursor = page.returns, page.next_cursor
    return _html(200, rendering.render_returns, staff, tab=None if text else tab, tabs=TABS, query=text,
                 rows=views.rows(found, request.now), next_cursor=next_cursor, cookie=cookie)


def shipments_page(request: Request) -> PageResponse:
    """Shipments needing attention (stalled, exception, failed attempt, back to the sender),
    newest first, with the notices the customer was sent: one Query of gsi1 a page."""
    from ..storage.tracking import attention_page

    signed_in = _staff(request)
    if signed_in is None:
        return _to_signin(request)
    staff, cookie = signed_in
    page = attention_page(request.merchant_id, request.query.get("next") or None)
    return _html(200, rendering.render_shipments, staff, rows=views.attention_rows(page.shipments, request.now),
                 next_cursor=page.next_cursor, cookie=cookie)


def messages_page(request: Request) -> PageResponse:
    """Messages by outcome (sent, skipped, failed, bounced), newest first, optionally of one kind:
    one Query of gsi1 a page; or one customer's messages found by email or customer id."""
    from ..storage.message_log import customer_messages, messages_page as page_of

    signed_in = _staff(request)
    if signed_in is None:
        return _to_signin(request)
    staff, cookie = signed_in
    outcome = request.query.get("outcome") or "sent"
    kind = request.query.get("kind") or None
    if outcome not in views.MESSAGE_OUTCOMES:
        raise InvalidInput("unknown outcome", field="outcome")
    if kind is not None and kind not in views.MESSAGE_KINDS:
        raise InvalidInput("unknown kind", field="kind")
    text = (request.query.get("q") or "").strip()[:SEARCH_MAX]
    try:
        text.encode("utf-8")  # API Gateway decodes anything, even a lone surrogate no key can hold
    except UnicodeEncodeError:
        raise InvalidInput("the search is not valid text", field="q") from None
    if text:
        page = customer_messages(request.merchant_id, text, kind)
    else:
        page = page_of(request.merchant_id, outcome, kind, request.query.get("next") or None)
    return _html(200, rendering.render_messages, staff, outcome=None if text else outcome, kind=kind, query=text,
                 messages=page.messages, next_cursor=page.next_cursor, cookie=cookie)


# --- settings (console/settings.py: the forms; each save is the API route's own call) ----------


def settings_home(request: Request) -> PageResponse:
    if session.current(request.merchant_id, request.headers, request.now) is None:
        return _to_signin(request)
    return _redirect(base_path(request) + "/settings/messaging")


def _section(section: str) -> str:
    from .settings import SECTIONS

    if section not in SECTIONS:
        raise NotFound("no such settings page", field="section")
    return section


def _settings_current(merchant_id: str, section: str) -> dict[str, Any]:
    """What the form shows now, and what the page shows beside it (the policy preview, the secret)."""
    from ..services import merchant_store
    from . import settings as forms

    merchant = merchant_store().get(merchant_id)
    if section == "messaging":
        from ..storage.merchants import messaging_settings

        return {"values": forms.messaging_values(messaging_settings(merchant_id), merchant.branding)}
    if section == "return-policy":
        from ..returns.policy_view import policy_document
        from ..services import policy_store

        policy = policy_store().current(merchant_id)
        return {"values": forms.policy_values(policy),
                "previews": [policy_document(policy, language) for language in build.LANGUAGES]}
    if section == "loyalty":
        from ..services import loyalty

        return {"values": forms.loyalty_values(loyalty().settings_document(merchant_id))}
    from ..storage.merchants import secrets_of

    secret = secrets_of(merchant).webhook_secret if (merchant.webhooks.returns_url or
                                                     merchant.webhooks.feedback_url) else None
    return {"values": forms.webhook_values(merchant.webhooks), "secret": forms.masked(secret)}


def _save_settings(merchant_id: str, section: str, form: Mapping[str, str], staff: Staff, now: datetime) -> str | None:
    """Validate the whole form, then save through the API's calls; the new secret masked (webhooks)."""
    from dataclasses import replace

    from ..services import merchant_store
    from . import settings as forms

    if section == "messaging":
        from ..storage.merchants import messaging_settings, set_messaging_settings

        merchant = merchant_store().get(merchant_id)
        messaging, branding = forms.messaging_from_form(form, messaging_settings(merchant_id), merchant.branding,
                                                        build.LANGUAGES)
        set_messaging_settings(merchant_id, messaging, now)  # PUT /v1/settings/messaging
        if branding != merchant.branding:
            merchant_store().save(replace(merchant, branding=branding), now)
        return None
    if section == "return-policy":
        from ..returns.policy_view import publish_policy
        from ..services import policy_store

        publish_policy(merchant_id, forms.policy_from_form(form, policy_store().current(merchant_id)), now,
                       staff.language)  # PUT /v1/returns/policy
        return None
    if section == "loyalty":
        from ..services import loyalty

        service = loyalty()
        service.save_settings(merchant_id, forms.loyalty_from_form(form, service.settings_document(merchant_id)),
                              now)  # PUT /v1/settings/loyalty
        return None
    from ..storage.merchants import set_webhooks

    # The save makes a new signing secret (as PUT /v1/settings/webhooks): the answer to this save
    # (no-store) is the one place staff can read it whole, or every receiver would fail its check.
    return set_webhooks(merchant_id, forms.webhooks_from_form(form), now)["secret"]


def settings_page(request: Request, section: str) -> PageResponse:
    signed_in = _staff(request)
    if signed_in is None:
        return _to_signin(request)
    staff, cookie = signed_in
    section = _section(section)
    notice = request.query.get("notice") if request.query.get("notice") in NOTICES else None
    return _html(200, rendering.render_settings, staff, section=section, **_settings_current(request.merchant_id,
                                                                                            section),
                 notice=notice, error=None, cookie=cookie)


def submit_settings(request: Request, section: str) -> PageResponse:
    form = _form(request.raw_body)
    if _authentic_post(request, form) is None:
        return _signin_view(request, 403, "forbidden")
    staff, _ = _staff(request) or (None, None)
    section = _section(section)
    try:
        secret = _save_settings(request.merchant_id, section, form, staff, request.now)
    except DomainError as refused:
        if isinstance(refused, NotFound) or refused.status >= 500:
            raise
        logger.info("console settings refused", extra={"code": refused.code, "field": refused.field})
        shown = {**_settings_current(request.merchant_id, section), "values": dict(form)}
        return _html(refused.status, rendering.render_settings, staff, section=section, **shown, notice=None,
                     error=refused)
    logger.info("console settings saved", extra={"merchant_id": request.merchant_id, "section": section})
    if secret is not None:  # shown once, whole: the page after a redirect shows it masked
        return _html(200, rendering.render_settings, staff, section=section,
                     **{**_settings_current(request.merchant_id, section), "secret": secret, "secret_once": True},
                     notice="settings_saved", error=None)
    return _redirect(_with_query(f"{base_path(request)}/settings/{section}", notice="settings_saved"))


def _return_view(request: Request, staff: Staff, order_id: str, rma_id: str, *, status: int = 200,
                 error: DomainError | None = None, cookie: str | None = None) -> PageResponse:
    from ..returns.service import load
    from ..services import policy_store, return_store

    returns = load(return_store(), policy_store(), request.merchant_id, order_id, request.now)
    shown = views.detail(returns, rma_id)
    if shown is None:
        raise NotFound(f"return {rma_id} not found", field="rma_id")
    notice = request.query.get("notice") if request.query.get("notice") in NOTICES else None
    return _html(status, rendering.render_return, staff, shown, error=error, notice=notice, cookie=cookie)


def return_page(request: Request, order_id: str, rma_id: str) -> PageResponse:
    signed_in = _staff(request)
    if signed_in is None:
        return _to_signin(request)
    staff, cookie = signed_in
    return _return_view(request, staff, order_id, rma_id, cookie=cookie)


def submit_step(request: Request, order_id: str, rma_id: str) -> PageResponse:
    from ..returns.service import load
    from ..returns.views import step
    from ..security.order_access import OrderAccess
    from ..services import policy_store, return_store

    form = _form(request.raw_body)
    if _authentic_post(request, form) is None:
        return _signin_view(request, 403, "forbidden")
    staff, _ = _staff(request) or (None, None)
    returns = load(return_store(), policy_store(), request.merchant_id, order_id, request.now)
    shown = views.detail(returns, rma_id)
    if shown is None:
        raise NotFound(f"return {rma_id} not found", field="rma_id")
    try:
        command = views.command_from_form(form.get("action", ""), form, shown.rma)
        step(OrderAccess(request.merchant_id, order_id, "merchant"), rma_id, command, request.now)
    except DomainError as refused:
        if isinstance(refused, NotFound):
            raise
        # 503: the step was saved but its notices were not queued; the same step sent again
        # finishes it (the domain replays the notice), and the page says so.
        logger.info("console step refused", extra={"code": refused.code, "field": refused.field})
        return _return_view(request, staff, order_id, rma_id, status=refused.status, error=refused)
    path = f"{base_path(request)}/returns/{quote(order_id, safe='')}/{quote(rma_id, safe='')}"
    return _redirect(_with_query(path, notice="step_saved"))


# --- errors ------------------------------------------------------------------------------------


def safely(request: Request, handle: Callable[[], PageResponse]) -> PageResponse:
    """Any failure is the console's error page (logged), never a stack trace."""
    if not _possible_shop(request.merchant_id):
        return PageResponse(404, rendering.render_bare_error("not_found"), _headers())
    try:
        _branding(request.merchant_id)  # an unknown shop is a 404 on every console address
        return handle()
    except NotFound:
        return _fallback(request, "not_found", 404)
    except DomainError as error:
        logger.info("console request refused", extra={"code": error.code, "field": error.field})
        if error.status >= 500:  # the keyring or a queue is unavailable: try again later
            return _fallback(request, "server_error", error.status)
        return _fallback(request, "bad_request", error.status)
    except Exception:
        logger.exception("console page failed")
        return _fallback(request, "server_error", 500)


def _fallback(request: Request, error: str, status: int) -> PageResponse:
    try:
        return _error(request, error, status)
    except Exception:
        logger.exception("console error page failed")
        return PageResponse(status, rendering.render_bare_error(error), _headers())


def _error(request: Request, error: str, status: int) -> PageResponse:
    from ..services import merchant_store

    merchant = merchant_store().get(request.merchant_id)
    if merchant is None:
        return PageResponse(404, rendering.render_bare_error("not_found"), _headers())
    signed_in = session.current(request.merchant_id, request.headers, request.now)
    language = _language(signed_in[0].language if signed_in else request.query.get("lang"),
                         merchant.branding.default_locale)
    staff = Staff(merchant.branding, language, base_path(request),
                  session.csrf_token(signed_in[1], request.merchant_id) if signed_in else None, None, request.now)
    return _html(status, rendering.render_error, staff, error=error)


def analytics_page(request: Request) -> PageResponse:
    """The shop's analytics over `?days=` (console/analytics.py: one Query of its counters)."""
    from .analytics import page

    return page(request)
