"""Logger, Tracer and Metrics, created once and imported everywhere.

Service name, log level, metrics namespace and tracing switches come from the POWERTOOLS_*
environment variables set in template.yaml.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()


class LazyTracer:
    """Powertools' Tracer, built at the first invocation instead of at import (issue 17).

    Building the Tracer imports the X-Ray SDK and patches botocore, which imports
    `botocore.client`: ~120 ms of every cold start's INIT, for calls that only happen inside an
    invocation (X-Ray has no segment to record them in during INIT anyway). The decorators are
    Powertools' own, applied to the function at its first call; `activate()` builds it for the
    API, whose handler is Chalice's app. Patches only botocore (boto3 and PynamoDB both sit on
    it): auto-patching every library X-Ray knows imports requests, httpx and friends for nothing.
    """

    def __init__(self) -> None:
        self._tracer: Any = None

    def activate(self) -> Any:
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(patch_modules=["botocore"])
        return self._tracer

    def _lazily(self, decorator: str, function: Callable | None, options: dict) -> Callable:
        if function is None:
            return functools.partial(self._lazily, decorator, options=options)
        traced: Callable | None = None

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            nonlocal traced
            if traced is None:
                traced = getattr(self.activate(), decorator)(function, **options)
            return traced(*args, **kwargs)

        return wrapper

    def capture_lambda_handler(self, lambda_handler: Callable | None = None, **options) -> Callable:
        return self._lazily("capture_lambda_handler", lambda_handler, options)

    def capture_method(self, method: Callable | None = None, **options) -> Callable:
        return self._lazily("capture_method", method, options)

    def __getattr__(self, name: str) -> Any:  # put_annotation, put_metadata, provider, ...
        return getattr(self.activate(), name)


tracer = LazyTracer()

__all__ = ["logger", "tracer", "metrics", "MetricUnit"]
