"""Logger, Tracer and Metrics, created once and imported everywhere.

Service name, log level, metrics namespace and tracing switches come from the POWERTOOLS_*
environment variables set in template.yaml.
"""
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
# Patch only botocore (boto3 and PynamoDB both sit on it): auto-patching every library X-Ray
# knows imports requests, httpx and friends at cold start for nothing.
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()

__all__ = ["logger", "tracer", "metrics", "MetricUnit"]
