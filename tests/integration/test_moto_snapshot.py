"""infra/local/moto_snapshot.py: a restored copy of the template's resources is what creating them
gives (the `aws` fixture builds them once per process and restores a copy per test), and what a
test does to its copy never reaches the saved state or the next test's copy."""
from __future__ import annotations

import json

import boto3
from moto import mock_aws

from infra.local import moto_snapshot
from infra.local.resources import create_resources

REGION = "us-east-1"
# Set by moto at creation from the wall clock: the only fields a copy may not share with a new creation.
_CREATION_TIMES = {"CreationDateTime", "CreatedTimestamp", "LastModifiedTimestamp", "CreatedDate",
                   "LastChangedDate", "LastAccessedDate", "CreationDate"}


def _without_times(value):
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in _CREATION_TIMES}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def _world(refs: dict[str, str]) -> dict:
    """Everything the resources say about themselves through the APIs the functions use."""
    dynamodb, sqs, s3 = (boto3.client(name, region_name=REGION) for name in ("dynamodb", "sqs", "s3"))
    events, sesv2 = boto3.client("events", region_name=REGION), boto3.client("sesv2", region_name=REGION)
    secrets = boto3.client("secretsmanager", region_name=REGION)
    world: dict = {"tables": {}, "queues": {}, "buckets": {}, "secrets": {}}
    for name in dynamodb.list_tables()["TableNames"]:
        world["tables"][name] = (dynamodb.describe_table(TableName=name)["Table"],
                                 dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"],
                                 dynamodb.scan(TableName=name)["Items"])
    for url in sqs.list_queues().get("QueueUrls", []):
        world["queues"][url] = (sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"],
                                sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                    VisibilityTimeout=0).get("Messages", []))
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        except s3.exceptions.from_code("NoSuchBucketPolicy"):
            policy = None
        world["buckets"][name] = (policy, s3.list_objects_v2(Bucket=name).get("Contents", []))
    for secret in secrets.list_secrets()["SecretList"]:
        world["secrets"][secret["Name"]] = (secret["ARN"], secrets.get_secret_value(SecretId=secret["ARN"])["SecretString"])
    world["buses"] = events.list_event_buses()["EventBuses"]
    world["configuration_sets"] = sesv2.list_configuration_sets()["ConfigurationSets"]
    world["refs"] = refs
    return _without_times(world)


def test_a_restored_copy_is_the_created_world_and_each_copy_is_its_own(_template):
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        refs = create_resources(_template, REGION, {"LinkSigningSecret": "s" * 40})
        created = _world(refs)
        saved = moto_snapshot.take()
        # Change everything the test's copy holds; none of it may reach the next copy.
        boto3.client("dynamodb", region_name=REGION).put_item(
            TableName=refs["Table"], Item={"pk": {"S": "x"}, "sk": {"S": "y"}})
        boto3.client("sqs", region_name=REGION).send_message(QueueUrl=refs["OrderEventsQueue"], MessageBody="m")
        boto3.client("s3", region_name=REGION).put_object(Bucket=next(iter(created["buckets"])), Key="k", Body=b"b")
    assert created["tables"] and created["queues"] and created["buckets"] and created["secrets"]

    for _ in range(2):
        with mock_aws(config={"core": {"reset_boto3_session": False}}):
            assert boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"] == []
            moto_snapshot.restore(saved)
            assert _world(refs) == created
            boto3.client("dynamodb", region_name=REGION).put_item(
                TableName=refs["Table"], Item={"pk": {"S": "x"}, "sk": {"S": "z"}})
            sqs = boto3.client("sqs", region_name=REGION)
            sqs.send_message(QueueUrl=refs["OrderEventsQueue"], MessageBody="m")
            # The copy works like the created queue (its lock and condition are new, not shared).
            assert [m["Body"] for m in sqs.receive_message(QueueUrl=refs["OrderEventsQueue"])["Messages"]] == ["m"]
