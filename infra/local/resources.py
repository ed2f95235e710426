"""Create the template's table, queues (with redrive), event bus, SES configuration set and
secrets (the link-signing keyring) on an endpoint.

The local runtime and the integration tests build AWS from template.yaml itself, so there is
no second hand-written list of resources to drift from what `sam deploy` creates.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3

from infra.template import UnresolvableError, global_environment, queues, resolve, resolve_environment, resources, tables


def create_resources(template: Mapping[str, Any], region: str,
                     parameters: Mapping[str, str] | None = None) -> dict[str, str]:
    """Returns refs: logical id -> local name or URL, and "<Id>.Arn" for queues and tables.
    `parameters` are the template parameters the resources' own properties use (a secret's
    SecretString: the link keyring is seeded from LinkSigningSecret)."""
    refs: dict[str, str] = {}
    dynamodb = boto3.client("dynamodb", region_name=region)
    for table in tables(template):
        arguments: dict[str, Any] = {"TableName": table.logical_id, "KeySchema": table.key_schema,
                                     "AttributeDefinitions": table.attribute_definitions,
                                     "BillingMode": table.billing_mode}
        if table.global_secondary_indexes:
            arguments["GlobalSecondaryIndexes"] = table.global_secondary_indexes
        description = dynamodb.create_table(**arguments)["TableDescription"]
        if table.ttl_attribute:
            dynamodb.update_time_to_live(TableName=table.logical_id, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": table.ttl_attribute})
        refs[table.logical_id] = table.logical_id
        refs[f"{table.logical_id}.Arn"] = description["TableArn"]

    sqs = boto3.client("sqs", region_name=region)
    # Dead-letter queues first: the others' redrive policies name their ARNs.
    for queue in sorted(queues(template), key=lambda q: q.dlq_id is not None):
        attributes = {"VisibilityTimeout": str(queue.visibility_timeout)}
        if queue.message_retention_period:
            attributes["MessageRetentionPeriod"] = str(queue.message_retention_period)
        if queue.dlq_id:
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": refs[f"{queue.dlq_id}.Arn"],
                                                      "maxReceiveCount": queue.max_receive_count or 5})
        url = sqs.create_queue(QueueName=queue.logical_id, Attributes=attributes)["QueueUrl"]
        refs[queue.logical_id] = url
        refs[f"{queue.logical_id}.Arn"] = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    events = boto3.client("events", region_name=region)
    for logical_id in resources(template, "AWS::Events::EventBus"):
        arn = events.create_event_bus(Name=logical_id)["EventBusArn"]
        refs[logical_id] = logical_id
        refs[f"{logical_id}.Arn"] = arn

    sesv2 = boto3.client("sesv2", region_name=region)
    for logical_id in resources(template, "AWS::SES::ConfigurationSet"):
        sesv2.create_configuration_set(ConfigurationSetName=logical_id)
        refs[logical_id] = logical_id

    s3 = boto3.client("s3", region_name=region)
    for logical_id in resources(template, "AWS::S3::Bucket"):
        name = logical_id.lower()  # bucket names are lowercase
        s3.create_bucket(Bucket=name)
        refs[logical_id] = name
        refs[f"{logical_id}.Arn"] = f"arn:aws:s3:::{name}"

    secretsmanager = boto3.client("secretsmanager", region_name=region)
    for logical_id, properties in resources(template, "AWS::SecretsManager::Secret").items():
        if "SecretString" not in properties:
            raise ValueError(f"{logical_id}: the local runtime only creates secrets with a SecretString")
        value = resolve(properties["SecretString"], {**refs, **(parameters or {})}, template=template)
        refs[logical_id] = secretsmanager.create_secret(Name=logical_id, SecretString=value)["ARN"]
    return refs


def function_environment(template: Mapping[str, Any], refs: Mapping[str, str],
                         parameters: Mapping[str, str]) -> dict[str, str]:
    """The Globals environment every function gets, resolved against the local resources."""
    return resolve_environment(global_environment(template), {**refs, **parameters}, template=template)


def stack_outputs(template: Mapping[str, Any], refs: Mapping[str, str], api_url: str) -> dict[str, str]:
    """The template's Outputs as `sam deploy` would report them, for the local resources: what the
    operator CLI reads (postpurchase.admin.stack). The API's URL is the local server's."""
    outputs: dict[str, str] = {}
    for name, output in (template.get("Outputs") or {}).items():
        if name in ("ApiUrl", "PublicBaseUrl"):
            outputs[name] = api_url
            continue
        if "Condition" in output:  # e.g. the DKIM records of a sender domain the runtime has not
            continue
        try:
            outputs[name] = resolve(output["Value"], refs, template=template)
        except UnresolvableError:
            continue
    return outputs
