"""template.yaml as data: one loader and small typed views for the local runtime and the tests.

template.yaml is the single source of truth for tables, queues, consumers, routes and the
functions' environment; the local runtime builds its moto resources from these views instead
of keeping a second list. Dependency-light on purpose (PyYAML only).

- `load_template()` parses the CloudFormation short forms (`!Ref`, `!GetAtt A.B`, `!Sub`, ...)
  into their long forms (`{"Ref": ...}`, `{"Fn::GetAtt": ["A", "B"]}`, ...).
- `resources`, `api_routes`, `sqs_consumers`, `queues`, `tables`, `global_environment` and
  `function_environment` read the parts the local runtime and the tests need.
- `resolve` turns the simple intrinsic functions used in environment variables into strings,
  given the runtime's own names for the template's resources and parameters.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SQS_QUEUE = "AWS::SQS::Queue"
DYNAMODB_TABLE = "AWS::DynamoDB::Table"

# Lambda's own default when neither the function nor Globals set a Timeout.
LAMBDA_DEFAULT_TIMEOUT = 3
SQS_DEFAULT_VISIBILITY_TIMEOUT = 30
SQS_DEFAULT_BATCH_SIZE = 10

# ---------------------------------------------------------------------------------- loading

# Short form -> long form key. !Ref, !Condition and !GetAtt are handled specially below.
_INTRINSICS = {
    "Base64": "Fn::Base64",
    "Cidr": "Fn::Cidr",
    "FindInMap": "Fn::FindInMap",
    "GetAZs": "Fn::GetAZs",
    "ImportValue": "Fn::ImportValue",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "Sub": "Fn::Sub",
    "Transform": "Fn::Transform",
    "And": "Fn::And",
    "Equals": "Fn::Equals",
    "If": "Fn::If",
    "Not": "Fn::Not",
    "Or": "Fn::Or",
    "Length": "Fn::Length",
    "ToJsonString": "Fn::ToJsonString",
    "ForEach": "Fn::ForEach",
}

_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class TemplateLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation YAML the way CloudFormation does.

    Short-form tags become long-form dicts; dates stay strings (AWSTemplateFormatVersion:
    2010-09-09 is not a date); only true/false are booleans (yes/no/on/off stay strings).
    """


TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
TemplateLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = tag_suffix
    value = _node_value(loader, node)
    if name == "Ref":
        return {"Ref": value}
    if name == "Condition":
        return {"Condition": value}
    if name == "GetAtt":
        if isinstance(value, str):
            resource, _, attribute = value.partition(".")
            if not attribute:
                raise yaml.constructor.ConstructorError(
                    None, None, f"!GetAtt {value!r} needs the form Resource.Attribute", node.start_mark
                )
            return {"Fn::GetAtt": [resource, attribute]}
        return {"Fn::GetAtt": list(value)}
    if name in _INTRINSICS:
        return {_INTRINSICS[name]: value}
    raise yaml.constructor.ConstructorError(None, None, f"unknown CloudFormation tag !{name}", node.start_mark)


TemplateLoader.add_multi_constructor("!", _construct_intrinsic)


def loads(text: str) -> dict[str, Any]:
    """Parse template text (YAML or JSON) into plain dicts with long-form intrinsics."""
    data = yaml.load(text, Loader=TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError("a template must be a mapping at the top level")
    return data


def load_template(path: str | os.PathLike[str] = TEMPLATE_PATH) -> dict[str, Any]:
    """Read template.yaml (or another template) into dicts with long-form intrinsics."""
    return loads(Path(path).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _default_template() -> dict[str, Any]:
    return load_template()


# ---------------------------------------------------------------------------------- views


def resources(t: Mapping[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    """{logical id: Properties} of every resource of one type, in template order."""
    return {
        logical_id: resource.get("Properties") or {}
        for logical_id, resource in (t.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == type_name
    }


def function_properties(t: Mapping[str, Any], function_id: str) -> dict[str, Any]:
    """A Serverless function's Properties with Globals.Function applied (SAM's merge, simplified).

    Scalars and lists: the function's value wins. Maps (Environment.Variables, Tags) are merged
    key by key, the function's keys winning.
    """
    own = resources(t, SERVERLESS_FUNCTION).get(function_id)
    if own is None:
        raise KeyError(f"no {SERVERLESS_FUNCTION} named {function_id!r} in the template")
    merged = dict(_globals_function(t))
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_maps(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge_maps(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and not _is_intrinsic(value):
            out[key] = _merge_maps(out[key], value)
        else:
            out[key] = value
    return out


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in (
        "Ref", "Condition", "Fn::GetAtt", *_INTRINSICS.values()
    )


def _globals_function(t: Mapping[str, Any]) -> dict[str, Any]:
    return ((t.get("Globals") or {}).get("Function")) or {}


def global_environment(t: Mapping[str, Any]) -> dict[str, Any]:
    """The raw Globals.Function.Environment.Variables map (values may be intrinsics)."""
    return dict(((_globals_function(t).get("Environment") or {}).get("Variables")) or {})


def function_environment(t: Mapping[str, Any], function_id: str) -> dict[str, Any]:
    """One function's raw environment: Globals' variables with the function's own on top."""
    env = global_environment(t)
    own = resources(t, SERVERLESS_FUNCTION).get(function_id)
    if own is None:
        raise KeyError(f"no {SERVERLESS_FUNCTION} named {function_id!r} in the template")
    env.update(((own.get("Environment") or {}).get("Variables")) or {})
    return env


def api_routes(t: Mapping[str, Any], function_id: str = "ApiFunction") -> set[tuple[str, str]]:
    """{(METHOD, path)} of one function's `Type: Api` events (ApiFunction's by default)."""
    events = (function_properties(t, function_id).get("Events")) or {}
    return {
        (str(event["Properties"]["Method"]).upper(), str(event["Properties"]["Path"]))
        for event in events.values()
        if isinstance(event, dict) and event.get("Type") == "Api"
    }


@dataclass(frozen=True)
class SqsConsumer:
    function_id: str
    code_uri: str
    handler: str
    queue_id: str
    batch_size: int
    report_batch_item_failures: bool
    timeout: int
    event_id: str = ""
    maximum_batching_window: int = 0
    maximum_concurrency: int | None = None


def _logical_id_of_arn(value: Any, *, where: str) -> str:
    """`!GetAtt X.Arn` -> "X"; anything else is not a resource of this template."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        resource, attribute = value["Fn::GetAtt"]
        if attribute == "Arn":
            return str(resource)
    raise ValueError(f"{where}: expected !GetAtt <Resource>.Arn of a resource in this template, got {value!r}")


def sqs_consumers(t: Mapping[str, Any]) -> list[SqsConsumer]:
    """Every `Type: SQS` event source of every Serverless function."""
    consumers: list[SqsConsumer] = []
    for function_id in resources(t, SERVERLESS_FUNCTION):
        props = function_properties(t, function_id)
        for event_id, event in ((props.get("Events")) or {}).items():
            if not isinstance(event, dict) or event.get("Type") != "SQS":
                continue
            source = event.get("Properties") or {}
            consumers.append(SqsConsumer(
                function_id=function_id,
                code_uri=str(props.get("CodeUri", "")),
                handler=str(props.get("Handler", "")),
                queue_id=_logical_id_of_arn(source.get("Queue"), where=f"{function_id}.Events.{event_id}.Queue"),
                batch_size=int(source.get("BatchSize", SQS_DEFAULT_BATCH_SIZE)),
                report_batch_item_failures="ReportBatchItemFailures" in (source.get("FunctionResponseTypes") or []),
                timeout=int(props.get("Timeout", LAMBDA_DEFAULT_TIMEOUT)),
                event_id=event_id,
                maximum_batching_window=int(source.get("MaximumBatchingWindowInSeconds", 0)),
                maximum_concurrency=(
                    int(source["ScalingConfig"]["MaximumConcurrency"])
                    if (source.get("ScalingConfig") or {}).get("MaximumConcurrency") is not None else None
                ),
            ))
    return consumers


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    visibility_timeout: int
    dlq_id: str | None
    max_receive_count: int | None
    message_retention_period: int | None = None
    is_dlq: bool = False


def queues(t: Mapping[str, Any]) -> list[QueueSpec]:
    """Every SQS queue with its redrive settings; DLQs are the targets of another queue's redrive."""
    raw = resources(t, SQS_QUEUE)
    redrive: dict[str, tuple[str | None, int | None]] = {}
    for logical_id, props in raw.items():
        policy = props.get("RedrivePolicy")
        if policy:
            dlq_id = _logical_id_of_arn(policy.get("deadLetterTargetArn"),
                                        where=f"{logical_id}.RedrivePolicy.deadLetterTargetArn")
            count = policy.get("maxReceiveCount")
            redrive[logical_id] = (dlq_id, int(count) if count is not None else None)
    dlq_ids = {dlq for dlq, _ in redrive.values()}
    # A function invoked asynchronously (EventBridge, S3) parks failed events in its on-failure queue.
    for function_id, props in resources(t, SERVERLESS_FUNCTION).items():
        destination = ((props.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure") or {}
        if destination.get("Type") == "SQS":
            dlq_ids.add(_logical_id_of_arn(destination.get("Destination"),
                                           where=f"{function_id}.EventInvokeConfig.DestinationConfig.OnFailure"))
    return [
        QueueSpec(
            logical_id=logical_id,
            visibility_timeout=int(props.get("VisibilityTimeout", SQS_DEFAULT_VISIBILITY_TIMEOUT)),
            dlq_id=redrive.get(logical_id, (None, None))[0],
            max_receive_count=redrive.get(logical_id, (None, None))[1],
            message_retention_period=(
                int(props["MessageRetentionPeriod"]) if "MessageRetentionPeriod" in props else None
            ),
            is_dlq=logical_id in dlq_ids,
        )
        for logical_id, props in raw.items()
    ]


_GSI_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    billing_mode: str = "PROVISIONED"
    ttl_attribute: str | None = None
    provisioned_throughput: dict[str, int] | None = None

    def create_table_kwargs(self, table_name: str | None = None) -> dict[str, Any]:
        """Keyword arguments for boto3's dynamodb.create_table (TTL is a separate call)."""
        kwargs: dict[str, Any] = {
            "TableName": table_name or self.logical_id,
            "KeySchema": self.key_schema,
            "AttributeDefinitions": self.attribute_definitions,
            "BillingMode": self.billing_mode,
        }
        if self.global_secondary_indexes:
            kwargs["GlobalSecondaryIndexes"] = self.global_secondary_indexes
        if self.billing_mode == "PROVISIONED" and self.provisioned_throughput:
            kwargs["ProvisionedThroughput"] = self.provisioned_throughput
        return kwargs


def tables(t: Mapping[str, Any]) -> list[TableSpec]:
    """Every DynamoDB table, reduced to what create_table needs (plus the TTL attribute)."""
    specs = []
    for logical_id, props in resources(t, DYNAMODB_TABLE).items():
        ttl = props.get("TimeToLiveSpecification") or {}
        specs.append(TableSpec(
            logical_id=logical_id,
            key_schema=[dict(k) for k in props.get("KeySchema", [])],
            attribute_definitions=[dict(a) for a in props.get("AttributeDefinitions", [])],
            global_secondary_indexes=[
                {key: index[key] for key in _GSI_KEYS if key in index}
                for index in props.get("GlobalSecondaryIndexes") or []
            ],
            billing_mode=str(props.get("BillingMode", "PROVISIONED")),
            ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled", False) is True else None,
            provisioned_throughput=props.get("ProvisionedThroughput"),
        ))
    return specs


# ---------------------------------------------------------------------------------- resolving

NO_VALUE = object()  # what {"Ref": "AWS::NoValue"} evaluates to

_PSEUDO_DEFAULTS = {
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "postpurchase-local",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/postpurchase-local/local",
    "AWS::NotificationARNs": [],
}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class UnresolvableError(ValueError):
    """A value uses an intrinsic function or a name this resolver cannot turn into a string."""


def resolve(value: Any, refs: Mapping[str, Any], *, template: Mapping[str, Any] | None = None) -> str:
    """Turn a template value into a string, for the simple cases environment variables use.

    refs maps names to values: logical ids of resources ("Table" -> the local table name,
    "OrderEventsQueue" -> its URL), "Id.Attr" for attributes ("OrderEventsQueue.Arn" -> ARN),
    and parameters ("LinkSigningSecret" -> "..."). `Fn::GetAtt X.Arn` falls back to refs["X"].
    Parameters missing from refs take their Default from the template; pseudo parameters
    (AWS::Region, ...) have local defaults unless given. Fn::If / Fn::FindInMap read the
    template's Conditions / Mappings (template.yaml when `template` is not given).
    """
    result = _evaluate(value, refs, template)
    if result is NO_VALUE:
        raise UnresolvableError("the value is AWS::NoValue")
    return _to_string(result)


def resolve_environment(
    env: Mapping[str, Any], refs: Mapping[str, Any], *, template: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """resolve() every value of an environment map; AWS::NoValue drops the variable."""
    out: dict[str, str] = {}
    for name, value in env.items():
        result = _evaluate(value, refs, template)
        if result is not NO_VALUE:
            out[name] = _to_string(result)
    return out


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list):
        return ",".join(_to_string(v) for v in value)
    raise UnresolvableError(f"cannot turn {value!r} into a string")


def _template_for(template: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return template if template is not None else _default_template()


def _lookup(name: str, refs: Mapping[str, Any], template: Mapping[str, Any] | None) -> Any:
    if name in refs:
        return refs[name]
    if name == "AWS::NoValue":
        return NO_VALUE
    if name == "AWS::Region":
        return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if name in _PSEUDO_DEFAULTS:
        return _PSEUDO_DEFAULTS[name]
    parameter = ((_template_for(template).get("Parameters")) or {}).get(name)
    if isinstance(parameter, dict) and "Default" in parameter:
        return parameter["Default"]
    raise UnresolvableError(f"no value for {name!r}: add it to refs")


def _get_att(resource: str, attribute: str, refs: Mapping[str, Any]) -> Any:
    key = f"{resource}.{attribute}"
    if key in refs:
        return refs[key]
    if attribute == "Arn" and resource in refs:
        return refs[resource]
    raise UnresolvableError(f"no value for Fn::GetAtt {key}: add {key!r} to refs")


def _evaluate(value: Any, refs: Mapping[str, Any], template: Mapping[str, Any] | None) -> Any:
    if isinstance(value, list):
        return [_evaluate(v, refs, template) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise UnresolvableError(f"not an intrinsic function: {value!r}")
    (name, arg), = value.items()
    if name == "Ref":
        return _lookup(str(arg), refs, template)
    if name == "Fn::GetAtt":
        if isinstance(arg, str):
            resource, _, attribute = arg.partition(".")
        else:
            resource, attribute = (str(_evaluate(part, refs, template)) for part in arg)
        return _get_att(resource, attribute, refs)
    if name == "Fn::Sub":
        return _sub(arg, refs, template)
    if name == "Fn::Join":
        delimiter, items = arg
        parts = _evaluate(items, refs, template)
        return str(delimiter).join(_to_string(p) for p in parts if p is not NO_VALUE)
    if name == "Fn::Select":
        index, items = arg
        return _evaluate(items, refs, template)[int(_evaluate(index, refs, template))]
    if name == "Fn::Split":
        delimiter, source = arg
        return _to_string(_evaluate(source, refs, template)).split(str(delimiter))
    if name == "Fn::If":
        condition, if_true, if_false = arg
        chosen = if_true if _condition(str(condition), refs, template) else if_false
        return _evaluate(chosen, refs, template)
    if name == "Fn::FindInMap":
        map_name, top, second = (_to_string(_evaluate(part, refs, template)) for part in arg[:3])
        try:
            return _evaluate(_template_for(template)["Mappings"][map_name][top][second], refs, template)
        except KeyError:
            raise UnresolvableError(f"no mapping {map_name}/{top}/{second}") from None
    if name in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
        return _truth(value, refs, template)
    raise UnresolvableError(f"{name} is not supported by infra.template.resolve")


def _sub(arg: Any, refs: Mapping[str, Any], template: Mapping[str, Any] | None) -> str:
    if isinstance(arg, list):
        text, variables = arg[0], arg[1] if len(arg) > 1 else {}
    else:
        text, variables = arg, {}
    local = {k: _evaluate(v, refs, template) for k, v in (variables or {}).items()}

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression.startswith("!"):  # ${!Literal} -> ${Literal}
            return "${" + expression[1:] + "}"
        expression = expression.strip()
        if expression in local:
            return _to_string(local[expression])
        if "." in expression and not expression.startswith("AWS::"):
            resource, _, attribute = expression.partition(".")
            return _to_string(_get_att(resource, attribute, refs))
        return _to_string(_lookup(expression, refs, template))

    return _SUB_VARIABLE.sub(replace, str(text))


def _condition(name: str, refs: Mapping[str, Any], template: Mapping[str, Any] | None) -> bool:
    conditions = (_template_for(template).get("Conditions")) or {}
    if name not in conditions:
        raise UnresolvableError(f"no condition {name!r} in the template")
    return _truth(conditions[name], refs, template)


def _truth(value: Any, refs: Mapping[str, Any], template: Mapping[str, Any] | None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (name, arg), = value.items()
        if name == "Condition":
            return _condition(str(arg), refs, template)
        if name == "Fn::Equals":
            left, right = (_evaluate(v, refs, template) for v in arg)
            return _to_string(left) == _to_string(right)
        if name == "Fn::Not":
            return not _truth(arg[0], refs, template)
        if name == "Fn::And":
            return all(_truth(v, refs, template) for v in arg)
        if name == "Fn::Or":
            return any(_truth(v, refs, template) for v in arg)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise UnresolvableError(f"not a condition: {value!r}")


@dataclass(frozen=True)
class ScheduledFunction:
    function_id: str
    code_uri: str
    handler: str
    schedule: str  # "rate(5 minutes)" / "cron(...)"
    event_id: str


def scheduled_functions(t: Mapping[str, Any]) -> list[ScheduledFunction]:
    """Functions fired by an EventBridge schedule (moto never fires them: the local runtime does)."""
    found = []
    for function_id, props in resources(t, "AWS::Serverless::Function").items():
        for event_id, event in (props.get("Events") or {}).items():
            if event.get("Type") in ("Schedule", "ScheduleV2"):
                found.append(ScheduledFunction(function_id, props["CodeUri"], props["Handler"],
                                               event["Properties"]["Schedule" if event["Type"] == "Schedule"
                                                                   else "ScheduleExpression"], event_id))
    return found
