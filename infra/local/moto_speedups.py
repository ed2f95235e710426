"""moto's DynamoDB with the same answers and less work, for the local runtime and the tests.

moto 5 answers every Query by walking and sorting the whole table (even on the base table, where
the partition is one dict lookup away), and backs up a transaction by deep-copying the whole table
once per item of the transaction. With the few thousand items of a demo year that was most of the
demo's and the suite's time (docs/performance.md, "Test suite"). `install()` changes three things:

- a Query on the base table walks only its partition, a Query on an index only the items whose
  index hash key matches (moto's own loop then applies every condition exactly as before);
- the table walk sorts on the keys' plain values (what DynamoType's comparisons compare);
- a transaction backs up only the items it writes and puts them back if it is cancelled;
- a new item's 400 KB check adds its attributes' sizes once, not once per attribute (moto sums the
  whole item again at each of its attributes: quadratic in the attribute count; the final sum is
  the last of moto's checks, and sizes only grow, so the same items are refused).

tests/integration/test_moto_speedups.py runs the same queries and transactions with and without
them and compares every answer.
"""
from __future__ import annotations

import copy
import threading
import types
from typing import Any

from moto.dynamodb import models as backend_module
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.models.table import Table

_ORIGINAL = {"all_items": Table.all_items, "query": Table.query,
             "transact_write_items": DynamoDBBackend.transact_write_items, "item_init": Item.__init__}
_QUERY_INDEX_NAME_POSITION = 7  # Table.query(hash_key, range_comparison, ..., projection_expressions, index_name, ...)
_scope = threading.local()  # moto's server answers each request on its own thread


def _sort_key(item: Any) -> Any:
    # The original key is (hash_key, range_key) of DynamoTypes, which compare by cast_value; a
    # table's key attributes have one type, so comparing the cast values gives the same order.
    return (item.hash_key.cast_value, item.range_key.cast_value) if item.range_key else item.hash_key.cast_value


def _matches(item: Any, conditions: list[tuple[str, DynamoType]]) -> bool:
    for name, expected in conditions:
        value = item.attrs.get(name)
        if value is None or value.type != expected.type:
            return False
        if value.type == "S" and value.value != expected.value:
            return False
        if value.type != "S" and value != expected:
            return False
    return True


def all_items(self: Table) -> list:
    only = getattr(_scope, "only", None)
    if only is not None and only[0] is self and only[1] == "partition":
        partitions = [self.items[only[2]]] if only[2] in self.items else []
    else:
        partitions = list(self.items.values())
    candidates = [item for hash_set in partitions for item in (hash_set.values() if self.range_key_attr else [hash_set])]
    if only is not None and only[0] is self and only[1] == "index":
        candidates = [item for item in candidates if _matches(item, only[2])]
    return sorted(candidates, key=_sort_key)


def query(self: Table, *args: Any, **kwargs: Any) -> Any:
    index_name = kwargs.get("index_name", args[_QUERY_INDEX_NAME_POSITION] if len(args) > _QUERY_INDEX_NAME_POSITION
                            else None)
    hash_key = kwargs.get("hash_key", args[0] if args else None)
    conditions = kwargs.get("hash_key_conditions") or []
    if index_name:
        only = (self, "index", list(conditions)) if conditions else None
    else:
        only = (self, "partition", hash_key) if hash_key is not None else None
    previous, _scope.only = getattr(_scope, "only", None), only
    try:
        return _ORIGINAL["query"](self, *args, **kwargs)
    finally:
        _scope.only = previous


class _BackupByItems(types.ModuleType):
    """The `copy` module as moto's backend sees it: inside a transaction a table's "backup" is the
    table itself (nothing to copy; transact_write_items puts the written items back instead)."""

    def __init__(self) -> None:
        super().__init__("copy")
        self.__dict__.update({name: getattr(copy, name) for name in dir(copy)
                              if not name.startswith("__") and name != "deepcopy"})

    def deepcopy(self, value: Any, memo: Any = None) -> Any:  # noqa: D102 - copy.deepcopy's signature
        if isinstance(value, Table) and getattr(_scope, "in_transaction", False):
            return value
        return copy.deepcopy(value, memo)


def _key_of(table: Table, op_type: str, op: dict) -> tuple[DynamoType, DynamoType | None]:
    attributes = op["Item"] if op_type == "Put" else op["Key"]
    hash_value = DynamoType(attributes[table.hash_key_attr])
    range_value = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    saved: list[tuple[Table, DynamoType, DynamoType | None, Any]] = []
    for entry in transact_items:
        try:
            op_type, op = next(iter(entry.items()))
            table = self.tables[op["TableName"]]
            hash_value, range_value = _key_of(table, op_type, op)
        except Exception:  # noqa: BLE001 - moto reports a malformed item itself; it writes nothing
            continue
        hash_set = table.items.get(hash_value)
        current = (hash_set or {}).get(range_value) if table.range_key_attr else hash_set
        saved.append((table, hash_value, range_value, copy.deepcopy(current)))
    _scope.in_transaction = True
    try:
        return _ORIGINAL["transact_write_items"](self, transact_items)
    except Exception:
        for table, hash_value, range_value, item in reversed(saved):  # the first backup of a key wins
            if table.range_key_attr:
                partition = table.items[hash_value]
                if item is None:
                    partition.pop(range_value, None)
                else:
                    partition[range_value] = item
                if not partition:
                    table.items.pop(hash_value, None)
            elif item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
        raise
    finally:
        _scope.in_transaction = False


def item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    self.hash_key = hash_key
    self.range_key = range_key
    typed = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in typed.items()) > 405000:  # moto's limit
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict()
    dict.update(self.attrs, typed)  # later SETs still go through LimitedSizeDict's own check


def install() -> None:
    """Idempotent: patch moto's classes (every backend, in-process mock or threaded server)."""
    Table.all_items = all_items
    Table.query = query
    DynamoDBBackend.transact_write_items = transact_write_items
    Item.__init__ = item_init
    if not isinstance(backend_module.copy, _BackupByItems):
        backend_module.copy = _BackupByItems()


def uninstall() -> None:
    Table.all_items = _ORIGINAL["all_items"]
    Table.query = _ORIGINAL["query"]
    DynamoDBBackend.transact_write_items = _ORIGINAL["transact_write_items"]
    Item.__init__ = _ORIGINAL["item_init"]
    if isinstance(backend_module.copy, _BackupByItems):
        backend_module.copy = copy
