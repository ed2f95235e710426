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
            "aws_lambda_powertools.utilities.data_classes", "jinja2", "babel", "css_inline")

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
    early = sorted(name for name in loaded if any(name == d or name.startswith(d + ".") for d in DEFERRED))
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
