"""EventBridge publishing. Above this module nobody imports botocore."""
from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import RetryLater
from .aws import client


class EventBridgePublisher:
    def __init__(self, bus_name: str) -> None:
        self.bus_name = bus_name

    def put(self, *, source: str, detail_type: str, detail: dict[str, Any], resources: list[str] | None = None) -> str:
        entry = {"EventBusName": self.bus_name, "Source": source, "DetailType": detail_type,
                 "Detail": json.dumps(detail, separators=(",", ":"), default=str), "Resources": resources or []}
        try:
            response = client("events").put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as error:
            raise RetryLater(f"could not publish {detail_type}: {error}") from error
        result = response["Entries"][0]
        if response.get("FailedEntryCount") or "EventId" not in result:
            raise RetryLater(f"EventBridge refused {detail_type}: {result.get('ErrorCode')} {result.get('ErrorMessage')}")
        return result["EventId"]
