"""template.yaml checked like code: cfn-lint, the SAM transform, our own rules, route parity.

The custom rules follow aws-samples/aws-serverless-ecommerce-platform's
shared/lint/rules/custom_rules.py in spirit: a queue without a DLQ, a DLQ without an alarm,
an SQS source without partial batch failures, a function without a log-group retention or
an IAM statement on Resource "*" is a failing test, not a review comment.
"""
from __future__ import annotations

import ast
import copy
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from infra import template as tpl
from infra.template import (
    REPO_ROOT,
    TEMPLATE_PATH,
    SqsConsumer,
    UnresolvableError,
    api_routes,
    function_environment,
    function_properties,
    global_environment,
    load_template,
    loads,
    queues,
    resolve,
    resolve_environment,
    resources,
    sqs_consumers,
    tables,
)

LAYER_PYTHON = REPO_ROOT / "layers" / "common" / "python"
if str(LAYER_PYTHON) not in sys.path:
    sys.path.insert(0, str(LAYER_PYTHON))

REGION = "us-east-1"
# Routes the Chalice app serves; the template must declare exactly these (no greedy proxy).
EXPECTED_ROUTES = {
    ("POST", "/v1/orders"),
    ("GET", "/v1/orders/{order_id}"),
    ("POST", "/v1/orders/{order_id}/shipments"),
    ("POST", "/webhooks/shopify/{merchant_id}"),
    ("POST", "/webhooks/woocommerce/{merchant_id}"),
    ("GET", "/v1/orders/{order_id}/tracking"),
    ("GET", "/v1/orders/{order_id}/insert.pdf"),
    ("POST", "/v1/inserts/batches"),
    ("GET", "/v1/inserts/batches/{batch_id}"),
    ("POST", "/webhooks/easypost/{merchant_id}"),
    ("POST", "/webhooks/aftership/{merchant_id}"),
    ("GET", "/openapi.json"),
    ("GET", "/v1/returns/policy"),
    ("PUT", "/v1/returns/policy"),
    ("GET", "/v1/orders/{order_id}/returns"),
    ("POST", "/v1/orders/{order_id}/returns"),
    ("GET", "/v1/orders/{order_id}/returns/{rma_id}"),
    ("POST", "/v1/orders/{order_id}/returns/{rma_id}/transitions"),
    ("POST", "/v1/order-access"),
    ("PUT", "/v1/settings/webhooks"),
    ("GET", "/v1/coupons/{code}"),
    ("POST", "/v1/coupons/{code}/redeem"),
    ("PUT", "/v1/settings/referrals"),
    ("GET", "/v1/referrals"),
    ("POST", "/v1/referrals/{referral_id}/decision"),
    ("GET", "/v1/customers/{customer_id}/referral"),
    ("GET", "/v1/customers/{customer_id}/loyalty"),
    ("POST", "/v1/customers/{customer_id}/loyalty/redemptions"),
    ("GET", "/v1/settings/loyalty"),
    ("PUT", "/v1/settings/loyalty"),
    ("GET", "/v1/support/faq"),
    ("PUT", "/v1/support/faq"),
    ("POST", "/v1/support/messages"),
    ("GET", "/v1/support/conversations"),
    ("GET", "/v1/support/conversations/{conversation_id}"),
    ("POST", "/v1/support/conversations/{conversation_id}/replies"),
    ("POST", "/v1/support/conversations/{conversation_id}/status"),
    ("POST", "/pages/{merchant_id}/orders/{order_id}/messages"),
    ("GET", "/v1/support/metrics"),
    ("GET", "/pages/{merchant_id}/csat/{token}"),
    ("PUT", "/v1/catalog"),
    ("GET", "/v1/catalog"),
    ("GET", "/v1/customers/{customer_id}/recommendations"),
    ("PUT", "/v1/settings/recommendations"),
    ("GET", "/v1/settings/recommendations"),
    ("GET", "/pages/{merchant_id}/orders/{order_id}"),
    ("POST", "/pages/{merchant_id}/orders/{order_id}/returns"),
    ("POST", "/pages/{merchant_id}/orders/{order_id}/returns/{rma_id}/cancel"),
    ("GET", "/pages/{merchant_id}/lookup"),
    ("POST", "/pages/{merchant_id}/lookup"),
    ("POST", "/pages/{merchant_id}/lookup/messages"),
    ("GET", "/pages/{merchant_id}/preferences"),
    ("POST", "/pages/{merchant_id}/preferences"),
    ("POST", "/v1/feedback/{token}"),
    ("GET", "/v1/feedback"),
    ("GET", "/pages/{merchant_id}/feedback/{token}"),
    ("POST", "/pages/{merchant_id}/feedback/{token}"),
    ("GET", "/v1/settings/messaging"),
    ("PUT", "/v1/settings/messaging"),
    ("POST", "/v1/campaigns"),
    ("GET", "/v1/campaigns/{campaign_id}"),
    ("GET", "/pages/{merchant_id}/unsubscribe/{token}"),
    ("POST", "/pages/{merchant_id}/unsubscribe/{token}"),
    ("GET", "/console/{merchant_id}"),
    ("GET", "/console/{merchant_id}/signin"),
    ("POST", "/console/{merchant_id}/signin"),
    ("POST", "/console/{merchant_id}/signout"),
    ("GET", "/console/{merchant_id}/returns"),
    ("GET", "/console/{merchant_id}/shipments"),
    ("GET", "/console/{merchant_id}/analytics"),
    ("GET", "/console/{merchant_id}/returns/{order_id}/{rma_id}"),
    ("POST", "/console/{merchant_id}/returns/{order_id}/{rma_id}"),
    ("GET", "/console/{merchant_id}/messages"),
    ("GET", "/console/{merchant_id}/settings"),
    ("GET", "/console/{merchant_id}/settings/{section}"),
    ("POST", "/console/{merchant_id}/settings/{section}"),
    ("GET", "/v1/public/{merchant}/products/{sku}/reviews"),
    ("GET", "/v1/public/{merchant}/products/{sku}/reviews/summary"),
    ("GET", "/v1/public/{merchant}/products/{sku}/reviews/jsonld"),
    ("GET", "/v1/reviews/moderation"),
    ("POST", "/v1/reviews/{review_id}/publish"),
    ("POST", "/v1/reviews/{review_id}/hide"),
    ("PUT", "/v1/reviews/{review_id}/reply"),
    ("POST", "/v1/feedback/{token}/photos"),
    ("POST", "/v1/feedback/{token}/photos/{upload_id}"),
    ("GET", "/pages/{merchant_id}/feedback/{token}/photos/{upload_id}"),  # S3's photo-upload redirect
    # post-purchase surveys
    ("GET", "/v1/surveys"),
    ("PUT", "/v1/surveys/{survey_id}"),
    ("GET", "/v1/surveys/{survey_id}/results"),
    ("GET", "/pages/{merchant_id}/surveys/{token}"),
    ("POST", "/pages/{merchant_id}/surveys/{token}"),
}
TEST_SECRET = "test-link-signing-secret-0123456789abcdef"
# What the local runtime would pass to resolve(): its own names for the template's resources.
LOCAL_REFS = {
    "Table": "Table",
    "Table.Arn": f"arn:aws:dynamodb:{REGION}:123456789012:table/Table",
    "IdempotencyTable": "IdempotencyTable",
    "OrderEventsQueue": "http://localhost:5000/123456789012/OrderEventsQueue",
    "OrderEventsQueue.Arn": f"arn:aws:sqs:{REGION}:123456789012:OrderEventsQueue",
    "OutboundEmailQueue": "http://localhost:5000/123456789012/OutboundEmailQueue",
    "TrackingQueue": "http://localhost:5000/123456789012/TrackingQueue",
    "ReturnEventsQueue": "http://localhost:5000/123456789012/ReturnEventsQueue",
    "CampaignQueue": "http://localhost:5000/123456789012/CampaignQueue",
    "InsertBatchQueue": "http://localhost:5000/123456789012/InsertBatchQueue",
    "InsertsBucket": "insertsbucket",
    "EventBus": "EventBus",
    "EmailConfigurationSet": "EmailConfigurationSet",
    "Api": "abc123defg",
    "LinkSigningSecret": TEST_SECRET,
    "LinkSigningKeys": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:LinkSigningKeys-AbCdEf",
    "ReviewMediaBucket": "reviewmediabucket",
    "SupportMailBucket": "supportmailbucket",
    "ReviewMediaBucket.Arn": "arn:aws:s3:::reviewmediabucket",
    "ReviewMediaBucket.RegionalDomainName": f"reviewmediabucket.s3.{REGION}.amazonaws.com",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(template, tpl.SERVERLESS_FUNCTION)


# ------------------------------------------------------------------------ cfn-lint and SAM


def _lint_report(matches: list) -> tuple[list, list]:
    errors = [m for m in matches if m.rule.id.startswith("E")]
    others = [m for m in matches if not m.rule.id.startswith("E")]
    for match in others:
        print(f"cfn-lint {match.rule.id}: {match.message} ({match.filename}:{match.linenumber})")
    return errors, others


def test_cfn_lint_reports_no_errors() -> None:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(TEMPLATE_PATH, ManualArgs(regions=[REGION, "eu-west-1"]))
    errors, _ = _lint_report(matches)
    assert not errors, "\n".join(f"{m.rule.id} {m.message} (line {m.linenumber})" for m in errors)


class _NoManagedPolicies:
    """Managed-policy loader for the translator: our Policies are inline, so no IAM lookups."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def transformed(template: dict[str, Any]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform

    sam = copy.deepcopy(template)
    # `sam package` turns local code paths into S3 URIs; the translator only accepts those.
    for logical_id, resource in sam["Resources"].items():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://postpurchase-artifacts/{logical_id}.zip"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", REGION)  # the translator reads the region from boto3
        return transform(sam, {"LinkSigningSecret": TEST_SECRET}, _NoManagedPolicies())


def test_sam_translator_transforms_the_template(transformed: dict[str, Any]) -> None:
    types = {logical_id: r["Type"] for logical_id, r in transformed["Resources"].items()}
    assert "Transform" not in transformed
    for function_id in ("ApiFunction", "OrderEventsFunction", "EmailSenderFunction", "TrackingPollerFunction",
                        "TrackingWorkerFunction", "MessageSchedulerFunction"):
        assert types[function_id] == "AWS::Lambda::Function"
        assert types[f"{function_id}Role"] == "AWS::IAM::Role"
    assert types["Api"] == "AWS::ApiGateway::RestApi"
    permissions = [i for i, t in types.items() if t == "AWS::Lambda::Permission" and i.startswith("ApiFunction")]
    assert len(permissions) == len(EXPECTED_ROUTES)
    mappings = [r["Properties"] for r in transformed["Resources"].values()
                if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert len(mappings) == 7
    assert all(m["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)
    paths = transformed["Resources"]["Api"]["Properties"]["Body"]["paths"]
    assert {(method.upper(), path) for path, methods in paths.items() for method in methods} == EXPECTED_ROUTES


def test_transformed_template_has_no_lint_errors(transformed: dict[str, Any]) -> None:
    """cfn-lint on the SAM file does not see what SAM generates (e.g. a function whose
    environment refers to its own API is a circular dependency only after the transform)."""
    from cfnlint.api import ManualArgs, lint

    errors, _ = _lint_report(lint(json.dumps(transformed), config=ManualArgs(regions=[REGION])))
    assert not errors, "\n".join(f"{m.rule.id} {m.message} {m.path}" for m in errors)


# ------------------------------------------------------------------------ custom rules


def test_every_queue_has_a_dead_letter_queue_in_the_template(template: dict[str, Any]) -> None:
    specs = {q.logical_id: q for q in queues(template)}
    assert specs, "no queues?"
    for queue in specs.values():
        if queue.is_dlq:
            assert queue.dlq_id is None, f"{queue.logical_id}: a DLQ with its own DLQ"
            assert queue.message_retention_period == 1209600, f"{queue.logical_id}: keep DLQ messages 14 days"
            continue
        assert queue.dlq_id in specs, f"{queue.logical_id}: RedrivePolicy must target a queue in the template"
        assert queue.max_receive_count == 5, f"{queue.logical_id}: maxReceiveCount"


def test_every_queue_is_encrypted(template: dict[str, Any]) -> None:
    for logical_id, props in resources(template, tpl.SQS_QUEUE).items():
        assert props.get("SqsManagedSseEnabled") is True or props.get("KmsMasterKeyId"), logical_id


def test_every_dead_letter_queue_has_an_alarm(template: dict[str, Any]) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    for queue in (q for q in queues(template) if q.is_dlq):
        watching = [
            a for a in alarms
            if a.get("Namespace") == "AWS/SQS"
            and a.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue.logical_id, "QueueName"]}}
            in (a.get("Dimensions") or [])
        ]
        assert watching, f"{queue.logical_id} has no ApproximateNumberOfMessagesVisible alarm"
        for alarm in watching:
            assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and float(alarm["Threshold"]) == 0


def test_every_sqs_event_source_reports_batch_item_failures(template: dict[str, Any]) -> None:
    consumers = sqs_consumers(template)
    assert {c.function_id for c in consumers} == {"OrderEventsFunction", "EmailSenderFunction",
                                                  "TrackingWorkerFunction", "ReturnEventsFunction", "SesFeedbackFunction",
                                                  "CampaignFanoutFunction", "InsertBatchesFunction"}
    for consumer in consumers:
        assert consumer.report_batch_item_failures, f"{consumer.function_id}: FunctionResponseTypes"


def test_queue_visibility_timeout_covers_six_consumer_timeouts(template: dict[str, Any]) -> None:
    specs = {q.logical_id: q for q in queues(template)}
    for consumer in sqs_consumers(template):
        queue = specs.get(consumer.queue_id)
        assert queue is not None, f"{consumer.function_id} consumes {consumer.queue_id}, not a queue here"
        assert not queue.is_dlq, f"{consumer.function_id} consumes a dead-letter queue"
        needed = 6 * consumer.timeout + consumer.maximum_batching_window
        assert queue.visibility_timeout >= needed, (
            f"{queue.logical_id}: VisibilityTimeout {queue.visibility_timeout} < 6 x {consumer.function_id} "
            f"Timeout {consumer.timeout} + batching window"
        )


def _log_group_for(template: dict[str, Any], function_id: str) -> dict[str, Any] | None:
    groups = resources(template, "AWS::Logs::LogGroup")
    configured = (function_properties(template, function_id).get("LoggingConfig") or {}).get("LogGroup")
    for logical_id, props in groups.items():
        if props.get("LogGroupName") == {"Fn::Sub": f"/aws/lambda/${{{function_id}}}"}:
            return props
        if configured == {"Ref": logical_id}:
            return props
    return None


def test_every_function_has_a_log_group_with_retention(template: dict[str, Any]) -> None:
    for function_id in _functions(template):
        group = _log_group_for(template, function_id)
        assert group is not None, f"{function_id}: no AWS::Logs::LogGroup /aws/lambda/${{{function_id}}}"
        assert group.get("RetentionInDays") == {"Ref": "LogRetentionDays"}, f"{function_id}: RetentionInDays"


def _statements(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict) and "Statement" in document:
        statements = document["Statement"]
        yield from statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _assert_scoped(statement: dict[str, Any], where: str) -> None:
    resource = statement.get("Resource")
    assert resource is not None, f"{where}: statement without Resource ({statement.get('Sid')})"
    assert "NotResource" not in statement, f"{where}: NotResource"
    assert "*" not in _as_list(resource), f"{where}: Resource '*' ({statement.get('Sid')})"
    for action in _as_list(statement.get("Action")):
        assert isinstance(action, str) and not action.endswith("*"), f"{where}: wildcard action {action!r}"


def test_no_iam_statement_allows_every_resource(template: dict[str, Any], transformed: dict[str, Any]) -> None:
    for function_id, props in _functions(template).items():
        policies = props.get("Policies")
        assert isinstance(policies, list) and policies, f"{function_id}: explicit Policies"
        for policy in policies:
            assert isinstance(policy, dict) and "Statement" in policy, (
                f"{function_id}: inline Statement lists only (no managed or template policies)"
            )
            for statement in _statements(policy):
                _assert_scoped(statement, function_id)
    # What CloudFormation gets, SAM's own additions included (X-Ray and SQS come as AWS
    # managed policies, outside this check).
    for logical_id, resource in transformed["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                for statement in _statements(policy["PolicyDocument"]):
                    _assert_scoped(statement, f"{logical_id}.{policy['PolicyName']}")


def test_required_settings_are_in_the_global_environment(template: dict[str, Any]) -> None:
    from postpurchase.config import Settings

    env = global_environment(template)
    required = {f.alias for f in Settings.model_fields.values() if f.is_required()}
    assert required, "Settings has required fields"
    missing = sorted(required - set(env))
    assert not missing, f"Globals.Function.Environment.Variables lacks {missing}"
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    assert env["POWERTOOLS_SERVICE_NAME"] == "postpurchase"


def test_every_function_environment_is_valid_settings(template: dict[str, Any]) -> None:
    from postpurchase.config import Settings

    for function_id in _functions(template):
        env = resolve_environment(function_environment(template, function_id), LOCAL_REFS, template=template)
        settings = Settings.model_validate({**env, "AWS_REGION": REGION})
        assert settings.table_name == "Table"
        # Only the local runtime lets webhooks reach http:// or loopback (security/outbound.py).
        assert not settings.webhooks_allow_http and not settings.webhooks_allow_loopback, function_id
        assert not {"WEBHOOKS_ALLOW_HTTP", "WEBHOOKS_ALLOW_LOOPBACK"} & set(env), function_id
    # Without a PublicBaseUrl, the workers link to the API's own URL.
    order_events = resolve_environment(function_environment(template, "OrderEventsFunction"), LOCAL_REFS)
    assert order_events["PUBLIC_BASE_URL"] == f"https://abc123defg.execute-api.{REGION}.amazonaws.com/api"


def test_globals_function(template: dict[str, Any]) -> None:
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.11"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Tracing"] == "Active"
    assert function_globals["Layers"] == [{"Ref": "CommonLayer"}]


def _top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def test_every_function_code_and_handler_exist(template: dict[str, Any]) -> None:
    for function_id in _functions(template):
        props = function_properties(template, function_id)
        code_dir = REPO_ROOT / props["CodeUri"]
        assert code_dir.is_dir(), f"{function_id}: CodeUri {props['CodeUri']} is not a directory"
        module, _, attribute = props["Handler"].rpartition(".")
        source = code_dir / (module.replace(".", "/") + ".py")
        assert source.is_file(), f"{function_id}: handler file {source.relative_to(REPO_ROOT)} missing"
        assert attribute in _top_level_names(source), f"{function_id}: {source.name} defines no {attribute!r}"


def test_layer_is_built_by_its_makefile(template: dict[str, Any]) -> None:
    layers = {i: r for i, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::LayerVersion"}
    assert set(layers) == {"CommonLayer"}
    for logical_id, layer in layers.items():
        assert layer["Metadata"]["BuildMethod"] == "makefile"
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
        content = REPO_ROOT / layer["Properties"]["ContentUri"]
        makefile = (content / "Makefile").read_text(encoding="utf-8")
        assert f"\nbuild-{logical_id}:" in makefile
        assert (content / "python" / "postpurchase" / "__init__.py").is_file()


def test_tables_match_the_access_patterns(template: dict[str, Any]) -> None:
    specs = {t.logical_id: t for t in tables(template)}
    table = specs["Table"]
    assert table.billing_mode == "PAY_PER_REQUEST"
    assert table.key_schema == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert table.ttl_attribute == "expires_at"
    assert {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in table.global_secondary_indexes} == {
        f"gsi{n}": [f"gsi{n}pk", f"gsi{n}sk"] for n in range(1, 6)
    }
    # gsi5 (an address -> its messages: the console's search) is read whole, so it projects ALL
    assert {i["IndexName"]: i["Projection"]["ProjectionType"] for i in table.global_secondary_indexes} == {
        "gsi1": "ALL", "gsi2": "KEYS_ONLY", "gsi3": "KEYS_ONLY", "gsi4": "KEYS_ONLY", "gsi5": "ALL"}
    assert all(a["AttributeType"] == "S" for a in table.attribute_definitions)
    props = resources(template, tpl.DYNAMODB_TABLE)["Table"]
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    # Encrypted at rest with the free AWS-owned key: SSEEnabled true would select the
    # AWS-managed KMS key and bill KMS requests.
    assert "SSESpecification" not in props
    idempotency = specs["IdempotencyTable"]
    assert idempotency.key_schema == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert idempotency.ttl_attribute == "expiration"


# ------------------------------------------------------------------------ route parity


def test_api_events_are_one_per_route_without_proxy(template: dict[str, Any]) -> None:
    assert api_routes(template) == EXPECTED_ROUTES
    events = function_properties(template, "ApiFunction")["Events"].values()
    assert all(e["Properties"]["RestApiId"] == {"Ref": "Api"} for e in events)
    assert not any("+}" in e["Properties"]["Path"] for e in events), "greedy paths answer 405 in Chalice"


def test_template_routes_equal_the_chalice_app_routes(template: dict[str, Any], monkeypatch) -> None:
    from postpurchase import config

    api_dir = REPO_ROOT / "functions" / "api"
    env = {
        "TABLE_NAME": "Table",
        "IDEMPOTENCY_TABLE_NAME": "IdempotencyTable",
        "ORDER_EVENTS_QUEUE_URL": LOCAL_REFS["OrderEventsQueue"],
        "OUTBOUND_EMAIL_QUEUE_URL": LOCAL_REFS["OutboundEmailQueue"],
        "TRACKING_QUEUE_URL": LOCAL_REFS["TrackingQueue"],
        "RETURN_EVENTS_QUEUE_URL": LOCAL_REFS["ReturnEventsQueue"],
        "CAMPAIGN_QUEUE_URL": LOCAL_REFS["CampaignQueue"],
        "EVENT_BUS_NAME": "EventBus",
        "SES_CONFIGURATION_SET": "EmailConfigurationSet",
        "LINK_KEYS_SECRET_ARN": LOCAL_REFS["LinkSigningKeys"],
        "MERCHANT_SECRETS_PREFIX": "postpurchase/local/merchants/",
        "PUBLIC_BASE_URL": "http://localhost:8000",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "PostPurchase",
        "POWERTOOLS_SERVICE_NAME": "postpurchase",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(LAYER_PYTHON))
    monkeypatch.syspath_prepend(str(api_dir))
    config.reset()
    try:
        spec = importlib.util.spec_from_file_location("api_app", api_dir / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, "api_app", module)
        spec.loader.exec_module(module)
        chalice_routes = {(method.upper(), path) for path, methods in module.app.routes.items() for method in methods}
    finally:
        config.reset()
    assert api_routes(template) == chalice_routes


# ------------------------------------------------------------------------ infra/template.py

SHORT_FORMS = """
AWSTemplateFormatVersion: 2010-09-09
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  Thing:
    Type: Test::Thing
    Properties:
      A: !Ref Table
      B: !GetAtt Queue.Arn
      C: !GetAtt [Queue, QueueName]
      D: !Sub "${Table}-${AWS::Region}"
      E: !Join ["-", [a, !Ref Table]]
      F: !If [IsProd, 1, 2]
      G: !Select [0, !Split [",", "x,y"]]
      H: !FindInMap [M, K, V]
      I: !GetAtt Db.Endpoint.Address
      J: yes
      K: !Base64 text
"""


def test_short_form_tags_become_long_forms() -> None:
    t = loads(SHORT_FORMS)
    assert t["AWSTemplateFormatVersion"] == "2010-09-09"
    assert t["Conditions"] == {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
    }
    props = t["Resources"]["Thing"]["Properties"]
    assert props == {
        "A": {"Ref": "Table"},
        "B": {"Fn::GetAtt": ["Queue", "Arn"]},
        "C": {"Fn::GetAtt": ["Queue", "QueueName"]},
        "D": {"Fn::Sub": "${Table}-${AWS::Region}"},
        "E": {"Fn::Join": ["-", ["a", {"Ref": "Table"}]]},
        "F": {"Fn::If": ["IsProd", 1, 2]},
        "G": {"Fn::Select": [0, {"Fn::Split": [",", "x,y"]}]},
        "H": {"Fn::FindInMap": ["M", "K", "V"]},
        "I": {"Fn::GetAtt": ["Db", "Endpoint.Address"]},
        "J": "yes",
        "K": {"Fn::Base64": "text"},
    }


def test_real_template_parses_to_long_forms(template: dict[str, Any]) -> None:
    env = global_environment(template)
    assert env["TABLE_NAME"] == {"Ref": "Table"}
    assert env["PUBLIC_BASE_URL"]["Fn::If"][0] == "HasPublicBaseUrl"
    queue = resources(template, tpl.SQS_QUEUE)["OrderEventsQueue"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["OrderEventsDLQ", "Arn"]}


def test_sqs_consumers_view(template: dict[str, Any]) -> None:
    by_function = {c.function_id: c for c in sqs_consumers(template)}
    assert by_function["OrderEventsFunction"] == SqsConsumer(
        function_id="OrderEventsFunction", code_uri="functions/order_events", handler="app.lambda_handler",
        queue_id="OrderEventsQueue", batch_size=10, report_batch_item_failures=True, timeout=15,
        event_id="OrderEvents", maximum_batching_window=1, maximum_concurrency=None,
    )
    email = by_function["EmailSenderFunction"]
    assert (email.queue_id, email.timeout, email.maximum_concurrency) == ("OutboundEmailQueue", 30, 5)
    worker = by_function["TrackingWorkerFunction"]
    assert (worker.queue_id, worker.timeout, worker.maximum_concurrency) == ("TrackingQueue", 30, 10)
    fanout = by_function["CampaignFanoutFunction"]
    assert (fanout.queue_id, fanout.batch_size, fanout.timeout) == ("CampaignQueue", 1, 60)


def test_the_poller_runs_on_a_schedule(template: dict[str, Any]) -> None:
    scheduled = {s.function_id: s for s in tpl.scheduled_functions(template)}
    assert set(scheduled) == {"TrackingPollerFunction", "MessageSchedulerFunction", "ReviewFeedFunction"}
    poller = scheduled["TrackingPollerFunction"]
    assert (poller.function_id, poller.schedule) == ("TrackingPollerFunction", "rate(5 minutes)")
    statements = resources(template, "AWS::Serverless::Function")["TrackingPollerFunction"]["Policies"][0]["Statement"]
    # The poller reads the poll index only: no table Scan, no other index.
    assert {"Fn::Sub": "${Table.Arn}/index/gsi2"} in [s["Resource"] for s in statements]
    assert not any("Scan" in str(s["Action"]) for s in statements)


def test_queues_and_tables_views(template: dict[str, Any]) -> None:
    specs = {q.logical_id: q for q in queues(template)}
    assert specs["OrderEventsQueue"].dlq_id == "OrderEventsDLQ"
    assert specs["OutboundEmailQueue"].dlq_id == "OutboundEmailDLQ"
    assert specs["OrderEventsDLQ"].is_dlq and specs["OrderEventsDLQ"].dlq_id is None
    kwargs = next(t for t in tables(template) if t.logical_id == "Table").create_table_kwargs("local-table")
    assert kwargs["TableName"] == "local-table"
    assert set(kwargs) == {"TableName", "KeySchema", "AttributeDefinitions", "BillingMode", "GlobalSecondaryIndexes"}
    assert all(set(i) <= {"IndexName", "KeySchema", "Projection", "ProvisionedThroughput"}
               for i in kwargs["GlobalSecondaryIndexes"])


def test_function_environment_overrides_globals(template: dict[str, Any]) -> None:
    assert function_environment(template, "OrderEventsFunction") == global_environment(template)
    api_env = function_environment(template, "ApiFunction")
    # The API function adds only its per-merchant rate limit (the other functions have no API calls).
    assert set(api_env) == set(global_environment(template)) | {"MERCHANT_API_RATE_PER_SECOND", "MERCHANT_API_BURST"}
    # The API function cannot refer to its own API (circular dependency).
    assert "Api" not in json.dumps(api_env["PUBLIC_BASE_URL"])


def test_resolve_simple_intrinsics(template: dict[str, Any]) -> None:
    refs = dict(LOCAL_REFS)
    assert resolve({"Ref": "Table"}, refs) == "Table"
    assert resolve("plain", refs) == "plain"
    assert resolve(512, refs) == "512"
    assert resolve(True, refs) == "true"
    assert resolve({"Fn::GetAtt": ["OrderEventsQueue", "Arn"]}, refs) == refs["OrderEventsQueue.Arn"]
    # Arn without an "Id.Arn" entry falls back to the resource's own entry.
    assert resolve({"Fn::GetAtt": ["IdempotencyTable", "Arn"]}, refs) == "IdempotencyTable"
    assert resolve({"Fn::Sub": "${Table.Arn}/index/*"}, refs) == refs["Table.Arn"] + "/index/*"
    assert resolve({"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:x"}, {**refs, "AWS::Region": "eu-west-1"}) \
        == "arn:aws:ses:eu-west-1:x"
    assert resolve({"Fn::Sub": ["${Name}-${!Literal}", {"Name": {"Ref": "Table"}}]}, refs) == "Table-${Literal}"
    assert resolve({"Fn::Join": ["/", ["a", {"Ref": "Table"}]]}, refs) == "a/Table"
    assert resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y"]}]}, refs) == "y"
    # Parameters: refs first, then the template's Default.
    assert resolve({"Ref": "LogRetentionDays"}, refs, template=template) == "30"
    assert resolve({"Ref": "LinkSigningSecret"}, refs, template=template) == TEST_SECRET


def test_resolve_conditions_and_no_value(template: dict[str, Any]) -> None:
    env = global_environment(template)
    with_url = resolve(env["PUBLIC_BASE_URL"], {**LOCAL_REFS, "PublicBaseUrl": "http://localhost:8000"},
                       template=template)
    assert with_url == "http://localhost:8000"
    without = resolve(env["PUBLIC_BASE_URL"], LOCAL_REFS, template=template)
    assert without == f"https://abc123defg.execute-api.{REGION}.amazonaws.com/api"
    assert resolve_environment({"A": {"Ref": "AWS::NoValue"}, "B": "b"}, {}) == {"B": "b"}


def test_resolve_refuses_what_it_cannot_know() -> None:
    with pytest.raises(UnresolvableError, match="Nowhere"):
        resolve({"Ref": "Nowhere"}, {})
    with pytest.raises(UnresolvableError, match="Fn::ImportValue"):
        resolve({"Fn::ImportValue": "x"}, {})
    with pytest.raises(UnresolvableError, match="Queue.QueueName"):
        resolve({"Fn::GetAtt": ["Queue", "QueueName"]}, {"Queue": "url"})


def test_the_message_scheduler_reads_only_the_due_index(template: dict[str, Any]) -> None:
    [scheduler] = [s for s in tpl.scheduled_functions(template) if s.function_id == "MessageSchedulerFunction"]
    assert (scheduler.code_uri, scheduler.schedule) == ("functions/message_scheduler", "rate(5 minutes)")
    statements = resources(template, "AWS::Serverless::Function")["MessageSchedulerFunction"]["Policies"][0]["Statement"]
    queries = [s for s in statements if "dynamodb:Query" in str(s["Action"])]
    assert [q["Resource"] for q in queries] == [{"Fn::Sub": "${Table.Arn}/index/gsi3"}]
    assert not any("Scan" in str(s["Action"]) for s in statements)
    assert "MessageSchedulerFunctionLogGroup" in resources(template, "AWS::Logs::LogGroup")


# The functions that sign or verify customers' links (messaging/links.py, pages, order access).
LINK_SIGNERS = {"ApiFunction", "OrderEventsFunction", "EmailSenderFunction", "TrackingWorkerFunction",
                "ReturnEventsFunction", "InsertBatchesFunction", "SupportInboundFunction"}


def _secretsmanager_grants(template: dict[str, Any]) -> dict[str, list[tuple[list[str], Any]]]:
    """function id -> [(actions, resource)] of every statement granting a secretsmanager action."""
    grants: dict[str, list[tuple[list[str], Any]]] = {}
    for function_id, props in _functions(template).items():
        for policy in props["Policies"]:
            for statement in _statements(policy):
                actions = _as_list(statement["Action"])
                if any(str(action).startswith("secretsmanager:") for action in actions):
                    assert statement["Effect"] == "Allow"
                    grants.setdefault(function_id, []).append((actions, statement["Resource"]))
    return grants


def test_only_the_functions_that_sign_links_read_the_link_keys(template: dict[str, Any]) -> None:
    readers = {function_id: [grant for grant in grants if grant[1] == {"Ref": "LinkSigningKeys"}]
               for function_id, grants in _secretsmanager_grants(template).items()}
    readers = {function_id: grants for function_id, grants in readers.items() if grants}
    assert set(readers) == LINK_SIGNERS
    assert all(found == [(["secretsmanager:GetSecretValue"], {"Ref": "LinkSigningKeys"})] for found in readers.values())
    assert global_environment(template)["LINK_KEYS_SECRET_ARN"] == {"Ref": "LinkSigningKeys"}
    assert "LINK_SIGNING_SECRET" not in global_environment(template)  # the key itself is in no environment


# Who may touch merchants' secrets (security/merchant_secrets.py): the API verifies storefront and
# carrier webhooks and writes the signing secret of PUT /v1/settings/webhooks; the tracking worker
# reads the carrier API key; return events signs the merchant's webhooks. Nobody else.
MERCHANT_SECRET_USERS = {
    "ApiFunction": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:CreateSecret",
                    "secretsmanager:TagResource"],
    "TrackingWorkerFunction": ["secretsmanager:GetSecretValue"],
    "ReturnEventsFunction": ["secretsmanager:GetSecretValue"],
}


def test_merchant_secrets_are_granted_on_the_prefix_only_to_the_functions_that_use_them(
        template: dict[str, Any]) -> None:
    import fnmatch

    merchant_grants = {}
    for function_id, grants in _secretsmanager_grants(template).items():
        others = [grant for grant in grants if grant[1] != {"Ref": "LinkSigningKeys"}]
        if others:
            merchant_grants[function_id] = others
    assert {function_id: [actions for actions, _ in grants] for function_id, grants in merchant_grants.items()} == {
        function_id: [actions] for function_id, actions in MERCHANT_SECRET_USERS.items()}

    prefix = resolve(global_environment(template)["MERCHANT_SECRETS_PREFIX"], LOCAL_REFS, template=template)
    assert prefix == "postpurchase/postpurchase-local/merchants/"  # the stack's own, so stacks do not share
    account = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
    for function_id, [(_, resource)] in merchant_grants.items():
        arn_pattern = resolve(resource, LOCAL_REFS, template=template)
        assert arn_pattern == f"{account}{prefix}*", function_id
        # Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
        assert fnmatch.fnmatchcase(f"{account}{prefix}demo-store-AbCdEf", arn_pattern)
        assert not fnmatch.fnmatchcase(f"{account}postpurchase/another-stack/merchants/demo-store-AbCdEf", arn_pattern)
        assert not fnmatch.fnmatchcase(LOCAL_REFS["LinkSigningKeys"], arn_pattern)


def test_the_link_keys_secret_is_seeded_from_the_old_secret_as_the_legacy_key(template: dict[str, Any]) -> None:
    from datetime import datetime, timezone

    from postpurchase.security.tokens import Keyring

    secret = template["Resources"]["LinkSigningKeys"]
    assert secret["Type"] == "AWS::SecretsManager::Secret" and secret["DeletionPolicy"] == "Retain"
    document = json.loads(resolve(secret["Properties"]["SecretString"], LOCAL_REFS, template=template))
    keys = Keyring.from_document(document, datetime.now(timezone.utc))
    assert keys == Keyring(active="k0", keys={"k0": TEST_SECRET}, legacy="k0")
    import re

    pattern = template["Parameters"]["LinkSigningSecret"]["AllowedPattern"]
    assert re.fullmatch(pattern, TEST_SECRET) and not re.fullmatch(pattern, 'a"b') and not re.fullmatch(pattern, "a\\b")


# ------------------------------------------------------------------------ alarms and API Gateway's answers


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(template, "AWS::CloudWatch::Alarm")


def test_alarm_topic_subscribes_the_alarm_email_only_when_given(template: dict[str, Any]) -> None:
    assert template["Resources"]["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Type"] == "AWS::SNS::Subscription"
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email",
                                          "Endpoint": {"Ref": "AlarmEmail"}}
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    assert template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def test_every_alarm_notifies_the_alarm_topic(template: dict[str, Any]) -> None:
    alarms = _alarms(template)
    assert len(alarms) >= 6 + 4 + 2 * len(_functions(template))
    for logical_id, alarm in alarms.items():
        assert alarm.get("AlarmActions") == [{"Ref": "AlarmTopic"}], logical_id
        assert alarm.get("OKActions") == [{"Ref": "AlarmTopic"}], logical_id
        assert alarm.get("TreatMissingData") == "notBreaching", logical_id


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_an_errors_and_a_throttles_alarm(template: dict[str, Any], metric: str) -> None:
    functions = _functions(template)
    assert len(functions) >= 9
    watched = {}
    for logical_id, alarm in _alarms(template).items():
        if alarm.get("Namespace") == "AWS/Lambda" and alarm.get("MetricName") == metric:
            (dimension,) = alarm["Dimensions"]
            assert dimension["Name"] == "FunctionName", logical_id
            watched[dimension["Value"]["Ref"]] = alarm
    assert set(watched) == set(functions), f"functions without a {metric} alarm: {set(functions) - set(watched)}"
    for function_id, alarm in watched.items():
        assert (alarm["Statistic"], alarm["ComparisonOperator"], float(alarm["Threshold"])) == (
            "Sum", "GreaterThanThreshold", 0.0), function_id


def _api_dimensions(template: dict[str, Any]) -> list[dict[str, Any]]:
    api = template["Resources"]["Api"]["Properties"]
    return [{"Name": "ApiName", "Value": api["Name"]}, {"Name": "Stage", "Value": api["StageName"]}]


def test_the_api_has_a_5xx_and_a_p99_latency_alarm(template: dict[str, Any]) -> None:
    on_api = {a["MetricName"]: a for a in _alarms(template).values()
              if a.get("Namespace") == "AWS/ApiGateway" and a.get("Dimensions") == _api_dimensions(template)}

    assert set(on_api) == {"5XXError", "Latency"}
    errors, latency = on_api["5XXError"], on_api["Latency"]
    assert (errors["Statistic"], errors["ComparisonOperator"]) == ("Sum", "GreaterThanThreshold")
    assert latency["ExtendedStatistic"] == "p99" and "Statistic" not in latency
    assert latency["ComparisonOperator"] == "GreaterThanThreshold"
    api_timeout_ms = template["Resources"]["ApiFunction"]["Properties"]["Timeout"] * 1000
    assert 0 < float(latency["Threshold"]) < api_timeout_ms


def test_ses_bounce_and_complaint_rates_are_alarmed(template: dict[str, Any]) -> None:
    ses = {a["MetricName"]: a for a in _alarms(template).values() if a.get("Namespace") == "AWS/SES"}

    assert set(ses) == {"Reputation.BounceRate", "Reputation.ComplaintRate"}
    assert float(ses["Reputation.BounceRate"]["Threshold"]) == 0.05
    assert float(ses["Reputation.ComplaintRate"]["Threshold"]) == 0.001
    for alarm in ses.values():
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and "Dimensions" not in alarm


def _gateway_responses(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return template["Resources"]["Api"]["Properties"]["GatewayResponses"]


def test_api_gateway_answers_in_our_error_shape(template: dict[str, Any]) -> None:
    from postpurchase import errors

    responses = _gateway_responses(template)
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "UNAUTHORIZED", "ACCESS_DENIED",
            "MISSING_AUTHENTICATION_TOKEN", "REQUEST_TOO_LARGE", "INTEGRATION_TIMEOUT"} <= set(responses)
    our_codes = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and hasattr(cls, "code")}
    for response_type, response in responses.items():
        template_text = response["ResponseTemplates"]["application/json"]
        # API Gateway puts its message in as a JSON string: render the body as it would.
        body = json.loads(template_text.replace("$context.error.messageString", json.dumps("Too Many Requests")))
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, response_type
        assert body["error"]["message"] == "Too Many Requests", response_type
        assert body["error"]["code"] in our_codes | {"forbidden", "internal_error", "timeout",
                                                     "unsupported_media_type"}, response_type
        assert response["ResponseParameters"]["Headers"]["Cache-Control"] == "'no-store'", response_type
    assert responses["THROTTLED"]["StatusCode"] == 429
    assert json.loads(responses["THROTTLED"]["ResponseTemplates"]["application/json"].replace(
        "$context.error.messageString", '"x"'))["error"]["code"] == errors.RateLimited.code
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == 404  # an unknown path


def test_gateway_responses_survive_the_sam_transform(transformed: dict[str, Any], template: dict[str, Any]) -> None:
    generated = {r["Properties"]["ResponseType"]: r["Properties"] for r in transformed["Resources"].values()
                 if r["Type"] == "AWS::ApiGateway::GatewayResponse"}
    if not generated:  # SAM puts them in the API's OpenAPI body instead
        generated = {name: value for name, value in
                     transformed["Resources"]["Api"]["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
                     .items()}
    assert set(generated) == set(_gateway_responses(template))


def test_the_per_merchant_rate_limit_is_configured_on_the_api_function(template: dict[str, Any]) -> None:
    from postpurchase.config import Settings

    variables = function_properties(template, "ApiFunction")["Environment"]["Variables"]
    assert variables["MERCHANT_API_RATE_PER_SECOND"] == {"Ref": "MerchantApiRatePerSecond"}
    assert variables["MERCHANT_API_BURST"] == {"Ref": "MerchantApiBurst"}
    rate = template["Parameters"]["MerchantApiRatePerSecond"]["Default"]
    burst = template["Parameters"]["MerchantApiBurst"]["Default"]
    assert rate > 0 and burst >= rate
    for name in ("MERCHANT_API_RATE_PER_SECOND", "MERCHANT_API_BURST"):
        assert name in {field.alias for field in Settings.model_fields.values()}


def test_the_review_feed_is_built_daily_into_the_public_feeds_prefix(template: dict[str, Any]) -> None:
    [feed] = [s for s in tpl.scheduled_functions(template) if s.function_id == "ReviewFeedFunction"]
    assert (feed.code_uri, feed.schedule) == ("functions/review_feed", "rate(1 day)")
    statements = resources(template, "AWS::Serverless::Function")["ReviewFeedFunction"]["Policies"][0]["Statement"]
    writes = [s for s in statements if "s3:PutObject" in str(s["Action"])]
    assert [w["Resource"] for w in writes] == [{"Fn::Sub": "${ReviewMediaBucket.Arn}/public/feeds/*"}]
    assert not any("Scan" in str(s["Action"]) for s in statements)
    assert "ReviewFeedFunctionLogGroup" in resources(template, "AWS::Logs::LogGroup")
    policy = resources(template, "AWS::S3::BucketPolicy")["ReviewMediaBucketPolicy"]["PolicyDocument"]
    public = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    # Only the cleaned photos and the feeds are readable: uploads/ never is.
    assert [s["Resource"] for s in public] == [{"Fn::Sub": "${ReviewMediaBucket.Arn}/public/*"}]
