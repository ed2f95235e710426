"""Return policy versions: pk M#{m}, sk POLICY#v{n:06d}, the policy as JSON.

A version is written once, conditionally (attribute_not_exists), so two merchants' admins
publishing at the same moment cannot both become version n: the loser gets Conflict and
publishes again on top of the winner's version.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from ..errors import Conflict, InvalidInput
from ..returns.policy import DEFAULT_POLICY, ReturnPolicy, policy_from_json
from . import keys
from .table import PolicyRecord, Record

SERVER_ASSIGNED = ("version", "effective_from")
_VERSIONS_CACHED = 256
_versions: dict[tuple[str, int], ReturnPolicy] = {}


def clear_cache() -> None:
    _versions.clear()


class DynamoPolicyStore:
    def _latest(self, merchant_id: str, consistent: bool) -> PolicyRecord | None:
        for record in Record.query(keys.merchant_pk(merchant_id), Record.sk.startswith(keys.POLICY_SK_PREFIX),
                                   scan_index_forward=False, limit=1, consistent_read=consistent):
            return record  # type: ignore[return-value]
        return None

    def current(self, merchant_id: str) -> ReturnPolicy:
        """The policy in force (one Query); DEFAULT_POLICY when the merchant never published one."""
        record = self._latest(merchant_id, consistent=False)
        return ReturnPolicy.model_validate_json(record.document) if record else DEFAULT_POLICY

    def latest_version(self, merchant_id: str) -> int:
        """The newest stored version number, 0 when none (a consistent read: publish builds on it)."""
        record = self._latest(merchant_id, consistent=True)
        return int(record.version) if record else 0

    def version(self, merchant_id: str, version: int) -> ReturnPolicy | None:
        """One version (0 = the default policy, for orders placed before any was published).

        Versions never change once written, so each is read once per container."""
        if version == 0:
            return DEFAULT_POLICY
        cached = _versions.get((merchant_id, version))
        if cached is not None:
            return cached
        try:
            record = PolicyRecord.get(keys.merchant_pk(merchant_id), keys.policy_sk(version))
        except DoesNotExist:
            return None
        policy = ReturnPolicy.model_validate_json(record.document)
        if len(_versions) >= _VERSIONS_CACHED:
            _versions.clear()
        _versions[(merchant_id, version)] = policy
        return policy

    def version_in_force(self, merchant_id: str, at: datetime) -> int:
        """The version in force at `at` (an order's placed_at): the newest published by then;
        0 (the default policy) when none was. One Query, newest first, usually one item read."""
        for record in Record.query(keys.merchant_pk(merchant_id), Record.sk.startswith(keys.POLICY_SK_PREFIX),
                                   scan_index_forward=False, page_size=10):
            if record.effective_from <= at:
                return int(record.version)
        return 0

    def publish(self, merchant_id: str, policy_data: Any, now: datetime) -> ReturnPolicy:
        """Store `policy_data` (the policy without version/effective_from) as the next version.

        Raises InvalidInput with the field at fault, Conflict when another publish took the
        same version first."""
        if not isinstance(policy_data, dict):
            raise InvalidInput("the policy must be a JSON object")
        for name in SERVER_ASSIGNED:
            if name in policy_data:
                raise InvalidInput(f"{name} is assigned when the policy is published; leave it out", field=name)
        version = self.latest_version(merchant_id) + 1
        policy = policy_from_json({**policy_data, "version": version, "effective_from": now})
        record = PolicyRecord(keys.merchant_pk(merchant_id), keys.policy_sk(version), merchant_id=merchant_id,
                              version=version, document=policy.model_dump_json(), effective_from=now)
        try:
            record.save(condition=PolicyRecord.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise Conflict(f"return policy version {version} was published by another request at the same "
                               "time; load the current policy and publish again", field="version") from None
            raise
        return policy
