"""service.poll / start_tracking against a carrier that fails: every failure is a failed poll
(counted, rescheduled no sooner than the provider's Retry-After), never a failed message."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from postpurchase.errors import InvalidInput, RetryLater
from postpurchase.tracking import service
from postpurchase.tracking.carriers.easypost import EasyPostClient
from postpurchase.tracking.carriers.http import CarrierRequestError
from postpurchase.tracking.messages import PollShipment
from postpurchase.tracking.state import ShipmentTracking

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=timezone.utc)


class Store:
    def __init__(self, tracked) -> None:
        self.tracked = tracked
        self.saved: list[ShipmentTracking] = []

    def load(self, merchant_id, order_id, shipment_id):
        return self.tracked

    def save(self, current, tracking, new_events, now, *, provider=None, provider_tracker_id=None):
        self.saved.append(tracking)


class Carrier:
    provider = "easypost"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def register(self, carrier, tracking_number):
        raise self.error

    fetch = lambda self, carrier, number, tracker_id: self.register(carrier, number)  # noqa: E731


class JsonHttp:
    """An HttpClient stand-in whose every answer is this (decoded) JSON."""

    def __init__(self, answer) -> None:
        self.answer = answer

    def get(self, path, params=None):
        return self.answer

    post = lambda self, path, body=None: self.answer  # noqa: E731


def tracked(due: datetime):
    state = ShipmentTracking(carrier="dhl", tracking_number="SBX-OK-1", created_at=T0, next_poll_at=due)
    shipment = SimpleNamespace(carrier="dhl", tracking_number="SBX-OK-1", created_at=T0, rma_id=None,
                               shipment_id="s-1")
    return SimpleNamespace(merchant_id="m", order_id="o", tracking=state, revision=1, provider="easypost",
                           provider_tracker_id="trk_1", shipment=shipment, timeline=[])


def poll(carrier):
    store = Store(tracked(T0))
    message = PollShipment(merchant_id="m", order_id="o", shipment_id="s-1", due=T0.isoformat())
    outcome = service.poll(message, store=store, carrier=carrier, effects=None, now=T0)
    return outcome, store.saved


@pytest.mark.parametrize("answer", [
    {"error": {"code": "SOMETHING", "message": "not a tracker"}},  # JSON, but no tracker in it
    ["not", "an", "object"],
    {"id": "trk_1", "tracking_code": "", "status": "in_transit"},  # a tracker with no tracking code
])
def test_a_garbage_tracker_is_a_failed_poll_not_a_failed_message(answer):
    outcome, saved = poll(EasyPostClient("key", http=JsonHttp(answer)))
    assert outcome == "poll_failed"
    assert saved[0].poll_failures == 1 and saved[0].next_poll_at > T0


@pytest.mark.parametrize("error", [RetryLater("down"), CarrierRequestError(404, "gone"), InvalidInput("bad")])
def test_every_carrier_failure_is_a_failed_poll(error):
    outcome, saved = poll(Carrier(error))
    assert outcome == "poll_failed" and saved[0].poll_failures == 1


def test_the_next_poll_honours_the_providers_retry_after():
    outcome, saved = poll(Carrier(RetryLater("429", retry_after=10 * 3600)))  # pending: own cadence 6 h
    assert outcome == "poll_failed"
    assert saved[0].next_poll_at == T0 + timedelta(hours=10)
