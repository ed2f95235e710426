"""api: the storefront API and webhooks (Chalice). Each view: parse, one domain call, respond."""
from chalice import Chalice, Response

from postpurchase import clock
from postpurchase.observability import logger, metrics, tracer
from postpurchase.orders import intake
from postpurchase.validation import parse_json_object, validate
from postpurchase.web import (
    authenticated_merchant,
    body_bytes,
    client_address,
    json_errors,
    order_access,
    public_base_url,
    respond,
    respond_pdf,
    respond_public,
    storefront_merchant,
    with_our_error_shape,
)

app = Chalice(app_name="postpurchase-api")
# The packing insert is a PDF: Chalice base64-encodes bytes of a binary type (API Gateway decodes
# them for a request with `Accept: application/pdf`; template.yaml lists it in BinaryMediaTypes).
app.api.binary_types.append("application/pdf")
# Storefront payloads are JSON; WooCommerce's creation ping is form-encoded.
JSON = ["application/json"]
WEBHOOK = ["application/json", "application/x-www-form-urlencoded"]


@app.middleware("http")
def request_context(event, get_response):
    tracer.activate()  # X-Ray and its botocore patch at the first request, not at import
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
    from postpurchase.orders.models import Order  # each route's models at its first request (issue 17)

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    order = validate(Order, parse_json_object(body_bytes(request.raw_body)))
    return respond(intake.accept_api_order(merchant_id, order, clock.now()), 202)


@app.route("/v1/orders/{order_id}", methods=["GET"])
@json_errors
def get_order(order_id):
    from postpurchase.orders.views import order_document

    merchant_id = authenticated_merchant(app.current_request.headers)
    return respond(order_document(merchant_id, order_id))


@app.route("/v1/orders/{order_id}/shipments", methods=["POST"], content_types=JSON)
@json_errors
def create_shipment(order_id):
    from postpurchase.orders.shipments import ShipmentIn

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


@app.route("/v1/orders/{order_id}/insert.pdf", methods=["GET"])
@json_errors
def get_order_insert(order_id):
    from postpurchase.insert.service import insert_pdf, paper_size

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    size = paper_size((request.query_params or {}).get("size"))
    return respond_pdf(insert_pdf(merchant_id, order_id, size, clock.now()), f"insert-{order_id}-{size}.pdf")


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


@app.route("/v1/feedback/{token}", methods=["POST"], content_types=JSON)
@json_errors
def post_feedback(token):
    from postpurchase.feedback.views import submit_answer

    request = app.current_request
    document, created = submit_answer(token, parse_json_object(body_bytes(request.raw_body)), clock.now())
    return respond(document, 201 if created else 200)


@app.route("/v1/feedback", methods=["GET"])
@json_errors
def list_feedback():
    from postpurchase.feedback.views import list_feedback

    request = app.current_request
    return respond(list_feedback(authenticated_merchant(request.headers), request.query_params))
@app.route("/v1/settings/messaging", methods=["GET"])
@json_errors
def get_messaging_settings():
    from postpurchase.storage.merchants import messaging_settings

    merchant_id = authenticated_merchant(app.current_request.headers)
    return respond(messaging_settings(merchant_id).model_dump(mode="json"))


@app.route("/v1/settings/messaging", methods=["PUT"], content_types=JSON)
@json_errors
def put_messaging_settings():
    from postpurchase.messaging.settings import MessagingSettings
    from postpurchase.storage.merchants import set_messaging_settings

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(MessagingSettings, parse_json_object(body_bytes(request.raw_body)))
    set_messaging_settings(merchant_id, body, clock.now())
    return respond(body.model_dump(mode="json"))


@app.route("/v1/campaigns", methods=["POST"], content_types=JSON)
@json_errors
def create_campaign():
    from postpurchase.messaging.campaign_fanout import create_campaign
    from postpurchase.messaging.campaigns import CampaignIn
    from postpurchase.services import campaign_fanout_ports

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(CampaignIn, parse_json_object(body_bytes(request.raw_body)))
    return respond(create_campaign(merchant_id, body, campaign_fanout_ports(), clock.now()), 202)


@app.route("/v1/campaigns/{campaign_id}", methods=["GET"])
@json_errors
def get_campaign(campaign_id):
    from postpurchase.messaging.campaign_fanout import campaign_document
    from postpurchase.services import campaign_store

    merchant_id = authenticated_merchant(app.current_request.headers)
    return respond(campaign_document(merchant_id, campaign_id, campaign_store()))
# --- rewards: coupons and referrals (postpurchase/rewards/service.py) -----------------------------


@app.route("/v1/coupons/{code}", methods=["GET"])
@json_errors
def preview_coupon(code):
    from postpurchase import services
    from postpurchase.rewards.service import PreviewIn, preview_coupon

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    query = validate(PreviewIn, dict(request.query_params or {}))
    return respond(preview_coupon(merchant_id, code, query, clock.now(), store=services.coupon_issuer(),
                                  limiter=services.attempt_limiter()))


@app.route("/v1/coupons/{code}/redeem", methods=["POST"], content_types=JSON)
@json_errors
def redeem_coupon(code):
    from postpurchase import services
    from postpurchase.rewards.service import RedeemIn, redeem_coupon

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(RedeemIn, parse_json_object(body_bytes(request.raw_body)))
    return respond(redeem_coupon(merchant_id, code, body, clock.now(), store=services.coupon_issuer(),
                                 limiter=services.attempt_limiter()))


@app.route("/v1/settings/referrals", methods=["PUT"], content_types=JSON)
@json_errors
def put_referral_settings():
    from postpurchase import services
    from postpurchase.rewards.referrals import ReferralSettings
    from postpurchase.rewards.service import put_referral_settings

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(ReferralSettings, parse_json_object(body_bytes(request.raw_body)))
    return respond(put_referral_settings(merchant_id, body, clock.now(), store=services.referral_store()))


@app.route("/v1/referrals", methods=["GET"])
@json_errors
def list_referrals():
    from postpurchase import services
    from postpurchase.rewards.service import referrals_page

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    query = request.query_params or {}
    return respond(referrals_page(merchant_id, query.get("status"), query.get("next"), clock.now(),
                                  store=services.referral_store()))


@app.route("/v1/referrals/{referral_id}/decision", methods=["POST"], content_types=JSON)
@json_errors
def decide_referral(referral_id):
    from postpurchase.rewards.service import DecisionIn, referral_program

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(DecisionIn, parse_json_object(body_bytes(request.raw_body)))
    return respond(referral_program().decide(merchant_id, referral_id, body.decision, clock.now()))


@app.route("/v1/customers/{customer_id}/referral", methods=["GET"])
@json_errors
def customer_referral(customer_id):
    from postpurchase import services
    from postpurchase.rewards.service import ReferralCodes, customer_referral

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    codes = ReferralCodes(services.referral_store(), services.merchant_store(), public_base_url(request.context))
    return respond(customer_referral(merchant_id, customer_id, clock.now(), customers=services.customer_store(),
                                     codes=codes))
@app.route("/v1/customers/{customer_id}/loyalty", methods=["GET"])
@json_errors
def get_loyalty(customer_id):
    from postpurchase import services
    from postpurchase.rewards.loyalty_views import customer_id_of

    merchant_id = authenticated_merchant(app.current_request.headers)
    return respond(services.loyalty().account_document(merchant_id, customer_id_of(customer_id), clock.now()))


@app.route("/v1/customers/{customer_id}/loyalty/redemptions", methods=["POST"], content_types=JSON)
@json_errors
def redeem_points(customer_id):
    from postpurchase import services
    from postpurchase.rewards.loyalty_service import RedemptionIn
    from postpurchase.rewards.loyalty_views import customer_id_of

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(RedemptionIn, parse_json_object(body_bytes(request.raw_body)))
    document, created = services.loyalty().redeem(merchant_id, customer_id_of(customer_id), body,
                                                  request.headers.get("idempotency-key"), clock.now())
    return respond(document, 201 if created else 200)


@app.route("/v1/settings/loyalty", methods=["GET"])
@json_errors
def get_loyalty_settings():
    from postpurchase import services

    return respond(services.loyalty().settings_document(authenticated_merchant(app.current_request.headers)))


@app.route("/v1/settings/loyalty", methods=["PUT"], content_types=JSON)
@json_errors
def put_loyalty_settings():
    from postpurchase import services
    from postpurchase.rewards.loyalty import LoyaltySettings

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(LoyaltySettings, parse_json_object(body_bytes(request.raw_body)))
    return respond(services.loyalty().save_settings(merchant_id, body, clock.now()))
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


@app.route("/pages/{merchant_id}/orders/{order_id}/messages", methods=["POST"], content_types=FORM)
def order_page_message(merchant_id, order_id):
    from postpurchase.pages import handlers

    request = app.current_request
    return _page(merchant_id, None, lambda: handlers.submit_contact(
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


@app.route("/pages/{merchant_id}/lookup/messages", methods=["POST"], content_types=FORM)
def lookup_message(merchant_id):
    from postpurchase.pages import handlers

    request = app.current_request
    return _page(merchant_id, None, lambda: handlers.submit_lookup_contact(
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


@app.route("/pages/{merchant_id}/feedback/{token}", methods=["GET"])
def feedback_page(merchant_id, token):
    from postpurchase.pages import feedback

    request = app.current_request
    query = request.query_params or {}
    return _page(merchant_id, query.get("lang"), lambda: feedback.feedback_page(
        merchant_id, token, query, clock.now(), base_url=public_base_url(request.context)))


@app.route("/pages/{merchant_id}/feedback/{token}", methods=["POST"], content_types=FORM)
def feedback_submit(merchant_id, token):
    from postpurchase.pages import feedback

    request = app.current_request
    return _page(merchant_id, None, lambda: feedback.submit_feedback(
        merchant_id, token, request.raw_body, request.headers, request.headers.get("host"), clock.now(),
        base_url=public_base_url(request.context)))
@app.route("/pages/{merchant_id}/surveys/{token}", methods=["GET"])
def survey_page(merchant_id, token):
    from postpurchase.pages import survey

    query = app.current_request.query_params or {}
    return _page(merchant_id, query.get("lang"), lambda: survey.survey_page(merchant_id, token, query, clock.now()))


@app.route("/pages/{merchant_id}/surveys/{token}", methods=["POST"], content_types=FORM)
def survey_submit(merchant_id, token):
    from postpurchase.pages import survey

    request = app.current_request
    return _page(merchant_id, None, lambda: survey.submit_survey(
        merchant_id, token, request.raw_body, request.headers, request.headers.get("host"), clock.now()))


@app.route("/pages/{merchant_id}/unsubscribe/{token}", methods=["GET"])
def unsubscribe_page(merchant_id, token):
    from postpurchase.pages import handlers

    query = app.current_request.query_params or {}
    return _page(merchant_id, query.get("lang"), lambda: handlers.unsubscribe_page(merchant_id, token, query,
                                                                                   clock.now()))


# RFC 8058 one-click: mail providers POST "List-Unsubscribe=One-Click" from their own servers,
# so no Origin check; the signed token is the authority.
@app.route("/pages/{merchant_id}/unsubscribe/{token}", methods=["POST"], content_types=FORM + ["multipart/form-data"])
def unsubscribe_one_click(merchant_id, token):
    from postpurchase.pages import handlers

    request = app.current_request
    query = request.query_params or {}
    return _page(merchant_id, query.get("lang"), lambda: handlers.unsubscribe(merchant_id, token, query,
                                                                              request.raw_body, clock.now()))


# --- the merchant console (server-rendered HTML; console/handlers.py) -----------------------------


def _console(merchant_id, handle, *args):
    from postpurchase.console import handlers

    request = app.current_request
    console_request = handlers.Request(merchant_id, request.query_params or {}, request.headers, request.context,
                                       clock.now(), request.raw_body, client_address(request.context))
    result = handlers.safely(console_request, lambda: getattr(handlers, handle)(console_request, *args))
    return Response(body=result.body, status_code=result.status, headers=result.headers)


@app.route("/console/{merchant_id}", methods=["GET"])
def console_home(merchant_id):
    return _console(merchant_id, "home")


@app.route("/console/{merchant_id}/signin", methods=["GET"])
def console_signin_page(merchant_id):
    return _console(merchant_id, "signin_page")


@app.route("/console/{merchant_id}/signin", methods=["POST"], content_types=FORM)
def console_signin(merchant_id):
    return _console(merchant_id, "submit_signin")


@app.route("/console/{merchant_id}/signout", methods=["POST"], content_types=FORM)
def console_signout(merchant_id):
    return _console(merchant_id, "signout")


@app.route("/console/{merchant_id}/returns", methods=["GET"])
def console_returns(merchant_id):
    return _console(merchant_id, "returns_page")


@app.route("/console/{merchant_id}/shipments", methods=["GET"])
def console_shipments(merchant_id):
    return _console(merchant_id, "shipments_page")


@app.route("/console/{merchant_id}/analytics", methods=["GET"])
def console_analytics(merchant_id):
    return _console(merchant_id, "analytics_page")


@app.route("/console/{merchant_id}/returns/{order_id}/{rma_id}", methods=["GET"])
def console_return(merchant_id, order_id, rma_id):
    return _console(merchant_id, "return_page", order_id, rma_id)


@app.route("/console/{merchant_id}/returns/{order_id}/{rma_id}", methods=["POST"], content_types=FORM)
def console_return_step(merchant_id, order_id, rma_id):
    return _console(merchant_id, "submit_step", order_id, rma_id)


@app.route("/console/{merchant_id}/messages", methods=["GET"])
def console_messages(merchant_id):
    return _console(merchant_id, "messages_page")


@app.route("/console/{merchant_id}/settings", methods=["GET"])
def console_settings(merchant_id):
    return _console(merchant_id, "settings_home")


@app.route("/console/{merchant_id}/settings/{section}", methods=["GET"])
def console_settings_page(merchant_id, section):
    return _console(merchant_id, "settings_page", section)


@app.route("/console/{merchant_id}/settings/{section}", methods=["POST"], content_types=FORM)
def console_settings_save(merchant_id, section):
    return _console(merchant_id, "submit_settings", section)


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


# --- post-purchase surveys (postpurchase/surveys) -------------------------------------------------


@app.route("/v1/surveys", methods=["GET"])
@json_errors
def list_surveys():
    from postpurchase.surveys.views import list_surveys

    return respond(list_surveys(authenticated_merchant(app.current_request.headers)))


@app.route("/v1/surveys/{survey_id}", methods=["PUT"], content_types=JSON)
@json_errors
def put_survey(survey_id):
    from postpurchase.surveys.views import put_survey

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    document, created = put_survey(merchant_id, survey_id, parse_json_object(body_bytes(request.raw_body)), clock.now())
    return respond(document, 201 if created else 200)


@app.route("/v1/surveys/{survey_id}/results", methods=["GET"])
@json_errors
def survey_results(survey_id):
    from postpurchase.surveys.views import survey_results

    request = app.current_request
    return respond(survey_results(authenticated_merchant(request.headers), survey_id, request.query_params))


@app.route("/openapi.json", methods=["GET"])
@json_errors
def openapi():
    from postpurchase.openapi import openapi_document

    return openapi_document()


# --- support: the merchant's FAQ (shown on the order page, used in support replies) ---------

@app.route("/v1/support/faq", methods=["GET"])
@json_errors
def get_support_faq():
    from postpurchase.support.faq_views import faq_document

    return respond(faq_document(authenticated_merchant(app.current_request.headers)))


@app.route("/v1/support/faq", methods=["PUT"], content_types=JSON)
@json_errors
def put_support_faq():
    from postpurchase.support.faq_views import publish_faq

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    return respond(publish_faq(merchant_id, parse_json_object(body_bytes(request.raw_body)), clock.now()))
# --- storefront reviews (reviews/views.py): public reads, the merchant's moderation, photos ---------

def _cacheable(result):
    return Response(body=result.body if result.body is not None else "", status_code=result.status,
                    headers=result.headers)


@app.route("/v1/public/{merchant}/products/{sku}/reviews", methods=["GET"])
@json_errors
def public_reviews(merchant, sku):
    from postpurchase.reviews import views

    request = app.current_request
    return _cacheable(views.public_reviews(merchant, sku, request.query_params, request.headers.get("if-none-match")))


@app.route("/v1/public/{merchant}/products/{sku}/reviews/summary", methods=["GET"])
@json_errors
def public_review_summary(merchant, sku):
    from postpurchase.reviews import views

    return _cacheable(views.public_summary(merchant, sku, app.current_request.headers.get("if-none-match")))


@app.route("/v1/public/{merchant}/products/{sku}/reviews/jsonld", methods=["GET"])
@json_errors
def public_review_jsonld(merchant, sku):
    from postpurchase.reviews import views

    request = app.current_request
    return _cacheable(views.public_jsonld(merchant, sku, request.query_params, request.headers.get("if-none-match")))


@app.route("/v1/reviews/moderation", methods=["GET"])
@json_errors
def review_moderation_queue():
    from postpurchase.reviews import views

    request = app.current_request
    return respond(views.moderation_queue(authenticated_merchant(request.headers), request.query_params))


@app.route("/v1/reviews/{review_id}/publish", methods=["POST"])
@json_errors
def publish_review(review_id):
    from postpurchase.reviews import views

    return respond(views.publish_review(authenticated_merchant(app.current_request.headers), review_id, clock.now()))


@app.route("/v1/reviews/{review_id}/hide", methods=["POST"])
@json_errors
def hide_review(review_id):
    from postpurchase.reviews import views

    return respond(views.hide_review(authenticated_merchant(app.current_request.headers), review_id, clock.now()))


@app.route("/v1/reviews/{review_id}/reply", methods=["PUT"], content_types=JSON)
@json_errors
def reply_to_review(review_id):
    from postpurchase.reviews import views

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    return respond(views.reply_to_review(merchant_id, review_id, parse_json_object(body_bytes(request.raw_body)),
                                         clock.now()))


@app.route("/v1/feedback/{token}/photos", methods=["POST"], content_types=JSON)
@json_errors
def review_photo_upload(token):
    from postpurchase.reviews import views

    request = app.current_request
    return respond(views.photo_upload(token, parse_json_object(body_bytes(request.raw_body)), clock.now()), 201)


@app.route("/v1/feedback/{token}/photos/{upload_id}", methods=["POST"])
@json_errors
def review_photo_attach(token, upload_id):
    from postpurchase.reviews import views

    document, created = views.photo_attach(token, upload_id, clock.now())
    return respond(document, 201 if created else 200)


@app.route("/pages/{merchant_id}/feedback/{token}/photos/{upload_id}", methods=["GET"])
def feedback_photo_uploaded(merchant_id, token, upload_id):
    """Where S3 sends the rating page's photo upload (success_action_redirect)."""
    from postpurchase.pages import feedback

    query = app.current_request.query_params or {}
    return _page(merchant_id, query.get("lang"), lambda: feedback.photo_uploaded(
        merchant_id, token, upload_id, query, clock.now()))


# --- packing-insert batches: a day's inserts as one PDF (postpurchase/insert/batches.py) ----------


@app.route("/v1/inserts/batches", methods=["POST"], content_types=JSON)
@json_errors
def create_insert_batch():
    from postpurchase.insert.batches import BatchIn
    from postpurchase.insert.service import create_day_batch

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(BatchIn, parse_json_object(body_bytes(request.raw_body)))
    return respond(create_day_batch(merchant_id, body, clock.now()), 202)


@app.route("/v1/inserts/batches/{batch_id}", methods=["GET"])
@json_errors
def get_insert_batch(batch_id):
    from postpurchase.insert.service import day_batch_document

    merchant_id = authenticated_merchant(app.current_request.headers)
    return respond(day_batch_document(merchant_id, batch_id))


# --- support: conversations (intake from a chat widget/helpdesk, the merchant's hand-off) -------

@app.route("/v1/support/messages", methods=["POST"], content_types=JSON)
@json_errors
def post_support_message():
    from postpurchase.support.views import MessageIn, post_message

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(MessageIn, parse_json_object(body_bytes(request.raw_body)))
    return respond(post_message(merchant_id, body, request.headers.get("idempotency-key"), clock.now()), 201)


@app.route("/v1/support/conversations", methods=["GET"])
@json_errors
def list_support_conversations():
    from postpurchase.support.views import list_conversations

    request = app.current_request
    params = request.query_params or {}
    return respond(list_conversations(authenticated_merchant(request.headers), params.get("status"),
                                      params.get("cursor"), params.get("limit")))


@app.route("/v1/support/conversations/{conversation_id}", methods=["GET"])
@json_errors
def get_support_conversation(conversation_id):
    from postpurchase.support.views import thread_document

    return respond(thread_document(authenticated_merchant(app.current_request.headers), conversation_id))


@app.route("/v1/support/conversations/{conversation_id}/replies", methods=["POST"], content_types=JSON)
@json_errors
def post_support_reply(conversation_id):
    from postpurchase.support.views import ReplyIn, post_reply

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(ReplyIn, parse_json_object(body_bytes(request.raw_body)))
    return respond(post_reply(merchant_id, conversation_id, body, request.headers.get("idempotency-key"),
                              clock.now()), 201)


@app.route("/v1/support/conversations/{conversation_id}/status", methods=["POST"], content_types=JSON)
@json_errors
def post_support_status(conversation_id):
    from postpurchase.support.views import StatusIn, post_status

    request = app.current_request
    merchant_id = authenticated_merchant(request.headers)
    body = validate(StatusIn, parse_json_object(body_bytes(request.raw_body)))
    return respond(post_status(merchant_id, conversation_id, body, clock.now()))


# --- support: metrics (WISMO share, automated share, first response, CSAT), counted as they happen ---

@app.route("/v1/support/metrics", methods=["GET"])
@json_errors
def get_support_metrics():
    from postpurchase.support.metrics_views import metrics_for

    request = app.current_request
    return respond(metrics_for(authenticated_merchant(request.headers), request.query_params, clock.now()))


# --- support: the CSAT survey's one-click answer page (support/csat.py) ---

@app.route("/pages/{merchant_id}/csat/{token}", methods=["GET"])
def csat_page(merchant_id, token):
    from postpurchase.pages.csat import csat_page as page

    query = app.current_request.query_params or {}
    return _page(merchant_id, query.get("lang"), lambda: page(merchant_id, token, query, clock.now()))
