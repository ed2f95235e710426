"""boto3 clients, built lazily and cached per container (they cost cold-start time).

All of them, and PynamoDB's DynamoDB client, come from one boto3 session per container: a new
session re-reads botocore's endpoint, partition and retry data, about 30 ms of the first
invocation for every client after the first (issue 17). Client creation is not thread-safe
(botocore), so it is serialised: Lambda runs one invocation at a time, the local runtime does not.
AWS_ENDPOINT_URL (set by the local runtime) points every client at moto's server.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from botocore.config import Config

from ..config import settings

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)
creating = threading.RLock()  # held while a client is built from the shared session


@lru_cache(maxsize=1)
def botocore_session() -> Any:
    """The container's botocore session: boto3's clients and PynamoDB's (storage.orders) share it."""
    import botocore.session

    return botocore.session.get_session()


@lru_cache(maxsize=1)
def session() -> Any:
    import boto3

    return boto3.session.Session(botocore_session=botocore_session())


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    with creating:
        return session().client(service, region_name=settings().aws_region, config=_CLIENT_CONFIG)


def reset() -> None:
    client.cache_clear()
    session.cache_clear()
    botocore_session.cache_clear()
