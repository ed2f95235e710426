"""email_sender: renders each requested email and sends it through SES, exactly once.

The outbound-email queue carries two bodies: an EmailRequest (send this email) and a
MessageDue from message_scheduler (a scheduled message's time has come: decide, then send).
The message models and the domain load at the first batch, not at cold start (issue 17).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from postpurchase import clock, services
from postpurchase.batch import SqsBatch, process_batch
from postpurchase.errors import RetryLater
from postpurchase.observability import MetricUnit, logger, metrics, tracer

if TYPE_CHECKING:
    from postpurchase.messaging.due import Sender
    from postpurchase.messaging.requests import EmailRequest


def _body():
    """EmailRequest or MessageDue, told apart by MessageDue's `type`."""
    from typing import Annotated, Union

    from pydantic import Discriminator, Tag

    from postpurchase.messaging.due import MessageDue
    from postpurchase.messaging.requests import EmailRequest

    def body_type(value: Any) -> str:
        if isinstance(value, MessageDue) or (isinstance(value, dict) and value.get("type") == "MessageDue"):
            return "due"
        return "email"

    return Annotated[Union[Annotated[MessageDue, Tag("due")], Annotated[EmailRequest, Tag("email")]],
                     Discriminator(body_type)]


processor = SqsBatch(body=_body)


def render_email(request: EmailRequest, merchant):
    """messaging.rendering's: Jinja2, Babel and css-inline load at the first email, not at cold start."""
    from postpurchase.messaging.rendering import render_email as render

    return render(request, merchant)


_METRIC = {"sent": "EmailsSent", "duplicate": "EmailDuplicatesSuppressed", "abandoned": "EmailOutcomeUnknown",
           "failed": "EmailsRefused"}


def _merchant(merchant_id: str):
    merchant = services.merchant_store().get(merchant_id)
    if merchant is None:
        raise RetryLater(f"merchant {merchant_id} has no settings")
    return merchant


def _gate(request: EmailRequest) -> tuple[EmailRequest | None, str | None]:
    """The request as the customer wants it, or (None, why not): suppression, then consent.
    Mail to the merchant's own staff (a helpdesk forward) is not the customer's to refuse."""
    from postpurchase.messaging.requests import MERCHANT_KINDS

    if request.kind in MERCHANT_KINDS:
        return request, None
    from postpurchase.messaging.preferences import with_preferences

    recipient = services.customer_store().recipient(request.merchant_id, request.recipient_customer.customer_id(),
                                                    request.recipient)
    if recipient.suppressed:  # a hard bounce or a complaint: never again, whatever the kind
        metrics.add_metric(name="EmailsSuppressed", unit=MetricUnit.Count, value=1)
        return _skipped(request, "suppressed")
    wanted = with_preferences(request, recipient.profile.preferences if recipient.profile else None)
    if wanted is None:
        metrics.add_metric(name="EmailsOptedOut", unit=MetricUnit.Count, value=1)
        return _skipped(request, "opted_out")
    return wanted, None


def _skipped(request: EmailRequest, reason: str) -> tuple[None, str]:
    """Written to the console's messages view (storage/ledger.py record_skip), then (None, reason)."""
    services.send_ledger().record_skip(request.merchant_id, request.ledger_scope, request.message_key,
                                       request.recipient, reason, clock.now())
    return None, reason


def _skipped_scheduled(merchant_id: str, scope: tuple[str, str], message_key: str, recipient: str, reason: str,
                       now) -> None:
    services.send_ledger().record_skip(merchant_id, scope, message_key, recipient, reason, now)


def _deliver(request: EmailRequest) -> str:
    from postpurchase.analytics.recording import count_sent
    from postpurchase.messaging.sending import deliver

    merchant = _merchant(request.merchant_id)
    delivery = deliver(request, merchant.branding, ledger=services.send_ledger(), mailer=services.mailer(),
                       render=render_email, now=clock.now())
    metrics.add_metric(name=_METRIC[delivery.outcome], unit=MetricUnit.Count, value=1)
    count_sent(request, delivery.outcome, clock.now())
    return delivery.outcome


def _preferences_url(merchant_id: str, customer_id: str, now) -> str:
    from postpurchase.pages.handlers import preferences_link

    return preferences_link(merchant_id, customer_id, now)


def _sender() -> Sender:
    from postpurchase.messaging import links
    from postpurchase.messaging.due import Links, Sender
    from postpurchase.returns.service import reviewable_skus
    from postpurchase.surveys.email import survey_notice

    return Sender(store=services.message_schedule(), settings_for=services.messaging_settings,
                  reviewable=reviewable_skus, coupons=services.coupon_issuer,
                  links=Links(rating_url=links.rating_url, unsubscribe_url=links.unsubscribe_url,
                              preferences_url=_preferences_url, order_page_url=links.customer_order_link,
                              survey_notice=survey_notice),
                  gate=_gate, deliver=_deliver, birthday_bonus=_birthday_bonus, record_skip=_skipped_scheduled)


def _birthday_bonus(merchant_id: str, customer_id: str, year: int, now) -> None:
    services.loyalty().award_birthday_bonus(merchant_id, customer_id, year, now)


@tracer.capture_method
def record_handler(record) -> None:
    from postpurchase.messaging.due import MessageDue, send_due

    body = record.body
    if isinstance(body, MessageDue):
        logger.append_keys(scheduled=f"{body.pk}|{body.sk}")
        outcome, detail = send_due(body, _sender(), clock.now())
        metrics.add_metric(name="ScheduledMessagesHandled", unit=MetricUnit.Count, value=1)
        logger.info("scheduled message handled", extra={"outcome": outcome, "detail": detail})
        return
    request = body
    logger.append_keys(merchant_id=request.merchant_id, message_key=request.message_key)
    _merchant(request.merchant_id)
    wanted, blocked = _gate(request)
    if wanted is None:
        logger.info("email request handled", extra={"outcome": blocked})
        return
    outcome = _deliver(wanted)
    logger.info("email request handled", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return process_batch(event, context, processor=processor, record_handler=record_handler,
                         failure_metric="EmailRequestFailures")
