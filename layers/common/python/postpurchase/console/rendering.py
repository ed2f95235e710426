"""Render the console's pages (templates under messaging/templates/console/, the same gettext
catalogs and Jinja2 environment as the emails and the customer pages).

Values go to the templates raw or formatted (money, times with Babel in the console language);
every word comes from the templates. Like the customer pages: one `<style nonce>` element, no
script, no `style=` attribute, nothing loaded from elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from ..messaging import rendering as mail
from ..messaging.requests import MerchantBranding
from ..pages import build, model
from ..pages.rendering import _check_nonce, _Format, _hex_color, _language_name
from ..returns.rma import ReturnRequest
from .views import AttentionRow, Detail, Row


@dataclass(frozen=True)
class Staff:
    """Who the page is for: the shop, the console language, the console's path, the session's
    form token (None: not signed in) and this page's address for the language links."""

    branding: MerchantBranding
    language: str
    base: str
    csrf_token: str | None
    switch: tuple[str, list[tuple[str, str]]] | None
    now: datetime


def _format(staff: Staff) -> _Format:
    context = model.PageContext(shop=build.shop(staff.branding), language=staff.language, languages=build.LANGUAGES,
                                now=staff.now)
    return _Format(context)


def _url(path: str, params: list[tuple[str, str | None]]) -> str:
    query = urlencode([(name, value) for name, value in params if value])
    return f"{path}?{query}" if query else path


def _frame(staff: Staff, nonce: str) -> dict[str, Any]:
    brand = _hex_color(staff.branding.brand_color)
    path, params = staff.switch or (f"{staff.base}/returns", [])
    return {
        "lang": staff.language.replace("_", "-"),
        "dir": mail.text_direction(staff.language),
        "nonce": _check_nonce(nonce),
        "shop": {"name": staff.branding.name, "merchant_id": staff.branding.merchant_id},
        "colors": {"brand": brand, "on_brand": mail.contrast_text(brand)},
        "languages": [{"code": code, "name": _language_name(code), "current": code == staff.language,
                       "href": _url(path, [*params, ("lang", code)])} for code in build.LANGUAGES],
        "base": staff.base,
        "page": None,
        "signed_in": staff.csrf_token is not None,
        "csrf_token": staff.csrf_token or "",
        "language": staff.language,
    }


def _render(template: str, staff: Staff, data: dict[str, Any]) -> str:
    return mail.environment(staff.language).get_template(template).render(data)


def _rma_url(staff: Staff, rma: ReturnRequest) -> str:
    return f"{staff.base}/returns/{quote(rma.order_id, safe='')}/{quote(rma.rma_id, safe='')}"


def _row(staff: Staff, fmt: _Format, row: Row) -> dict[str, Any]:
    rma = row.rma
    return {
        "rma_id": rma.rma_id, "order_id": rma.order_id, "url": _rma_url(staff, rma), "status": rma.status.value,
        "tab": row.tab, "quantity": fmt.number(rma.requested_quantity),
        "skus": [{"sku": line.sku, "quantity": fmt.number(line.quantity)} for line in rma.lines],
        "reason": rma.lines[0].reason.value, "resolution": rma.lines[0].resolution.value,
        "requested": fmt.moment(rma.created_at), "changed": fmt.moment(rma.history[-1].at),
        "deadline": fmt.moment(rma.expires_at),
        "tracking_number": rma.label.tracking_number if rma.label else None,
    }


def render_signin(staff: Staff, *, nonce: str, error: str | None, notice: str | None) -> str:
    return _render("console/signin.html", staff, {**_frame(staff, nonce), "error": error, "notice": notice,
                                                  "action": f"{staff.base}/signin"})


def render_returns(staff: Staff, *, nonce: str, tab: str | None, tabs: tuple[str, ...], query: str,
                   rows: list[Row], next_cursor: str | None) -> str:
    fmt = _format(staff)
    listing = f"{staff.base}/returns"
    data = {
        **_frame(staff, nonce),
        "page": "returns",
        "tab": tab,
        "tabs": [{"tab": name, "href": _url(listing, [("tab", name)]), "current": name == tab} for name in tabs],
        "query": query,
        "search_action": listing,
        "rows": [_row(staff, fmt, row) for row in rows],
        "next_url": _url(listing, [("tab", tab), ("next", next_cursor)]) if next_cursor and tab else None,
    }
    return _render("console/returns.html", staff, data)


def render_shipments(staff: Staff, *, nonce: str, rows: list[AttentionRow], next_cursor: str | None) -> str:
    fmt = _format(staff)
    listing = f"{staff.base}/shipments"
    data = {
        **_frame(staff, nonce),
        "page": "shipments",
        "rows": [{"order_id": row.order_id, "shipment_id": row.shipment_id, "carrier": row.carrier,
                  "tracking_number": row.tracking_number, "status": row.status, "reason": row.reason,
                  "since": fmt.moment(row.since), "last_scan": fmt.moment(row.last_scan), "notices": row.notices}
                 for row in rows],
        "next_url": _url(listing, [("next", next_cursor)]) if next_cursor else None,
    }
    return _render("console/shipments.html", staff, data)


def render_messages(staff: Staff, *, nonce: str, outcome: str | None, kind: str | None, query: str,
                    messages: list, next_cursor: str | None) -> str:
    from .views import MESSAGE_KINDS, MESSAGE_OUTCOMES

    fmt = _format(staff)
    listing = f"{staff.base}/messages"
    data = {
        **_frame(staff, nonce),
        "page": "messages",
        "outcome": outcome,
        "kind": kind or "",
        "kinds": MESSAGE_KINDS,
        "tabs": [{"outcome": name, "href": _url(listing, [("outcome", name), ("kind", kind)]),
                  "current": name == outcome} for name in MESSAGE_OUTCOMES],
        "query": query,
        "search_action": listing,
        "rows": [{"at": fmt.moment(message.at), "kind": message.kind, "state": message.state,
                  "detail": _detail(message.message_key), "order_id": message.order_id,
                  "customer_id": message.customer_id, "reason": message.reason,
                  "order_url": (_url(f"{staff.base}/returns", [("q", message.order_id)])
                                if message.order_id else None)}
                 for message in messages],
        "next_url": (_url(listing, [("outcome", outcome), ("kind", kind), ("next", next_cursor)])
                     if next_cursor and outcome else None),
    }
    return _render("console/messages.html", staff, data)


def render_settings(staff: Staff, *, nonce: str, section: str, values: dict[str, Any], notice: str | None,
                    error: Any, previews: list[dict] | None = None,
                    secret: str | None = None, secret_once: bool = False) -> str:
    from . import settings as forms

    data = {
        **_frame(staff, nonce),
        "page": "settings",
        "section": section,
        "sections": [{"section": name, "href": f"{staff.base}/settings/{name}", "current": name == section}
                     for name in forms.SECTIONS],
        "action": f"{staff.base}/settings/{section}",
        "values": values,
        "notice": notice,
        "error": {"code": error.code, "field": error.field or ""} if error is not None else None,
        "languages_offered": [{"code": code, "name": _language_name(code)} for code in build.LANGUAGES],
        "window_starts": forms.WINDOW_STARTS, "resolutions": forms.RESOLUTIONS,
        "drop_off_options": forms.DROP_OFF_OPTIONS, "conditions": forms.CONDITIONS,
        "previews": [{**preview, "name": _language_name(preview["language"]),
                      "lang": preview["language"].replace("_", "-")} for preview in previews or ()],
        "secret": secret,
        "secret_once": secret_once,  # the answer to a save: the new secret whole, this once
    }
    return _render(f"console/settings_{section.replace('-', '_')}.html", staff, data)


def _detail(message_key: str) -> str | None:
    """The variant of a shipment notice or return update (`shipment_delivered#S1` -> delivered)."""
    head = message_key.split("#", 1)[0]
    for prefix in ("shipment_", "return_"):
        if head.startswith(prefix):
            return head[len(prefix):]
    return None


def _money(fmt: _Format, amount: Decimal | None, currency: str) -> str | None:
    return fmt.money(amount, currency) if amount is not None else None


def render_return(staff: Staff, shown: Detail, *, nonce: str, error: Any = None, notice: str | None = None) -> str:
    fmt = _format(staff)
    order, rma = shown.returns.order, shown.rma
    items = {item.sku: item for item in order.items}
    currency = order.currency
    customer = order.customer
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part)
    data = {
        **_frame(staff, nonce),
        "page": "return",
        "back": _url(f"{staff.base}/returns", [("tab", _tab(rma))]),
        "action": _rma_url(staff, rma),
        "rma": {
            "rma_id": rma.rma_id, "status": rma.status.value, "tab": _tab(rma),
            "requested": fmt.moment(rma.created_at), "deadline": fmt.moment(rma.expires_at),
            "rejection_reason": rma.rejection_reason,
            "lines": [{"sku": line.sku, "title": items[line.sku].title if line.sku in items else line.sku,
                       "quantity": fmt.number(line.quantity), "quantity_value": line.quantity,
                       "reason": line.reason.value, "resolution": line.resolution.value, "comment": line.comment,
                       "price": _money(fmt, items[line.sku].price, currency) if line.sku in items else None}
                      for line in rma.lines],
            "label": rma.label.model_dump() if rma.label else None,
            "inspection": [{"sku": line.sku, "accepted": fmt.number(line.accepted_quantity), "note": line.note}
                           for line in rma.inspection or ()],
            "outcome": rma.inspection_outcome.value if rma.inspection_outcome else None,
            "resolution": ({"kind": rma.resolution.kind.value, "amount": _money(fmt, rma.resolution.amount,
                                                                                  rma.resolution.currency or currency),
                            "code": rma.resolution.store_credit_code,
                            "exchange_order_id": rma.resolution.exchange_order_id} if rma.resolution else None),
            "history": [{"status": step.to_status.value, "at": fmt.moment(step.at), "actor": step.actor.kind,
                         "note": step.note} for step in reversed(rma.history)],
        },
        "order": {"order_id": order.order_id, "placed": fmt.moment(order.placed_at), "email": order.email,
                  "name": name or None, "currency": currency},
        "actions": shown.actions,
        "refundable": _money(fmt, shown.refundable, currency),
        "refundable_value": str(shown.refundable) if shown.refundable is not None else "",
        "resolutions": shown.resolutions,
        "error": {"code": error.code, "field": error.field} if error is not None else None,
        "notice": notice,
    }
    return _render("console/return.html", staff, data)


def _tab(rma: ReturnRequest) -> str:
    from ..returns.queue import TAB_OF_STATUS

    return TAB_OF_STATUS[rma.status]


def render_error(staff: Staff, *, nonce: str, error: str) -> str:
    shown = error if error in ("not_found", "bad_request", "server_error") else "server_error"
    return _render("console/error.html", staff, {**_frame(staff, nonce), "error": shown})


def render_bare_error(error: str) -> str:
    """For a shop no merchant can have: English, no shop, no style (the answer has no nonce)."""
    shown = error if error in ("not_found", "server_error") else "server_error"
    return mail.environment("en").get_template("console/bare_error.html").render({"error": shown})
