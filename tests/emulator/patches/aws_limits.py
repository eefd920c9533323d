"""AWS's limits and latencies, which moto lacks: moto answers every call in about 2 ms and never
throttles, so a launcher measured against it is judged against moto, not AWS (DESIGN.md section 6).
With the knobs on, each call waits its AWS-like latency, RunTask is held to the RunTask API bucket
and the Fargate launch bucket (ThrottlingException "Rate exceeded" beyond them), and RunTask puts
the task in `failures` when the running tasks would exceed the account's Fargate vCPU quota. The
numbers, each with its source, are in `tests/emulator/aws_limits.toml`.

Off by default (tests and the demo keep moto's speed). On with EMULATOR_AWS_LIMITS=1 at start or
`POST /moto-api/emulator/aws-limits` with `{"enabled": true}`; `{"reset": true}` clears the
counters. `GET` on the same path returns the knobs and what happened since the last reset: calls
per operation, RunTask acceptance times, throttles, capacity failures, running tasks, and the
emulator's own CPU seconds (to show it is not the bottleneck).

With the knobs on, Scan also starts each page at its start key through a cached, sorted view of
the table's segment instead of moto's sort and walk of the whole table per page: at 100,000 items
that walk, not the latency, would be what a parallel scan measures.
"""

import bisect
import itertools
import json
import os
import random
import resource
import threading
import time
import tomllib
from typing import Any

from moto.core.responses import ActionResult, BaseResponse
from moto.dynamodb import responses as ddb_responses
from moto.dynamodb.models import table as ddb_table
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.ecs import models as ecs_models

CONFIG_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "aws_limits.toml")
CAPACITY_REASON = "Capacity is unavailable at this time. Please try again later or in a different availability zone"


class Bucket:
    """AWS's token bucket: `burst` tokens, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.last = burst, time.monotonic()

    def take(self, n: float) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False


class Limits:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        with open(CONFIG_PATH, "rb") as f:
            self.config = tomllib.load(f)
        self.enabled = os.environ.get("EMULATOR_AWS_LIMITS", "") not in ("", "0")
        self.rng = random.Random(0)
        # Tasks RunTask started and not yet seen STOPPED: the running count for the quota.
        self.live: list[Any] = []
        self.reset()

    def reset(self) -> None:
        self.run_task_bucket = Bucket(**self.config["run_task_bucket"])
        self.launch_bucket = Bucket(**self.config["launch_bucket"])
        self.calls: dict[str, int] = {}
        self.accepted_at: list[float] = []
        self.throttled = 0
        self.capacity_failures = 0
        self.peak_running = 0

    def latency(self, operation: str) -> float:
        ms = self.config["latency_ms"].get(operation, 0)
        jitter = self.config["latency_ms"].get("jitter", 0.0)
        return ms / 1000.0 * self.rng.uniform(1.0 - jitter, 1.0 + jitter)

    def running(self) -> int:
        self.live = [t for t in self.live if t.last_status != "STOPPED"]
        return len(self.live)

    def max_tasks(self) -> int:
        capacity = self.config["capacity"]
        return int(capacity["vcpu_quota"] // capacity["task_vcpu"])

    def as_dict(self) -> dict:
        with self.lock:
            return {
                "enabled": self.enabled,
                "config": self.config,
                "calls": dict(self.calls),
                "run_task_accepted_at": list(self.accepted_at),
                "throttled": self.throttled,
                "capacity_failures": self.capacity_failures,
                "running": self.running(),
                "peak_running": self.peak_running,
                "max_running_tasks": self.max_tasks(),
                "cpu_seconds": _cpu_seconds(),
            }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


LIMITS = Limits()


def _throttled(response: Any) -> Any:
    body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "ThrottlingException"}
    return 400, headers, body


def _capacity_failure(response: Any) -> Any:
    body = json.dumps({"tasks": [], "failures": [{"arn": response._get_param("cluster", "default"), "reason": CAPACITY_REASON}]})
    return 200, {"Content-Type": "application/x-amz-json-1.1"}, body


_original_call_action = BaseResponse.call_action


def _call_action(self: Any) -> Any:
    if not LIMITS.enabled or getattr(self, "service_name", None) not in ("ecs", "dynamodb"):
        return _original_call_action(self)
    operation = self._get_action()
    with LIMITS.lock:
        LIMITS.calls[operation] = LIMITS.calls.get(operation, 0) + 1
        answer = None
        if operation == "RunTask":
            count = int(self._get_param("count", 1) or 1)
            if not LIMITS.run_task_bucket.take(1) or not LIMITS.launch_bucket.take(count):
                LIMITS.throttled += 1
                answer = _throttled(self)
            elif LIMITS.running() + count > LIMITS.max_tasks():
                LIMITS.capacity_failures += 1
                answer = _capacity_failure(self)
            else:
                LIMITS.accepted_at.append(time.time())
        delay = LIMITS.latency("Throttled" if answer and answer[0] == 400 else operation)
    if answer is None and operation == "Scan":
        answer = _fast_scan(self)
    if answer is None:
        answer = _original_call_action(self)
    time.sleep(delay)
    return answer


_raw_result = threading.local()
_DynamoResult = ddb_responses.DynamoResult


class _Result(_DynamoResult):
    """moto's DynamoResult, except in `_fast_scan`: there the page keeps its DynamoType values,
    which `json.dumps` writes directly (moto's conversion to plain dicts costs as much again)."""

    def __init__(self, result: object) -> None:
        if getattr(_raw_result, "on", False):
            ActionResult.__init__(self, result)
        else:
            super().__init__(result)


def _fast_scan(response: Any) -> Any:
    """moto's generic serializer takes about a millisecond per item, which would make a scan of
    100,000 bots measure moto; the page's JSON is written here directly. Anything unusual (an
    error, a COUNT select) goes the normal way."""
    _raw_result.on = True
    try:
        result = response.scan().result
    except Exception:  # noqa: BLE001 - moto's own path produces the proper error
        return None
    finally:
        _raw_result.on = False
    body = json.dumps(result, default=lambda value: value.to_json(), separators=(",", ":"))
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


_wrapped_run_task: Any = None


def _run_task(self: Any, *args: Any, **kwargs: Any) -> Any:
    tasks = _wrapped_run_task(self, *args, **kwargs)
    if LIMITS.enabled:
        with LIMITS.lock:
            LIMITS.live.extend(tasks)
            LIMITS.peak_running = max(LIMITS.peak_running, LIMITS.running())
    return tasks


# The scan fast path: per table a version bumped by every put and delete, and per (version,
# segment) the segment's items in key order. A page then starts at its start key by bisection,
# instead of moto's sort and walk of the whole table on every page.
_segment_cache: dict[tuple[int, int, Any], tuple[list[Any], list[Any]]] = {}
_original_put_item = ddb_table.Table.put_item
_original_delete_item = ddb_table.Table.delete_item
_original_scan = ddb_table.Table.scan


def _bump(table: Any) -> None:
    table._aws_limits_version = getattr(table, "_aws_limits_version", 0) + 1


def _put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
    _bump(self)
    return _original_put_item(self, *args, **kwargs)


def _delete_item(self: Any, *args: Any, **kwargs: Any) -> Any:
    _bump(self)
    return _original_delete_item(self, *args, **kwargs)


def _plain(value: Any) -> Any:
    return float(value.value) if value.type == "N" else value.value


def _key(item: Any) -> tuple:
    """The item's key as plain Python values: DynamoDB's order for S, N and B keys, and sorting
    200,000 of them takes a fraction of what comparing DynamoType objects does."""
    return (_plain(item.hash_key), _plain(item.range_key)) if item.range_key else (_plain(item.hash_key),)


_building = threading.Lock()


def _segment_view(table: Any, segments: Any) -> tuple[list[Any], list[Any]]:
    with _building:  # the parallel first pages wait for one build instead of each doing it
        return _build_segment_view(table, segments)


def _build_segment_view(table: Any, segments: Any) -> tuple[list[Any], list[Any]]:
    version = getattr(table, "_aws_limits_version", 0)
    with LIMITS.lock:
        view = _segment_cache.get((id(table), version, segments))
    if view is not None:
        return view
    items = [i for hash_set in table.items.values() for i in (hash_set.values() if table.range_key_attr else [hash_set])]
    items.sort(key=_key)
    _, total = segments
    # All segments of this split in one pass: the segment hash is an md5 per item.
    split: dict[Any, list[Any]] = {(s, total): [] for s in range(total or 1)} if total else {segments: []}
    for item in items:
        if total:
            for key in split:
                if item.is_within_segment(key):
                    split[key].append(item)
                    break
        else:
            split[segments].append(item)
    with LIMITS.lock:
        for stale in [k for k in _segment_cache if k[0] == id(table) and k[1] != version]:
            del _segment_cache[stale]
        for key, members in split.items():
            _segment_cache[(id(table), version, key)] = ([_key(i) for i in members], members)
        return _segment_cache[(id(table), version, segments)]


def _size(value: Any) -> int:
    """DynamoDB's item size, as moto's `size()` counts it, without building a DynamoType per node."""
    kind, inner = value.type, value.value
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "M":
        return sum(len(k.encode("utf-8")) + _size(v if isinstance(v, DynamoType) else DynamoType(v)) for k, v in inner.items())
    if kind == "L":
        return sum(_size(v if isinstance(v, DynamoType) else DynamoType(v)) for v in inner)
    return value.size()


class _Projected:
    """The top-level attributes a projection names, shared with the stored item: only read, to be
    written as JSON."""

    def __init__(self, attrs: dict) -> None:
        self.attrs = attrs


def _scan(
    self: Any,
    filters: Any,
    limit: Any,
    exclusive_start_key: Any,
    filter_expression: Any = None,
    index_name: Any = None,
    consistent_read: bool = False,
    projection_expression: Any = None,
    segments: Any = (None, None),
) -> Any:
    simple_projection = not projection_expression or all(len(path) == 1 for path in projection_expression)
    if not LIMITS.enabled or index_name or filters or not simple_projection:
        return _original_scan(
            self, filters, limit, exclusive_start_key, filter_expression, index_name,
            consistent_read, projection_expression, segments=segments,
        )
    keys, items = _segment_view(self, segments)
    start = 0
    if exclusive_start_key:
        wanted = [_plain(DynamoType(exclusive_start_key[self.hash_key_attr]))]
        if self.range_key_attr:
            wanted.append(_plain(DynamoType(exclusive_start_key[self.range_key_attr])))
        start = bisect.bisect_right(keys, tuple(wanted))
    page: list[Any] = []
    size = 0
    last_evaluated_key = None
    for item in itertools.islice(items, start, None):
        item_size = sum(len(k.encode("utf-8")) + _size(v) for k, v in item.attrs.items())
        if len(page) == limit or size + item_size > ddb_table.RESULT_SIZE_LIMIT:
            last_evaluated_key = self._get_last_evaluated_key(page[-1], None)
            break
        page.append(item)
        size += item_size
    results = [i for i in page if filter_expression is None or filter_expression.expr(i)]
    if projection_expression:
        names = [path[0] for path in projection_expression]
        results = [_Projected({n: i.attrs[n] for n in names if n in i.attrs}) for i in results]
    return results, len(page), last_evaluated_key


def _admin(request: Any, full_url: str, headers: Any) -> Any:
    if request.method == "POST":
        size = int(headers.get("Content-Length") or 0)
        body = json.loads((request.environ["wsgi.input"].read(size).decode("utf-8") if size else "") or "{}")
        with LIMITS.lock:
            if "enabled" in body:
                LIMITS.enabled = bool(body["enabled"])
            if body.get("reset"):
                LIMITS.reset()
    return 200, {"Content-Type": "application/json"}, json.dumps(LIMITS.as_dict())


def apply() -> None:
    global _wrapped_run_task
    # Taken here, not at import: the task runner's RunTask (applied before) is the one to wrap.
    _wrapped_run_task = ecs_models.EC2ContainerServiceBackend.run_task
    BaseResponse.call_action = _call_action
    ecs_models.EC2ContainerServiceBackend.run_task = _run_task
    ddb_table.Table.put_item = _put_item
    ddb_table.Table.delete_item = _delete_item
    ddb_table.Table.scan = _scan
    ddb_responses.DynamoResult = _Result
    from moto.moto_api._internal import urls

    urls.url_paths["{0}/moto-api/emulator/aws-limits"] = _admin
