"""Integration fixtures: the real handlers against in-process moto, resources from template.yaml.

`aws` builds a fresh AWS (moto's in-process mock) per test: the template's table, queues
(with redrive) and SES configuration set, the functions' resolved environment, the seeded
`demo-store` merchant, the three handler modules, a Chalice test client, a QueuePump that
delivers SQS messages the way Lambda does, and a simulated clock.
"""
from __future__ import annotations

import base64
import email
import functools
import email.policy
import hashlib
import hmac
import json
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Iterable, Iterator

import pytest
from moto import mock_aws

from infra.local import moto_speedups
from infra.local.runtime import LAYER_PATH, REPO_ROOT, load_function_module, reset_process_caches

moto_speedups.install()  # the same answers from moto, with less work (infra/local/moto_speedups.py)

if str(LAYER_PATH) not in sys.path:
    sys.path.insert(0, str(LAYER_PATH))

REGION = "us-east-1"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
LINK_SECRET = "integration-test-link-signing-secret-0123456789abcdef"
PUBLIC_BASE_URL = "https://shop.test"
STOREFRONTS = REPO_ROOT / "events" / "storefronts"

_POWERTOOLS_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Test",
    "POWERTOOLS_SERVICE_NAME": "test",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


# ------------------------------------------------------------------------------ payloads


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def api_order(order_id: str = "1001", placed_at: datetime = NOW, **fields: Any) -> dict[str, Any]:
    """events/storefronts/api/order.json with a new order id, placed at `placed_at` (default: now)."""
    order = json.loads((STOREFRONTS / "api" / "order.json").read_text(encoding="utf-8"))
    order["order_id"] = order_id
    order["placed_at"] = iso(placed_at)
    order.update(fields)
    return order


def storefront_json(path: str) -> dict[str, Any]:
    return json.loads((STOREFRONTS / path).read_text(encoding="utf-8"))


def shopify_order(when: datetime = NOW, **fields: Any) -> dict[str, Any]:
    order = storefront_json("shopify/orders_create.json")
    order["created_at"] = when.isoformat()
    order.update(fields)
    return order


def woocommerce_order(path: str = "woocommerce/order_created.json", when: datetime = NOW,
                      **fields: Any) -> dict[str, Any]:
    order = storefront_json(path)
    order["date_created_gmt"] = when.strftime("%Y-%m-%dT%H:%M:%S")
    order["date_modified_gmt"] = when.strftime("%Y-%m-%dT%H:%M:%S")
    order.update(fields)
    return order


def encode(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# ------------------------------------------------------------------------------ fixture


@dataclass
class Aws:
    refs: dict[str, str]
    template: dict[str, Any]
    credentials: Any
    clock: Any
    api: Any  # functions/api/app.py
    order_events: Any  # functions/order_events/app.py
    email_sender: Any  # functions/email_sender/app.py
    tracking_worker: Any  # functions/tracking_worker/app.py
    client: Any  # chalice.test.TestHTTPClient
    pump: Any  # infra.local.pump.QueuePump
    consumers: dict[str, Any] = field(default_factory=dict)  # queue id -> Consumer

    # Payload helpers and constants, reachable from tests without importing conftest.
    now = NOW
    link_secret = LINK_SECRET  # seeds the keyring secret as key k0 (and the legacy format's key)

    @property
    def link_keys(self):
        """The keyring the functions read (from the template's LinkSigningKeys secret, in moto)."""
        from postpurchase.services import link_keys

        return link_keys()
    public_base_url = PUBLIC_BASE_URL
    api_order = staticmethod(api_order)
    shopify_order = staticmethod(shopify_order)
    woocommerce_order = staticmethod(woocommerce_order)
    storefront_json = staticmethod(storefront_json)
    encode = staticmethod(encode)
    sign = staticmethod(sign)

    # --- HTTP ----------------------------------------------------------------------------

    def auth(self, api_key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key or self.credentials.api_key}",
                "Content-Type": "application/json"}

    def post_order(self, order: dict | bytes, api_key: str | None = None):
        body = order if isinstance(order, bytes) else encode(order)
        return self.client.post("/v1/orders", headers=self.auth(api_key), body=body)

    def get_order(self, order_id: str, api_key: str | None = None):
        return self.client.get(f"/v1/orders/{order_id}", headers=self.auth(api_key))

    def post_shipment(self, order_id: str, shipment: dict, api_key: str | None = None):
        return self.client.post(f"/v1/orders/{order_id}/shipments", headers=self.auth(api_key),
                                body=encode(shipment))

    def shopify(self, topic: str | None, body: bytes, webhook_id: str | None = "wh-1", *,
                secret: str | None = None, merchant_id: str | None = None, signature: str | None = None,
                lowercase: bool = False, omit: Iterable[str] = (), event_id: str | None = None,
                shop_domain: str | None = None, api_version: str | None = None):
        headers = {"Content-Type": "application/json",
                   "X-Shopify-Hmac-Sha256": signature if signature is not None
                   else sign(body, secret or self.credentials.shopify_secret),
                   "X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Event-Id": event_id,
                   "X-Shopify-Shop-Domain": shop_domain or self.credentials.shopify_shop_domain,
                   "X-Shopify-API-Version": api_version}
        headers = {k: v for k, v in headers.items() if v is not None and k not in set(omit)}
        if lowercase:
            headers = {k.lower(): v for k, v in headers.items()}
        return self.client.post(f"/webhooks/shopify/{merchant_id or self.credentials.merchant_id}",
                                headers=headers, body=body)

    def woocommerce(self, topic: str, body: bytes, delivery_id: str = "dl-1", *, secret: str | None = None,
                    signature: str | None = None):
        headers = {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic,
                   "X-WC-Webhook-Signature": signature if signature is not None
                   else sign(body, secret or self.credentials.woocommerce_secret),
                   "X-WC-Webhook-Delivery-ID": delivery_id, "X-WC-Webhook-Source": "https://matjar.example/"}
        return self.client.post(f"/webhooks/woocommerce/{self.credentials.merchant_id}", headers=headers, body=body)

    # --- SQS -----------------------------------------------------------------------------

    def sqs_event(self, bodies: Iterable[str | dict], queue_id: str = "OrderEventsQueue") -> dict:
        """A Lambda SQS event of the raw bodies (dicts are JSON-encoded), fresh message ids."""
        from infra.local.pump import sqs_record

        records = []
        for body in bodies:
            text = body if isinstance(body, str) else json.dumps(body)
            message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": uuid.uuid4().hex, "Body": text,
                       "MD5OfBody": hashlib.md5(text.encode()).hexdigest()}
            records.append(sqs_record(message, self.refs[f"{queue_id}.Arn"], REGION))
        return {"Records": records}

    def invoke(self, module: Any, event: dict) -> dict:
        from infra.local.lambda_context import LambdaContext

        return module.lambda_handler(event, LambdaContext(function_name=module.__name__)) or {}

    def failed_ids(self, result: dict) -> list[str]:
        return [item["itemIdentifier"] for item in result.get("batchItemFailures", [])]

    def deliver(self, module: Any, event: dict) -> list[str]:
        """Invoke like Lambda's SQS source; the message ids that stay on the queue (all of them
        when the handler raises, as Powertools does when every record of a batch failed)."""
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

        try:
            return self.failed_ids(self.invoke(module, event))
        except BatchProcessingError:
            return [record["messageId"] for record in event["Records"]]

    def send(self, queue_id: str, body: str | dict) -> str:
        text = body if isinstance(body, str) else json.dumps(body)
        return self._sqs().send_message(QueueUrl=self.refs[queue_id], MessageBody=text)["MessageId"]

    def queue_depth(self, queue_id: str) -> int:
        attributes = self._sqs().get_queue_attributes(
            QueueUrl=self.refs[queue_id],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def take(self, queue_id: str) -> list[str]:
        """Receive and delete every visible message of a queue; their bodies."""
        sqs = self._sqs()
        bodies: list[str] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.refs[queue_id], MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(message["Body"])
                sqs.delete_message(QueueUrl=self.refs[queue_id], ReceiptHandle=message["ReceiptHandle"])

    def pump_queue(self, queue_id: str) -> int:
        """One Lambda-like delivery round of one queue only (the others stay untouched)."""
        from infra.local.pump import QueuePump

        pump = QueuePump([self.consumers[queue_id]], region=REGION, retry_delay_seconds=0)
        return pump.pump_once()

    def _sqs(self):
        return _client("sqs")

    # --- DynamoDB and SES ----------------------------------------------------------------

    def table_items(self, table_id: str = "Table") -> list[dict[str, Any]]:
        table = _table(self.refs[table_id])
        items: list[dict[str, Any]] = []
        response = table.scan()
        items.extend(response["Items"])
        while "LastEvaluatedKey" in response:
            response = table.scan(ExclusiveStartKey=response["LastEvaluatedKey"])
            items.extend(response["Items"])
        return items

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        table = _table(self.refs["Table"])
        return table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")

    def items_of_type(self, kind: str) -> list[dict[str, Any]]:
        return [item for item in self.table_items() if item.get("type") == kind]

    def sent_emails(self) -> list[EmailMessage]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        parsed = []
        for message in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages:
            raw = getattr(message, "raw_data", None)
            if raw is None:
                continue
            raw = raw.encode() if isinstance(raw, str) else raw
            parsed.append(email.message_from_bytes(raw, policy=email.policy.default))
        return parsed


def _client(service: str):
    """The functions' own cached client (postpurchase.adapters.aws: one session per test, since
    every `aws` fixture resets it): a test's helpers no longer build a client per call."""
    from postpurchase.adapters import aws as adapters

    return adapters.client(service)


def _table(name: str):
    from postpurchase.adapters import aws as adapters

    return _dynamodb_resource(adapters.session()).Table(name)


@functools.lru_cache(maxsize=2)
def _dynamodb_resource(session):
    from postpurchase.adapters import aws as adapters

    with adapters.creating:
        return session.resource("dynamodb", region_name=REGION)


@pytest.fixture(scope="session", autouse=True)
def _read_botocore_data_once() -> Iterator[None]:
    """Speed only: every new botocore session re-parses the same JSON (infra/local/botocore_data.py)."""
    from infra.local import botocore_data

    botocore_data.install()
    try:
        yield
    finally:
        botocore_data.uninstall()


@pytest.fixture(scope="session")
def _template() -> dict[str, Any]:
    from infra.template import load_template

    return load_template()


@pytest.fixture
def aws(monkeypatch, _template) -> Iterator[Aws]:
    yield from aws_environment(monkeypatch, _template)


def aws_environment(monkeypatch, _template) -> Iterator[Aws]:
    """The `aws` fixture's body, for fixtures of wider scope (tests/security shares one per module)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SECURITY_TOKEN": "testing", "AWS_SESSION_TOKEN": "testing",
                        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, **_POWERTOOLS_ENV}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name in ("WEBHOOKS_ALLOW_HTTP", "WEBHOOKS_ALLOW_LOOPBACK"):  # as in AWS, whatever ran before
        monkeypatch.delenv(name, raising=False)

    from postpurchase import clock as clock_module
    from postpurchase.clock import SimulatedClock

    # Keeping boto3's default session across tests is safe here (the credentials are always the
    # fake ones above) and saves rebuilding it for every test.
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        from infra.local.pump import Consumer, QueuePump
        from infra.local.resources import function_environment
        from infra.local.seed import seed_demo_store
        from infra.template import sqs_consumers

        template = _template
        refs = _created_resources(template)
        for name, value in function_environment(template, refs, {"LinkSigningSecret": LINK_SECRET,
                                                                "PublicBaseUrl": PUBLIC_BASE_URL}).items():
            monkeypatch.setenv(name, value)
        for name, value in _POWERTOOLS_ENV.items():  # the tests' own, over the template's
            monkeypatch.setenv(name, value)
        # moto's DelaySeconds runs on the wall clock, the sandbox on a simulated one: a webhook
        # retry is re-published visible at once (its attempt count still grows).
        monkeypatch.setenv("WEBHOOK_RETRY_MAX_DELAY_SECONDS", "0")
        reset_process_caches()
        simulated = SimulatedClock(NOW)
        clock_module.use(simulated)
        try:
            credentials = seed_demo_store(NOW)
            api = load_function_module("functions/api", "fn_api")
            consumers: dict[str, Consumer] = {}
            for spec in sqs_consumers(template):
                module = load_function_module(spec.code_uri, f"fn_{Path(spec.code_uri).name}")
                handler = getattr(module, spec.handler.split(".", 1)[1])
                consumers[spec.queue_id] = Consumer(spec.function_id, refs[spec.queue_id],
                                                    refs[f"{spec.queue_id}.Arn"], spec.batch_size, handler,
                                                    spec.timeout)
            pump = QueuePump(list(consumers.values()), region=REGION, retry_delay_seconds=0)

            from chalice.test import Client

            with Client(api.app, project_dir=str(REPO_ROOT / "functions" / "api")) as chalice_client:
                yield Aws(refs=refs, template=template, credentials=credentials, clock=simulated, api=api,
                          order_events=load_function_module("functions/order_events", "fn_order_events"),
                          email_sender=load_function_module("functions/email_sender", "fn_email_sender"),
                          tracking_worker=load_function_module("functions/tracking_worker", "fn_tracking_worker"),
                          client=chalice_client.http, pump=pump, consumers=consumers)
        finally:
            clock_module.reset()
            reset_process_caches()


_RESOURCES: dict[int, tuple[dict[str, str], Any, dict[str, Any]]] = {}  # id(template) -> (refs, moto_snapshot.Snapshot)


def _created_resources(template: dict[str, Any]) -> dict[str, str]:
    """The template's resources in the fresh moto just entered: created by the first test of the
    process, then a new copy of that saved state for each test (infra/local/moto_snapshot.py)."""
    from infra.local import moto_snapshot
    from infra.local.resources import create_resources

    saved = _RESOURCES.get(id(template))
    if saved is not None and saved[2] is template:
        moto_snapshot.restore(saved[1])
        return dict(saved[0])
    refs = create_resources(template, REGION, {"LinkSigningSecret": LINK_SECRET})
    _RESOURCES[id(template)] = (dict(refs), moto_snapshot.take(), template)
    return refs


@pytest.fixture
def other_store(aws: Aws) -> str:
    """A second merchant, `other-store`, with its own API key; returns the key."""
    return add_other_store()


def add_other_store() -> str:
    from postpurchase.messaging.requests import MerchantBranding
    from postpurchase.storage.merchants import DynamoMerchantStore, Merchant, update_secrets

    store = DynamoMerchantStore()
    merchant = Merchant(
        branding=MerchantBranding(merchant_id="other-store", name="Other Store", from_email="orders@other.example"))
    store.save(merchant, NOW)
    update_secrets(merchant, NOW, shopify_secret="other-shopify-secret", woocommerce_secret="other-woo-secret")
    api_key = "other-store-integration-key"
    store.add_api_key("other-store", api_key, NOW)
    return api_key
