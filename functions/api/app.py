"""api: the storefront API and webhooks (Chalice). Each view: parse, one domain call, respond."""
from chalice import Chalice, Response

from postpurchase import clock
from postpurchase.observability import logger, metrics
from postpurchase.orders import intake
from postpurchase.orders.models import Order
from postpurchase.orders.shipments import ShipmentIn
from postpurchase.orders.views import order_document
from postpurchase.validation import parse_json_object, validate
from postpurchase.web import (
    authenticated_merchant,
    body_bytes,
    client_address,
    json_errors,
    order_access,
    public_base_url,
    respond,
    respond_public,
    storefront_merchant,
    with_our_error_shape,
)

app = Chalice(app_name="postpurchase-api")
# Storefront payloads are JSON; WooCommerce's creation ping is form-encoded.
JSON = ["application/json"]
WEBHOOK = ["application/json", "application/x-www-form-urlencoded"]


@app.middleware("http")
def request_context(event, get_response):
    logger.append_keys(path=event.path, method=event.method)
    intake.bind_lambda_context(app.lambda_context)
    try:
        return with_our_error_shape(get_response(event))
    finally:
        logger.remove_keys(["path", "method", "merchant_id"])
        # Chalice's app is the Lambda handler, so no log_metrics decorator: flush per request.
        metrics.flush_metrics(raise_on_empty_metrics=False)


@app.route("/v1/orders", methods=["POST"], content_types=JSON)
@json_errors
def place_order():
    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    order = validate(Order, parse_json_object(body_bytes(request.raw_body)))
    return respond(intake.accept_api_order(merchant_id, order, clock.now()), 202)


@app.route("/v1/orders/{order_id}", methods=["GET"])
@json_errors
def get_order(order_id):
    merchant_id = authenticated_merchant(app.current_request.headers)
    return respond(order_document(merchant_id, order_id))


@app.route("/v1/orders/{order_id}/shipments", methods=["POST"], content_types=JSON)
@json_errors
def create_shipment(order_id):
    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    shipment = validate(ShipmentIn, parse_json_object(body_bytes(request.raw_body)))
    return respond(intake.accept_api_shipment(merchant_id, order_id, shipment.to_shipment(clock.now()), clock.now()),
                   201)


@app.route("/v1/orders/{order_id}/tracking", methods=["GET"])
@json_errors
def get_tracking(order_id):
    from postpurchase.tracking.views import tracking_document

    merchant_id = authenticated_merchant(app.current_request.headers)
    return respond(tracking_document(merchant_id, order_id, clock.now()))


@app.route("/v1/returns/policy", methods=["GET"])
@json_errors
def get_return_policy():
    from postpurchase.returns.policy_view import current_policy_document

    request = app.current_request
    merchant_id = storefront_merchant(request.headers, request.query_params)
    locale = (request.query_params or {}).get("locale")
    return respond_public(current_policy_document(merchant_id, locale), max_age=300)


@app.route("/v1/returns/policy", methods=["PUT"], content_types=JSON)
@json_errors
def put_return_policy():
    from postpurchase.returns.policy_view import publish_policy

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    data = parse_json_object(body_bytes(request.raw_body))
    locale = (request.query_params or {}).get("locale")
    return respond(publish_policy(merchant_id, data, clock.now(), locale))


@app.route("/v1/orders/{order_id}/returns", methods=["GET"])
@json_errors
def list_returns(order_id):
    from postpurchase.returns.views import list_returns

    request = app.current_request
    return respond(list_returns(order_access(request.headers, request.query_params, order_id), clock.now()))


@app.route("/v1/orders/{order_id}/returns", methods=["POST"], content_types=JSON)
@json_errors
def create_return(order_id):
    from postpurchase.returns.requests import ReturnRequestIn
    from postpurchase.returns.views import create_return

    request = app.current_request
    body = validate(ReturnRequestIn, parse_json_object(body_bytes(request.raw_body)))
    access = order_access(request.headers, request.query_params, order_id, body.email, request.context)
    document, created = create_return(access, body, request.headers.get("idempotency-key"), clock.now())
    return respond(document, 201 if created else 200)


@app.route("/v1/orders/{order_id}/returns/{rma_id}", methods=["GET"])
@json_errors
def get_return(order_id, rma_id):
    from postpurchase.returns.views import get_return

    request = app.current_request
    return respond(get_return(order_access(request.headers, request.query_params, order_id), rma_id, clock.now()))


@app.route("/v1/orders/{order_id}/returns/{rma_id}/transitions", methods=["POST"], content_types=JSON)
@json_errors
def step_return(order_id, rma_id):
    from postpurchase.returns.requests import ReturnCommandIn
    from postpurchase.returns.views import step

    request = app.current_request
    command = validate(ReturnCommandIn, parse_json_object(body_bytes(request.raw_body)))
    access = order_access(request.headers, request.query_params, order_id)
    return respond(step(access, rma_id, command, clock.now()))


@app.route("/v1/order-access", methods=["POST"], content_types=JSON)
@json_errors
def order_lookup():
    from postpurchase.returns.views import lookup_order
    from postpurchase.security.order_access import OrderLookupIn

    request = app.current_request
    body = validate(OrderLookupIn, parse_json_object(body_bytes(request.raw_body)))
    return respond(lookup_order(body.merchant, body.order_number, body.email, client_address(request.context),
                                public_base_url(request.context), clock.now()))


@app.route("/v1/settings/webhooks", methods=["PUT"], content_types=JSON)
@json_errors
def put_webhook_settings():
    from postpurchase.storage.merchants import WebhookSettingsIn, set_webhooks

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(WebhookSettingsIn, parse_json_object(body_bytes(request.raw_body)))
    return respond(set_webhooks(merchant_id, body, clock.now()))


# --- catalog and recommendations (postpurchase/recommendations/views.py) --------------------------


@app.route("/v1/catalog", methods=["PUT"], content_types=JSON)
@json_errors
def put_catalog():
    from postpurchase.recommendations.views import put_catalog

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    return respond(put_catalog(merchant_id, parse_json_object(body_bytes(request.raw_body)), clock.now()))


@app.route("/v1/catalog", methods=["GET"])
@json_errors
def get_catalog():
    from postpurchase.recommendations.views import catalog_page

    request = app.current_request
    return respond(catalog_page(authenticated_merchant(request.headers), request.query_params))


@app.route("/v1/customers/{customer_id}/recommendations", methods=["GET"])
@json_errors
def get_recommendations(customer_id):
    from postpurchase.recommendations.views import customer_recommendations

    request = app.current_request
    return respond(customer_recommendations(authenticated_merchant(request.headers), customer_id,
                                            request.query_params))


@app.route("/v1/settings/recommendations", methods=["PUT"], content_types=JSON)
@json_errors
def put_recommendation_settings():
    from postpurchase.recommendations.views import put_rules

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    return respond(put_rules(merchant_id, parse_json_object(body_bytes(request.raw_body)), clock.now()))


@app.route("/v1/settings/recommendations", methods=["GET"])
@json_errors
def get_recommendation_settings():
    from postpurchase.recommendations.views import rules_document

    return respond(rules_document(authenticated_merchant(app.current_request.headers)))


# --- the customer's pages (server-rendered HTML; pages/handlers.py) ---------------------------------

FORM = ["application/x-www-form-urlencoded"]


def _page(merchant_id, lang, handle):
    from postpurchase.pages.handlers import safely

    result = safely(merchant_id, lang, clock.now(), handle)
    return Response(body=result.body, status_code=result.status, headers=result.headers)


@app.route("/pages/{merchant_id}/orders/{order_id}", methods=["GET"])
def order_page(merchant_id, order_id):
    from postpurchase.pages import handlers

    query = app.current_request.query_params or {}
    return _page(merchant_id, query.get("lang"), lambda: handlers.order_page(merchant_id, order_id, query, clock.now()))


@app.route("/pages/{merchant_id}/orders/{order_id}/returns", methods=["POST"], content_types=FORM)
def order_page_return(merchant_id, order_id):
    from postpurchase.pages import handlers

    request = app.current_request
    return _page(merchant_id, None, lambda: handlers.submit_return(
        merchant_id, order_id, request.raw_body, request.headers, request.headers.get("host"), clock.now()))


@app.route("/pages/{merchant_id}/orders/{order_id}/returns/{rma_id}/cancel", methods=["POST"], content_types=FORM)
def order_page_cancel_return(merchant_id, order_id, rma_id):
    from postpurchase.pages import handlers

    request = app.current_request
    return _page(merchant_id, None, lambda: handlers.cancel_return(
        merchant_id, order_id, rma_id, request.raw_body, request.headers, request.headers.get("host"), clock.now()))


@app.route("/pages/{merchant_id}/lookup", methods=["GET"])
def lookup_page(merchant_id):
    from postpurchase.pages import handlers

    query = app.current_request.query_params or {}
    return _page(merchant_id, query.get("lang"), lambda: handlers.lookup_page(merchant_id, query, clock.now()))


@app.route("/pages/{merchant_id}/lookup", methods=["POST"], content_types=FORM)
def lookup_submit(merchant_id):
    from postpurchase.pages import handlers

    request = app.current_request
    return _page(merchant_id, None, lambda: handlers.submit_lookup(
        merchant_id, request.raw_body, request.headers, request.headers.get("host"), client_address(request.context),
        clock.now()))


@app.route("/pages/{merchant_id}/preferences", methods=["GET"])
def preferences_page(merchant_id):
    from postpurchase.pages import handlers

    query = app.current_request.query_params or {}
    return _page(merchant_id, query.get("lang"), lambda: handlers.preferences_page(merchant_id, query, clock.now()))


@app.route("/pages/{merchant_id}/preferences", methods=["POST"], content_types=FORM)
def preferences_submit(merchant_id):
    from postpurchase.pages import handlers

    request = app.current_request
    return _page(merchant_id, None, lambda: handlers.submit_preferences(
        merchant_id, request.query_params or {}, request.raw_body, request.headers, request.headers.get("host"),
        clock.now()))


@app.route("/webhooks/shopify/{merchant_id}", methods=["POST"], content_types=JSON)
@json_errors
def shopify_webhook(merchant_id):
    request = app.current_request
    return respond(intake.receive_shopify_webhook(merchant_id, request.headers, body_bytes(request.raw_body),
                                                  clock.now()))


@app.route("/webhooks/woocommerce/{merchant_id}", methods=["POST"], content_types=WEBHOOK)
@json_errors
def woocommerce_webhook(merchant_id):
    request = app.current_request
    return respond(intake.receive_woocommerce_webhook(merchant_id, request.headers, body_bytes(request.raw_body),
                                                      clock.now()))


@app.route("/webhooks/easypost/{merchant_id}", methods=["POST"], content_types=JSON)
@json_errors
def easypost_webhook(merchant_id):
    from postpurchase.tracking.intake import receive_provider_webhook

    request = app.current_request
    return respond(receive_provider_webhook("easypost", merchant_id, request.headers, body_bytes(request.raw_body)))


@app.route("/webhooks/aftership/{merchant_id}", methods=["POST"], content_types=JSON)
@json_errors
def aftership_webhook(merchant_id):
    from postpurchase.tracking.intake import receive_provider_webhook

    request = app.current_request
    return respond(receive_provider_webhook("aftership", merchant_id, request.headers, body_bytes(request.raw_body)))


@app.route("/openapi.json", methods=["GET"])
@json_errors
def openapi():
    from postpurchase.openapi import openapi_document

    return openapi_document()
