"""`GET /openapi.json`: the storefront API described from the same pydantic models that validate it."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from .orders.models import Order
from .orders.shipments import ShipmentIn

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
             413: "Body too large", 415: "Unsupported content type"}
    return {str(code): _answer(names[code], _ERROR) for code in codes}


def _webhook(name: str, header: str) -> dict:
    return {"post": {
        "summary": f"{name} webhook (signed with {header})",
        "parameters": [{"name": "merchant_id", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": header, "in": "header", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": _answer("Received"), **_errors(400, 401, 404, 413)},
    }}


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    order_schema = Order.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    shipment_schema = ShipmentIn.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = {}
    for schema in (order_schema, shipment_schema):
        schemas.update(schema.pop("$defs", {}))
    schemas["Order"] = order_schema
    schemas["ShipmentIn"] = shipment_schema
    schemas["Error"] = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}}
    order_id = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Post-purchase storefront API", "version": "1.0.0"},
        "components": {"schemas": schemas,
                       "securitySchemes": {"merchantKey": {"type": "http", "scheme": "bearer"}}},
        "paths": {
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
            "/webhooks/shopify/{merchant_id}": _webhook("Shopify", "X-Shopify-Hmac-Sha256"),
            "/webhooks/easypost/{merchant_id}": _webhook("EasyPost tracker.updated", "X-Hmac-Signature"),
            "/webhooks/aftership/{merchant_id}": _webhook("AfterShip tracking update", "aftership-hmac-sha256"),
            "/webhooks/woocommerce/{merchant_id}": _webhook("WooCommerce", "X-WC-Webhook-Signature"),
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": _answer("OpenAPI 3.1")}}},
        },
    }
