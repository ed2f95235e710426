"""The detractor follow-up's ports, served by this deployment's adapters."""
from __future__ import annotations

from .. import services
from .followup import DetractorFollowUp
from .messages import DeliverSurveyWebhook


class AwsFollowUpPorts:
    def keep_message(self, follow_up: DetractorFollowUp) -> bool:
        return services.survey_store().record_detractor(follow_up.merchant_id, follow_up.survey_id,
                                                        follow_up.customer_id, follow_up.order_id, follow_up.score,
                                                        follow_up.message, follow_up.at)

    def wants_webhook(self, merchant_id: str) -> bool:
        merchant = services.merchant_store().get(merchant_id)
        return bool(merchant and merchant.webhooks.feedback_url)

    def enqueue(self, message: DeliverSurveyWebhook) -> None:
        services.return_events_queue().publish(message.model_dump_json(), kind=message.type,
                                               merchant_id=message.merchant_id)

    def mark_notified(self, follow_up: DetractorFollowUp) -> None:
        services.survey_store().mark_detractor_notified(follow_up.merchant_id, follow_up.survey_id,
                                                        follow_up.customer_id)

    def open_conversation(self, follow_up: DetractorFollowUp) -> None:
        from ..support.model import Channel
        from ..support.service import Incoming, receive_message

        order = services.order_store().get_order(follow_up.merchant_id, follow_up.order_id)
        receive_message(Incoming(
            merchant_id=follow_up.merchant_id, channel=Channel.FORM,
            identity=f"survey-detractor:{follow_up.survey_id}:{follow_up.customer_id}", text=follow_up.message,
            email=order.customer.email if order else None, name=order.customer.first_name if order else None,
            language=order.customer.locale if order else None, order_id=follow_up.order_id), follow_up.at)
