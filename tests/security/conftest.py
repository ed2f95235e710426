"""Security suite fixtures: one moto world per module (the integration `aws` fixture's body,
shared), two seeded tenants, and a ledger of attacks.

Every attack is recorded; an accepted one (a 2xx, a 500, an answer outside our error shape,
another tenant's data in the body, something stored) fails its test with the attack's name, and
the run ends with "security: N attacks tried, 0 accepted".
"""
from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import pytest

# The integration conftest is the one definition of the moto world; load it under a name of its
# own (two conftest.py files cannot both be imported as `conftest`).
_INTEGRATION = Path(__file__).resolve().parent.parent / "integration" / "conftest.py"
_spec = importlib.util.spec_from_file_location("integration_conftest", _INTEGRATION)
integration = sys.modules.get("integration_conftest") or importlib.util.module_from_spec(_spec)
if "integration_conftest" not in sys.modules:
    sys.modules["integration_conftest"] = integration
    _spec.loader.exec_module(integration)

_template = integration._template
_read_botocore_data_once = integration._read_botocore_data_once

A, B = "demo-store", "other-store"
A_EMAIL, B_EMAIL = "ayse.yilmaz@example.com", "bob.only@other.example"
A_ORDER, B_ORDER = "1001", "2001"
A_CUSTOMER, B_CUSTOMER = "c-1", "c-b-1"
HOST = "shop.example"
# Fields of a stored item that change on any read (rate limiting, counters): not "stored data".
_VOLATILE_TYPES = {"attempts", "rate_limit", "lookup_attempts"}


# ------------------------------------------------------------------------------ the ledger


@dataclass
class Ledger:
    tried: int = 0
    accepted: list[str] = field(default_factory=list)


LEDGER = Ledger()


def body_text(response) -> str:
    body = response.body
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")


def refusal_problems(response, *, page: bool = False, forbidden: Iterable[str] = (),
                     statuses: Iterable[int] | None = None) -> list[str]:
    """What is wrong with this answer to an attack (empty when it was refused properly)."""
    problems = []
    status = response.status_code
    if statuses is not None:
        if status not in set(statuses):
            problems.append(f"status {status}, expected one of {sorted(set(statuses))}")
    elif not 400 <= status < 500:
        problems.append(f"status {status}")
    text = body_text(response)
    if page:
        if "Traceback" in text or 'File "' in text:
            problems.append("stack trace in the page")
    elif 400 <= status < 500:
        try:
            error = json.loads(text)["error"]
            if not (isinstance(error, dict) and isinstance(error.get("code"), str)
                    and isinstance(error.get("message"), str)):
                problems.append(f"error shape {error!r}")
        except (ValueError, KeyError, TypeError):
            problems.append(f"not our error shape: {text[:200]!r}")
    for marker in forbidden:
        if marker and marker in text:
            problems.append(f"another tenant's data in the answer ({marker!r})")
    return problems


class Attacks:
    """Collects one test's attacks; `verify()` fails the test naming every accepted one."""

    def __init__(self, world: "World"):
        self.world = world
        self.failures: list[str] = []

    def check(self, name: str, response, **expect: Any) -> None:
        LEDGER.tried += 1
        problems = refusal_problems(response, **expect)
        if problems:
            LEDGER.accepted.append(name)
            self.failures.append(f"{name}: {'; '.join(problems)} -- {body_text(response)[:300]!r}")

    def verify(self) -> None:
        assert not self.failures, "accepted attacks:\n" + "\n".join(self.failures)


@pytest.fixture
def attacks(world) -> Iterator[Attacks]:
    """The attacks of one test, and proof that none of them stored anything or queued an email."""
    before = world.snapshot()
    recorder = Attacks(world)
    yield recorder
    after = world.snapshot()
    if after != before:
        LEDGER.accepted.append("stored something")
        changed = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
        recorder.failures.append(f"stored or changed items: {sorted(changed)[:10]}")
    recorder.verify()


# ------------------------------------------------------------------------------ the world


@dataclass
class World:
    aws: Any
    a_key: str
    b_key: str
    ids: dict[str, str]  # A's ids by name (order_id, rma_id, campaign_id, code, ...)
    b_ids: dict[str, str]
    a_token: str  # customer link token of A's order (from POST /v1/order-access)
    b_token: str  # of B's order
    a_token_other: str  # of A's second order, 1002
    feedback_token: str  # of A's rating link for order 1001, MUG-1 (as in the review email)
    unsubscribe_token: str  # of A's customer c-1, campaign mail (as in List-Unsubscribe)

    def snapshot(self) -> dict[tuple[str, str], str]:
        """Every stored item (but the volatile ones) and the depth of the queues that carry work.
        Read from moto's own table and queues, not through Scan and GetQueueAttributes: the same
        items and counts, without moto serialising the whole table twice per test (most of this
        suite's time)."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
        from moto.sqs.models import sqs_backends

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][integration.REGION].get_table(self.aws.refs["Table"])
        items = {}
        for item in table.all_items():
            attributes = item.to_json()["Attributes"]
            if attributes.get("type", {}).get("S") not in _VOLATILE_TYPES:
                items[(attributes["pk"]["S"], attributes["sk"]["S"])] = json.dumps(attributes, sort_keys=True,
                                                                                   default=str)
        queues = sqs_backends[DEFAULT_ACCOUNT_ID][integration.REGION]
        for queue in ("OutboundEmailQueue", "OrderEventsQueue", "ReturnEventsQueue", "TrackingQueue",
                      "CampaignQueue"):
            found = queues.get_queue(self.aws.refs[queue].rsplit("/", 1)[1])
            items[("queue", queue)] = str(found.approximate_number_of_messages
                                          + found.approximate_number_of_messages_not_visible)
        return items


def _seed(aws) -> World:
    a_key = aws.credentials.api_key
    b_key = integration.add_other_store()
    ids: dict[str, dict[str, str]] = {}
    tokens = {}
    for merchant, key, order_id, email, customer in ((A, a_key, A_ORDER, A_EMAIL, A_CUSTOMER),
                                                      (B, b_key, B_ORDER, B_EMAIL, B_CUSTOMER)):
        order = aws.api_order(order_id, email=email)
        order["customer"] = {**order["customer"], "id": customer, "email": email}
        assert aws.post_order(order, api_key=key).status_code == 202
        aws.pump.drain()
        shipped = aws.post_shipment(order_id, {"carrier": "ups", "tracking_number": f"SBX-OK-{order_id}"},
                                    api_key=key)
        assert shipped.status_code == 201, shipped.body
        aws.pump.drain()
        returned = aws.client.post(f"/v1/orders/{order_id}/returns", headers=aws.auth(key),
                                   body=aws.encode({"items": [{"sku": "MUG-1", "quantity": 1}],
                                                    "reason": "damaged", "resolution": "refund"}))
        assert returned.status_code in (200, 201), returned.body
        aws.pump.drain()
        campaign = aws.client.post("/v1/campaigns", headers=aws.auth(key), body=aws.encode({
            "campaign_id": f"camp-{merchant}", "occasion": "valentines_day", "send_on": "2027-02-14",
            "local_hour": 10, "segment": {"categories": ["home"]}, "shop_url": f"https://{merchant}.example/v",
            "offer": {"discount_type": "percent", "value": "15"}}))
        assert campaign.status_code in (200, 201, 202), campaign.body
        access = aws.client.post("/v1/order-access", headers={"Content-Type": "application/json"},
                                 body=aws.encode({"merchant": merchant, "order_number": order_id, "email": email}))
        assert access.status_code == 200, access.body
        tokens[merchant] = access.json_body["token"]
        batch = aws.client.post("/v1/inserts/batches", headers=aws.auth(key), body=aws.encode({"date": "2026-11-20"}))
        assert batch.status_code == 202, batch.body
        conversation = aws.client.post("/v1/support/messages", headers=aws.auth(key), body=aws.encode({
            "email": email, "order_id": order_id, "text": "The mug arrived broken, please help"}))
        assert conversation.status_code == 201, conversation.body
        aws.pump.drain()
        ids[merchant] = {"order_id": order_id, "rma_id": returned.json_body["rma_id"],
                         "campaign_id": f"camp-{merchant}", "customer_id": customer,
                         "code": _coupon(aws, merchant, customer), "referral_id": "ref-unknown",
                         "section": "messaging", "batch_id": batch.json_body["batch_id"],
                         "conversation_id": conversation.json_body["conversation_id"]}
    survey = aws.client.put("/v1/surveys/post-purchase", headers=aws.auth(a_key), body=aws.encode({
        "audience": ["first_order"], "timing": {"channel": "order_page"},
        "questions": [{"id": "nps", "kind": "nps", "text": {"en": "Would you recommend us, Ayşe?"}}]}))
    assert survey.status_code == 201, survey.body
    assert aws.post_order(aws.api_order("1002"), api_key=a_key).status_code == 202
    aws.pump.drain()
    other = aws.client.post("/v1/order-access", headers={"Content-Type": "application/json"},
                            body=aws.encode({"merchant": A, "order_number": "1002", "email": A_EMAIL}))
    assert other.status_code == 200, other.body
    from postpurchase.messaging.links import rating_url, unsubscribe_url

    return World(aws=aws, a_key=a_key, b_key=b_key, ids=ids[A], b_ids=ids[B], a_token=tokens[A],
                 b_token=tokens[B], a_token_other=other.json_body["token"],
                 feedback_token=rating_url(A, A_ORDER, "MUG-1", aws.clock.now()).rsplit("/", 1)[1],
                 unsubscribe_token=unsubscribe_url(A, A_CUSTOMER, "campaign", aws.clock.now()).rsplit("/", 1)[1])


def _coupon(aws, merchant: str, customer: str) -> str:
    from decimal import Decimal

    from postpurchase import services
    from postpurchase.messaging.settings import OfferSpec

    offer = OfferSpec(discount_type="amount", value=Decimal("10"), min_spend=Decimal("50"))
    return services.coupon_issuer().issue(merchant, customer, offer, campaign="sec", ref="1", currency="USD",
                                          now=aws.clock.now()).code


@pytest.fixture(scope="module")
def world(_template) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patch:
        for aws in integration.aws_environment(patch, _template):
            yield _seed(aws)


# ------------------------------------------------------------------------------ the summary


def pytest_sessionfinish(session):
    """Hand the counts to tests/conftest.py's summary (through xdist's controller when run with -n)."""
    counts = [LEDGER.tried, list(LEDGER.accepted)]
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["security_attacks"] = counts
    else:  # added, not set: under xdist the controller has the workers' counts already
        tried, accepted = getattr(session.config, "security_attacks", [0, []])
        session.config.security_attacks = [tried + counts[0], accepted + counts[1]]


# ------------------------------------------------------------------------------ API Gateway events


@dataclass
class GatewayResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes


def gateway(world: World, method: str, resource: str, params: dict[str, str], *, headers: dict | None = None,
            body: bytes | None = None, query: dict[str, str] | None = None) -> GatewayResponse:
    """Invoke the app as API Gateway does, path parameters already URL-decoded (Chalice's local
    server passes them still encoded, so ids with '#', '/' or '%' never reach a view there)."""
    import base64

    from infra.local.lambda_context import LambdaContext

    path = resource
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    event = {
        "resource": resource, "path": path, "httpMethod": method,
        "headers": dict(headers or {}), "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": query, "multiValueQueryStringParameters":
            {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {name: value for name, value in params.items() if "{" + name + "}" in resource} or None,
        "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "path": f"/api{path}", "stage": "api",
                           "domainName": "api.shop.test", "identity": {"sourceIp": "203.0.113.9"},
                           "requestId": "sec", "apiId": "sec", "accountId": "123456789012"},
        "body": base64.b64encode(body).decode() if body is not None else None,
        "isBase64Encoded": body is not None,
    }
    answer = world.aws.api.app(event, LambdaContext(function_name="ApiFunction"))
    raw = answer.get("body") or ""
    data = base64.b64decode(raw) if answer.get("isBase64Encoded") else raw.encode("utf-8", "surrogatepass")
    return GatewayResponse(answer["statusCode"], answer.get("headers") or {}, data)
