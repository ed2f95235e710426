"""`GET /openapi.json`: the storefront API described from the same pydantic models that validate it."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from .orders.models import Order
from .orders.shipments import ShipmentIn
from .messaging.campaigns import CampaignIn
from .messaging.settings import MessagingSettings
from .recommendations.catalog import MAX_PRODUCTS_PER_CALL, Product
from .recommendations.rules import RecommendationRules

_ERROR = {"$ref": "#/components/schemas/Error"}
_BEARER = [{"merchantKey": []}]


def _answer(description: str, schema: dict | None = None) -> dict:
    answer: dict[str, Any] = {"description": description}
    if schema:
        answer["content"] = {"application/json": {"schema": schema}}
    return answer


def _errors(*codes: int) -> dict:
    names = {400: "Malformed JSON or a field that fails validation", 401: "Missing or invalid key or signature",
             404: "Unknown order or merchant", 409: "Conflicts with what was already accepted",
             413: "Body too large", 415: "Unsupported content type",
             422: "Not allowed now (error.reason says why: window_closed, final_sale, an illegal step...)",
             429: "Too many attempts; try again later",
             503: "Saved, but a follow-up could not be queued: repeat the request with the same Idempotency-Key"}
    return {str(code): _answer(names[code], _ERROR) for code in codes}


_RATE_LIMITED = {
    "description": "rate_limited: over this merchant's request limit (error.limit, error.rate_per_second, "
                   "error.burst, error.retry_after_seconds); every call with the merchant key spends one token",
    "headers": {"Retry-After": {"description": "Seconds until a request would be accepted",
                                "schema": {"type": "integer", "minimum": 1}}},
    "content": {"application/json": {"schema": _ERROR}}}


def _with_merchant_rate_limit(paths: dict[str, dict]) -> dict[str, dict]:
    """Every operation a merchant key can call may answer 429 (web._spend_merchant_token); one
    place says so, so a new route cannot forget it. A route that already had its own 429 (e.g.
    lookup attempts) keeps both meanings in one description."""
    for operations in paths.values():
        for operation in operations.values():
            if {"merchantKey": []} not in operation.get("security", []):
                continue
            responses = operation.setdefault("responses", {})
            own = responses.get("429")
            answer = dict(_RATE_LIMITED)
            if own and own["description"] != _RATE_LIMITED["description"]:
                answer["description"] = f"{own['description']}; or {_RATE_LIMITED['description']}"
            responses["429"] = answer
    return paths


def _webhook(name: str, header: str) -> dict:
    return {"post": {
        "summary": f"{name} webhook (signed with {header})",
        "parameters": [{"name": "merchant_id", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": header, "in": "header", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": _answer("Received"), **_errors(400, 401, 404, 413)},
    }}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}
def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(*names: str) -> list[dict]:
    return [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in names]


def _page(summary: str) -> dict:
    return {"summary": summary, "security": [{}], "responses": {
        "200": {"description": "An HTML page", "content": {"text/html": {}}},
        "303": {"description": "Redirect after a successful form"},
        "401": {"description": "Invalid or expired link: the lookup page (HTML)"}}}


def _console(summary: str, signed_in: bool = True) -> dict:
    answers = {"200": {"description": "An HTML page", "content": {"text/html": {}}},
               "303": {"description": "Redirect after a successful form"},
               "401": {"description": "Not signed in for this shop: the sign-in page (HTML)"},
               "403": {"description": "A form from another origin or without its CSRF token"}}
    if not signed_in:
        answers["429"] = {"description": "Too many sign-in attempts"}
    return {"summary": summary, "security": [{"cookieAuth": []}] if signed_in else [{}], "responses": answers}


_REASONS = ["changed_mind", "damaged", "wrong_item", "doesnt_fit", "not_as_described", "other"]
_RESOLUTIONS = ["refund", "store_credit", "exchange"]
_CUSTOMER = [{"orderToken": []}]
_ORDER_ACCESS = [
    {"name": "merchant", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "The merchant id (customer calls, without a key)"},
    {"name": "token", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "The order link's token (or the X-Order-Token header)"}]


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    order_schema = Order.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    shipment_schema = ShipmentIn.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = {}
    for schema in (order_schema, shipment_schema):
        schemas.update(schema.pop("$defs", {}))
    for model in (Product, RecommendationRules):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas["Order"] = order_schema
    schemas["ShipmentIn"] = shipment_schema
    for name, model in (("MessagingSettings", MessagingSettings), ("CampaignIn", CampaignIn)):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    schemas["Error"] = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}}
    _survey_schemas(schemas)
    order_id = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}
    schemas["InsertBatch"] = {"type": "object", "properties": {
        "batch_id": {"type": "string"}, "status": {"type": "string", "enum": ["queued", "ready", "empty", "failed"]},
        "date": {"type": "string", "format": "date"}, "size": {"type": "string"}, "timezone": {"type": "string"},
        "order_count": {"type": "integer"}, "skipped": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"},
        "completed_at": {"type": ["string", "null"], "format": "date-time"},
        "url": {"type": "string", "description": "Presigned GET of the PDF (status ready)"},
        "url_expires_in": {"type": "integer", "description": "Seconds the url stays valid"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Post-purchase storefront API", "version": "1.0.0"},
        "components": {"schemas": schemas,
                       "securitySchemes": {"merchantKey": {"type": "http", "scheme": "bearer"},
                                           "orderToken": {"type": "apiKey", "in": "header",
                                                          "name": "X-Order-Token"},
                                           "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "pp_console"}}},
        "paths": _with_merchant_rate_limit({
            "/v1/orders": {"post": {
                "summary": "Accept an order from a custom storefront (idempotent on order_id)",
                "security": _BEARER,
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
                "responses": {"202": _answer("Accepted", {"type": "object", "properties": {
                    "order_id": {"type": "string"}, "status": {"type": "string"}}}),
                    **_errors(400, 401, 409, 413, 415)},
            }},
            "/v1/orders/{order_id}": {"get": {
                "summary": "The order with its shipments and notifications", "security": _BEARER,
                "parameters": [order_id], "responses": {"200": _answer("The order"), **_errors(401, 404)},
            }},
            "/v1/orders/{order_id}/shipments": {"post": {
                "summary": "Record a shipment of the order", "security": _BEARER, "parameters": [order_id],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ShipmentIn"}}}},
                "responses": {"201": _answer("Accepted"), **_errors(400, 401, 404, 409, 413, 415)},
            }},
            "/v1/orders/{order_id}/tracking": {"get": {
                "summary": "Every parcel of the order: status, carrier, tracking number and URL, ETA, timeline",
                "security": _BEARER, "parameters": [order_id],
                "responses": {"200": _answer("The parcels with their timelines"), **_errors(401, 404)},
            }},
            "/v1/returns/policy": {
                "get": {
                    "summary": "The merchant's return policy in force, with its text in the customer's language "
                               "(public: the merchant from the key when sent, else the merchant parameter)",
                    "security": [{}, *_BEARER],
                    "parameters": [
                        {"name": "merchant", "in": "query", "required": False, "schema": {"type": "string"},
                         "description": "The merchant id, when no key is sent (a storefront page)"},
                        {"name": "locale", "in": "query", "required": False, "schema": {"type": "string"},
                         "description": "BCP 47 tag (ar, pt-BR); else the merchant's default; else en"}],
                    "responses": {"200": _answer("The policy: version, effective_from, language, direction, "
                                                 "returns, logistics, general (cacheable 5 minutes)"),
                                  **_errors(400, 401, 404)},
                },
                "put": {
                    "summary": "Publish a new version of the return policy (version and effective_from are "
                               "assigned)",
                    "security": _BEARER,
                    "parameters": [{"name": "locale", "in": "query", "required": False,
                                    "schema": {"type": "string"}}],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["default_rule", "logistics"],
                        "properties": {name: {} for name in (
                            "default_rule", "categories", "final_sale_categories", "non_returnable_categories",
                            "logistics", "conditions")}}}}},
                    "responses": {"200": _answer("The stored version as the customer document"),
                                  **_errors(400, 401, 409, 413, 415)},
                },
            },
            "/v1/orders/{order_id}/returns": {
                "get": {
                    "summary": "What of the order can be returned (per SKU: returnable, reason, last day, "
                               "resolutions) and its returns with their history",
                    "security": [*_CUSTOMER, *_BEARER],
                    "parameters": _ORDER_ACCESS,
                    "responses": {"200": _answer("order_id, policy_version, items, returns"),
                                  **_errors(400, 401, 404)},
                },
                "post": {
                    "summary": "Request a return (the customer with the order link's token or order number + "
                               "email, or the merchant). Idempotent on the Idempotency-Key header.",
                    "security": [*_CUSTOMER, *_BEARER],
                    "parameters": [*_ORDER_ACCESS,
                                   {"name": "Idempotency-Key", "in": "header", "required": False,
                                    "schema": {"type": "string", "maxLength": 200},
                                    "description": "The same key answers the same return (200) instead of a "
                                                   "second one"}],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["items", "reason", "resolution"],
                        "properties": {
                            "items": {"type": "array", "items": {"type": "object", "required": ["sku", "quantity"],
                                      "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"},
                                                     "reason": {"enum": _REASONS},
                                                     "resolution": {"enum": _RESOLUTIONS},
                                                     "comment": {"type": "string"}}}},
                            "reason": {"enum": _REASONS}, "comment": {"type": "string"},
                            "resolution": {"enum": _RESOLUTIONS},
                            "email": {"type": "string", "description": "Order number + email access: the path's "
                                                                       "{order_id} is then the order number"}}}}}},
                    "responses": {"201": _answer("The RMA (status requested, or approved when the policy "
                                                 "auto-approves)"),
                                  "200": _answer("The RMA this Idempotency-Key created earlier"),
                                  **_errors(400, 401, 404, 409, 422, 429, 503)},
                },
            },
            "/v1/orders/{order_id}/returns/{rma_id}": {"get": {
                "summary": "One return with its history (time and actor of every step)",
                "security": [*_CUSTOMER, *_BEARER], "parameters": _ORDER_ACCESS,
                "responses": {"200": _answer("The RMA"), **_errors(401, 404)}}},
            "/v1/orders/{order_id}/returns/{rma_id}/transitions": {"post": {
                "summary": "One step of the RMA: approve, reject (reason), issue_label (carrier, "
                           "tracking_number, label_url), issue_drop_off_code (drop_off_code), mark_in_transit, "
                           "receive, inspect (lines: sku, accepted_quantity), resolve (resolution: kind, amount, "
                           "currency, store_credit_code | exchange_order_id), close; cancel (the customer too, "
                           "before it ships). Illegal steps answer 422.",
                "security": [*_CUSTOMER, *_BEARER], "parameters": _ORDER_ACCESS,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["action"], "properties": {"action": {"enum": [
                        "approve", "reject", "issue_label", "issue_drop_off_code", "mark_in_transit", "receive",
                        "inspect", "resolve", "close", "cancel"]}}}}}},
                "responses": {"200": _answer("The RMA after the step"), **_errors(400, 401, 404, 409, 422, 503)}}},
            "/v1/order-access": {"post": {
                "summary": "Order number + email -> a token opening that one order for a day (rate-limited; "
                           "the same 404 whichever of the two is wrong)",
                "security": [{}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["merchant", "order_number", "email"],
                    "properties": {"merchant": {"type": "string"}, "order_number": {"type": "string"},
                                   "email": {"type": "string"}}}}}},
                "responses": {"200": _answer("order_id, token, expires_at, order_page_url"),
                              **_errors(400, 404, 429)}}},
            "/v1/settings/webhooks": {"put": {
                "summary": "Where resolved returns (returns_url) and feedback answers (feedback_url; also "
                           "survey.detractor and support.conversation.created events) are POSTed "
                           "(signed X-PostPurchase-Signature: t=<unix>,v1=<hex HMAC-SHA256 of '<t>.<body>'>); "
                           "a URL left out keeps its value, null turns it off; answers a new secret. A URL must be "
                           "https (port 443, 8443 or 80) to a public host: private, loopback and link-local "
                           "addresses and internal names are refused (400), and again at each delivery if the "
                           "name resolves to one; redirects are not followed",
                "security": _BEARER,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"returns_url": {"type": ["string", "null"]},
                                   "feedback_url": {"type": ["string", "null"]}}}}}},
                "responses": {"200": _answer("returns_url, feedback_url, secret"), **_errors(400, 401)}}},
            "/v1/feedback/{token}": {"post": {
                "summary": "A customer's rating (1-5) and optional comment for one order item. The signed token "
                           "from the review email is the authority (no key). Answering again updates the answer "
                           "(a comment left out is kept).",
                "security": [{}],
                "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["rating"],
                    "properties": {"rating": {"type": "integer", "minimum": 1, "maximum": 5},
                                   "comment": {"type": ["string", "null"], "maxLength": 2000},
                                   "title": {"type": ["string", "null"], "maxLength": 150}}}}}},
                "responses": {"201": _answer("The first answer: order_id, sku, product_title, rating, comment, "
                                             "submitted_at, updated_at, version, thank_you_coupon"),
                              "200": _answer("An updated (or unchanged) answer"),
                              **_errors(400, 404, 409, 422)}}},
            "/v1/feedback": {"get": {
                "summary": "The merchant's feedback answers, last changed first (one page per call)",
                "security": _BEARER,
                "parameters": [
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}},
                    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "next_cursor of the previous page"},
                    {"name": "since", "in": "query", "required": False,
                     "schema": {"type": "string", "format": "date-time"},
                     "description": "Only answers changed at or after this time"}],
                "responses": {"200": _answer("items (order_id, sku, product_title, rating, comment, "
                                             "submitted_at, updated_at, ...), next_cursor"),
                              **_errors(400, 401)}}},
            "/pages/{merchant_id}/feedback/{token}": {
                "get": _page("The rating page (HTML) from the review email: ?rating=1..5 records the rating at "
                             "once and offers a comment"),
                "post": _page("The rating page's form (form-encoded; token, csrf_token, rating, comment)")},
            "/v1/settings/messaging": {
                "get": {"summary": "The merchant's lifecycle-messaging settings (defaults until saved)",
                        "security": _BEARER,
                        "responses": {"200": _answer("MessagingSettings", _ref("MessagingSettings")),
                                      **_errors(401)}},
                "put": {"summary": "Replace the lifecycle-messaging settings (a bad field is named in error.field)",
                        "security": _BEARER,
                        "requestBody": {"required": True, "content": {"application/json": {
                            "schema": _ref("MessagingSettings")}}},
                        "responses": {"200": _answer("The saved settings", _ref("MessagingSettings")),
                                      **_errors(400, 401, 404)}}},
            "/v1/campaigns": {"post": {
                "summary": "A campaign for a special date to a segment of customers, each at local_hour in their "
                           "own time zone; fanned out asynchronously. Idempotent on campaign_id (another body: 409)",
                "security": _BEARER,
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CampaignIn")}}},
                "responses": {"202": _answer("The campaign, with status and counts"),
                              **_errors(400, 401, 409, 422, 503)}}},
            "/v1/campaigns/{campaign_id}": {"get": {
                "summary": "A campaign's status (fanning_out | scheduled) and counts (scheduled, skipped)",
                "security": _BEARER,
                "parameters": [{"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _answer("The campaign, with status and counts"), **_errors(401, 404)}}},
            "/pages/{merchant_id}/unsubscribe/{token}": {
                "get": _page("Unsubscribe page (HTML) with a one-click button, from the List-Unsubscribe link"),
                "post": _page("RFC 8058 one-click unsubscribe (List-Unsubscribe=One-Click, form-encoded): "
                              "turns the token's email kind (or all marketing) off; 200, or 404 for a bad link")},
            "/v1/coupons/{code}": {"get": {
                "summary": "Check a coupon without using it (checkout preview); order_total, currency and "
                           "customer_id are optional and checked when given",
                "security": _BEARER, "parameters": [_path("code"), *_query("order_total", "currency", "customer_id")],
                "responses": {"200": _answer("code, discount_type, value, currency, min_spend, valid_from, "
                                             "expires_at, campaign, status, discount_amount"),
                              **_errors(400, 401, 404, 409, 422, 429)}}},
            "/v1/coupons/{code}/redeem": {"post": {
                "summary": "Use a single-use coupon on an order (the same order again answers the same success). "
                           "Unknown or another merchant's code: 404. error.reason: already_used, void (409); "
                           "not_yet_valid, expired, min_spend_not_met, currency_mismatch, wrong_customer (422)",
                "security": _BEARER, "parameters": [_path("code")],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["order_id", "order_total", "currency"],
                    "properties": {"order_id": {"type": "string"}, "order_total": {"type": "string"},
                                   "currency": {"type": "string"}, "customer_id": {"type": "string"}}}}}},
                "responses": {"200": _answer("code, order_id, discount_type, value, currency, discount_amount"),
                              **_errors(400, 401, 404, 409, 422, 429)}}},
            "/v1/settings/referrals": {"put": {
                "summary": "Referral rewards (referrer_reward, friend_reward: {discount_type, value, min_spend, "
                           "valid_days}), monthly_cap per referrer (default 5), transit_allowance_days",
                "security": _BEARER,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": _answer("The settings"), **_errors(400, 401)}}},
            "/v1/referrals": {"get": {
                "summary": "Referred orders, with status (accepted, refused, flagged, void), reasons and rewards",
                "security": _BEARER, "parameters": _query("status", "next"),
                "responses": {"200": _answer("referrals, next"), **_errors(400, 401)}}},
            "/v1/referrals/{referral_id}/decision": {"post": {
                "summary": "Approve or reject a flagged referral (its id is the order id)",
                "security": _BEARER, "parameters": [_path("referral_id")],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["decision"],
                    "properties": {"decision": {"enum": ["approve", "reject"]}}}}}},
                "responses": {"200": _answer("The referral"), **_errors(400, 401, 404, 409, 422)}}},
            "/v1/customers/{customer_id}/referral": {"get": {
                "summary": "The customer's referral code and share link (created on first call)",
                "security": _BEARER, "parameters": [_path("customer_id")],
                "responses": {"200": _answer("customer_id, code, share_url"), **_errors(401, 404)}}},
            "/v1/customers/{customer_id}/loyalty": {"get": {
                "summary": "The customer's loyalty points: balance, pending (vesting when return windows close), "
                           "next vesting, expiring soon, tier and progress, history newest first with the reason "
                           "and source (order, sku, rma, redemption) of every change",
                "security": _BEARER,
                "parameters": [{"name": "customer_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _answer("customer_id, balance, pending, debt, lifetime, next_vesting, "
                                             "expiring_soon, tier, history"), **_errors(400, 401)}}},
            "/v1/customers/{customer_id}/loyalty/redemptions": {"post": {
                "summary": "Turn points into a single-use discount code (checkout). Idempotency-Key header: the "
                           "same key answers with the same code and never takes points twice; 422 "
                           "reason insufficient_points or below_minimum",
                "security": _BEARER,
                "parameters": [{"name": "customer_id", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["points", "currency"],
                    "properties": {"points": {"type": "integer", "minimum": 1},
                                   "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}}}}}},
                "responses": {"201": _answer("redemption_id, points, value, currency, code, balance"),
                              "200": _answer("the same redemption, replayed"), **_errors(400, 401, 409, 422, 503)}}},
            "/v1/settings/loyalty": {
                "get": {"summary": "The merchant's loyalty settings (enabled false until set)", "security": _BEARER,
                        "responses": {"200": _answer("loyalty settings"), **_errors(401)}},
                "put": {"summary": "Set the loyalty program: points_per_unit, category_multipliers, review_bonus, "
                                   "birthday_bonus, pending_rule, max_pending_days, expiry_months, notice_days, "
                                   "tiers [{name, min_12m_spend, multiplier}], point_value, min_redemption, "
                                   "code_valid_days",
                        "security": _BEARER,
                        "requestBody": {"required": True, "content": {"application/json": {"schema": {
                            "type": "object"}}}},
                        "responses": {"200": _answer("loyalty settings"), **_errors(400, 401)}}},
            "/v1/catalog": {
                "put": {
                    "summary": f"Upsert catalog products by product_id (at most {MAX_PRODUCTS_PER_CALL} a call; "
                               "others stay as they are). skus: every SKU that resolves to the product",
                    "security": _BEARER,
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["products"], "properties": {"products": {
                            "type": "array", "maxItems": MAX_PRODUCTS_PER_CALL,
                            "items": {"$ref": "#/components/schemas/Product"}}}}}}},
                    "responses": {"200": _answer("upserted: how many"), **_errors(400, 401, 413, 415)}},
                "get": {
                    "summary": "A page of the catalog (product_id order; one Query)", "security": _BEARER,
                    "parameters": [{"name": "limit", "in": "query", "required": False,
                                    "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                                   {"name": "cursor", "in": "query", "required": False,
                                    "schema": {"type": "string"}}],
                    "responses": {"200": _answer("products, next_cursor (null on the last page)"),
                                  **_errors(400, 401)}},
            },
            "/v1/customers/{customer_id}/recommendations": {"get": {
                "summary": "Complementary products for the customer (rules + bought together), never one they "
                           "bought or returned; reasons per product",
                "security": _BEARER,
                "parameters": [{"name": "customer_id", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "limit", "in": "query", "required": False,
                                "schema": {"type": "integer", "minimum": 1, "maximum": 20}}],
                "responses": {"200": _answer("customer_id, products (each with score and reasons)"),
                              **_errors(400, 401)}}},
            "/v1/settings/recommendations": {
                "put": {
                    "summary": "Recommendation rules: categories {category: {accessory category: weight} or "
                               "[accessory categories]}, rule_weight, copurchase_weight, history_weight, "
                               "min_copurchase, max_per_category, diversity_penalty",
                    "security": _BEARER,
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/RecommendationRules"}}}},
                    "responses": {"200": _answer("The stored rules"), **_errors(400, 401, 413, 415)}},
                "get": {"summary": "The recommendation rules in force (defaults when none were set)",
                        "security": _BEARER, "responses": {"200": _answer("The rules"), **_errors(401)}},
            },
            "/pages/{merchant_id}/orders/{order_id}": {"get": _page(
                "The customer's order page (HTML): order, parcels and timelines, returns, FAQ. ?token= from "
                "the email link; ?lang=")},
            "/pages/{merchant_id}/orders/{order_id}/returns": {"post": _page(
                "The order page's return form (form-encoded; token, csrf_token, qty.<sku>, reason, resolution)")},
            "/pages/{merchant_id}/orders/{order_id}/returns/{rma_id}/cancel": {"post": _page(
                "The order page's cancel-this-return form")},
            "/pages/{merchant_id}/orders/{order_id}/messages": {"post": _page(
                "The order page's message-us form (message, token, csrf_token, form_id): a support message")},
            "/pages/{merchant_id}/lookup": {"get": _page("Find an order by number and email (HTML form)"),
                                            "post": _page("The lookup form: redirects to the order page")},
            "/pages/{merchant_id}/lookup/messages": {"post": _page(
                "The lookup page's message-us form (contact_email, contact_order_number?, message, form_nonce, "
                "csrf_token): a support message; the same redirect whatever matched")},
            "/pages/{merchant_id}/preferences": {"get": _page("Email preferences (HTML): ?customer=&token="),
                                                 "post": _page("Save email preferences")},
            "/console/{merchant_id}": {"get": _console("The merchant console's start: the returns queue")},
            "/console/{merchant_id}/signin": {
                "get": _console("Staff sign-in form", signed_in=False),
                "post": _console("Exchange an API key (form field api_key) for a session cookie", signed_in=False)},
            "/console/{merchant_id}/signout": {"post": _console("End the session (clears the cookie)")},
            "/console/{merchant_id}/returns": {"get": _console(
                "The returns queue (HTML): ?tab=requested|approved|in_transit|received|resolved|expired, ?q= "
                "search by order, email, RMA or tracking number, ?cursor=")},
            "/console/{merchant_id}/shipments": {"get": _console(
                "Shipments needing attention (HTML): stalled, exception, failed attempt, returned to sender, "
                "with the notices sent; ?next= cursor")},
            "/console/{merchant_id}/analytics": {"get": _console(
                "Analytics (HTML, inline SVG charts) from the shop's daily counters: ?days=1..90 (default 30)")},
            "/console/{merchant_id}/returns/{order_id}/{rma_id}": {
                "get": _console("One return with the steps allowed now"),
                "post": _console("A step (form: csrf_token, step, and the step's fields), same rules as "
                                 "POST /v1/returns/{rma_id}/transitions")},
            "/console/{merchant_id}/messages": {"get": _console(
                "Emails by outcome (HTML): ?outcome=sent|skipped|failed|bounced, ?kind=, ?next= cursor, "
                "?q= one customer's emails by email or customer id")},
            "/console/{merchant_id}/settings": {"get": _console("Settings: leads to the messaging settings")},
            "/console/{merchant_id}/settings/{section}": {
                "get": _console("A settings form (HTML): section messaging|return-policy|loyalty|webhooks"),
                "post": _console("Save a settings form (csrf_token), through the same calls as PUT /v1/settings/*")},
            "/webhooks/shopify/{merchant_id}": _webhook("Shopify", "X-Shopify-Hmac-Sha256"),
            "/webhooks/easypost/{merchant_id}": _webhook("EasyPost tracker.updated", "X-Hmac-Signature"),
            "/webhooks/aftership/{merchant_id}": _webhook("AfterShip tracking update", "aftership-hmac-sha256"),
            "/webhooks/woocommerce/{merchant_id}": _webhook("WooCommerce", "X-WC-Webhook-Signature"),
            **_review_paths(),
            **_survey_paths(),
            # The packing insert (postpurchase/insert).
            "/v1/orders/{order_id}/insert.pdf": {"get": {
                "summary": "The order's packing insert, one printable page in the customer's language: thank-you "
                           "note, items (the first that fit, then '+ N more items'), QR codes to the order page and "
                           "the review page, referral code and points balance when those programmes run. Send "
                           "'Accept: application/pdf'",
                "security": _BEARER, "parameters": [order_id, {
                    "name": "size", "in": "query", "required": False,
                    "schema": {"type": "string", "enum": ["a6", "a4", "letter"], "default": "a6"}}],
                "responses": {"200": {"description": "The PDF", "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                    **_errors(400, 401, 404)},
            }},
            "/v1/inserts/batches": {"post": {
                "summary": "Ask for the packing inserts of every order placed on a day (in the zone given, UTC by "
                           "default) as one PDF, one page per order; rendered in the background",
                "security": _BEARER,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["date"], "additionalProperties": False, "properties": {
                        "date": {"type": "string", "format": "date"},
                        "size": {"type": "string", "enum": ["a6", "a4", "letter"], "default": "a6"},
                        "timezone": {"type": "string", "default": "UTC", "description": "IANA zone of the day"}}}}}},
                "responses": {"202": _answer("Queued: poll GET /v1/inserts/batches/{batch_id}", _ref("InsertBatch")),
                              **_errors(400, 401, 413, 415)},
            }},
            "/v1/inserts/batches/{batch_id}": {"get": {
                "summary": "A batch's status (queued, ready, empty, failed) and, when ready, a presigned URL of its PDF",
                "security": _BEARER, "parameters": [_path("batch_id")],
                "responses": {"200": _answer("The batch", _ref("InsertBatch")), **_errors(401, 404)},
            }},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": _answer("OpenAPI 3.1")}}},
            **_support_faq_paths(),
            **_support_conversation_paths(),
            **_support_metrics_paths(),
        }),
    }


def _support_faq_paths() -> dict[str, dict]:
    """`/v1/support/faq` (support/faq.py): the merchant's FAQ, localized."""
    from .support.faq import MAX_ANSWER, MAX_ENTRIES, MAX_KEYWORDS, MAX_QUESTION
    from .support.intents import LANGUAGES

    texts = lambda limit: {"type": "object", "minProperties": 1,  # noqa: E731
                           "propertyNames": {"enum": list(LANGUAGES)},
                           "additionalProperties": {"type": "string", "minLength": 1, "maxLength": limit}}
    entry = {"type": "object", "required": ["entry_id", "question", "answer"], "additionalProperties": False,
             "properties": {
                 "entry_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"},
                 "question": texts(MAX_QUESTION), "answer": texts(MAX_ANSWER),
                 "keywords": {"type": "object", "propertyNames": {"enum": list(LANGUAGES)},
                              "additionalProperties": {"type": "array", "maxItems": MAX_KEYWORDS,
                                                       "items": {"type": "string", "maxLength": 60}},
                              "description": "words or phrases per language that point to this entry; "
                                             "a trailing * matches a prefix"}}}
    body = {"type": "object", "required": ["entries"], "additionalProperties": False,
            "properties": {"entries": {"type": "array", "maxItems": MAX_ENTRIES, "items": entry}}}
    return {"/v1/support/faq": {
        "get": {"summary": "The merchant's support FAQ (entries [] until set)", "security": _BEARER,
                "responses": {"200": _answer("entries, updated_at, limits"), **_errors(401)}},
        "put": {"summary": "Replace the support FAQ: entries [{entry_id, question {lang: text}, answer {lang: text}, "
                           "keywords {lang: [..]}}]; shown on the order page in the customer's language (else the "
                           "shop's default) and used to answer 'other' support questions",
                "security": _BEARER,
                "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                "responses": {"200": _answer("entries, updated_at, limits"), **_errors(400, 401, 413, 415)}}}}
# --- storefront reviews (reviews/views.py) -----------------------------------------------------------
def _review_paths() -> dict[str, dict]:
    public = [_path("merchant"), _path("sku")]
    conditional = {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                   "description": "An ETag from an earlier answer: 304 when nothing changed"}
    cached = {"304": _answer("Not modified (the ETag matched)")}
    merchant = [{**_path("review_id"), "description": "The review's opaque public id (review_id of any "
                 "answer; ids of reviews saved before public ids, which encoded the order, still work)"}]
    return {
        "/v1/public/{merchant}/products/{sku}/reviews": {"get": {
            "summary": "A product's published reviews (no key; cacheable: Cache-Control, ETag). One DynamoDB "
                       "Query per page; authors are display names only",
            "security": [{}],
            "parameters": [*public, conditional,
                           {"name": "sort", "in": "query", "required": False,
                            "schema": {"enum": ["newest", "highest", "with_photos"], "default": "newest"}},
                           {"name": "limit", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}},
                           {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}],
            "responses": {"200": _answer("items (review_id, rating, title, body, author, verified_buyer, "
                                         "published_at, photos, reply), next_cursor"), **cached,
                          **_errors(400)}}},
        "/v1/public/{merchant}/products/{sku}/reviews/summary": {"get": {
            "summary": "A product's rating summary: average, count, distribution 1-5 (one item, one Query)",
            "security": [{}], "parameters": [*public, conditional],
            "responses": {"200": _answer("sku, average, count, distribution, best_rating, worst_rating"),
                          **cached, **_errors(400)}}},
        "/v1/public/{merchant}/products/{sku}/reviews/jsonld": {"get": {
            "summary": "schema.org Product with one AggregateRating and the newest Review items, for the "
                       "storefront to embed as application/ld+json (one Query)",
            "security": [{}], "parameters": [*public, conditional, *_query("limit", "locale")],
            "responses": {"200": _answer("A schema.org Product"), **cached, **_errors(400)}}},
        "/v1/reviews/moderation": {"get": {
            "summary": "The moderation queue: held reviews, oldest first, with held_for (manual, "
                       "below_threshold, link, email, phone, profanity)",
            "security": _BEARER, "parameters": _query("limit", "cursor"),
            "responses": {"200": _answer("items, next_cursor"), **_errors(400, 401)}}},
        "/v1/reviews/{review_id}/publish": {"post": {
            "summary": "Publish (or unhide) a review as the customer wrote it", "security": _BEARER,
            "parameters": merchant, "responses": {"200": _answer("The review"), **_errors(401, 404, 409)}}},
        "/v1/reviews/{review_id}/hide": {"post": {
            "summary": "Hide a review: gone from the lists, the summary and the feed; never edited",
            "security": _BEARER, "parameters": merchant,
            "responses": {"200": _answer("The review"), **_errors(401, 404, 409)}}},
        "/v1/reviews/{review_id}/reply": {"put": {
            "summary": "The merchant's public reply below a review ({text}; empty removes it)",
            "security": _BEARER, "parameters": merchant,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["text"], "additionalProperties": False,
                "properties": {"text": {"type": ["string", "null"], "maxLength": 2000}}}}}},
            "responses": {"200": _answer("The review"), **_errors(400, 401, 404, 409, 413, 415, 422)}}},
        "/v1/feedback/{token}/photos": {"post": {
            "summary": "A presigned S3 POST for one review photo (image/jpeg, image/png or image/webp; at most "
                       "8 MiB); the rating token is the authority",
            "security": [{}], "parameters": [_path("token")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["content_type"],
                "properties": {"content_type": {"enum": ["image/jpeg", "image/png", "image/webp"]}}}}}},
            "responses": {"201": _answer("upload_id, url, fields, max_bytes, expires_in"),
                          **_errors(400, 404, 409, 422)}}},
        "/v1/feedback/{token}/photos/{upload_id}": {"post": {
            "summary": "Process an uploaded photo: the real type is checked, EXIF and other metadata removed; "
                       "refused files are deleted and never published",
            "security": [{}], "parameters": [_path("token"), _path("upload_id")],
            "responses": {"201": _answer("review_id, photo (url, width, height), photos, status"),
                          "200": _answer("Already processed"), **_errors(400, 404, 409, 422)}}},
        "/pages/{merchant_id}/feedback/{token}/photos/{upload_id}": {
            "get": _page("Where S3 sends the rating page's photo upload (success_action_redirect): the upload "
                         "is checked and cleaned as by POST /v1/feedback/{token}/photos/{upload_id}, then 303 back "
                         "to the rating page with ?photo=added or the reason it was refused")},
    }


# --- post-purchase surveys (postpurchase/surveys) ------------------------------------------------


def _survey_schemas(schemas: dict) -> None:
    from .surveys.model import SurveyIn

    schema = SurveyIn.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas["SurveyIn"] = schema


def _survey_paths() -> dict:
    survey_id = {"name": "survey_id", "in": "path", "required": True,
                 "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,39}$"}}
    return {
        "/v1/surveys": {"get": {
            "summary": "The merchant's surveys (definitions, newest version each)",
            "security": _BEARER,
            "responses": {"200": _answer("items: survey documents"), **_errors(401)}}},
        "/v1/surveys/{survey_id}": {"put": {
            "summary": "Create or replace a survey: NPS 0-10, CSAT 1-5 and single-choice questions (options "
                       "shuffled per respondent, optional 'other' with text), text per language (the shop's "
                       "default language required; a language left out falls back to it, listed in "
                       "fallback_languages), audience (first_order | repeat_customer | after_return), timing "
                       "(order_page, or email days_after delivery), community_url. A question id keeps its kind.",
            "security": _BEARER,
            "parameters": [survey_id],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("SurveyIn")}}},
            "responses": {"201": _answer("The new survey (with version, default_language, fallback_languages)"),
                          "200": _answer("The replaced survey (version + 1)"), **_errors(400, 401, 409)}}},
        "/v1/surveys/{survey_id}/results": {"get": {
            "summary": "Results per question from counters kept as answers arrive (one Query): counts per "
                       "score or option; NPS = % promoters (9-10) - % detractors (0-6); CSAT average and "
                       "satisfied_percent (4-5)",
            "security": _BEARER,
            "parameters": [survey_id, {"name": "lang", "in": "query", "required": False,
                                       "schema": {"type": "string", "enum": ["en", "id", "th", "tr", "ar", "ru"]}}],
            "responses": {"200": _answer("survey_id, version, questions[] (responses, counts, nps, average, "
                                         "satisfied_percent, options)"), **_errors(400, 401, 404)}}},
        "/pages/{merchant_id}/surveys/{token}": {
            "get": _page("The survey page (HTML). A one-click score token from the email records that answer "
                         "(idempotent) and shows the remaining questions"),
            "post": _page("The survey page's form (form-encoded; token, csrf_token, q_<question>, "
                          "q_<question>_other, or message for a detractor's 'what went wrong')")},
    }


def _support_conversation_paths() -> dict[str, dict]:
    """`/v1/support/messages` and `/v1/support/conversations...` (support/service.py, views.py)."""
    from .support.intents import LANGUAGES
    from .support.model import MAX_ASSIGNEE, MAX_TEXT, Status

    conversation_id = {"name": "conversation_id", "in": "path", "required": True, "schema": {"type": "string"}}
    key = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"},
           "description": "the same key twice is the same message (default: the same body)"}
    text = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
    json_body = lambda schema: {"required": True, "content": {"application/json": {"schema": schema}}}  # noqa: E731
    message = {"type": "object", "required": ["email", "text"], "additionalProperties": False, "properties": {
        "email": {"type": "string", "format": "email"}, "name": {"type": "string", "maxLength": 200},
        "order_id": {"type": "string", "description": "the order the customer asks about (your own id)"},
        "text": text, "subject": {"type": "string", "maxLength": 500},
        "language": {"enum": list(LANGUAGES), "description": "detected from the text when absent"}}}
    reply = {"type": "object", "required": ["text"], "additionalProperties": False,
             "properties": {"text": text, "author_name": {"type": "string", "maxLength": 200}}}
    status = {"type": "object", "additionalProperties": False, "properties": {
        "status": {"enum": [s.value for s in Status]},
        "assignee": {"type": ["string", "null"], "maxLength": MAX_ASSIGNEE}}}
    return {
        "/v1/support/messages": {"post": {
            "summary": "A customer's message (chat widget, helpdesk): matched to the order, its intent detected, "
                       "answered automatically from live tracking/return data when it can be (WISMO, delivery date, "
                       "return, refund status), else left open for a person",
            "security": _BEARER, "parameters": [key], "requestBody": json_body(message),
            "responses": {"201": _answer("conversation_id, message_id, intent, confidence, language, order_id, "
                                         "status, auto_answered, not_answered_because, duplicate"),
                          **_errors(400, 401, 413, 415)}}},
        "/v1/support/conversations": {"get": {
            "summary": "The merchant's conversations in one status, last changed first: ?status=open|"
                       "waiting_on_customer|resolved (default open), ?limit=1-100, ?cursor=",
            "security": _BEARER,
            "responses": {"200": _answer("status, conversations, next_cursor"), **_errors(400, 401)}}},
        "/v1/support/conversations/{conversation_id}": {"get": {
            "summary": "One conversation and its messages, oldest first", "security": _BEARER,
            "parameters": [conversation_id],
            "responses": {"200": _answer("conversation, messages"), **_errors(401, 404)}}},
        "/v1/support/conversations/{conversation_id}/replies": {"post": {
            "summary": "The merchant's answer, emailed to the customer threaded (In-Reply-To/References); the "
                       "conversation then waits on the customer", "security": _BEARER,
            "parameters": [conversation_id, key], "requestBody": json_body(reply),
            "responses": {"201": _answer("conversation, message"), **_errors(400, 401, 404, 413, 415, 422)}}},
        "/v1/support/conversations/{conversation_id}/status": {"post": {
            "summary": "Resolve, reopen or (un)assign a conversation", "security": _BEARER,
            "parameters": [conversation_id], "requestBody": json_body(status),
            "responses": {"200": _answer("conversation"), **_errors(400, 401, 404, 415)}}},
    }


def _support_metrics_paths() -> dict[str, dict]:
    """`/v1/support/metrics` (support/metrics.py) and the CSAT survey page (support/csat.py)."""
    from .support.metrics import MAX_DAYS

    days = {"name": "days", "in": "query", "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": 30}}
    return {"/v1/support/metrics": {
        "get": {"summary": "Support metrics of the last `days` days (UTC): conversations, WISMO share, automated "
                           "share (the customer wrote nothing more within 72 h of the auto-reply; days younger "
                           "than that are pending), first-response time (mean, median and p90 as bucket bounds) "
                           "and CSAT (average, scores); counted as they happen, read in one Query",
                "security": _BEARER, "parameters": [days],
                "responses": {"200": _answer("from, to, days, conversations, wismo, automated, first_response, csat"),
                              **_errors(400, 401)}}},
            "/pages/{merchant_id}/csat/{token}": {
        "get": {"summary": "The CSAT survey's one-click answer (signed link from the survey email): records score "
                           "1-5 once per resolution; 410 after 7 days, 409 when the conversation was reopened "
                           "(nothing recorded); an HTML page in the customer's language",
                "parameters": [{"name": "merchant_id", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "score", "in": "query", "required": True,
                                "schema": {"type": "integer", "minimum": 1, "maximum": 5}},
                               {"name": "lang", "in": "query", "required": False, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Thank-you page (text/html)"},
                              "400": {"description": "Not a score 1-5 (text/html)"},
                              "404": {"description": "Invalid link (text/html)"},
                              "409": {"description": "Withdrawn: the conversation reopened (text/html)"},
                              "410": {"description": "Expired (text/html)"}}}}}
