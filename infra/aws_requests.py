"""Count AWS requests by service and operation, for benchmarks and request-budget tests.

Hooks botocore's one choke point for API calls, so boto3 clients, PynamoDB (its own botocore
session) and Powertools' clients are all counted.
"""
from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from typing import Iterator

from botocore.client import BaseClient

_lock = threading.Lock()
_active: list[Counter] = []
_original = BaseClient._make_api_call


def _counting_call(self, operation_name, api_params):
    service = self.meta.service_model.service_id.replace(" ", "")
    with _lock:
        for counter in _active:
            counter[(service, operation_name)] += 1
    return _original(self, operation_name, api_params)


@contextmanager
def count_aws_requests() -> Iterator[Counter]:
    """Counter of (service, operation) -> requests made inside the block (from any thread)."""
    counter: Counter = Counter()
    with _lock:
        if not _active:
            BaseClient._make_api_call = _counting_call
        _active.append(counter)
    try:
        yield counter
    finally:
        with _lock:
            # By identity: two windows with equal counts are equal Counters.
            _active[:] = [active for active in _active if active is not counter]
            if not _active:
                BaseClient._make_api_call = _original
