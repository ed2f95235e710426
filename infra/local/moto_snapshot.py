"""moto's in-memory AWS saved once and put back as a copy, for tests that build the same world often.

Every integration test starts from the same stack: the template's table, queues (with redrive),
event bus, configuration set, bucket and secrets. Creating them is about 50 AWS calls through
moto (two thirds of the `aws` fixture's setup). `take()` pickles the state of every moto backend
in use right after they were created; `restore()`, inside a fresh `mock_aws`, unpickles a new copy
into moto's backend registry, so each test gets its own objects in exactly the state a fresh
creation leaves (the copy shares nothing with the saved state or with another test). Locks and
conditions in moto's objects (an SQS queue's, an S3 key's) are not state: the copy gets new ones.
"""
from __future__ import annotations

import io
import pickle
import threading
from typing import Any

from moto.core.base_backend import AccountSpecificBackend, BackendDict

_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _new_lock() -> Any:
    return threading.Lock()


def _new_rlock() -> Any:
    return threading.RLock()


def _new_condition() -> threading.Condition:
    return threading.Condition()


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, threading.Condition):
            return _new_condition, ()
        if isinstance(obj, _LOCK_TYPES):
            return (_new_rlock if isinstance(obj, _LOCK_TYPES[1]) else _new_lock), ()
        if isinstance(obj, (BackendDict, AccountSpecificBackend)):
            # A backend holding moto's registry itself: a copy of it would not be the registry.
            raise TypeError(f"moto state refers to a backend registry ({type(obj).__name__})")
        return NotImplemented


class Snapshot:
    """The saved state: which backend registries were in use, and their backends pickled."""

    def __init__(self, registries: list[BackendDict], data: bytes):
        self.registries = registries
        self.data = data


def take() -> Snapshot:
    """Save every moto backend in use (call inside `mock_aws`, after creating the resources)."""
    registries = list(BackendDict._instances)
    state = [{account: dict(regions) for account, regions in registry.items()} for registry in registries]
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    return Snapshot(registries, buffer.getvalue())


def restore(snapshot: Snapshot) -> None:
    """Put a fresh copy of the saved backends in place (call right after entering `mock_aws`,
    which has emptied every registry)."""
    state = pickle.loads(snapshot.data)
    for registry, accounts in zip(snapshot.registries, state):
        for account, regions in accounts.items():
            account_backends = registry[account]  # creates it and registers the registry as in use
            for region, backend in regions.items():
                dict.__setitem__(account_backends, region, backend)
