"""Issue 17: what a handler module must NOT import at cold start, and the lazy Tracer that makes it so.

Each function's `app` is imported in a fresh interpreter with Lambda's environment (as `make bench`
does: LAMBDA_TASK_ROOT set, so Powertools' Tracer is active); the modules listed here are deferred
to the first invocation. A structural check, not a timing: the times are `make bench`'s.
"""
import json
import os
import subprocess
import sys

import pytest

from infra.bench import LAYER_PATH, function_specs

# Deferred everywhere: the X-Ray SDK (and its botocore patch, which imports botocore.client),
# Powertools' batch utility (asyncio, every batch source's data classes), the email renderer.
DEFERRED = ("aws_xray_sdk", "botocore.client", "aws_lambda_powertools.utilities.batch", "asyncio",
            "aws_lambda_powertools.utilities.data_classes", "jinja2", "babel", "css_inline",
            # config's Settings model (read at the first call, services.settings) and pydantic's plugin
            # loader, which imports importlib.metadata when the first model is built.
            "postpurchase.config", "importlib.metadata")

# Issue 17 item 1, per function: the models and domain modules its app.py imported at module load
# before, now loaded at the first invocation (SqsBatch(body=...) builds the record model at the first
# batch). Every function but the API imports no pydantic at all at cold start; the API keeps
# pydantic's core (postpurchase.validation) but builds no model before its first request.
_MODELS = ("pydantic",)
DEFERRED_BY_FUNCTION = {
    "ApiFunction": ("postpurchase.orders.models", "postpurchase.orders.events", "postpurchase.orders.shipments",
                    "postpurchase.orders.views"),
    "CampaignFanoutFunction": (*_MODELS, "postpurchase.messaging.campaigns", "postpurchase.messaging.campaign_fanout"),
    "EmailSenderFunction": (*_MODELS, "postpurchase.messaging.due", "postpurchase.messaging.requests",
                            "postpurchase.messaging.preferences", "postpurchase.messaging.sending",
                            "postpurchase.analytics.recording"),
    "InsertBatchesFunction": (*_MODELS, "postpurchase.insert.batches", "postpurchase.insert.service"),
    "MessageSchedulerFunction": (*_MODELS, "postpurchase.messaging.due", "postpurchase.storage"),
    "OrderEventsFunction": (*_MODELS, "postpurchase.orders.events", "postpurchase.orders.processing",
                            "postpurchase.orders.reactions", "postpurchase.tracking.messages",
                            "postpurchase.tracking.storefront_status", "postpurchase.messaging.links"),
    "ReturnEventsFunction": (*_MODELS, "postpurchase.returns.messages", "postpurchase.returns.effects",
                             "postpurchase.returns.handoff", "postpurchase.feedback", "postpurchase.surveys",
                             "postpurchase.messaging.links"),
    "ReviewFeedFunction": (*_MODELS, "postpurchase.reviews"),
    "SesFeedbackFunction": (*_MODELS,),
    "SupportInboundFunction": (*_MODELS, "postpurchase.support"),
    "TrackingPollerFunction": (*_MODELS, "postpurchase.tracking.polling", "postpurchase.tracking.messages"),
    "TrackingWorkerFunction": (*_MODELS, "postpurchase.tracking.messages", "postpurchase.tracking.service",
                               "postpurchase.tracking.effects"),
}

_LOADED = r"""
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
print(json.dumps(sorted(sys.modules)))
"""


def _fresh_import(spec) -> set[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **spec.environment}
    done = subprocess.run([sys.executable, "-E", "-s", "-c", _LOADED, str(LAYER_PATH), str(spec.directory)],
                          env=env, cwd=spec.directory, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("spec", function_specs(), ids=lambda spec: spec.function_id)
def test_cold_start_defers_heavy_imports(spec):
    assert spec.environment["LAMBDA_TASK_ROOT"]  # the Tracer would be active
    loaded = _fresh_import(spec)
    assert "app" in loaded
    deferred = DEFERRED + DEFERRED_BY_FUNCTION.get(spec.function_id, ())
    early = sorted(name for name in loaded if any(name == d or name.startswith(d + ".") for d in deferred))
    assert early == [], f"{spec.function_id} imports at cold start: {early}"


_LAZY_TRACER = r"""
import json, sys
sys.path[:0] = [sys.argv[1]]
from postpurchase.observability import tracer

calls = []

@tracer.capture_method
def step(value):
    calls.append(value)
    return value * 2

@tracer.capture_lambda_handler
def handler(event, context):
    if event.get("fail"):
        raise ValueError("poison")
    return {"doubled": step(event["value"])}

report = {"xray_before": "aws_xray_sdk.core" in sys.modules, "name": handler.__name__}

class Context:
    function_name = "f"; memory_limit_in_mb = 128; invoked_function_arn = "arn"; aws_request_id = "r"

report["first"] = handler({"value": 2}, Context())
report["second"] = handler({"value": 5}, Context())
try:
    handler({"fail": True}, Context())
except ValueError as error:
    report["error"] = str(error)
import botocore.client
report["xray_after"] = "aws_xray_sdk.core" in sys.modules
report["botocore_patched"] = hasattr(botocore.client.BaseClient._make_api_call, "__wrapped__")
report["same_tracer"] = tracer.activate() is tracer.activate()
report["calls"] = calls
print(json.dumps(report))
"""


def test_lazy_tracer_builds_powertools_tracer_at_first_call_and_patches_botocore():
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LAMBDA_TASK_ROOT": "/var/task",
           "AWS_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "test", "POWERTOOLS_METRICS_NAMESPACE": "Test",
           "AWS_LAMBDA_FUNCTION_NAME": "f",
           # an unsampled trace: the SDK records nothing and sends nothing to a daemon
           "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"}
    done = subprocess.run([sys.executable, "-E", "-s", "-c", _LAZY_TRACER, str(LAYER_PATH)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["xray_before"] is False
    assert report["name"] == "handler"
    assert report["first"] == {"doubled": 4} and report["second"] == {"doubled": 10}
    assert report["error"] == "poison"
    assert report["calls"] == [2, 5]
    assert report["xray_after"] is True and report["botocore_patched"] is True
    assert report["same_tracer"] is True


_PUBLIC_JSONLD = r"""
import json, sys
from datetime import datetime, timezone
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
from postpurchase import services
from postpurchase.reviews.model import Review
from postpurchase.reviews.summary import Summary

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
review = Review(merchant_id="m", order_id="1", sku="MUG-1", product_title="Mug", rating=4, body="Good", author="",
                submitted_at=NOW, updated_at=NOW, status="published", published_at=NOW)

class Store:
    def jsonld(self, merchant_id, sku, *, limit):
        return Summary({1: 0, 2: 0, 3: 0, 4: 1, 5: 0}), [review]

services.review_store = lambda: Store()
event = {"resource": "/v1/public/{merchant}/products/{sku}/reviews/jsonld", "httpMethod": "GET",
         "path": "/v1/public/m/products/MUG-1/reviews/jsonld", "headers": {}, "multiValueHeaders": {},
         "queryStringParameters": {"locale": "tr-TR"}, "multiValueQueryStringParameters": {"locale": ["tr-TR"]},
         "pathParameters": {"merchant": "m", "sku": "MUG-1"}, "stageVariables": None, "body": None,
         "isBase64Encoded": False,
         "requestContext": {"resourcePath": "/v1/public/{merchant}/products/{sku}/reviews/jsonld", "httpMethod": "GET",
                            "stage": "v1", "requestId": "r", "identity": {"sourceIp": "203.0.113.9"}}}

class Context:
    function_name = "f"; memory_limit_in_mb = 128; invoked_function_arn = "arn"; aws_request_id = "r"

response = app.app(event, Context())
print(json.dumps({"response": response, "modules": sorted(sys.modules)}))
"""


def test_a_public_jsonld_read_does_not_load_the_email_renderer():
    """The JSON-LD names a nameless reviewer "Verified buyer" in the reader's language from the
    gettext catalog alone: serving it must not load Jinja2, Babel or css-inline (issue 16's review)."""
    from postpurchase.messaging import catalogs

    catalogs.compile_catalogs()  # as the build does (a fresh checkout has no .mo; compiling needs Babel)
    spec = next(spec for spec in function_specs() if spec.function_id == "ApiFunction")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **spec.environment}
    done = subprocess.run([sys.executable, "-E", "-s", "-c", _PUBLIC_JSONLD, str(LAYER_PATH), str(spec.directory)],
                          env=env, cwd=spec.directory, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    response = report["response"]
    assert response["statusCode"] == 200, response
    document = json.loads(response["body"])
    assert document["review"][0]["author"]["name"] == "Doğrulanmış alıcı"
    loaded = set(report["modules"])
    early = sorted(name for name in loaded if any(name == d or name.startswith(d + ".")
                                                  for d in ("jinja2", "babel", "css_inline")))
    assert early == [], f"a public JSON-LD read imports {early}"
def test_every_function_names_what_it_defers():
    assert {spec.function_id for spec in function_specs()} <= set(DEFERRED_BY_FUNCTION)


_FIRST_BATCH = r"""
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
report = {"pydantic_at_import": "pydantic" in sys.modules}
model = app.processor.model  # what the first batch builds
report["fields"] = sorted(model.model_fields)
from pydantic import ValidationError
for name, body in (("not_json", "{"), ("empty", "{}")):
    try:
        model.model_validate({"messageId": "m", "body": body})
    except ValidationError as error:
        report[name] = error.errors()[0]["type"]
report["pydantic_after"] = "pydantic" in sys.modules
print(json.dumps(report))
"""


@pytest.mark.parametrize("spec", [spec for spec in function_specs()
                                  if (spec.directory / "app.py").read_text().count("SqsBatch(body=")],
                         ids=lambda spec: spec.function_id)
def test_record_model_is_built_at_the_first_batch(spec):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **spec.environment}
    done = subprocess.run([sys.executable, "-E", "-s", "-c", _FIRST_BATCH, str(LAYER_PATH), str(spec.directory)],
                          env=env, cwd=spec.directory, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["pydantic_at_import"] is False
    assert {"messageId", "body", "attributes"} <= set(report["fields"])
    assert report["not_json"] == "json_invalid"  # the body is parsed as JSON, then validated
    assert report["empty"] in ("missing", "union_tag_not_found", "missing_discriminator")
    assert report["pydantic_after"] is True


_SQS_BATCH = r"""
import json, sys
sys.path[:0] = [sys.argv[1]]
from postpurchase.batch import SqsBatch, process_batch

built = []

def body():
    from typing import Literal
    from pydantic import BaseModel

    class Ping(BaseModel):
        type: Literal["Ping"]
        n: int

    built.append("Ping")
    return Ping

processor = SqsBatch(body=body)
report = {"built_at_construction": list(built), "pydantic_before": "pydantic" in sys.modules}
seen = []

def handler(record):
    if record.body.n < 0:
        raise ValueError("negative")
    seen.append(record.body.n)

def sqs(message_id, body):
    return {"messageId": message_id, "receiptHandle": "r", "body": body, "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": "arn",
            "awsRegion": "us-east-1"}

event = {"Records": [sqs("ok", '{"type": "Ping", "n": 2}'), sqs("poison", '{"type": "Ping", "n": "x"}'),
                     sqs("not-json", "{"), sqs("fails", '{"type": "Ping", "n": -1}'),
                     sqs("ok2", '{"type": "Ping", "n": 3}')]}
report["response"] = process_batch(event, None, processor=processor, record_handler=handler, failure_metric="F")
report["again"] = process_batch({"Records": [sqs("ok3", '{"type": "Ping", "n": 4}')]}, None, processor=processor,
                                record_handler=handler, failure_metric="F")
report["built"] = built
report["seen"] = seen
print(json.dumps(report))
"""


def test_sqs_batch_builds_its_record_model_once_at_the_first_batch_and_reports_partial_failures():
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "AWS_REGION": "us-east-1",
           "POWERTOOLS_SERVICE_NAME": "test", "POWERTOOLS_METRICS_NAMESPACE": "Test"}
    done = subprocess.run([sys.executable, "-E", "-s", "-c", _SQS_BATCH, str(LAYER_PATH)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["built_at_construction"] == [] and report["pydantic_before"] is False
    assert report["built"] == ["Ping"]  # once, for both batches
    assert report["seen"] == [2, 3, 4]
    failed = sorted(item["itemIdentifier"] for item in report["response"]["batchItemFailures"])
    assert failed == ["fails", "not-json", "poison"]
    assert report["again"] == {"batchItemFailures": []}
