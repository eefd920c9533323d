"""DynamoDB Scan at AWS's speed, for the AWS-like limits of `aws_limits.py` (only while they are on).

moto sorts and walks the whole table on every page, converts every item twice and serializes it
with a generic serializer: about 40 microseconds per item, so a scan of 100,000 bots would measure
moto's CPU, not the 25 ms per page that AWS takes, and a parallel scan (which overlaps latency,
not CPU) would look no faster than one segment. Here each table has an index per version of its
data (any put, delete, update or task-runner write makes a new version): the items in key order,
split per segment, with each item's size, filter verdict and page JSON computed once. A page starts
at its start key by bisection and is joined from the cached JSON. Pages, their 1 MB limit, `Limit`,
`LastEvaluatedKey`, segments, filters and projections are moto's own semantics, unchanged.

AWS documents the behaviour restored here:
- https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html
"""

import bisect
import hashlib
import itertools
import json
import threading
from typing import Any, Callable

from moto.core.responses import ActionResult
from moto.dynamodb import responses as ddb_responses
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as ddb_table
from moto.dynamodb.models.dynamo_type import DynamoType

_enabled: Callable[[], bool] = lambda: False
_local = threading.local()
_lock = threading.Lock()


def _plain(value: Any) -> Any:
    return float(value.value) if value.type == "N" else value.value


def _key(item: Any) -> tuple:
    """The key as plain values (DynamoDB's order for S, N and B keys): sorting 200,000 of them takes
    a fraction of what comparing DynamoType objects does."""
    return (_plain(item.hash_key), _plain(item.range_key)) if item.range_key else (_plain(item.hash_key),)


def _size(value: Any) -> int:
    """DynamoDB's size of a value, as moto's `size()` counts it, without a DynamoType per node."""
    kind, inner = value.type, value.value
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "M":
        return sum(len(k.encode("utf-8")) + _size(v if isinstance(v, DynamoType) else DynamoType(v)) for k, v in inner.items())
    if kind == "L":
        return sum(_size(v if isinstance(v, DynamoType) else DynamoType(v)) for v in inner)
    return value.size()


def _to_json(value: Any) -> Any:
    return value.to_json()


class _Index:
    """One table at one version of its data."""

    def __init__(self, table: Any, version: int) -> None:
        items = [i for hash_set in table.items.values() for i in (hash_set.values() if table.range_key_attr else [hash_set])]
        items.sort(key=_key)
        self.version = version
        self.whole = ([_key(i) for i in items], items)
        self.splits: dict[int, dict[int, tuple[list, list]]] = {}
        self.prefixes: dict[Any, list[int]] = {}
        self.renders: dict[Any, list[str | None]] = {}

    def segment(self, segment: Any, total: Any) -> tuple[list, list]:
        if not total:
            return self.whole
        split = self.splits.get(total)
        if split is None:
            # moto's segment of an item: the first byte of the md5 of its hash key, modulo total.
            members: dict[int, list] = {s: [] for s in range(total)}
            for item in self.whole[1]:
                members[hashlib.md5(item.hash_key.value.encode("utf8")).digest()[0] % total].append(item)
            split = {s: ([_key(i) for i in m], m) for s, m in members.items()}
            self.splits[total] = split
        return split[segment]


    def prefix_sizes(self, segments: Any, items: list) -> list[int]:
        """Running totals of the items' sizes: a page's end is one bisection."""
        with _lock:
            prefix = self.prefixes.get(segments)
            if prefix is None:
                sizes = (sum(len(k.encode("utf-8")) + _size(v) for k, v in i.attrs.items()) for i in items)
                prefix = self.prefixes[segments] = [0, *itertools.accumulate(sizes)]
            return prefix

    def rendered(self, segments: Any, items: list, filter_expression: Any, filter_key: Any, names: Any) -> list:
        """Each item's JSON as the request projects it, or None where the filter drops it."""
        key = (segments, filter_key if filter_expression is not None else None, names)
        with _lock:
            texts = self.renders.get(key)
            if texts is None:
                texts = self.renders[key] = [
                    json.dumps({n: i.attrs[n] for n in names if n in i.attrs} if names else i.attrs,
                               default=_to_json, separators=(",", ":"))
                    if filter_expression is None or filter_expression.expr(i) else None
                    for i in items
                ]
            return texts


_indexes: dict[int, _Index] = {}


def _index(table: Any) -> _Index:
    version = getattr(table, "_scan_index_version", 0)
    index = _indexes.get(id(table))
    if index is None or index.version != version:
        index = _indexes[id(table)] = _Index(table, version)
    return index


def bump(table: Any) -> None:
    table._scan_index_version = getattr(table, "_scan_index_version", 0) + 1


class _Json(dict):
    """An item's attributes as `fast_scan` writes them: already JSON."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class _Projected:
    def __init__(self, attrs: dict) -> None:
        self.attrs = attrs


_original_scan = ddb_table.Table.scan


def _scan(self: Any, filters: Any, limit: Any, exclusive_start_key: Any, filter_expression: Any = None,
          index_name: Any = None, consistent_read: bool = False, projection_expression: Any = None,
          segments: Any = (None, None)) -> Any:
    simple_projection = not projection_expression or all(len(path) == 1 for path in projection_expression)
    if not _enabled() or index_name or filters or not simple_projection:
        return _original_scan(self, filters, limit, exclusive_start_key, filter_expression, index_name,
                              consistent_read, projection_expression, segments=segments)
    with _lock:
        index = _index(self)
        keys, items = index.segment(*segments)
    start = 0
    if exclusive_start_key:
        wanted = [_plain(DynamoType(exclusive_start_key[self.hash_key_attr]))]
        if self.range_key_attr:
            wanted.append(_plain(DynamoType(exclusive_start_key[self.range_key_attr])))
        start = bisect.bisect_right(keys, tuple(wanted))
    prefix = index.prefix_sizes(segments, items)
    # moto's page: items while the page stays within 1 MB, and at most `limit` of them.
    end = bisect.bisect_right(prefix, prefix[start] + ddb_table.RESULT_SIZE_LIMIT) - 1
    if limit:
        end = min(end, start + int(limit))
    last_evaluated_key = self._get_last_evaluated_key(items[end - 1], None) if end < len(items) else None
    names = tuple(path[0] for path in projection_expression) if projection_expression else None
    if getattr(_local, "raw", False):
        rendered = index.rendered(segments, items, filter_expression, getattr(_local, "filter_key", None), names)
        results = [_Projected(_Json(text)) for text in rendered[start:end] if text is not None]
    else:
        results = [
            _Projected({n: i.attrs[n] for n in names if n in i.attrs} if names else i.attrs)
            for i in items[start:end]
            if filter_expression is None or filter_expression.expr(i)
        ]
    return results, end - start, last_evaluated_key


_DynamoResult = ddb_responses.DynamoResult


class _Result(_DynamoResult):
    """moto's DynamoResult, except within `fast_scan`, which writes the page itself."""

    def __init__(self, result: object) -> None:
        if getattr(_local, "raw", False):
            ActionResult.__init__(self, result)
        else:
            super().__init__(result)


def fast_scan(response: Any) -> Any:
    """The Scan answer, written from the index; None to let moto answer (an error, a COUNT select,
    anything the index does not serve)."""
    body = response.body
    _local.raw = True
    _local.filter_key = json.dumps(
        [body.get("FilterExpression"), body.get("ExpressionAttributeNames"), body.get("ExpressionAttributeValues")],
        sort_keys=True,
    )
    try:
        if not _local.filter_key:
            _local.filter_key = None
        result = response.scan().result
    except Exception:  # noqa: BLE001 - moto's own path produces the proper error
        return None
    finally:
        _local.raw = False
        _local.filter_key = None
    items = result.get("Items")
    if items is None or not all(isinstance(i, _Json) for i in items):
        return None
    parts = [f'"Count":{result["Count"]}', f'"ScannedCount":{result["ScannedCount"]}']
    parts.append('"Items":[' + ",".join(i.text for i in items) + "]")
    if result.get("LastEvaluatedKey") is not None:
        parts.append('"LastEvaluatedKey":' + json.dumps(result["LastEvaluatedKey"], default=_to_json))
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, "{" + ",".join(parts) + "}"


def _bumping(method: Callable) -> Callable:
    """A new version after the write: an index built while the write was under way is stale."""

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            bump(self)

    return wrapper


def _bumping_backend(method: Callable) -> Callable:
    """Backend calls that change items in place: every table of the backend gets a new version."""

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            for table in self.tables.values():
                bump(table)

    return wrapper


def apply(enabled: Callable[[], bool]) -> None:
    global _enabled
    _enabled = enabled
    ddb_table.Table.put_item = _bumping(ddb_table.Table.put_item)
    ddb_table.Table.delete_item = _bumping(ddb_table.Table.delete_item)
    for name in ("update_item", "transact_write_items", "execute_statement", "batch_execute_statement"):
        setattr(DynamoDBBackend, name, _bumping_backend(getattr(DynamoDBBackend, name)))
    ddb_table.Table.scan = _scan
    ddb_responses.DynamoResult = _Result
    # The task runner writes SyncStatus into the stored item directly.
    from . import ecs_task_runner

    original = ecs_task_runner._set_sync_status

    def set_sync_status(table_name: str, keys: dict, *args: Any) -> bool:
        try:
            return original(table_name, keys, *args)
        finally:
            account, region = args[-2], args[-1]
            table = ecs_task_runner.dynamodb_backends[account][region].tables.get(table_name)
            if table is not None:
                bump(table)

    ecs_task_runner._set_sync_status = set_sync_status
