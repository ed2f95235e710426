"""Where the CLI's AWS is: the deployed stack's Outputs (CloudFormation) or `make local`'s file.

The library reads its configuration from environment variables (postpurchase.config), as the
functions do; the CLI sets them from the stack's Outputs before anything reads them, so the
commands run the same storage and domain code as the Lambda functions.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

DEFAULT_LOCAL_FILE = Path(".local") / "stack.json"
LOCAL_FILE_ENV = "POSTPURCHASE_STACK_FILE"

# Output name (template.yaml `Outputs`) -> the environment variable postpurchase.config reads.
OUTPUT_ENV = {
    "TableName": "TABLE_NAME",
    "IdempotencyTableName": "IDEMPOTENCY_TABLE_NAME",
    "OrderEventsQueueUrl": "ORDER_EVENTS_QUEUE_URL",
    "OutboundEmailQueueUrl": "OUTBOUND_EMAIL_QUEUE_URL",
    "TrackingQueueUrl": "TRACKING_QUEUE_URL",
    "ReturnEventsQueueUrl": "RETURN_EVENTS_QUEUE_URL",
    "CampaignQueueUrl": "CAMPAIGN_QUEUE_URL",
    "EventBusName": "EVENT_BUS_NAME",
    "EmailConfigurationSetName": "SES_CONFIGURATION_SET",
    "LinkSigningKeysArn": "LINK_KEYS_SECRET_ARN",
    "MerchantSecretsPrefix": "MERCHANT_SECRETS_PREFIX",
    "PublicBaseUrl": "PUBLIC_BASE_URL",
    "SupportMailBucketName": "SUPPORT_MAIL_BUCKET",  # a customer's erasure deletes their support mail
}

# The CLI's name of each dead-letter queue -> (its Output, the Output of the queue it feeds back).
DEAD_LETTER_QUEUES = {
    "order-events": ("OrderEventsDLQUrl", "OrderEventsQueueUrl"),
    "outbound-email": ("OutboundEmailDLQUrl", "OutboundEmailQueueUrl"),
    "tracking": ("TrackingDLQUrl", "TrackingQueueUrl"),
    "return-events": ("ReturnEventsDLQUrl", "ReturnEventsQueueUrl"),
    "campaign": ("CampaignDLQUrl", "CampaignQueueUrl"),
    "ses-feedback": ("SesFeedbackDLQUrl", "SesFeedbackQueueUrl"),
}


class StackError(RuntimeError):
    pass


@dataclass(frozen=True)
class Stack:
    outputs: Mapping[str, str]
    region: str
    endpoint_url: str | None = None  # the local runtime's moto server; None for AWS
    source: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def output(self, name: str) -> str:
        try:
            return self.outputs[name]
        except KeyError:
            raise StackError(f"the stack ({self.source}) has no output {name}: deploy the current template.yaml") from None

    def environment(self) -> dict[str, str]:
        missing = sorted(name for name in OUTPUT_ENV if name not in self.outputs)
        if missing:
            raise StackError(f"the stack ({self.source}) lacks outputs {', '.join(missing)}: "
                             "deploy the current template.yaml")
        env = {variable: self.outputs[name] for name, variable in OUTPUT_ENV.items()}
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = self.region
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env


def write_local_stack(path: Path, outputs: Mapping[str, str], *, region: str, endpoint_url: str | None) -> Path:
    """What `make local` leaves for the CLI (written atomically: a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"outputs": dict(outputs), "region": region, "endpoint_url": endpoint_url},
                                    indent=2, sort_keys=True), encoding="utf-8")
    temporary.replace(path)
    return path


def read_local_stack(path: Path | None = None) -> Stack:
    path = Path(path or os.environ.get(LOCAL_FILE_ENV) or DEFAULT_LOCAL_FILE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackError(f"{path} not found: start `make local` first (it writes the file), "
                         "or name a deployed stack with --stack") from None
    except json.JSONDecodeError as error:
        raise StackError(f"{path} is not JSON: {error}") from None
    return Stack(outputs=data.get("outputs") or {}, region=data.get("region") or "us-east-1",
                 endpoint_url=data.get("endpoint_url"), source=str(path))


def read_cloudformation_stack(name: str, region: str | None) -> Stack:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(region_name=region)
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        raise StackError(f"cannot read stack {name}: {error}") from None
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    return Stack(outputs=outputs, region=session.region_name or "us-east-1", source=f"stack {name}")


def activate(stack: Stack) -> None:
    """Point the library at the stack: set its environment, then forget whatever was built from an
    earlier one (settings, clients, PynamoDB connections and the table name bound at import)."""
    env = stack.environment()
    if stack.endpoint_url:
        # moto accepts any credentials; real ones are not needed (nor wanted) against it.
        env.setdefault("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "local"))
        env.setdefault("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "local"))
    else:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(env)
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "postpurchase-admin")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from .. import config

    config.reset()
    for name in ("postpurchase.adapters.aws", "postpurchase.services"):
        module = sys.modules.get(name)
        if module is not None:
            module.reset()
    merchants = sys.modules.get("postpurchase.storage.merchants")
    if merchants is not None:
        merchants.clear_caches()
    orders = sys.modules.get("postpurchase.storage.orders")
    if orders is not None:
        orders._connection.cache_clear()
    table = sys.modules.get("postpurchase.storage.table")
    if table is not None:
        models = [table.Record]
        while models:
            model = models.pop()
            model.Meta.table_name = env["TABLE_NAME"]
            model.Meta.region = env["AWS_REGION"]
            model._connection = None
            models.extend(model.__subclasses__())
