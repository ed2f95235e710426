"""The local runtime under a burst of storefronts: 50 connections at once, every one answered."""
from __future__ import annotations

import http.client
import threading
from urllib.parse import urlsplit

import pytest

from infra.load import Client, Storefronts, await_confirmations, confirmation_key
from infra.local.seed import demo_credentials

pytestmark = pytest.mark.e2e

BURST = 50


def test_fifty_parallel_orders_are_all_answered_stored_and_confirmed_once(local_api):
    storefronts = Storefronts(demo_credentials())
    requests = [storefronts.request(index) for index in range(BURST)]  # API, Shopify, WooCommerce in turn
    address = urlsplit(local_api.base_url)
    start = threading.Barrier(BURST)
    answers: list = [None] * BURST

    def place(slot: int) -> None:
        client = Client(address.hostname, address.port)
        start.wait()  # all connect at once: a short listen backlog overflows here
        try:
            answers[slot] = client.send(requests[slot])[0]
        except (OSError, http.client.HTTPException) as error:
            answers[slot] = f"{type(error).__name__}: {error}"
        finally:
            client.close()

    threads = [threading.Thread(target=place, args=(slot,), daemon=True) for slot in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    failures = {request.order_id: answer for request, answer in zip(requests, answers)
                if not (isinstance(answer, int) and 200 <= answer < 300)}
    assert failures == {}
    assert {request.kind for request in requests} == {"api", "shopify", "woocommerce"}

    order_ids = [request.order_id for request in requests]
    found = await_confirmations(local_api.outbox, "demo-store", order_ids, timeout=90, settle=1.0)
    assert {order_id: found[confirmation_key("demo-store", order_id)] for order_id in order_ids} == \
        {order_id: 1 for order_id in order_ids}
    stored = {order_id: local_api.call("GET", f"/v1/orders/{order_id}")[0] for order_id in order_ids}
    assert stored == {order_id: 200 for order_id in order_ids}
