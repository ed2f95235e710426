"""The local runtime: moto's server as AWS, resources from template.yaml, the real handlers.

Used by `make local` (serve), `make demo` (scripted, simulated time), the end-to-end tests
and the benchmarks.
"""
from __future__ import annotations

import importlib.util
import logging
import json
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_PATH = REPO_ROOT / "layers" / "common" / "python"
REGION = "us-east-1"
# A development-only signing secret; template.yaml takes the real one as a NoEcho parameter.
LOCAL_LINK_SECRET = "local-development-link-signing-secret"

log = logging.getLogger("infra.local")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_function_module(function_dir: str, module_name: str) -> Any:
    """Import functions/<dir>/app.py under a unique name (every function's file is app.py)."""
    if str(LAYER_PATH) not in sys.path:
        sys.path.insert(0, str(LAYER_PATH))
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = REPO_ROOT / function_dir / "app.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def aws_environment(endpoint_url: str | None) -> dict[str, str]:
    env = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": REGION,
           "AWS_REGION": REGION}
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


def reset_process_caches() -> None:
    """The environment changed: forget settings, clients and adapters built from the old one."""
    if str(LAYER_PATH) not in sys.path:
        sys.path.insert(0, str(LAYER_PATH))
    from postpurchase import config, services
    from postpurchase.adapters import aws
    from postpurchase.orders import intake
    from postpurchase.storage import merchants, orders, policies

    config.reset()
    orders._connection.cache_clear()
    aws.reset()
    services.reset()
    merchants.clear_caches()
    policies.clear_cache()
    intake._idempotent_publish.cache_clear()
    intake._idempotency_config.cache_clear()
    # PynamoDB caches one connection per model class, bound to the endpoint it was built for.
    from postpurchase.storage.table import Record

    models = [Record]
    while models:
        model = models.pop()
        model._connection = None
        models.extend(model.__subclasses__())


class LocalRuntime:
    """Everything but the HTTP server: AWS (moto), resources, seed data, pump, outbox."""

    def __init__(self, *, outbox_dir: Path, public_base_url: str, retry_delay_seconds: int = 0,
                 endpoint_url: str | None = None, log_level: str = "WARNING",
                 notice_debounce_seconds: int = 0, deployed_shards: bool = False,
                 webhook_retry_max_delay_seconds: int | None = None) -> None:
        self.outbox_dir = Path(outbox_dir)
        # The benchmarks measure the template's shard counts; the demo and tests run with fewer.
        self.deployed_shards = deployed_shards
        self.public_base_url = public_base_url
        self.retry_delay_seconds = retry_delay_seconds
        self.endpoint_url = endpoint_url
        self.log_level = log_level
        self.notice_debounce_seconds = notice_debounce_seconds
        # Real seconds: the retry delay of a failed queue message is the local choice, so is a webhook's.
        self.webhook_retry_max_delay_seconds = (retry_delay_seconds if webhook_retry_max_delay_seconds is None
                                                else webhook_retry_max_delay_seconds)
        self.moto_server = None
        self.names: dict[str, str] = {}

    def start(self) -> "LocalRuntime":
        from infra.local.resources import create_resources, function_environment
        from infra.template import load_template

        if self.endpoint_url is None:
            from moto.server import ThreadedMotoServer

            from infra.local import botocore_data, moto_speedups

            moto_speedups.install()
            botocore_data.install()

            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            port = free_port()
            self.moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            self.moto_server.start()
            self.endpoint_url = f"http://127.0.0.1:{port}"
        os.environ.update(aws_environment(self.endpoint_url))
        os.environ.update({"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
                           "POWERTOOLS_LOG_LEVEL": self.log_level, "POWERTOOLS_DEV": "false"})
        self.template = load_template()
        # The keyring secret is seeded from LinkSigningSecret as in a first deploy.
        parameters = {"LinkSigningSecret": os.environ.get("LINK_SIGNING_SECRET", LOCAL_LINK_SECRET)}
        self.names = create_resources(self.template, REGION, parameters)
        os.environ.update(function_environment(self.template, self.names, {
            **parameters,
            "PublicBaseUrl": self.public_base_url,
            # A laptop has no write throughput to spread: two shards still exercise the sharded
            # reads at a fraction of the Queries per run (LOCAL_*_INDEX_SHARDS to change).
            **({} if self.deployed_shards else {
                "DueIndexShards": os.environ.get("LOCAL_DUE_INDEX_SHARDS", "2"),
                "PollIndexShards": os.environ.get("LOCAL_POLL_INDEX_SHARDS", "2")}),
        }))
        # The local runtime keeps its own log level over the template's; SQS delays are real
        # seconds even on simulated time, so the notice debounce is the runtime's choice.
        os.environ["POWERTOOLS_LOG_LEVEL"] = self.log_level
        os.environ["NOTICE_DEBOUNCE_SECONDS"] = str(self.notice_debounce_seconds)
        os.environ["WEBHOOK_RETRY_MAX_DELAY_SECONDS"] = str(self.webhook_retry_max_delay_seconds)
        # Merchant webhooks must be https to a public address in AWS; locally they reach
        # receivers on 127.0.0.1 (the only deployment that sets these two).
        os.environ["WEBHOOKS_ALLOW_HTTP"] = "true"
        os.environ["WEBHOOKS_ALLOW_LOOPBACK"] = "true"
        # The console is served over plain http on localhost: a Secure cookie would never come back.
        os.environ["CONSOLE_COOKIE_SECURE"] = "false"
        # Review photos and feeds are served by moto's S3 (path style) on this machine.
        if "ReviewMediaBucket" in self.names:
            os.environ["REVIEW_MEDIA_BASE_URL"] = f"{self.endpoint_url}/{self.names['ReviewMediaBucket']}"
        # Support mail is addressed {merchant}@ this domain (receive_support_mail below delivers it).
        os.environ["SUPPORT_MAIL_DOMAIN"] = os.environ.get("LOCAL_SUPPORT_MAIL_DOMAIN", "support.localhost")
        reset_process_caches()
        self._tap_event_bus()

        from infra.local.outbox import Outbox
        from infra.local.pump import Consumer, QueuePump
        from infra.local.seed import seed_demo_store
        from infra.template import scheduled_functions, sqs_consumers

        self.credentials = seed_demo_store()
        self.api = load_function_module("functions/api", "fn_api").app
        consumers = []
        for spec in sqs_consumers(self.template):
            module = load_function_module(spec.code_uri, f"fn_{Path(spec.code_uri).name}")
            handler = getattr(module, spec.handler.split(".", 1)[1])
            consumers.append(Consumer(spec.function_id, self.names[spec.queue_id],
                                      self.names[f"{spec.queue_id}.Arn"], spec.batch_size, handler, spec.timeout))
        self.pump = QueuePump(consumers, region=REGION, retry_delay_seconds=self.retry_delay_seconds)
        self.schedules = [(spec, getattr(load_function_module(spec.code_uri, f"fn_{Path(spec.code_uri).name}"),
                                         spec.handler.split(".", 1)[1]))
                          for spec in scheduled_functions(self.template)]
        self.outbox = Outbox(self.outbox_dir, REGION)
        self.support_inbound = load_function_module("functions/support_inbound", "fn_support_inbound").lambda_handler
        return self

    def receive_support_mail(self, raw: bytes, key: str | None = None) -> dict[str, Any]:
        """An email to {merchant}@SUPPORT_MAIL_DOMAIN, as SES's receipt rule stores it (S3, inbound/)
        and EventBridge hands it to support_inbound (moto never does)."""
        import hashlib

        import boto3

        from infra.local.lambda_context import LambdaContext

        key = key or f"inbound/{hashlib.sha256(raw).hexdigest()[:24]}"
        bucket = self.names["SupportMailBucket"]
        boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key=key, Body=raw)
        event = {"version": "0", "id": "local", "detail-type": "Object Created", "source": "aws.s3",
                 "account": "123456789012", "region": REGION, "resources": [f"arn:aws:s3:::{bucket}"],
                 "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": len(raw)}}}
        return self.support_inbound(event, LambdaContext(function_name="SupportInboundFunction"))

    def _tap_event_bus(self) -> None:
        """A local-only rule copying our business events to a queue, so they can be shown
        (what a merchant's own EventBridge rule would receive)."""
        import boto3

        sqs = boto3.client("sqs", region_name=REGION)
        events = boto3.client("events", region_name=REGION)
        url = sqs.create_queue(QueueName="LocalEventTap")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = self.names["EventBus"]
        events.put_rule(Name="local-event-tap", EventBusName=bus,
                        EventPattern=json.dumps({"source": ["postpurchase.returns"]}))
        events.put_targets(Rule="local-event-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
        self.names["LocalEventTap"] = url

    def bus_events(self) -> list[dict[str, Any]]:
        """The business events published since the last call (oldest first)."""
        import boto3

        sqs = boto3.client("sqs", region_name=REGION)
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.names["LocalEventTap"], MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.names["LocalEventTap"], ReceiptHandle=message["ReceiptHandle"])

    def tick(self, only: str | None = None) -> dict[str, Any]:
        """Fire every scheduled function once (or only the one with this logical id), as
        EventBridge would (moto never does)."""
        from infra.local.lambda_context import LambdaContext
        from postpurchase import clock

        results = {}
        for spec, handler in self.schedules:
            if only is not None and spec.function_id != only:
                continue
            event = {"version": "0", "id": "local", "detail-type": "Scheduled Event", "source": "aws.events",
                     "account": "123456789012", "region": REGION, "resources": [], "detail": {},
                     "time": clock.now().isoformat()}
            results[spec.function_id] = handler(event, LambdaContext(function_name=spec.function_id))
        return results

    def settle(self) -> list:
        """Deliver everything queued (and retried) and collect the emails SES accepted."""
        self.pump.drain()
        return self.outbox.collect()

    def queue_depth(self, queue_id: str) -> int:
        import boto3

        attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
            QueueUrl=self.names[queue_id],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def serve_api(self, host: str, port: int) -> threading.Thread:
        from infra.local.api_server import api_server

        # Concurrent storefronts: a deep listen backlog, a thread per connection (api_server.py).
        server = api_server(self.api, host, port)
        self._server = server
        thread = threading.Thread(target=server.serve_forever, name="api", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        server = getattr(self, "_server", None)
        if server is not None:
            server.shutdown()
        if self.moto_server is not None:
            self.moto_server.stop()
