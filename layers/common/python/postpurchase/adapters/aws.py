"""boto3 clients, built lazily and cached per container (they cost cold-start time).

AWS_ENDPOINT_URL (set by the local runtime) points every client at moto's server.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from botocore.config import Config

from ..config import settings

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    import boto3

    return boto3.session.Session().client(service, region_name=settings().aws_region, config=_CLIENT_CONFIG)


def reset() -> None:
    client.cache_clear()
