"""Secrets Manager adapter of security.merchant_secrets.MerchantSecrets.

Reads go through Powertools Parameters (a SecretsProvider on our cached boto3 client:
`get(name, transform="json", max_age=...)`, the call behind `parameters.get_secret`), so a warm
container reads each merchant's secret once per MERCHANT_SECRETS_MAX_AGE_SECONDS (300). Built on first use only: a function
that never verifies or signs never imports this module.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any

from botocore.exceptions import ClientError

from ..security.merchant_secrets import MerchantSecretValues, SecretsUnavailable

def _error_code(error: BaseException | None) -> str | None:
    while error is not None:
        if isinstance(error, ClientError):
            return error.response.get("Error", {}).get("Code")
        error = error.__cause__ or error.__context__
    return None


class SecretsManagerMerchantSecrets:
    def __init__(self, prefix: str, max_age_seconds: int = 300) -> None:
        self.prefix = prefix
        self.max_age_seconds = max_age_seconds
        self._written: set[str] = set()
        self._refetched_for: dict[str, str] = {}

    def name(self, merchant_id: str) -> str:
        return f"{self.prefix}{merchant_id}"

    @cached_property
    def _client(self) -> Any:
        from .aws import client

        return client("secretsmanager")

    @cached_property
    def _provider(self) -> Any:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        return SecretsProvider(boto3_client=self._client)

    def _read(self, name: str, force: bool) -> MerchantSecretValues | None:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

        try:
            value = self._provider.get(name, transform="json", max_age=self.max_age_seconds, force_fetch=force)
        except TransformParameterError as error:
            raise SecretsUnavailable(f"secret {name} is not JSON") from error
        except GetParameterError as error:
            # Powertools wraps the SDK's error in a string; the cause chain still holds it.
            code = _error_code(error)
            if code == "ResourceNotFoundException" or "ResourceNotFoundException" in str(error):
                return None
            raise SecretsUnavailable(f"cannot read secret {name}: {code or error}") from None
        return MerchantSecretValues.from_mapping(value)

    def get(self, merchant_id: str, revision: str | None = None, *, fresh: bool = False) -> MerchantSecretValues:
        name = self.name(merchant_id)
        fresh = fresh or name in self._written
        self._written.discard(name)
        values = self._read(name, force=fresh)
        if (values is not None and revision is not None and values.revision != revision and not fresh
                and self._refetched_for.get(name) != revision):
            # Rotated since this container cached it. Once per revision asked for: a merchant
            # item cached before the rotation (older revision) must not force a read per call.
            self._refetched_for[name] = revision
            values = self._read(name, force=True)
        return values or MerchantSecretValues()

    def put(self, merchant_id: str, values: MerchantSecretValues) -> None:
        name = self.name(merchant_id)
        body = values.to_json()
        try:
            try:
                self._client.put_secret_value(SecretId=name, SecretString=body)
            except ClientError as error:
                if _error_code(error) != "ResourceNotFoundException":
                    raise
                self._client.create_secret(Name=name, SecretString=body,
                                           Description="postpurchase merchant secrets (webhooks, carrier)",
                                           Tags=[{"Key": "app", "Value": "postpurchase"},
                                                 {"Key": "merchant_id", "Value": merchant_id}])
        except ClientError as error:
            raise SecretsUnavailable(f"cannot write secret {name}: {_error_code(error)}") from None
        self._written.add(name)  # this container's next read fetches what it wrote
