"""DynamoDB Query at AWS's speed, for the AWS-like limits of `aws_limits.py` (only while they are on).

DynamoDB answers a Query from the partition its key condition names, on the table or on an
index, whatever the table's size ("A Query operation ... finds items based on primary key
values", https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html; an index
is "a data structure that contains a subset of attributes from a table, along with an alternate
key", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/SecondaryIndexes.html).
moto sorts and walks every item of the table on every Query: 0.28 s at 20,000 items, 1.4 s at
100,000, where AWS takes milliseconds; a migration that asks the owner of each aliased bot, or
the app's script with its queries per user, would measure moto's walk, not its own work.

Here moto's Query runs unchanged, on the items of the named partition only: for the table, the
items under the hash key; for an index, the items whose index hash key attribute equals the
condition's value, from a map built once per version of the table's data (`scan_index.py`
versions it: any write makes a new one). moto then sorts, pages, filters and projects those
exactly as it would have the whole table, since every other item fails its hash condition.
"""

import threading
from collections import defaultdict
from typing import Any, Callable

from moto.dynamodb.models import table as ddb_table
from moto.dynamodb.models.dynamo_type import DynamoType

_enabled: Callable[[], bool] = lambda: False
_local = threading.local()
_lock = threading.Lock()


class _Partitions:
    """One table at one version of its data: per attribute asked, its items by value."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.by_attribute: dict[str, dict[DynamoType, list]] = {}


_maps: dict[int, _Partitions] = {}


def _index_partition(table: Any, attribute: str, value: DynamoType) -> list:
    version = getattr(table, "_scan_index_version", 0)
    with _lock:
        maps = _maps.get(id(table))
        if maps is None or maps.version != version:
            maps = _maps[id(table)] = _Partitions(version)
        by_value = maps.by_attribute.get(attribute)
        if by_value is None:
            by_value = defaultdict(list)
            for item in _original_all_items(table):
                found = item.attrs.get(attribute)
                if found is not None:
                    by_value[found].append(item)
            maps.by_attribute[attribute] = by_value
        return list(by_value.get(value, ()))


def _table_partition(table: Any, hash_key: DynamoType) -> list:
    partition = table.items.get(hash_key)
    if partition is None:
        return []
    return list(partition.values()) if table.range_key_attr else [partition]


def _query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    if _enabled():
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        conditions = kwargs.get("hash_key_conditions") or []
        if index_name and conditions:
            attribute, value = conditions[0]
            _local.candidates = _index_partition(self, attribute, value)
        elif not index_name and hash_key is not None:
            _local.candidates = _table_partition(self, hash_key)
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        _local.candidates = None


def _all_items(self: Any) -> list:
    """Within `_query`, once: the partition's items in key order, in place of the whole table."""
    candidates = getattr(_local, "candidates", None)
    if candidates is None:
        return _original_all_items(self)
    _local.candidates = None
    return sorted(candidates, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def apply(enabled: Callable[[], bool]) -> None:
    # moto's methods as they are when this applies (the write lock's wrapper included).
    global _enabled, _original_query, _original_all_items
    _enabled = enabled
    _original_query = ddb_table.Table.query
    _original_all_items = ddb_table.Table.all_items
    ddb_table.Table.query = _query
    ddb_table.Table.all_items = _all_items
