"""Returns over the API, through the real handlers against moto: requests and their unit
accounting, RMA steps, customer access, notices, and the hand-off to the merchant (signed
webhook, EventBridge)."""
from __future__ import annotations

import copy
import http.server
import json
import re
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

ORDER = "1001"
MERCHANT = "demo-store"
CUSTOMER_EMAIL = "ayse.yilmaz@example.com"
SHIPMENT = {"carrier": "fedex", "tracking_number": "794698760140", "items": [{"sku": "MUG-1", "quantity": 2}]}
RETURN_ONE = {"items": [{"sku": "MUG-1", "quantity": 1}], "reason": "damaged", "resolution": "refund"}
RETURN_ALL = {"items": [{"sku": "MUG-1", "quantity": 2}], "reason": "changed_mind", "resolution": "refund"}
LABEL = {"action": "issue_label", "carrier": "ups", "tracking_number": "1Z999AA10123456784",
         "label_url": "https://labels.example/1Z999AA10123456784.pdf"}
# Shipped at NOW (2026-11-20), no delivery scan: the window counts from fulfilment + 5 days of
# grace, 30 days, in the customer's zone (Europe/Istanbul).
LAST_DAY = "2026-12-25"
# The Turkish subjects of the return notices of order 1001.
SUBJECTS_TR = {
    "requested": "1001 numaralı siparişiniz için iade talebinizi aldık",
    "approved": "1001 numaralı siparişinize ait iadeniz onaylandı",
    "rejected": "1001 numaralı siparişiniz için iadenizi kabul edemiyoruz",
    "received": "1001 numaralı siparişinizden iade ettiğiniz ürünler elimize ulaştı",
    "refunded": "1001 numaralı siparişinizin geri ödemesi yapıldı",
}


# ------------------------------------------------------------------------------ helpers


def error_of(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.body[:600])
    body = response.json_body
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error.get("field") == field, error
    return error


def policy(**rule) -> dict:
    """A policy document: the default rule is 30 days from delivery, every resolution,
    merchant approval (no auto-approval) unless `rule` says otherwise."""
    return {
        "default_rule": {"window_days": 30, "window_starts": "delivery",
                         "resolutions": ["refund", "store_credit", "exchange"], "auto_approve": False, **rule},
        "final_sale_categories": [],
        "non_returnable_categories": [],
        "logistics": {"drop_off_options": ["carrier_drop_off"], "label_provided": True},
    }


def publish(aws, document: dict) -> int:
    """PUT the policy, then let a minute pass: orders placed from now on are judged by it."""
    response = aws.client.put("/v1/returns/policy", headers=aws.auth(), body=aws.encode(document))
    assert response.status_code == 200, response.body
    aws.clock.advance(timedelta(minutes=1))
    return response.json_body["version"]


def place(aws, order_id: str = ORDER, **fields) -> None:
    """Place the order (placed now) and store it. Only the order-events queue is pumped, for
    speed: the confirmation email and parcel tracking wait for the next full drain."""
    order = aws.api_order(order_id, placed_at=aws.clock.now(), **fields)
    assert aws.post_order(order).status_code == 202
    assert aws.pump_queue("OrderEventsQueue") == 1


def ship(aws, order_id: str = ORDER, shipment: dict | None = None) -> None:
    response = aws.post_shipment(order_id, shipment or SHIPMENT)
    assert response.status_code == 201, response.body
    assert aws.pump_queue("OrderEventsQueue") == 1


def shipped_order(aws, order_id: str = ORDER, **fields) -> None:
    place(aws, order_id, **fields)
    ship(aws, order_id)


def merchant(aws, key: str | None = None) -> dict:
    headers = aws.auth()
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


CUSTOMER = {"Content-Type": "application/json"}


def ask(aws, body: dict, order_id: str = ORDER, headers: dict | None = None, query: str = ""):
    return aws.client.post(f"/v1/orders/{order_id}/returns{query}", headers=headers or merchant(aws),
                           body=aws.encode(body))


def step(aws, rma_id: str, command: dict, order_id: str = ORDER, headers: dict | None = None, query: str = ""):
    return aws.client.post(f"/v1/orders/{order_id}/returns/{rma_id}/transitions{query}",
                           headers=headers or aws.auth(), body=aws.encode(command))


def returns_of(aws, order_id: str = ORDER, headers: dict | None = None, query: str = ""):
    return aws.client.get(f"/v1/orders/{order_id}/returns{query}", headers=headers or aws.auth())


def item_of(document: dict, sku: str = "MUG-1") -> dict:
    return next(item for item in document["items"] if item["sku"] == sku)


def token(aws, order_id: str = ORDER, expires_at: datetime | None = None, merchant_id: str = MERCHANT) -> str:
    from postpurchase.security.tokens import sign_order_token

    return sign_order_token(aws.link_keys, merchant_id, order_id,
                            expires_at or aws.clock.now() + timedelta(days=30))


def link(aws, order_id: str = ORDER, **kwargs) -> str:
    """The query a customer's order link carries."""
    return f"?merchant={MERCHANT}&token={token(aws, order_id, **kwargs)}"


def stored_returns(aws) -> list[dict]:
    return aws.items_of_type("return")


def units_in(stored: list[dict], sku: str = "MUG-1") -> int:
    """Units of `sku` held by stored RMAs (rejected, cancelled and expired ones hold none)."""
    held = 0
    for item in stored:
        document = json.loads(item["document"])
        if document["status"] in ("rejected", "cancelled", "expired"):
            continue
        held += sum(line["quantity"] for line in document["lines"] if line["sku"] == sku)
    return held


def return_emails(aws) -> list[tuple[str, str, str]]:
    """(variant, rma id, subject) of every return notice SES sent, in order."""
    found = []
    for message in aws.sent_emails():
        key = str(message["X-Postpurchase-Message"]).split("/", 1)[1]
        if key.startswith("return_"):
            variant, rma_id = key[len("return_"):].split("#", 1)
            found.append((variant, rma_id, str(message["Subject"])))
    return found


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def republish(aws, rma_id: str, from_revision: int, to_revision: int, order_id: str = ORDER) -> None:
    from postpurchase.returns.messages import ReturnChanged

    change = ReturnChanged(merchant_id=MERCHANT, order_id=order_id, rma_id=rma_id, from_revision=from_revision,
                           to_revision=to_revision)
    aws.send("ReturnEventsQueue", change.model_dump_json())


def allow_http_webhooks(monkeypatch) -> None:
    from infra.local.runtime import reset_process_caches

    monkeypatch.setenv("WEBHOOKS_ALLOW_HTTP", "true")
    reset_process_caches()  # settings, the webhook sender and the merchant cache are rebuilt


def to_resolvable(aws, rma_id: str, accepted: int = 2) -> None:
    """Label, receipt and inspection (accepting `accepted` units of MUG-1) of an approved RMA."""
    for command in (LABEL, {"action": "receive"},
                    {"action": "inspect", "lines": [{"sku": "MUG-1", "accepted_quantity": accepted}]}):
        response = step(aws, rma_id, command)
        assert response.status_code == 200, (command, response.body)


class Receiver:
    """A merchant's webhook endpoint on localhost: records each POST (header names in lower
    case), answers `status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/returns"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(aws, monkeypatch):
    allow_http_webhooks(monkeypatch)
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


def configure_webhook(aws, url: str) -> str:
    response = aws.client.put("/v1/settings/webhooks", headers=aws.auth(), body=aws.encode({"returns_url": url}))
    assert response.status_code == 200, response.body
    return response.json_body["secret"]


# ------------------------------------------------------------------------------ 1. requesting


def test_merchant_requests_a_return_and_it_is_auto_approved(aws):
    shipped_order(aws)
    before = returns_of(aws).json_body
    assert item_of(before) == {"sku": "MUG-1", "returnable": True, "reason": None, "returnable_quantity": 2,
                               "last_day": LAST_DAY, "resolutions": ["exchange", "refund", "store_credit"]}
    assert before["returns"] == [] and before["policy_version"] == 0
    aws.clock.advance(timedelta(hours=3))
    asked_at = aws.clock.now()

    response = ask(aws, RETURN_ONE)

    assert response.status_code == 201, response.body
    rma = response.json_body
    assert rma["status"] == "approved" and rma["order_id"] == ORDER and rma["merchant_id"] == MERCHANT
    assert re.fullmatch(r"R-[A-Z2-7]{10}", rma["rma_id"])
    assert rma["lines"] == [{"sku": "MUG-1", "quantity": 1, "reason": "damaged", "comment": "",
                             "resolution": "refund"}]
    request, approval = rma["history"]
    assert (request["command"], request["to_status"], request["actor"]) == (
        "request", "requested", {"kind": "merchant", "id": "merchant"})
    assert "from_status" not in request  # the request itself: from nothing
    assert (approval["command"], approval["from_status"], approval["to_status"], approval["actor"]) == (
        "approve", "requested", "approved", {"kind": "system"})
    assert {request["at"], approval["at"], rma["created_at"], rma["approved_at"]} == {
        asked_at.isoformat().replace("+00:00", "Z")}
    assert datetime.fromisoformat(rma["expires_at"]) == asked_at + timedelta(days=14)

    listed = returns_of(aws)
    assert listed.status_code == 200
    assert item_of(listed.json_body)["returnable_quantity"] == 1
    assert listed.json_body["returns"] == [rma]
    single = aws.client.get(f"/v1/orders/{ORDER}/returns/{rma['rma_id']}", headers=aws.auth())
    assert single.status_code == 200 and single.json_body == rma
    error_of(aws.client.get(f"/v1/orders/{ORDER}/returns/R-NOSUCHRMA2", headers=aws.auth()), 404, "not_found",
             "rma_id")
    [stored] = stored_returns(aws)
    assert (stored["pk"], stored["sk"], stored["status"], int(stored["revision"])) == (
        f"M#{MERCHANT}#O#{ORDER}", f"RMA#{rma['rma_id']}", "approved", 2)


def test_returns_of_an_unknown_order_are_not_found(aws):
    error_of(returns_of(aws, "no-such-order"), 404, "not_found", "order_id")
    error_of(ask(aws, RETURN_ONE, "no-such-order"), 404, "not_found", "order_id")


MALFORMED = [
    (lambda b: b.update(items=[]), "items"),
    (lambda b: b["items"][0].update(quantity=0), "items[0].quantity"),
    (lambda b: b["items"][0].update(quantity="1"), "items[0].quantity"),
    (lambda b: b.update(reason="bored"), "reason"),
    (lambda b: b.update(resolution="cash"), "resolution"),
    (lambda b: b.update(items=[{"sku": "MUG-1", "quantity": 1}, {"sku": "MUG-1", "quantity": 1}]), "items"),
    (lambda b: b.update(extra=True), "extra"),
]


def test_malformed_return_requests_name_the_field(aws):
    for change, field in MALFORMED:
        body = copy.deepcopy(RETURN_ONE)
        change(body)
        error_of(ask(aws, body), 400, "validation_error", field)
    error_of(aws.client.post(f"/v1/orders/{ORDER}/returns", headers=aws.auth(), body=b"{not json"), 400,
             "malformed_json")


# ------------------------------------------------------------------------------ 2. idempotency


def test_idempotency_key_retry_gets_the_same_rma_and_stores_one(aws):
    shipped_order(aws)
    first = ask(aws, RETURN_ONE, headers=merchant(aws, "checkout-7f3a"))
    assert first.status_code == 201
    aws.clock.advance(timedelta(seconds=30))

    retry = ask(aws, RETURN_ONE, headers=merchant(aws, "checkout-7f3a"))

    assert retry.status_code == 200, retry.body
    assert retry.json_body == first.json_body
    assert len(stored_returns(aws)) == 1
    assert item_of(returns_of(aws).json_body)["returnable_quantity"] == 1
    aws.pump.drain()
    assert [variant for variant, _, _ in return_emails(aws)] == ["requested"]  # the retry's notice: no second

    other_key = ask(aws, RETURN_ONE, headers=merchant(aws, "checkout-9b1c"))
    assert other_key.status_code == 201 and other_key.json_body["rma_id"] != first.json_body["rma_id"]


def test_idempotency_key_reused_for_another_request_is_a_conflict(aws):
    shipped_order(aws)
    assert ask(aws, RETURN_ONE, headers=merchant(aws, "k-1")).status_code == 201
    different = copy.deepcopy(RETURN_ONE)
    different["resolution"] = "store_credit"

    error_of(ask(aws, different, headers=merchant(aws, "k-1")), 409, "conflict", "Idempotency-Key")
    error_of(ask(aws, RETURN_ALL, headers=merchant(aws, "k-1")), 409, "conflict", "Idempotency-Key")
    assert len(stored_returns(aws)) == 1
    error_of(ask(aws, RETURN_ONE, headers=merchant(aws, "k" * 201)), 400, "validation_error", "Idempotency-Key")


def test_same_body_same_key_on_another_order_is_another_rma(aws):
    shipped_order(aws, "1001")
    shipped_order(aws, "1002")
    a = ask(aws, RETURN_ONE, "1001", headers=merchant(aws, "same-key"))
    b = ask(aws, RETURN_ONE, "1002", headers=merchant(aws, "same-key"))
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json_body["rma_id"] != b.json_body["rma_id"]


# ------------------------------------------------------------------------------ 3. unit accounting


def test_units_cannot_be_returned_twice(aws):
    shipped_order(aws)
    assert ask(aws, RETURN_ONE).status_code == 201

    too_many = error_of(ask(aws, RETURN_ALL), 409, "conflict", "items[0].quantity")
    assert (too_many["reason"], too_many["returnable_quantity"]) == ("exceeds_returnable", 1)
    assert ask(aws, RETURN_ONE).status_code == 201  # the last unit

    again = error_of(ask(aws, RETURN_ONE), 409, "conflict", "items[0].sku")
    assert again["reason"] == "already_returned"
    item = item_of(returns_of(aws).json_body)
    assert (item["returnable"], item["reason"], item["returnable_quantity"]) == (False, "already_returned", 0)
    assert units_in(stored_returns(aws)) == 2


def test_a_cancelled_return_releases_its_units(aws):
    shipped_order(aws)
    rma = ask(aws, RETURN_ALL).json_body
    error_of(ask(aws, RETURN_ONE), 409, "conflict")

    cancelled = step(aws, rma["rma_id"], {"action": "cancel"}, headers=CUSTOMER, query=link(aws))

    assert cancelled.status_code == 200, cancelled.body
    assert cancelled.json_body["status"] == "cancelled"
    assert cancelled.json_body["history"][-1]["actor"] == {"kind": "customer", "id": "link"}
    assert item_of(returns_of(aws).json_body)["returnable_quantity"] == 2
    assert ask(aws, RETURN_ALL).status_code == 201


def test_a_rejected_return_releases_its_units(aws):
    publish(aws, policy())  # merchant approval
    shipped_order(aws)
    rma = ask(aws, RETURN_ALL).json_body
    assert rma["status"] == "requested"
    error_of(ask(aws, RETURN_ONE), 409, "conflict")

    rejected = step(aws, rma["rma_id"], {"action": "reject", "reason": "Used items"})

    assert rejected.status_code == 200 and rejected.json_body["status"] == "rejected"
    assert rejected.json_body["rejection_reason"] == "Used items"
    assert ask(aws, RETURN_ALL).status_code == 201


def test_an_approval_never_shipped_expires_and_releases_its_units(aws):
    shipped_order(aws)
    rma = ask(aws, RETURN_ALL).json_body
    aws.clock.set(datetime.fromisoformat(rma["expires_at"]) - timedelta(seconds=1))
    assert returns_of(aws).json_body["returns"][0]["status"] == "approved"
    error_of(ask(aws, RETURN_ONE), 409, "conflict")

    aws.clock.advance(timedelta(seconds=1))

    listed = returns_of(aws).json_body
    assert listed["returns"][0]["status"] == "expired"
    assert listed["returns"][0]["history"][-1]["actor"] == {"kind": "system"}
    assert item_of(listed)["returnable_quantity"] == 2
    error_of(step(aws, rma["rma_id"], LABEL), 422, "not_allowed", "status")
    assert ask(aws, RETURN_ALL).status_code == 201


# ------------------------------------------------------------------------------ 4. concurrency


def _race(aws, bodies: list[dict], headers: list[dict] | None = None) -> list:
    """Send the requests from one thread each, all at once; their responses in order.

    Chalice keeps the request being handled on the app object (app.current_request), which
    threads share: racing requests are identical, so a swapped request changes nothing."""
    start = threading.Barrier(len(bodies))
    results: list = [None] * len(bodies)

    def run(index: int) -> None:
        start.wait(timeout=10)
        try:
            results[index] = ask(aws, bodies[index], headers=(headers or [None] * len(bodies))[index])
        except BaseException as error:  # noqa: BLE001 - reported below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    for result in results:
        assert not isinstance(result, BaseException), result
    return results


def _serialise_writes(monkeypatch) -> list:
    """Only one create_return at a time (we test our read-judge-write, not moto's atomicity);
    returns the outcome of every write attempt ("written" or the exception's class name)."""
    from postpurchase.storage.returns import DynamoReturnStore

    lock = threading.Lock()
    attempts: list = []
    original = DynamoReturnStore.create_return

    def create_return(self, *args, **kwargs):
        with lock:
            try:
                original(self, *args, **kwargs)
            except Exception as error:
                attempts.append(type(error).__name__)
                raise
            attempts.append("written")

    monkeypatch.setattr(DynamoReturnStore, "create_return", create_return)
    return attempts


def _both_read_first(monkeypatch, parties: int) -> None:
    """The first order_view of each of `parties` requests waits until all of them have read."""
    from postpurchase.storage.returns import DynamoReturnStore

    barrier = threading.Barrier(parties)
    lock = threading.Lock()
    reads = [0]
    original = DynamoReturnStore.order_view

    def order_view(self, *args, **kwargs):
        view = original(self, *args, **kwargs)
        with lock:
            reads[0] += 1
            first_reads = reads[0] <= parties  # a request waiting here cannot read again meanwhile
        if first_reads:
            barrier.wait(timeout=10)
        return view

    monkeypatch.setattr(DynamoReturnStore, "order_view", order_view)


@pytest.mark.parametrize("already", [0, 1], ids=["both-want-both-units", "both-want-the-last-unit"])
def test_two_requests_racing_for_the_last_units_one_wins(aws, monkeypatch, already):
    shipped_order(aws)
    if already:
        assert ask(aws, RETURN_ONE).status_code == 201
    body = RETURN_ALL if not already else RETURN_ONE
    attempts = _serialise_writes(monkeypatch)
    _both_read_first(monkeypatch, 2)

    first, second = _race(aws, [body, body])

    assert sorted([first.status_code, second.status_code]) == [201, 409], (first.body, second.body)
    loser = first if first.status_code == 409 else second
    assert error_of(loser, 409, "conflict")["reason"] in ("already_returned", "exceeds_returnable")
    # Both were judged on the same read: the loser's write was refused and it was judged again.
    assert attempts == ["written", "StaleOrder"]
    assert units_in(stored_returns(aws)) == 2
    assert len(stored_returns(aws)) == 1 + already
    assert item_of(returns_of(aws).json_body)["returnable_quantity"] == 0


def test_racing_retries_with_one_idempotency_key_make_one_rma(aws, monkeypatch):
    shipped_order(aws)
    attempts = _serialise_writes(monkeypatch)
    _both_read_first(monkeypatch, 2)

    first, second = _race(aws, [RETURN_ONE, RETURN_ONE], [merchant(aws, "dup"), merchant(aws, "dup")])

    assert sorted([first.status_code, second.status_code]) == [200, 201], (first.body, second.body)
    assert first.json_body["rma_id"] == second.json_body["rma_id"]
    assert attempts[0] == "written" and len(attempts) == 2
    assert len(stored_returns(aws)) == 1


def test_six_customers_racing_for_two_units_two_succeed(aws, monkeypatch):
    shipped_order(aws)
    assert returns_of(aws).status_code == 200  # warm the clients before the threads share them
    _serialise_writes(monkeypatch)

    results = _race(aws, [RETURN_ONE] * 6)

    statuses = sorted(response.status_code for response in results)
    assert statuses == [201, 201, 409, 409, 409, 409], [r.body for r in results]
    assert len(stored_returns(aws)) == 2 and units_in(stored_returns(aws)) == 2
    assert item_of(returns_of(aws).json_body)["returnable_quantity"] == 0


def test_two_steps_racing_on_one_rma_one_is_refused(aws, monkeypatch):
    from postpurchase.storage.returns import DynamoReturnStore

    shipped_order(aws)
    rma_id = ask(aws, RETURN_ONE).json_body["rma_id"]
    lock = threading.Lock()
    original = DynamoReturnStore.save_return

    def save_return(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoReturnStore, "save_return", save_return)
    _both_read_first(monkeypatch, 2)
    results: list = [None, None]

    def run(index: int) -> None:
        results[index] = step(aws, rma_id, LABEL)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(r.status_code for r in results) == [200, 409], [r.body for r in results]
    error_of(next(r for r in results if r.status_code == 409), 409, "conflict", "rma_id")
    [stored] = stored_returns(aws)
    assert int(stored["revision"]) == 3 and stored["status"] == "label_issued"


# ------------------------------------------------------------------------------ 5. eligibility


def test_nothing_shipped_cannot_be_returned(aws):
    place(aws)
    item = item_of(returns_of(aws).json_body)
    assert (item["returnable"], item["reason"], item["last_day"]) == (False, "not_yet_shipped", None)

    error = error_of(ask(aws, RETURN_ONE), 422, "not_allowed", "items[0].sku")

    assert error["reason"] == "not_yet_shipped"
    assert stored_returns(aws) == []


def test_only_shipped_units_can_be_returned(aws):
    place(aws)
    ship(aws, shipment={**SHIPMENT, "items": [{"sku": "MUG-1", "quantity": 1}]})
    assert item_of(returns_of(aws).json_body)["returnable_quantity"] == 1

    error = error_of(ask(aws, RETURN_ALL), 409, "conflict", "items[0].quantity")

    assert error["reason"] == "exceeds_returnable"


def test_the_window_closes_after_the_last_day_in_the_customers_zone(aws):
    shipped_order(aws)
    # 23:59 on the last day in Istanbul (UTC+3).
    aws.clock.set(datetime(2026, 12, 25, 20, 59, tzinfo=timezone.utc))
    assert item_of(returns_of(aws).json_body)["returnable"] is True

    aws.clock.advance(timedelta(minutes=1))  # midnight in Istanbul, still the 25th in UTC

    item = item_of(returns_of(aws).json_body)
    assert (item["returnable"], item["reason"], item["last_day"]) == (False, "window_closed", LAST_DAY)
    error = error_of(ask(aws, RETURN_ONE), 422, "not_allowed", "items[0].sku")
    assert (error["reason"], error["last_day"]) == ("window_closed", LAST_DAY)


def test_final_sale_category_of_the_policy_in_force_is_refused(aws):
    publish(aws, {**policy(auto_approve=True), "final_sale_categories": ["home"]})
    shipped_order(aws)

    error = error_of(ask(aws, RETURN_ONE), 422, "not_allowed", "items[0].sku")

    assert error["reason"] == "final_sale" and "last_day" not in error
    document = returns_of(aws).json_body
    assert document["policy_version"] == 1
    assert item_of(document)["reason"] == "final_sale"


@pytest.mark.parametrize("processed", ["before", "after"], ids=["order-stored-first", "order-stored-late"])
def test_a_policy_published_after_the_order_does_not_apply_to_it(aws, processed):
    order = aws.api_order(ORDER, placed_at=aws.clock.now())
    assert aws.post_order(order).status_code == 202
    if processed == "before":
        aws.pump.drain()
    aws.clock.advance(timedelta(minutes=5))
    # Home goods are not returnable any more; the order was placed under the default policy.
    strict = policy(auto_approve=False)
    strict["non_returnable_categories"] = ["home"]
    publish(aws, strict)
    aws.pump.drain()  # late: the order event is processed after the publish
    ship(aws)

    document = returns_of(aws).json_body
    assert document["policy_version"] == 0
    assert item_of(document)["returnable"] is True
    response = ask(aws, RETURN_ONE)
    assert response.status_code == 201, response.body
    assert response.json_body["status"] == "approved"  # the default policy's auto-approval

    place(aws, "1002")  # an order placed now is judged by the new version
    ship(aws, "1002")
    error = error_of(ask(aws, RETURN_ONE, "1002"), 422, "not_allowed", "items[0].sku")
    assert error["reason"] == "non_returnable"


def test_a_sku_not_in_the_order_is_refused_with_its_field(aws):
    shipped_order(aws)
    body = {**RETURN_ONE, "items": [{"sku": "MUG-1", "quantity": 1}, {"sku": "TEAPOT-9", "quantity": 1}]}

    error = error_of(ask(aws, body), 422, "not_allowed", "items[1].sku")
    assert error["reason"] == "not_in_order"
    error_of(ask(aws, {**RETURN_ONE, "items": [{"sku": "TEAPOT-9", "quantity": 1}]}), 422, "not_allowed",
             "items[0].sku")
    assert stored_returns(aws) == []


def test_a_resolution_the_policy_does_not_offer_is_refused(aws):
    publish(aws, policy(resolutions=["refund", "store_credit"], auto_approve=True))
    shipped_order(aws)
    assert item_of(returns_of(aws).json_body)["resolutions"] == ["refund", "store_credit"]

    error = error_of(ask(aws, {**RETURN_ONE, "resolution": "exchange"}), 422, "not_allowed",
                     "items[0].resolution")
    assert error["reason"] == "resolution_not_offered"
    per_item = {**RETURN_ONE, "items": [{"sku": "MUG-1", "quantity": 1, "resolution": "exchange"}]}
    error_of(ask(aws, per_item), 422, "not_allowed", "items[0].resolution")
    assert stored_returns(aws) == []
    assert ask(aws, {**RETURN_ONE, "resolution": "store_credit"}).status_code == 201


def test_a_cancelled_order_has_nothing_to_return(aws):
    from postpurchase.orders.events import OrderCancelled

    shipped_order(aws)
    cancelled = OrderCancelled(event_id="cancel-1", merchant_id=MERCHANT, source="api", received_at=aws.clock.now(),
                               order_id=ORDER, cancelled_at=aws.clock.now(), reason="customer")
    aws.send("OrderEventsQueue", cancelled.model_dump_json())
    aws.pump.drain()

    error = error_of(ask(aws, RETURN_ONE), 422, "not_allowed", "order_id")

    assert error["reason"] == "order_cancelled"
    assert stored_returns(aws) == []


# ------------------------------------------------------------------------------ 6. customer access


def _confirmation_token(aws) -> str:
    [confirmation] = [m for m in aws.sent_emails() if "order_confirmation" in str(m["X-Postpurchase-Message"])]
    url = re.search(r"https://shop\.test/pages/\S+", text_of(confirmation)).group(0)
    assert urlsplit(url).path == f"/pages/{MERCHANT}/orders/{ORDER}"
    return parse_qs(urlsplit(url).query)["token"][0]


def test_customer_with_the_emailed_link_sees_and_requests_returns(aws):
    shipped_order(aws)
    aws.pump.drain()  # the confirmation email, with the order page link
    secret = _confirmation_token(aws)
    query = f"?merchant={MERCHANT}&token={secret}"

    listed = returns_of(aws, headers=CUSTOMER, query=query)
    assert listed.status_code == 200, listed.body
    assert item_of(listed.json_body)["returnable_quantity"] == 2

    created = ask(aws, RETURN_ONE, headers=CUSTOMER, query=query)
    assert created.status_code == 201, created.body
    assert created.json_body["history"][0]["actor"] == {"kind": "customer", "id": "link"}

    by_header = {**CUSTOMER, "X-Order-Token": secret}
    single = aws.client.get(f"/v1/orders/{ORDER}/returns/{created.json_body['rma_id']}?merchant={MERCHANT}",
                            headers=by_header)
    assert single.status_code == 200 and single.json_body == created.json_body
    assert ask(aws, RETURN_ONE, headers=by_header, query=f"?merchant={MERCHANT}").status_code == 201
    assert item_of(returns_of(aws, headers=by_header, query=f"?merchant={MERCHANT}").json_body)[
        "returnable_quantity"] == 0


def test_a_link_opens_its_own_order_only_and_refusals_read_the_same(aws):
    shipped_order(aws, "1001")
    shipped_order(aws, "1002")
    own = returns_of(aws, "1002", headers=CUSTOMER, query=link(aws, "1002"))
    assert own.status_code == 200

    other_order = returns_of(aws, "1002", headers=CUSTOMER, query=link(aws, "1001"))
    garbage = returns_of(aws, "1002", headers=CUSTOMER, query=f"?merchant={MERCHANT}&token=0.not-a-token")
    other_merchant = returns_of(aws, "1002", headers=CUSTOMER,
                                query=f"?merchant={MERCHANT}&token={token(aws, '1002', merchant_id='other-store')}")
    by_header = returns_of(aws, "1002", headers={**CUSTOMER, "X-Order-Token": token(aws, "1001")},
                           query=f"?merchant={MERCHANT}")
    created = ask(aws, RETURN_ONE, "1002", headers=CUSTOMER, query=link(aws, "1001"))

    error_of(other_order, 401, "unauthorized", "token")
    for refused in (garbage, other_merchant, by_header, created):
        assert (refused.status_code, refused.json_body) == (401, other_order.json_body)
    assert stored_returns(aws) == []

    # An RMA of order 1002 is not reachable through order 1001's link.
    rma_id = ask(aws, RETURN_ONE, "1002").json_body["rma_id"]
    error_of(aws.client.get(f"/v1/orders/1001/returns/{rma_id}{link(aws, '1001')}", headers=CUSTOMER), 404,
             "not_found", "rma_id")
    error_of(step(aws, rma_id, {"action": "cancel"}, "1001", headers=CUSTOMER, query=link(aws, "1001")), 404,
             "not_found", "rma_id")
    assert stored_returns(aws)[0]["status"] == "approved"


def test_an_expired_link_is_refused(aws):
    shipped_order(aws)
    expires = aws.clock.now() + timedelta(hours=1)
    query = link(aws, expires_at=expires)
    assert returns_of(aws, headers=CUSTOMER, query=query).status_code == 200

    aws.clock.set(expires)

    error_of(returns_of(aws, headers=CUSTOMER, query=query), 401, "unauthorized", "token")
    error_of(ask(aws, RETURN_ONE, headers=CUSTOMER, query=query), 401, "unauthorized", "token")


def test_without_key_link_or_email_nothing_is_shown(aws):
    shipped_order(aws)
    error_of(returns_of(aws, headers=CUSTOMER, query=f"?merchant={MERCHANT}"), 401, "unauthorized", "token")
    error_of(returns_of(aws, headers=CUSTOMER), 400, "validation_error", "merchant")
    error_of(returns_of(aws, headers={"Authorization": "Bearer wrong"}), 401, "unauthorized", "Authorization")


def test_customer_requests_with_order_number_and_email(aws):
    shipped_order(aws, order_number="#A-77")
    body = {**RETURN_ONE, "email": "  Ayse.Yilmaz@Example.com "}

    created = ask(aws, body, "A-77", headers=CUSTOMER, query=f"?merchant={MERCHANT}")

    assert created.status_code == 201, created.body
    rma = created.json_body
    assert rma["order_id"] == ORDER  # the path held the order number; the RMA is on the order
    assert rma["history"][0]["actor"] == {"kind": "customer", "id": "email"}
    assert "email" not in json.dumps(rma["lines"])
    assert returns_of(aws).json_body["returns"] == [rma]


def test_wrong_email_and_unknown_order_number_answer_alike(aws):
    shipped_order(aws, order_number="#A-77")
    query = f"?merchant={MERCHANT}"

    wrong_email = ask(aws, {**RETURN_ONE, "email": "someone@example.com"}, "A-77", headers=CUSTOMER, query=query)
    unknown = ask(aws, {**RETURN_ONE, "email": CUSTOMER_EMAIL}, "A-78", headers=CUSTOMER, query=query)
    the_id = ask(aws, {**RETURN_ONE, "email": CUSTOMER_EMAIL}, ORDER, headers=CUSTOMER, query=query)

    error_of(wrong_email, 404, "not_found")
    assert "field" not in wrong_email.json_body["error"]
    assert (unknown.status_code, unknown.json_body) == (404, wrong_email.json_body)
    assert (the_id.status_code, the_id.json_body) == (404, wrong_email.json_body)
    assert stored_returns(aws) == []

    lookups = [aws.client.post("/v1/order-access", headers=CUSTOMER, body=aws.encode(
        {"merchant": MERCHANT, "order_number": number, "email": email}))
        for number, email in (("A-77", "someone@example.com"), ("A-78", CUSTOMER_EMAIL))]
    error_of(lookups[0], 404, "not_found")
    assert (lookups[1].status_code, lookups[1].json_body) == (404, lookups[0].json_body)


def test_order_lookup_gives_a_token_that_opens_the_order(aws):
    shipped_order(aws, order_number="#A-77")

    response = aws.client.post("/v1/order-access", headers=CUSTOMER, body=aws.encode(
        {"merchant": MERCHANT, "order_number": "#a-77", "email": CUSTOMER_EMAIL}))

    assert response.status_code == 200, response.body
    found = response.json_body
    assert found["order_id"] == ORDER
    assert datetime.fromisoformat(found["expires_at"]) == aws.clock.now() + timedelta(days=1)
    assert found["order_page_url"].startswith(f"https://shop.test/pages/{MERCHANT}/orders/{ORDER}?token=")
    headers = {**CUSTOMER, "X-Order-Token": found["token"]}
    listed = returns_of(aws, headers=headers, query=f"?merchant={MERCHANT}")
    assert listed.status_code == 200 and item_of(listed.json_body)["returnable_quantity"] == 2
    page_token = parse_qs(urlsplit(found["order_page_url"]).query)["token"][0]
    assert returns_of(aws, headers=CUSTOMER, query=f"?merchant={MERCHANT}&token={page_token}").status_code == 200

    aws.clock.advance(timedelta(days=1))
    error_of(returns_of(aws, headers=headers, query=f"?merchant={MERCHANT}"), 401, "unauthorized", "token")


def test_order_lookups_are_rate_limited_per_order_number(aws):
    shipped_order(aws, order_number="#A-77")

    def lookup(email: str):
        return aws.client.post("/v1/order-access", headers=CUSTOMER, body=aws.encode(
            {"merchant": MERCHANT, "order_number": "A-77", "email": email}))

    for attempt in range(10):
        error_of(lookup(f"guess{attempt}@example.com"), 404, "not_found")

    limited = lookup(CUSTOMER_EMAIL)  # the right email, but the 11th try within the hour
    error_of(limited, 429, "too_many_attempts")
    by_email = ask(aws, {**RETURN_ONE, "email": CUSTOMER_EMAIL}, "A-77", headers=CUSTOMER,
                   query=f"?merchant={MERCHANT}")
    error_of(by_email, 429, "too_many_attempts")

    aws.clock.advance(timedelta(hours=1))
    assert lookup(CUSTOMER_EMAIL).status_code == 200


def test_another_merchants_key_neither_sees_nor_creates_returns(aws, other_store):
    shipped_order(aws)
    assert ask(aws, RETURN_ONE).status_code == 201
    rma_id = stored_returns(aws)[0]["rma_id"]

    error_of(returns_of(aws, headers=aws.auth(other_store)), 404, "not_found")
    error_of(aws.client.get(f"/v1/orders/{ORDER}/returns/{rma_id}", headers=aws.auth(other_store)), 404,
             "not_found")
    error_of(ask(aws, RETURN_ONE, headers=aws.auth(other_store)), 404, "not_found")
    error_of(step(aws, rma_id, {"action": "cancel"}, headers=aws.auth(other_store)), 404, "not_found")
    error_of(returns_of(aws, headers=CUSTOMER, query=f"?merchant=other-store&token={token(aws)}"), 401,
             "unauthorized")
    [stored] = stored_returns(aws)
    assert stored["status"] == "approved" and units_in([stored]) == 1


# ------------------------------------------------------------------------------ 7. merchant steps


def test_merchant_steps_a_return_to_a_partial_refund(aws):
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ALL).json_body["rma_id"]

    labelled = step(aws, rma_id, LABEL)
    assert labelled.status_code == 200 and labelled.json_body["status"] == "label_issued"
    assert labelled.json_body["label"] == {k: v for k, v in LABEL.items() if k != "action"}
    assert step(aws, rma_id, {"action": "receive"}).json_body["status"] == "received"
    inspected = step(aws, rma_id, {"action": "inspect",
                                   "lines": [{"sku": "MUG-1", "accepted_quantity": 1, "note": "one chipped"}]})
    assert inspected.status_code == 200, inspected.body
    assert (inspected.json_body["status"], inspected.json_body["inspection_outcome"]) == (
        "inspected", "partially_accepted")

    # One of two mugs at 12.50 was accepted: 12.50 is the most that can be refunded.
    too_much = step(aws, rma_id, {"action": "resolve", "resolution": {"kind": "refund", "amount": "12.51"}})
    error_of(too_much, 400, "validation_error", "resolution.amount")
    other_currency = step(aws, rma_id, {"action": "resolve",
                                        "resolution": {"kind": "refund", "amount": "10.00", "currency": "EUR"}})
    error_of(other_currency, 400, "validation_error", "resolution.currency")

    resolved = step(aws, rma_id, {"action": "resolve", "resolution": {"kind": "refund", "amount": "12.50"}})

    assert resolved.status_code == 200, resolved.body
    rma = resolved.json_body
    assert rma["status"] == "resolved"
    assert rma["resolution"] == {"kind": "refund", "amount": "12.50", "currency": "USD"}
    assert [t["command"] for t in rma["history"]] == ["request", "approve", "issue_label", "receive", "inspect",
                                                      "resolve"]
    assert all(t["actor"] == {"kind": "merchant", "id": "merchant"} for t in rma["history"][2:])
    assert rma["history"][-1]["data"]["refundable"] == "12.50"
    other_amount = step(aws, rma_id, {"action": "resolve", "resolution": {"kind": "refund", "amount": "10.00"}})
    error_of(other_amount, 422, "not_allowed", "status")  # not a retry of the refund: another one
    assert step(aws, rma_id, {"action": "close"}).json_body["status"] == "closed"
    # The units stay returned after the return closes.
    assert item_of(returns_of(aws).json_body)["returnable_quantity"] == 0


def test_illegal_steps_are_refused(aws):
    publish(aws, policy())
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ONE).json_body["rma_id"]

    error_of(step(aws, rma_id, {"action": "receive"}), 422, "not_allowed", "status")  # not approved yet
    assert step(aws, rma_id, {"action": "reject", "reason": "Outside our conditions"}).status_code == 200

    for command in ({"action": "receive"}, {"action": "approve"}, LABEL, {"action": "cancel"}):
        error_of(step(aws, rma_id, command), 422, "not_allowed", "status")
    error_of(step(aws, "R-NOSUCHRMA2", {"action": "receive"}), 404, "not_found", "rma_id")
    error_of(step(aws, rma_id, {"action": "teleport"}), 400, "validation_error", "action")
    history = returns_of(aws).json_body["returns"][0]["history"]
    assert [t["command"] for t in history] == ["request", "reject"]


def test_customer_may_cancel_but_not_approve(aws):
    publish(aws, policy())
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ONE, headers=CUSTOMER, query=link(aws)).json_body["rma_id"]

    approve = step(aws, rma_id, {"action": "approve"}, headers=CUSTOMER, query=link(aws))
    error = error_of(approve, 422, "not_allowed", "status")
    assert "customer" in error["message"]
    for command in ({"action": "reject", "reason": "no"}, {"action": "receive"}, LABEL):
        error_of(step(aws, rma_id, command, headers=CUSTOMER, query=link(aws)), 422, "not_allowed")
    assert returns_of(aws).json_body["returns"][0]["status"] == "requested"

    cancelled = step(aws, rma_id, {"action": "cancel"}, headers={**CUSTOMER, "X-Order-Token": token(aws)},
                     query=f"?merchant={MERCHANT}")
    assert cancelled.status_code == 200 and cancelled.json_body["status"] == "cancelled"


def test_customer_cannot_cancel_once_the_parcel_is_on_its_way(aws):
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ONE).json_body["rma_id"]
    assert step(aws, rma_id, LABEL).status_code == 200
    assert step(aws, rma_id, {"action": "mark_in_transit"}).status_code == 200

    error_of(step(aws, rma_id, {"action": "cancel"}, headers=CUSTOMER, query=link(aws)), 422, "not_allowed")
    error_of(step(aws, rma_id, {"action": "cancel"}), 422, "not_allowed")  # nor the merchant
    assert returns_of(aws).json_body["returns"][0]["status"] == "in_transit"


def test_replaying_a_step_changes_nothing(aws):
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ONE).json_body["rma_id"]
    first = step(aws, rma_id, LABEL)
    assert first.status_code == 200
    aws.clock.advance(timedelta(minutes=2))

    replay = step(aws, rma_id, LABEL)

    assert replay.status_code == 200 and replay.json_body == first.json_body
    [stored] = stored_returns(aws)
    assert int(stored["revision"]) == 3 and len(json.loads(stored["document"])["history"]) == 3
    aws.pump.drain()
    assert [variant for variant, _, _ in return_emails(aws)] == ["requested", "approved"]


def test_the_same_action_with_other_content_is_not_a_replay(aws):
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ONE).json_body["rma_id"]
    first = step(aws, rma_id, LABEL)
    assert first.status_code == 200
    corrected = {**LABEL, "tracking_number": "1Z999AA10999999999", "label_url": "https://labels.example/new.pdf"}

    error_of(step(aws, rma_id, corrected), 422, "not_allowed", "status")  # a second label: not a retry

    [stored] = stored_returns(aws)
    assert int(stored["revision"]) == 3
    assert json.loads(stored["document"])["label"]["tracking_number"] == LABEL["tracking_number"]
    assert step(aws, rma_id, LABEL).json_body == first.json_body  # the true retry still answers 200


def test_refundable_amount_is_net_of_the_policy_fees(aws):
    publish(aws, policy(auto_approve=True, restocking_fee_percent="10", return_shipping_fee="3.50"))
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ALL).json_body["rma_id"]
    to_resolvable(aws, rma_id, accepted=2)

    # 2 x 12.50 = 25.00, less 10 % restocking (2.50) and 3.50 return shipping: 19.00.
    error_of(step(aws, rma_id, {"action": "resolve", "resolution": {"kind": "refund", "amount": "19.01"}}), 400,
             "validation_error", "resolution.amount")
    resolved = step(aws, rma_id, {"action": "resolve", "resolution": {"kind": "refund", "amount": "19.00"}})
    assert resolved.status_code == 200, resolved.body
    assert resolved.json_body["history"][-1]["data"]["refundable"] == "19.00"


def test_store_credit_needs_its_code_and_is_emailed(aws):
    shipped_order(aws)
    rma_id = ask(aws, {**RETURN_ONE, "resolution": "store_credit"}).json_body["rma_id"]
    to_resolvable(aws, rma_id, accepted=1)
    error_of(step(aws, rma_id, {"action": "resolve", "resolution": {"kind": "store_credit", "amount": "12.50"}}),
             400, "validation_error")

    credited = step(aws, rma_id, {"action": "resolve", "resolution": {"kind": "store_credit", "amount": "12.50",
                                                                      "store_credit_code": "CREDIT-42"}})
    assert credited.status_code == 200, credited.body
    aws.pump.drain()

    assert [variant for variant, _, _ in return_emails(aws)] == ["requested", "approved", "received",
                                                                 "credit_issued"]
    [credit] = [m for m in aws.sent_emails() if "return_credit_issued" in str(m["X-Postpurchase-Message"])]
    assert "CREDIT-42" in text_of(credit)


def test_a_step_without_its_required_field_names_it(aws):
    publish(aws, policy())
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ONE).json_body["rma_id"]

    error_of(step(aws, rma_id, {"action": "reject"}), 400, "validation_error", "reason")
    error_of(step(aws, rma_id, {"action": "reject", "reason": "   "}), 400, "validation_error", "reason")
    assert step(aws, rma_id, {"action": "approve", "ship_within_days": 3}).status_code == 200
    error_of(step(aws, rma_id, {"action": "issue_label", "carrier": "ups"}), 400, "validation_error",
             "tracking_number")
    error_of(step(aws, rma_id, {"action": "issue_drop_off_code"}), 400, "validation_error", "drop_off_code")
    error_of(step(aws, rma_id, {"action": "approve", "ship_within_days": 0}), 400, "validation_error",
             "ship_within_days")

    rma = returns_of(aws).json_body["returns"][0]
    assert [t["command"] for t in rma["history"]] == ["request", "approve"]
    assert datetime.fromisoformat(rma["expires_at"]) == aws.clock.now() + timedelta(days=3)


def test_resolve_checks_the_amount_and_nothing_accepted_closes(aws):
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ALL).json_body["rma_id"]
    to_resolvable(aws, rma_id, accepted=0)

    refund = step(aws, rma_id, {"action": "resolve", "resolution": {"kind": "refund", "amount": "0.00"}})
    error_of(refund, 422, "not_allowed", "status")
    error_of(step(aws, rma_id, {"action": "resolve"}), 400, "validation_error", "resolution")
    closed = step(aws, rma_id, {"action": "close"})
    assert closed.status_code == 200 and closed.json_body["status"] == "closed"


# ------------------------------------------------------------------------------ 8. notices


def test_one_email_per_step_in_the_customers_language(aws):
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ALL).json_body["rma_id"]
    aws.pump.drain()
    to_resolvable(aws, rma_id, accepted=2)
    aws.pump.drain()
    resolved = step(aws, rma_id, {"action": "resolve", "resolution": {"kind": "refund", "amount": "25.00"}})
    assert resolved.status_code == 200, resolved.body
    aws.pump.drain()

    sent = return_emails(aws)
    assert [(variant, rma) for variant, rma, _ in sent] == [
        ("requested", rma_id), ("approved", rma_id), ("received", rma_id), ("refunded", rma_id)]
    assert {variant: subject for variant, _, subject in sent} == {
        variant: SUBJECTS_TR[variant] for variant in ("requested", "approved", "received", "refunded")}
    messages = {str(m["X-Postpurchase-Message"]).rsplit("/", 1)[1].split("#")[0]: m for m in aws.sent_emails()}
    assert all(str(m["To"]) == CUSTOMER_EMAIL for m in messages.values())
    approved = text_of(messages["return_approved"])
    assert LABEL["tracking_number"] in approved and LABEL["label_url"] in approved
    assert "$25,00" in text_of(messages["return_refunded"])  # the amount, formatted for tr-TR

    # Every ReturnChanged again (a redelivery, a replayed batch): nothing is sent twice.
    history = len(resolved.json_body["history"])
    republish(aws, rma_id, 0, history)
    for revision in range(1, history):
        republish(aws, rma_id, revision, revision + 1)
    assert step(aws, rma_id, {"action": "resolve", "resolution": {"kind": "refund", "amount": "25.00"}}
                ).status_code == 200  # a replayed step re-queues its notice
    aws.pump.drain()

    assert len(return_emails(aws)) == 4
    for queue_id in ("ReturnEventsQueue", "ReturnEventsDLQ", "OutboundEmailQueue", "OutboundEmailDLQ"):
        assert aws.queue_depth(queue_id) == 0, queue_id


def test_a_rejection_is_emailed_with_its_reason(aws):
    publish(aws, policy())
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ONE, headers=CUSTOMER, query=link(aws)).json_body["rma_id"]
    aws.pump.drain()
    assert step(aws, rma_id, {"action": "reject", "reason": "Kullanılmış ürün"}).status_code == 200
    aws.pump.drain()
    republish(aws, rma_id, 0, 2)
    aws.pump.drain()

    sent = return_emails(aws)
    assert [(variant, subject) for variant, _, subject in sent] == [
        ("requested", SUBJECTS_TR["requested"]), ("rejected", SUBJECTS_TR["rejected"])]
    [rejection] = [m for m in aws.sent_emails() if "return_rejected" in str(m["X-Postpurchase-Message"])]
    assert "Kullanılmış ürün" in text_of(rejection)


def test_approval_without_a_promised_label_is_emailed_at_once(aws):
    document = policy(auto_approve=True)
    document["logistics"]["label_provided"] = False
    publish(aws, document)
    shipped_order(aws)

    rma_id = ask(aws, RETURN_ONE).json_body["rma_id"]
    aws.pump.drain()

    # Requested and approved in one breath: one email, with the instructions.
    assert [(variant, rma) for variant, rma, _ in return_emails(aws)] == [("approved", rma_id)]


def test_instructions_issued_after_the_approval_email_reach_the_customer(aws):
    command, secret = {"action": "issue_drop_off_code", "drop_off_code": "DROP-7QX2"}, "DROP-7QX2"
    document = policy(auto_approve=True)
    document["logistics"]["label_provided"] = False
    publish(aws, document)
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ONE).json_body["rma_id"]
    aws.pump.drain()
    assert [variant for variant, _, _ in return_emails(aws)] == ["approved"]

    issued = step(aws, rma_id, command)
    assert issued.status_code == 200 and issued.json_body["status"] == "label_issued"
    aws.pump.drain()

    # The customer needs the code (or label) to send the parcel back: some email must carry it.
    assert any(secret in text_of(m) for m in aws.sent_emails())


# ------------------------------------------------------------------------------ 9. hand-off


def _resolve(aws, amount: str = "25.00") -> str:
    shipped_order(aws)
    rma_id = ask(aws, RETURN_ALL).json_body["rma_id"]
    to_resolvable(aws, rma_id, accepted=2)
    aws.pump.drain()  # the notices of the steps before
    response = step(aws, rma_id, {"action": "resolve", "resolution": {"kind": "refund", "amount": amount}})
    assert response.status_code == 200, response.body
    return rma_id


def test_a_resolved_return_is_posted_signed_to_the_merchant(aws, receiver):
    from postpurchase.returns.handoff import verify_signature

    secret = configure_webhook(aws, receiver.url)
    assert secret.startswith("whsec_")
    rma_id = _resolve(aws)

    aws.pump.drain()

    [(headers, body)] = receiver.requests
    assert headers["content-type"] == "application/json"
    assert verify_signature(secret, headers["x-postpurchase-signature"], body, aws.clock.now())
    assert not verify_signature("whsec_wrong", headers["x-postpurchase-signature"], body, aws.clock.now())
    assert not verify_signature(secret, headers["x-postpurchase-signature"], body + b" ", aws.clock.now())
    assert headers["x-postpurchase-delivery"] == f"{rma_id}:6"
    event = json.loads(body)
    assert (event["type"], event["rma_id"], event["order_id"], event["resolution"], event["amount"],
            event["currency"]) == ("ReturnResolved", rma_id, ORDER, "refund", "25.00", "USD")
    assert event["lines"] == [{"sku": "MUG-1", "quantity_requested": 2, "quantity_accepted": 2,
                               "reason": "changed_mind", "unit_price": "12.50"}]
    assert (event["origin"], event["refund_already_issued"], event["customer_email"]) == ("api", False,
                                                                                          CUSTOMER_EMAIL)
    assert aws.queue_depth("ReturnEventsDLQ") == 0


def test_a_failing_merchant_endpoint_is_retried_until_it_answers(aws, receiver):
    from postpurchase.returns.handoff import verify_signature

    secret = configure_webhook(aws, receiver.url)
    receiver.status = 500
    _resolve(aws)
    assert aws.pump_queue("ReturnEventsQueue") == 1  # the ReturnChanged: queues the delivery
    assert aws.pump_queue("ReturnEventsQueue") == 1  # the delivery: answered 500

    assert len(receiver.requests) == 1
    assert aws.queue_depth("ReturnEventsQueue") == 1  # re-published for a retry
    [message] = [json.loads(body) for body in _peek(aws, "ReturnEventsQueue")]
    assert message["type"] == "DeliverReturnWebhook"
    assert message["attempt"] == 1 and message["first_attempt_at"] is not None

    receiver.status = 200
    aws.clock.advance(timedelta(minutes=10))
    aws.pump.drain()

    assert len(receiver.requests) == 2
    (first_headers, first_body), (headers, body) = receiver.requests
    assert body == first_body and headers["x-postpurchase-delivery"] == first_headers["x-postpurchase-delivery"]
    assert verify_signature(secret, headers["x-postpurchase-signature"], body, aws.clock.now())
    assert aws.queue_depth("ReturnEventsQueue") == 0 and aws.queue_depth("ReturnEventsDLQ") == 0

    # The same delivery redelivered by SQS after it was answered: the delivered marker holds it.
    aws.send("ReturnEventsQueue", message)
    aws.pump.drain()
    assert len(receiver.requests) == 2


def _peek(aws, queue_id: str) -> list[str]:
    """The bodies of a queue's visible messages, left on the queue."""
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=aws.refs[queue_id], MaxNumberOfMessages=10,
                                   WaitTimeSeconds=0).get("Messages", [])
    for message in messages:
        sqs.change_message_visibility(QueueUrl=aws.refs[queue_id], ReceiptHandle=message["ReceiptHandle"],
                                      VisibilityTimeout=0)
    return [message["Body"] for message in messages]


def test_webhook_urls_must_be_https_unless_the_deployment_allows_http(aws):
    plain = aws.client.put("/v1/settings/webhooks", headers=aws.auth(),
                           body=aws.encode({"returns_url": "http://merchant.example/hooks"}))
    error_of(plain, 400, "validation_error", "returns_url")
    with_credentials = aws.client.put("/v1/settings/webhooks", headers=aws.auth(),
                                      body=aws.encode({"returns_url": "https://user:pw@merchant.example/h"}))
    error_of(with_credentials, 400, "validation_error", "returns_url")
    unauthenticated = aws.client.put("/v1/settings/webhooks", headers=CUSTOMER,
                                     body=aws.encode({"returns_url": "https://merchant.example/hooks"}))
    error_of(unauthenticated, 401, "unauthorized")

    first = configure_webhook(aws, "https://merchant.example/hooks")
    second = configure_webhook(aws, "https://merchant.example/hooks")
    assert first != second  # a fresh secret on every PUT


def _event_queue(aws) -> str:
    """An SQS queue receiving every postpurchase.returns event from the deployment's bus."""
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="merchant-automation")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = aws.refs["EventBus"]
    events.put_rule(Name="returns-to-sqs", EventBusName=bus,
                    EventPattern=json.dumps({"source": ["postpurchase.returns"]}))
    events.put_targets(Rule="returns-to-sqs", EventBusName=bus, Targets=[{"Id": "automation", "Arn": queue_arn}])
    return queue_url


def _events(aws, queue_url: str) -> list[dict]:
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_return_resolved_reaches_eventbridge_rules(aws):
    queue_url = _event_queue(aws)
    rma_id = _resolve(aws, amount="20.00")

    aws.pump.drain()

    [event] = _events(aws, queue_url)
    assert (event["source"], event["detail-type"]) == ("postpurchase.returns", "ReturnResolved")
    detail = event["detail"]
    assert (detail["rma_id"], detail["order_id"], detail["amount"], detail["currency"], detail["resolution"]) == (
        rma_id, ORDER, "20.00", "USD", "refund")
    assert detail["event_id"] == f"{rma_id}:6"
    # Only resolutions are announced: the steps before it published nothing. No webhook is
    # configured: nothing was queued for one, nothing failed.
    assert _events(aws, queue_url) == []
    assert aws.queue_depth("ReturnEventsQueue") == 0 and aws.queue_depth("ReturnEventsDLQ") == 0


# ------------------------------------------------------------------------------ 10. Shopify

SHOPIFY_ORDER = "820982911946154508"
SHOPIFY_RMA = "shopify-13750386841"


def _shopify_rma(aws) -> dict:
    listed = returns_of(aws, SHOPIFY_ORDER)
    assert listed.status_code == 200, listed.body
    [rma] = [r for r in listed.json_body["returns"] if r["rma_id"] == SHOPIFY_RMA]
    return rma


def test_a_return_made_in_the_shopify_admin_is_followed_to_its_refund(aws, receiver):
    from postpurchase.storefronts.shopify import SUPPORTED_TOPICS

    assert {"returns/request", "returns/approve", "refunds/create"} <= SUPPORTED_TOPICS
    configure_webhook(aws, receiver.url)
    queue_url = _event_queue(aws)
    assert aws.shopify("orders/create", aws.encode(aws.shopify_order()), "wh-order").status_code == 200
    aws.pump.drain()
    request_body = aws.encode(aws.storefront_json("shopify/returns_request.json"))

    assert aws.shopify("returns/request", request_body, "wh-return-1").status_code == 200
    aws.pump.drain()

    rma = _shopify_rma(aws)
    assert rma["status"] == "requested"  # the merchant approves in their admin, not our policy
    assert rma["history"][0]["actor"] == {"kind": "merchant", "id": "shopify"}
    assert {(line["sku"], line["quantity"]) for line in rma["lines"]} == {("KHV-FNCN-KRM", 1),
                                                                         ("v44917330264217", 1)}
    assert rma["lines"][0]["reason"] == "damaged"

    assert aws.shopify("returns/approve", aws.encode(aws.storefront_json("shopify/returns_approve.json")),
                       "wh-return-2").status_code == 200
    aws.pump.drain()
    assert _shopify_rma(aws)["status"] == "approved"

    for command in (LABEL, {"action": "receive"}):
        assert step(aws, SHOPIFY_RMA, command, SHOPIFY_ORDER).status_code == 200
    aws.pump.drain()
    refund = aws.storefront_json("shopify/refunds_create.json")
    refund["created_at"] = refund["processed_at"] = aws.clock.now().isoformat()
    refund_body = aws.encode(refund)

    assert aws.shopify("refunds/create", refund_body, "wh-refund").status_code == 200
    aws.pump.drain()

    resolved = _shopify_rma(aws)
    assert resolved["status"] == "resolved"
    assert resolved["resolution"] == {"kind": "refund", "amount": "572.72", "currency": "TRY"}
    assert resolved["history"][-1]["data"]["recorded_elsewhere"] is True
    assert receiver.requests == []  # the storefront already paid: no refund webhook to the merchant
    [event] = _events(aws, queue_url)
    assert (event["detail"]["rma_id"], event["detail"]["refund_already_issued"], event["detail"]["origin"]) == (
        SHOPIFY_RMA, True, "shopify")
    sent = [variant for variant, rma_id, _ in return_emails(aws) if rma_id == SHOPIFY_RMA]
    assert sent == ["requested", "approved", "received", "refunded"]

    # Shopify delivers the same webhooks again: nothing changes.
    before = stored_returns(aws)
    for topic, body, webhook_id in (("returns/request", request_body, "wh-return-1"),
                                    ("refunds/create", refund_body, "wh-refund")):
        assert aws.shopify(topic, body, webhook_id).status_code == 200
    assert aws.queue_depth("OrderEventsQueue") == 0  # recognised by its webhook id: nothing queued
    aws.pump.drain()
    assert stored_returns(aws) == before
    assert len(return_emails(aws)) == 4 and receiver.requests == [] and _events(aws, queue_url) == []


def test_a_return_created_approved_in_the_shopify_admin_is_recorded_approved(aws):
    assert aws.shopify("orders/create", aws.encode(aws.shopify_order()), "wh-order").status_code == 200
    aws.pump.drain()
    approve = aws.encode(aws.storefront_json("shopify/returns_approve.json"))

    assert aws.shopify("returns/approve", approve, "wh-approve").status_code == 200
    aws.pump.drain()

    rma = _shopify_rma(aws)
    assert [t["command"] for t in rma["history"]] == ["request", "approve"]
    assert aws.shopify("returns/approve", approve, "wh-approve-again").status_code == 200  # a new delivery
    assert aws.shopify("returns/request", aws.encode(aws.storefront_json("shopify/returns_request.json")),
                       "wh-late-request").status_code == 200  # out of order
    aws.pump.drain()
    assert _shopify_rma(aws) == rma
    assert aws.queue_depth("OrderEventsDLQ") == 0


def test_a_return_declined_in_the_shopify_admin_is_rejected_with_its_note(aws):
    assert aws.shopify("orders/create", aws.encode(aws.shopify_order()), "wh-order").status_code == 200
    assert aws.shopify("returns/request", aws.encode(aws.storefront_json("shopify/returns_request.json")),
                       "wh-request").status_code == 200
    aws.pump.drain()
    decline = aws.storefront_json("shopify/returns_decline.json")  # names the return only, not the order

    assert aws.shopify("returns/decline", aws.encode(decline), "wh-decline").status_code == 200
    aws.pump.drain()

    rma = _shopify_rma(aws)
    assert rma["status"] == "rejected"
    assert rma["rejection_reason"] == decline["decline"]["note"]
    assert [variant for variant, rma_id, _ in return_emails(aws) if rma_id == SHOPIFY_RMA] == ["requested",
                                                                                                "rejected"]
    assert units_in(stored_returns(aws), "KHV-FNCN-KRM") == 0  # its units are free again
    assert aws.queue_depth("OrderEventsDLQ") == 0


def test_a_shopify_return_for_more_than_was_bought_is_not_recorded(aws):
    assert aws.shopify("orders/create", aws.encode(aws.shopify_order()), "wh-order").status_code == 200
    aws.pump.drain()
    request = aws.storefront_json("shopify/returns_request.json")
    request["return_line_items"][1]["quantity"] = 2  # the second line was bought once

    assert aws.shopify("returns/request", aws.encode(request), "wh-return-1").status_code == 200
    aws.pump.drain()

    assert returns_of(aws, SHOPIFY_ORDER).json_body["returns"] == []
    assert aws.queue_depth("OrderEventsDLQ") == 0
