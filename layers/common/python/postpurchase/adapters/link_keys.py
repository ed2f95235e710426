"""The link-signing keyring's document, from Secrets Manager through Powertools Parameters.

Powertools caches the document per container for `max_age` seconds, so a rotation reaches every
container within that time and a busy function reads the secret once per `max_age`, not per link.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..errors import RetryLater, ServiceUnavailable
from .aws import client


class KeyringUnavailable(ServiceUnavailable, RetryLater):
    """The keyring could not be read now: a 503 for the API, a retry for a queue consumer."""


@lru_cache(maxsize=1)
def _provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    # What parameters.get_secret uses, on our client (endpoint, retries) and reset with it.
    return SecretsProvider(boto3_client=client("secretsmanager"))


UNAVAILABLE = "links cannot be checked right now; try again shortly"


def load_document(secret_id: str, max_age: int) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

    from ..observability import logger

    try:
        document = _provider().get(secret_id, transform="json", max_age=max_age)
    except (GetParameterError, TransformParameterError):  # throttled, unreachable, denied, not JSON
        logger.exception("the link-signing keyring could not be read", extra={"secret_id": secret_id})
        raise KeyringUnavailable(UNAVAILABLE) from None
    if not isinstance(document, dict):
        logger.error("the link-signing keyring is not a JSON object", extra={"secret_id": secret_id})
        raise KeyringUnavailable(UNAVAILABLE)
    return document


def reset() -> None:
    _provider.cache_clear()
