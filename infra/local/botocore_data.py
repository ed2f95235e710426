"""botocore's service data read once per process, for the local runtime and the tests.

Every new botocore session (PynamoDB builds one per model class, boto3 one per client) lists
botocore's data directories and re-parses the same service-model and endpoint JSON files: about
0.1 s a session, seconds per test and per demo chapter. botocore treats the loaded data as
read-only, so one parsed copy serves every session. A Lambda container builds its sessions once;
this only matters where one process plays many containers.
"""
from __future__ import annotations

from typing import Any

from botocore.loaders import JSONFileLoader, Loader

_ORIGINAL = (JSONFileLoader.load_file, Loader.list_available_services)
_files: dict[str, Any] = {}
_listings: dict[tuple, list[str]] = {}


def _load_file(self: JSONFileLoader, file_path: str) -> Any:
    if file_path not in _files:
        _files[file_path] = _ORIGINAL[0](self, file_path)
    return _files[file_path]


def _list_available_services(self: Loader, type_name: str) -> list[str]:
    key = (tuple(self.search_paths), type_name)
    if key not in _listings:
        _listings[key] = _ORIGINAL[1](self, type_name)
    return list(_listings[key])


def install() -> None:
    JSONFileLoader.load_file = _load_file
    Loader.list_available_services = _list_available_services


def uninstall() -> None:
    JSONFileLoader.load_file, Loader.list_available_services = _ORIGINAL
